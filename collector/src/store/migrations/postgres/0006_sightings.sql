-- Who saw what: one row per agent and connector (or finding), present while
-- that agent still reports it. A connector disappears, and a finding is
-- resolved, only when no live agent sees it any more, so two hosts of one
-- site, or several sites scanning one cloud tenant, do not erase each
-- other. Rows change only when a sighting starts or stops.
CREATE TABLE sightings (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    subject TEXT NOT NULL,
    key TEXT NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    present BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, subject, key, agent_id)
);
CREATE INDEX sightings_by_agent ON sightings (tenant_id, agent_id, present);

-- Until now disappearance was decided per site: credit what is present to
-- every live agent of its site. An agent that never saw it withdraws its
-- sighting at its next scan; none is lost meanwhile.
INSERT INTO sightings (tenant_id, subject, key, agent_id, present)
SELECT c.tenant_id, 'connector', c.key, a.id, TRUE
FROM connectors c JOIN agents a ON a.tenant_id = c.tenant_id AND a.site_id = c.site_id
WHERE c.present = TRUE AND a.revoked_at IS NULL;
INSERT INTO sightings (tenant_id, subject, key, agent_id, present)
SELECT f.tenant_id, 'finding', f.id, a.id, TRUE
FROM findings f JOIN agents a ON a.tenant_id = f.tenant_id AND a.site_id = f.site_id
WHERE f.status <> 'resolved' AND a.revoked_at IS NULL;
