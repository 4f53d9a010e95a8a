-- Token lifecycle: API tokens get a scope (read, or write: may annotate),
-- an expiry, a last use and a revocation; enrollment tokens a revocation.
-- Tokens issued before this had one power, reading and annotating, so they
-- keep it as `write`; new ones default to `read` in the CLI.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write';
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
ALTER TABLE enroll_tokens ADD COLUMN revoked_at TEXT;
