-- Fleet enrollment secrets: a reusable enrollment token for a tenant, so
-- one RMM policy enrolls every site of a client. Each agent still brings
-- its own key; the site is the one the agent asks for (site_id is '' on
-- such a token). `uses` and `last_used_at` count its enrollments;
-- single-use tokens keep used_at and used_by as before.
ALTER TABLE enroll_tokens ADD COLUMN reusable BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE enroll_tokens ADD COLUMN uses BIGINT NOT NULL DEFAULT 0;
ALTER TABLE enroll_tokens ADD COLUMN last_used_at TEXT;

-- Policy serials: the version of each tenant's policy, raised whenever
-- what the collector serves for it changes (its sha256), so that agents can
-- refuse an older signed policy (rollback) whichever replica signed it.
CREATE TABLE policy_serials (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    serial BIGINT NOT NULL,
    content_sha256 TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
