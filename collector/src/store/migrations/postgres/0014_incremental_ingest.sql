-- Incremental ingest: a batch compares each reported row's digest with the
-- stored one and writes only what changed. Rows stored before this have no
-- digest yet; they are written once more at their next report.
ALTER TABLE connectors ADD COLUMN digest TEXT;
ALTER TABLE findings ADD COLUMN digest TEXT;

-- The last whole, successful scan of a plugin by an agent, per subject. An
-- unchanged row is not rewritten: its last_seen is the latest of its own
-- column and the scans of the agents that still see it (sightings), so a
-- rescan costs one row here per plugin rather than one per connector.
CREATE TABLE plugin_scans (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    plugin TEXT NOT NULL,
    subject TEXT NOT NULL,
    site_id TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, agent_id, plugin, subject)
);
