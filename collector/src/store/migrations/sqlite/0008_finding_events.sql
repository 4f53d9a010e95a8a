-- The SIEM feed (GET /v1/findings.ocsf): every change of a finding's state
-- (opened, reopened, resolved, accepted, acceptance expired), numbered in
-- the order it was committed, so a poller's cursor never skips or repeats
-- one. Each row keeps the finding as it was then: a poller that comes late
-- still reads what happened, not only how things stand now.
CREATE TABLE finding_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    finding_id TEXT NOT NULL,
    connector_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    accepted_until TEXT,
    status TEXT NOT NULL,
    site_id TEXT NOT NULL,
    entry TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    resolved_at TEXT,
    reopened_count INTEGER NOT NULL
);
CREATE INDEX finding_events_by_tenant ON finding_events (tenant_id, id);

-- An acceptance whose expiry is in the feed already; set again to 0 when
-- the risk is accepted anew.
ALTER TABLE risk_acceptances ADD COLUMN expiry_announced INTEGER NOT NULL DEFAULT 0;

-- A SIEM that starts polling after the upgrade first reads what is open
-- now; acceptances that ran out before it are not news.
INSERT INTO finding_events (tenant_id, finding_id, connector_key, kind, at, accepted_until, status, site_id, entry,
                            first_seen, last_seen, resolved_at, reopened_count)
SELECT f.tenant_id, f.id, f.connector_key,
       CASE f.status WHEN 'reopened' THEN 'reopened' ELSE 'opened' END,
       CASE f.status WHEN 'reopened' THEN f.last_seen ELSE f.first_seen END,
       (SELECT r.expires_on FROM risk_acceptances r
        WHERE r.tenant_id = f.tenant_id AND r.finding_id = f.id AND r.expires_on >= date('now')),
       f.status, f.site_id, f.entry, f.first_seen, f.last_seen, f.resolved_at, f.reopened_count
FROM findings f WHERE f.status <> 'resolved'
ORDER BY 5, f.tenant_id, f.id;
UPDATE risk_acceptances SET expiry_announced = 1 WHERE expires_on < date('now');
