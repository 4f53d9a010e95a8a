-- Alert rules an msp-admin added in the console, beside the config file's.
-- Each is the rule as the config file would write it (JSON), checked
-- against the config's destinations when it is added and at every start.
CREATE TABLE console_alert_rules (
    name TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
