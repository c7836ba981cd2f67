-- Profiles keep only what is not secret; the secrets are in the OS keychain under
-- service "ito-merchant-desk", account "<profile id>/<field>".
CREATE TABLE profiles (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    mode             TEXT NOT NULL CHECK (mode IN ('test', 'active')),
    -- 'embedded' for the in-app sandbox, whose port changes between starts.
    base_url         TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    public_client_id TEXT NOT NULL,
    -- The masked forms the UI shows (••••3883), never the values.
    access_key_mask    TEXT NOT NULL,
    secret_key_mask    TEXT NOT NULL,
    client_secret_mask TEXT NOT NULL,
    -- 'keychain', or 'memory' for the embedded sandbox's profile when no keychain works.
    secrets_in       TEXT NOT NULL CHECK (secrets_in IN ('keychain', 'memory')),
    merchant_id      TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE request_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    profile_id  TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      INTEGER,
    latency_ms  INTEGER NOT NULL,
    request_id  TEXT,
    error       TEXT
);
CREATE INDEX request_log_profile ON request_log (profile_id, id);
