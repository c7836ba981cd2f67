CREATE TABLE merchants (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    access_key        TEXT NOT NULL UNIQUE,
    secret_key        TEXT NOT NULL,
    client_id         TEXT NOT NULL UNIQUE,
    client_secret     TEXT NOT NULL,
    public_client_id  TEXT NOT NULL UNIQUE,
    is_demo           INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL
);

CREATE TABLE payments (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    merchant_id      TEXT NOT NULL REFERENCES merchants(id),
    custom           TEXT NOT NULL,
    amount           TEXT NOT NULL,
    currency         TEXT NOT NULL,
    details          TEXT,
    web_hook         TEXT NOT NULL,
    cancel_url       TEXT NOT NULL,
    success_url      TEXT NOT NULL,
    customer_email   TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled', 'expired')),
    transaction_id   TEXT UNIQUE,
    charge           TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    paid_at          INTEGER,
    cancelled_at     INTEGER,
    expired_at       INTEGER
);
CREATE INDEX payments_by_merchant ON payments (merchant_id, seq);
CREATE INDEX payments_pending_expiry ON payments (expires_at) WHERE status = 'pending';

-- Accepted (timestamp, signature) pairs, kept beyond the timestamp window so that
-- an exact replay is refused for as long as its timestamp could still be accepted.
CREATE TABLE signature_uses (
    merchant_id  TEXT NOT NULL,
    signature    TEXT NOT NULL,
    timestamp    INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, signature)
) WITHOUT ROWID;

CREATE TABLE idempotency_keys (
    merchant_id    TEXT NOT NULL,
    key            TEXT NOT NULL,
    body_sha256    TEXT NOT NULL,
    status_code    INTEGER NOT NULL,
    response_body  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, key)
) WITHOUT ROWID;

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id       TEXT NOT NULL REFERENCES payments(id),
    url              TEXT NOT NULL,
    body             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE webhook_attempts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id   INTEGER NOT NULL REFERENCES webhook_deliveries(id),
    payment_id    TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    attempted_at  INTEGER NOT NULL,
    status_code   INTEGER,
    latency_ms    INTEGER NOT NULL,
    error         TEXT
);
CREATE INDEX webhook_attempts_by_payment ON webhook_attempts (payment_id, id);
