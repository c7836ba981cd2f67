-- The gateway's form each KYC draft is based on (its schema included, some 10 KB) moves
-- to a row of its own: an edit then commits only the draft's few hundred bytes, and the
-- base is written only when the gateway's form changes.
CREATE TABLE kyc_bases (
    profile_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    -- The gateway's answer (schema, values, status, updated_at), as JSON.
    gateway    TEXT NOT NULL,
    PRIMARY KEY (profile_id, user_id)
);
INSERT INTO kyc_bases (profile_id, user_id, gateway)
    SELECT profile_id, user_id, gateway FROM kyc_forms;
ALTER TABLE kyc_forms DROP COLUMN gateway;
