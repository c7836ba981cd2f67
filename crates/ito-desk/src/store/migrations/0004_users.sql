-- The local directory of each profile's users. The gateway has no route to list a
-- merchant's users, so this table is the list: users created through the desk, added
-- by id, or imported from a sandbox.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    profile_id    TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    phone         TEXT,
    country       TEXT,
    kyc_status    TEXT NOT NULL
        CHECK (kyc_status IN ('not_started', 'draft', 'submitted', 'approved', 'rejected')),
    -- The gateway's creation time, unix ms.
    created_at    INTEGER NOT NULL,
    -- Keys computed by the app: the name in lower case (Unicode) to sort on, and the
    -- searched text (name, email, id, phone in its given, digit and national forms),
    -- lower case, one field per line.
    sort_name     TEXT NOT NULL,
    search_text   TEXT NOT NULL,
    -- Available balance per currency in minor units, only to sort on (user_balances
    -- holds the amounts shown); 0 until fetched.
    jpy_minor     INTEGER NOT NULL DEFAULT 0,
    usd_minor     INTEGER NOT NULL DEFAULT 0,
    sgp_usd_minor INTEGER NOT NULL DEFAULT 0,
    -- One bit per currency with a balance that is not zero (1 JPY, 2 USD, 4 SGP-USD).
    held          INTEGER NOT NULL DEFAULT 0,
    balances_fetched_at INTEGER,
    -- When the gateway last answered 404 for the user: no longer this merchant's.
    gone_at       INTEGER,
    added_at      INTEGER NOT NULL,
    -- When the profile fields were last read from the gateway.
    synced_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_user ON users (profile_id, user_id);
CREATE INDEX users_email ON users (profile_id, email);
-- Keyset pages for each sort, and the status tabs (with their counts).
CREATE INDEX users_newest ON users (profile_id, created_at DESC, id DESC);
CREATE INDEX users_name ON users (profile_id, sort_name, id);
CREATE INDEX users_jpy ON users (profile_id, jpy_minor DESC, id DESC);
CREATE INDEX users_usd ON users (profile_id, usd_minor DESC, id DESC);
CREATE INDEX users_sgp_usd ON users (profile_id, sgp_usd_minor DESC, id DESC);
CREATE INDEX users_kyc ON users (profile_id, kyc_status, held, created_at DESC, id DESC);
CREATE INDEX users_country ON users (profile_id, country, kyc_status, held);
-- A short or common search is matched by scanning this narrow index rather than
-- every row (see the payments_text index).
CREATE INDEX users_text ON users (profile_id, search_text, kyc_status, country, held);

-- Substring search without reading every row: trigrams over search_text.
CREATE VIRTUAL TABLE users_search USING fts5 (
    search_text, content = 'users', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF search_text ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
    INSERT INTO users_search (rowid, search_text) VALUES (new.id, new.search_text);
END;

-- Balances as the gateway last gave them, per user and currency. Decimal strings at
-- the currency's scale, never floats.
CREATE TABLE user_balances (
    user_row   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    currency   TEXT NOT NULL,
    available  TEXT NOT NULL,
    pending    TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (user_row, currency)
) WITHOUT ROWID;

-- A user being created, stored before the request is sent: a second submit of the
-- same email (double click, retry, after a restart) finds it instead of sending blind.
CREATE TABLE user_creates (
    profile_id  TEXT NOT NULL,
    -- Trimmed and in lower case, as the gateway compares emails.
    email       TEXT NOT NULL,
    -- 'sending' while a request is out (or was, when the app stopped), 'uncertain'
    -- when it failed without an answer, 'created' once the gateway answered.
    state       TEXT NOT NULL CHECK (state IN ('sending', 'uncertain', 'created')),
    user_id     TEXT,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (profile_id, email)
);

-- When each profile's directory was last imported from its sandbox.
CREATE TABLE user_imports (
    profile_id  TEXT PRIMARY KEY,
    imported_at INTEGER NOT NULL,
    users       INTEGER NOT NULL
);
