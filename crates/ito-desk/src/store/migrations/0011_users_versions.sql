-- The directory's search runs in memory (users/search.rs) over a snapshot of each
-- profile's search texts; these triggers count the changes that a snapshot reads (a
-- user added or removed, their search text, KYC status, country or held currencies),
-- so that a stale snapshot is seen with one read.
CREATE TABLE users_versions (
    profile_id TEXT PRIMARY KEY,
    version    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO users_versions (profile_id, version)
    SELECT profile_id, 1 FROM users GROUP BY profile_id;
CREATE TRIGGER users_versions_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_versions (profile_id, version) VALUES (new.profile_id, 1)
    ON CONFLICT (profile_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER users_versions_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_versions (profile_id, version) VALUES (old.profile_id, 1)
    ON CONFLICT (profile_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER users_versions_update AFTER UPDATE OF search_text, kyc_status, country, held ON users
WHEN old.search_text IS NOT new.search_text OR old.kyc_status IS NOT new.kyc_status
    OR old.country IS NOT new.country OR old.held IS NOT new.held
BEGIN
    INSERT INTO users_versions (profile_id, version) VALUES (new.profile_id, 1)
    ON CONFLICT (profile_id) DO UPDATE SET version = version + 1;
END;

-- The trigram index it replaces: it could not match one or two characters, nor count
-- a common term's matches without reading every row.
DROP TRIGGER users_search_insert;
DROP TRIGGER users_search_delete;
DROP TRIGGER users_search_update;
DROP TABLE users_search;
