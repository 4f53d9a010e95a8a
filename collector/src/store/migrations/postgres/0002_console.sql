-- The console: accounts and sessions, tenant groups, the audit trail,
-- review decisions on changes, and the register fields staff keep.

ALTER TABLE annotations ADD COLUMN connected_system TEXT;
ALTER TABLE annotations ADD COLUMN data_sensitivity TEXT;
ALTER TABLE annotations ADD COLUMN criticality TEXT;
ALTER TABLE annotations ADD COLUMN migration_status TEXT;
ALTER TABLE annotations ADD COLUMN replacement_key TEXT;
ALTER TABLE annotations ADD COLUMN last_reviewed TEXT;

ALTER TABLE changes ADD COLUMN decision TEXT;
ALTER TABLE changes ADD COLUMN decision_note TEXT;
ALTER TABLE changes ADD COLUMN decided_by TEXT;
ALTER TABLE changes ADD COLUMN decided_at TEXT;
CREATE INDEX changes_by_connector ON changes (tenant_id, connector_key, id);
CREATE INDEX changes_awaiting_review ON changes (tenant_id, needs_review, decision);
-- The fleet page counts connectors by category, and flows without a
-- co-owner, from an index alone, never reading the entries.
ALTER TABLE connectors ADD COLUMN co_owner_count BIGINT;
UPDATE connectors SET co_owner_count = jsonb_array_length(entry::jsonb -> 'co_owners');
CREATE INDEX connectors_by_category ON connectors (tenant_id, category, present, co_owner_count, key);

CREATE TABLE tenant_groups (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    group_name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_name)
);

CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);

CREATE TABLE user_tenants (
    user_id BIGINT NOT NULL REFERENCES users (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    PRIMARY KEY (user_id, tenant_id)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    connector_key TEXT,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX audit_by_connector ON audit (tenant_id, connector_key, id);

-- Accepted risk: a finding shows as accepted, not open, until it expires.
CREATE TABLE risk_acceptances (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    finding_id TEXT NOT NULL,
    rationale TEXT NOT NULL,
    approver TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    accepted_by TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, finding_id)
);
