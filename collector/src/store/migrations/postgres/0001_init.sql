CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE enroll_tokens (
    token_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    site_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    used_by TEXT
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    site_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    hostname TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    revoked_at TEXT,
    last_sequence BIGINT,
    last_seen_at TEXT
);
CREATE INDEX agents_by_tenant ON agents (tenant_id, site_id);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id),
    created_at TEXT NOT NULL
);

CREATE TABLE batches (
    digest TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    site_id TEXT NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    sequence BIGINT NOT NULL,
    scan_started_at TEXT NOT NULL,
    scan_finished_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    connector_count BIGINT NOT NULL,
    finding_count BIGINT NOT NULL,
    envelope BYTEA NOT NULL,
    UNIQUE (agent_id, sequence)
);
CREATE INDEX batches_by_tenant ON batches (tenant_id, received_at);

CREATE TABLE connectors (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    key TEXT NOT NULL,
    category TEXT NOT NULL,
    plugin TEXT NOT NULL,
    site_id TEXT NOT NULL,
    entry TEXT NOT NULL,
    present BOOLEAN NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    disappeared_at TEXT,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE changes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    connector_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    batch_digest TEXT NOT NULL REFERENCES batches (digest),
    agent_id TEXT NOT NULL,
    site_id TEXT NOT NULL,
    needs_review BOOLEAN NOT NULL,
    review_reason TEXT,
    fields TEXT NOT NULL,
    entry TEXT
);
CREATE INDEX changes_by_tenant ON changes (tenant_id, id);

CREATE TABLE findings (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
    check_id TEXT NOT NULL,
    connector_key TEXT NOT NULL,
    severity TEXT NOT NULL,
    plugin TEXT NOT NULL,
    site_id TEXT NOT NULL,
    status TEXT NOT NULL,
    entry TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    resolved_at TEXT,
    reopened_count BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX findings_by_status ON findings (tenant_id, status);

CREATE TABLE annotations (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    connector_key TEXT NOT NULL,
    purpose TEXT,
    owner_override TEXT,
    co_owner_override TEXT,
    review_cadence_days BIGINT,
    last_tested TEXT,
    client_decision TEXT,
    evidence_link TEXT,
    updated_by TEXT,
    updated_at TEXT,
    PRIMARY KEY (tenant_id, connector_key)
);
