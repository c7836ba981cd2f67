-- Fault settings per merchant, so a test's faults outlive a restart of the sandbox.
-- Rates are probabilities from 0 to 1, never money.
CREATE TABLE merchant_faults (
    merchant_id  TEXT PRIMARY KEY REFERENCES merchants (id) ON DELETE CASCADE,
    latency_ms   INTEGER NOT NULL,
    error_rate   REAL NOT NULL,
    drop_rate    REAL NOT NULL,
    updated_at   INTEGER NOT NULL
);
