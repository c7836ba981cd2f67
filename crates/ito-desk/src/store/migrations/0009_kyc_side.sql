-- Which way a KYC form's edits go to the gateway: the merchant's API, or the user's
-- own session (staff signed in as the user). A form keeps the side it was last
-- edited through, so the background sender never sends it through the other one.
ALTER TABLE kyc_forms ADD COLUMN side TEXT NOT NULL DEFAULT 'merchant'
    CHECK (side IN ('merchant', 'user'));
