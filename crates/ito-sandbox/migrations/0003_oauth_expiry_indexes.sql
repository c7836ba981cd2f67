-- Let the sweeper find expired codes and tokens without scanning every row.
CREATE INDEX oauth_codes_by_expiry ON oauth_codes (expires_at);
CREATE INDEX oauth_access_tokens_by_expiry ON oauth_access_tokens (expires_at);
CREATE INDEX oauth_refresh_tokens_by_expiry ON oauth_refresh_tokens (expires_at);
