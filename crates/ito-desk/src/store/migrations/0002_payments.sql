-- The local ledger of the payments each profile created. The gateway has no "list
-- payments" route, so this is the only list there is; webhooks and validity checks
-- keep it current.
CREATE TABLE payments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    profile_id       TEXT NOT NULL,
    -- Stored before the request is sent, so every retry (even after a restart) reuses it.
    idempotency_key  TEXT NOT NULL UNIQUE,
    -- The exact request (JSON of ito_api::NewPayment): a retry must send the same body.
    request          TEXT NOT NULL,
    -- 'unconfirmed' until the gateway's answer arrives.
    status           TEXT NOT NULL
        CHECK (status IN ('unconfirmed', 'pending', 'paid', 'cancelled', 'expired')),
    payment_id       TEXT,
    checkout_url     TEXT,
    custom           TEXT NOT NULL,
    -- Decimal strings at the currency's scale; never floats.
    amount           TEXT NOT NULL,
    currency         TEXT NOT NULL,
    charge           TEXT,
    net              TEXT,
    details          TEXT,
    customer_email   TEXT NOT NULL,
    transaction_id   TEXT,
    -- Why the last attempt to create it failed, while unconfirmed.
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    paid_at          INTEGER,
    updated_at       INTEGER NOT NULL
);
-- One order reference per profile: a second submit of the same order is a retry.
CREATE UNIQUE INDEX payments_custom ON payments (profile_id, custom);
CREATE UNIQUE INDEX payments_payment_id ON payments (profile_id, payment_id)
    WHERE payment_id IS NOT NULL;
-- Newest first, keyset-paginated, with and without the common filters.
CREATE INDEX payments_newest ON payments (profile_id, created_at DESC, id DESC);
CREATE INDEX payments_status ON payments (profile_id, status, created_at DESC, id DESC);
CREATE INDEX payments_currency ON payments (profile_id, currency, created_at DESC, id DESC);
CREATE INDEX payments_status_currency
    ON payments (profile_id, status, currency, created_at DESC, id DESC);
CREATE INDEX payments_email ON payments (profile_id, customer_email);

-- Substring search over the order reference, email and payment id without reading
-- every row: trigrams, case-insensitive, kept in step by triggers.
CREATE VIRTUAL TABLE payments_search USING fts5 (
    custom, customer_email, payment_id,
    content = 'payments', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER payments_search_insert AFTER INSERT ON payments BEGIN
    INSERT INTO payments_search (rowid, custom, customer_email, payment_id)
    VALUES (new.id, new.custom, new.customer_email, new.payment_id);
END;
CREATE TRIGGER payments_search_delete AFTER DELETE ON payments BEGIN
    INSERT INTO payments_search (payments_search, rowid, custom, customer_email, payment_id)
    VALUES ('delete', old.id, old.custom, old.customer_email, old.payment_id);
END;
CREATE TRIGGER payments_search_update AFTER UPDATE OF custom, customer_email, payment_id
ON payments BEGIN
    INSERT INTO payments_search (payments_search, rowid, custom, customer_email, payment_id)
    VALUES ('delete', old.id, old.custom, old.customer_email, old.payment_id);
    INSERT INTO payments_search (rowid, custom, customer_email, payment_id)
    VALUES (new.id, new.custom, new.customer_email, new.payment_id);
END;

-- What happened to a payment, for its detail screen.
CREATE TABLE payment_timeline (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    payment     INTEGER NOT NULL REFERENCES payments (id) ON DELETE CASCADE,
    at_ms       INTEGER NOT NULL,
    -- 'created', 'create_failed', 'webhook', 'validity_check', 'simulated'
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL,
    webhook_event INTEGER
);
CREATE INDEX payment_timeline_payment ON payment_timeline (payment, id);

-- Every delivery the listener received, stored before it is answered.
CREATE TABLE webhook_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The profile the delivery's URL names (it may not exist).
    profile_id    TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    remote_addr   TEXT,
    -- JSON array of [name, value] pairs, as received.
    headers       TEXT NOT NULL,
    body          BLOB NOT NULL,
    -- 'verified', 'duplicate', 'bad_signature', 'stale', 'malformed', 'unknown_profile'
    verification  TEXT NOT NULL,
    reason        TEXT,
    delivery_id   TEXT,
    attempt       INTEGER,
    payment_id    TEXT,
    -- The status code the listener answered.
    answered      INTEGER NOT NULL,
    forwarded_to  TEXT,
    forward_status INTEGER,
    forward_error TEXT
);
CREATE INDEX webhook_events_profile ON webhook_events (profile_id, id);
CREATE INDEX webhook_events_delivery ON webhook_events (profile_id, delivery_id);
CREATE INDEX webhook_events_payment ON webhook_events (profile_id, payment_id);

-- Per-profile defaults of the payment-link form.
CREATE TABLE payment_defaults (
    profile_id  TEXT PRIMARY KEY,
    success_url TEXT,
    cancel_url  TEXT,
    -- Absent: the app's own listener.
    webhook_url TEXT
);
