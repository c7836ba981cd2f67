-- Part 2: the OAuth server, merchant users, KYC, wallet transactions and cards.

-- Redirect URIs a merchant registered for its public client; loopback URIs
-- (http://127.0.0.1 and http://[::1], any port) need no registration (RFC 8252 §7.3).
CREATE TABLE oauth_redirect_uris (
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    uri          TEXT NOT NULL,
    PRIMARY KEY (merchant_id, uri)
) WITHOUT ROWID;

-- Authorization codes and tokens are stored as SHA-256 hashes, never in plaintext.
CREATE TABLE oauth_codes (
    code_hash       TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants(id),
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    scope           TEXT NOT NULL,
    -- The token family the exchange creates, revoked if the code is replayed.
    family_id       TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER
) WITHOUT ROWID;

CREATE TABLE oauth_access_tokens (
    token_hash   TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('merchant', 'user')),
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    client_id    TEXT NOT NULL,
    user_id      TEXT,
    scope        TEXT NOT NULL,
    family_id    TEXT,
    expires_at   INTEGER NOT NULL,
    revoked      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX oauth_access_tokens_by_family ON oauth_access_tokens (family_id) WHERE family_id IS NOT NULL;

CREATE TABLE oauth_refresh_tokens (
    token_hash   TEXT PRIMARY KEY,
    family_id    TEXT NOT NULL,
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    client_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    scope        TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    -- Set when exchanged; presenting it again is a reuse that revokes the family.
    rotated_at   INTEGER,
    revoked      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX oauth_refresh_tokens_by_family ON oauth_refresh_tokens (family_id);

CREATE TABLE users (
    seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
    id                    TEXT NOT NULL UNIQUE,
    merchant_id           TEXT NOT NULL REFERENCES merchants(id),
    created_by_client_id  TEXT NOT NULL,
    email                 TEXT NOT NULL,
    name                  TEXT NOT NULL,
    phone                 TEXT,
    country               TEXT,
    password_hash         TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    UNIQUE (created_by_client_id, email)
);
CREATE INDEX users_by_client ON users (created_by_client_id, seq);

CREATE TABLE kyc (
    user_id           TEXT PRIMARY KEY REFERENCES users(id),
    status            TEXT NOT NULL CHECK (status IN ('not_started', 'draft', 'submitted', 'approved', 'rejected')),
    field_values      TEXT NOT NULL,
    rejection_reason  TEXT,
    submitted_at      INTEGER,
    reviewed_at       INTEGER,
    updated_at        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX kyc_awaiting_review ON kyc (submitted_at) WHERE status = 'submitted';

CREATE TABLE transactions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users(id),
    type         TEXT NOT NULL CHECK (type IN ('top_up', 'card_spend', 'refund', 'fee')),
    amount       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'completed')),
    description  TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX transactions_by_user ON transactions (user_id, seq);

-- Running balances, kept in step with transactions inside the same write.
CREATE TABLE balances (
    user_id    TEXT NOT NULL REFERENCES users(id),
    currency   TEXT NOT NULL,
    available  TEXT NOT NULL,
    pending    TEXT NOT NULL,
    PRIMARY KEY (user_id, currency)
) WITHOUT ROWID;

CREATE TABLE cards (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users(id),
    brand       TEXT NOT NULL,
    currency    TEXT NOT NULL,
    -- Test numbers only: the sandbox must be able to reveal them.
    pan         TEXT NOT NULL,
    cvv         TEXT NOT NULL,
    exp_month   INTEGER NOT NULL,
    exp_year    INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'frozen', 'cancelled')),
    created_at  INTEGER NOT NULL
);
CREATE INDEX cards_by_user ON cards (user_id, seq);

CREATE TABLE card_reveals (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    card_id      TEXT NOT NULL REFERENCES cards(id),
    user_id      TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    fields       TEXT NOT NULL,
    revealed_at  INTEGER NOT NULL
);
CREATE INDEX card_reveals_by_user ON card_reveals (user_id, id);
