-- Each KYC form staff opened or edited, per profile and user: the gateway's form as
-- last read or written (the base that edits are compared with) and the form as staff
-- see it. Every edit is committed here before anything is sent, so closing the app,
-- a crash or an outage loses nothing; a background task sends the difference.
CREATE TABLE kyc_forms (
    profile_id      TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    -- The gateway's answer (schema, values, status, updated_at), as JSON.
    gateway         TEXT NOT NULL,
    -- Field id -> value as staff see it, as JSON; differs from the gateway's values
    -- by the edits not yet sent.
    local_values    TEXT NOT NULL,
    state           TEXT NOT NULL
        CHECK (state IN ('saved', 'pending', 'offline', 'conflict', 'invalid')),
    -- Per field, staff's value against the gateway's newer one, as JSON.
    conflicts       TEXT NOT NULL DEFAULT '[]',
    -- The gateway's messages for values it refused, by field, as JSON.
    field_errors    TEXT NOT NULL DEFAULT '{}',
    last_error      TEXT,
    -- Failed sends in a row, for the back-off; NULL next_attempt_at: nothing to send.
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    -- Since when the form has had unsent edits (unix ms): forms are sent in that order.
    unsent_since    INTEGER NOT NULL,
    PRIMARY KEY (profile_id, user_id)
) WITHOUT ROWID;
CREATE INDEX kyc_forms_due ON kyc_forms (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- When the user's form was submitted for review (unix ms), for the KYC queue's
-- "waiting since"; NULL until the desk has read it.
ALTER TABLE users ADD COLUMN kyc_submitted_at INTEGER;
