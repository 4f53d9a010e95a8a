-- The address each agent's deliveries come from, as the collector sees the
-- connection (X-Forwarded-For only from a trusted proxy): the site's egress,
-- which the cross-check joins with the tenant's inbound connectors. One row
-- per agent, its latest; a site egresses from its live agents' addresses.
CREATE TABLE agent_egress (
    agent_id TEXT PRIMARY KEY REFERENCES agents (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    site_id TEXT NOT NULL,
    address TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE INDEX agent_egress_by_tenant ON agent_egress (tenant_id, site_id);
