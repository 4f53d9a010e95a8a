-- Alerts waiting to go out, written in the same transaction as the ingest
-- that caused them. A row is sent, then marked; one that fails is retried
-- with backoff and never dropped. The unique key keeps one alert per rule,
-- destination and event, whichever replica or timer finds it.
CREATE TABLE alert_outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule TEXT NOT NULL,
    destination TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    dedupe_key TEXT NOT NULL,
    event TEXT NOT NULL,
    created_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    lease_until TEXT,
    last_error TEXT,
    sent_at TEXT,
    UNIQUE (rule, destination, dedupe_key)
);
CREATE INDEX alert_outbox_due ON alert_outbox (state, due_at);
