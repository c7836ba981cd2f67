-- Who saw or copied a card's full number and CVV, and when: the local record each
-- card shows. Never the number or the CVV themselves.
CREATE TABLE card_access (
    id          INTEGER PRIMARY KEY,
    profile_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    card_id     TEXT NOT NULL,
    -- 'revealed', 'copied_number' or 'copied_cvv'.
    action      TEXT NOT NULL CHECK (action IN ('revealed', 'copied_number', 'copied_cvv')),
    -- The OS account that ran the app.
    staff       TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX card_access_by_card ON card_access (profile_id, card_id, at DESC);
