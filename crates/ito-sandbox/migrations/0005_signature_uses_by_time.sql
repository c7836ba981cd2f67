-- Replay records keyed by time first: a new signature lands on the last page instead of
-- a random one (each random page cost a 4 KiB WAL frame per payment), and pruning the
-- expired ones reads only what it deletes instead of the whole table.
CREATE TABLE signature_uses_by_time (
    timestamp    INTEGER NOT NULL,
    merchant_id  TEXT NOT NULL,
    signature    TEXT NOT NULL,
    PRIMARY KEY (timestamp, merchant_id, signature)
) WITHOUT ROWID;
INSERT INTO signature_uses_by_time (timestamp, merchant_id, signature)
    SELECT timestamp, merchant_id, signature FROM signature_uses;
DROP TABLE signature_uses;
ALTER TABLE signature_uses_by_time RENAME TO signature_uses;
