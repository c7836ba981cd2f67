-- The users staff are signed in as (authorization code with PKCE), per profile: what
-- the screens list, and which keychain entries a removed profile leaves behind. The
-- tokens themselves are in the OS keychain only, never here.
CREATE TABLE user_sessions (
    profile_id   TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    -- When the current access token expires (unix ms); each refresh moves it on.
    expires_at   INTEGER NOT NULL,
    -- What the gateway granted; NULL when it named nothing.
    scope        TEXT,
    signed_in_at INTEGER NOT NULL,
    PRIMARY KEY (profile_id, user_id)
) WITHOUT ROWID;
