//! Versioned schema migrations, embedded per backend.
//!
//! A migration is never edited once released: add a new version. Each
//! backend records what it applied in `schema_migrations` and applies the
//! rest at startup, under a lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a
//! transaction-scoped advisory lock), so two collectors starting at once on
//! one database apply each migration exactly once.

/// One migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version, increasing.
    pub version: i64,
    /// What it does.
    pub name: &'static str,
    /// Its SQL for SQLite.
    pub sqlite: &'static str,
    /// Its SQL for PostgreSQL.
    pub postgres: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema",
        sqlite: include_str!("sqlite/0001_init.sql"),
        postgres: include_str!("postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "console: accounts, sessions, groups, audit, review decisions, register fields",
        sqlite: include_str!("sqlite/0002_console.sql"),
        postgres: include_str!("postgres/0002_console.sql"),
    },
    Migration {
        version: 3,
        name: "token lifecycle: API token scope, expiry, last use, revocation; enrollment token revocation",
        sqlite: include_str!("sqlite/0003_tokens.sql"),
        postgres: include_str!("postgres/0003_tokens.sql"),
    },
    Migration {
        version: 4,
        name: "agents: missing batches (sequence gaps)",
        sqlite: include_str!("sqlite/0004_sequence_gaps.sql"),
        postgres: include_str!("postgres/0004_sequence_gaps.sql"),
    },
    Migration {
        version: 5,
        name: "sign-in throttle in the database, shared by replicas",
        sqlite: include_str!("sqlite/0005_signin_failures.sql"),
        postgres: include_str!("postgres/0005_signin_failures.sql"),
    },
    Migration {
        version: 6,
        name: "sightings: who saw what, so agents sharing a site or a tenant do not erase each other",
        sqlite: include_str!("sqlite/0006_sightings.sql"),
        postgres: include_str!("postgres/0006_sightings.sql"),
    },
    Migration {
        version: 7,
        name: "alert outbox, written with the ingest that causes each alert",
        sqlite: include_str!("sqlite/0007_alert_outbox.sql"),
        postgres: include_str!("postgres/0007_alert_outbox.sql"),
    },
    Migration {
        version: 8,
        name: "finding events: the SIEM feed's numbered changes of finding state",
        sqlite: include_str!("sqlite/0008_finding_events.sql"),
        postgres: include_str!("postgres/0008_finding_events.sql"),
    },
    Migration {
        version: 9,
        name: "agent egress: the address each agent delivers from, for the site-tenant cross-check",
        sqlite: include_str!("sqlite/0009_agent_egress.sql"),
        postgres: include_str!("postgres/0009_agent_egress.sql"),
    },
    Migration {
        version: 10,
        name: "batches: the scan id of a scan split into parts",
        sqlite: include_str!("sqlite/0010_batch_parts.sql"),
        postgres: include_str!("postgres/0010_batch_parts.sql"),
    },
    Migration {
        version: 11,
        name: "context records: kept in the register, never counted as connectors",
        sqlite: include_str!("sqlite/0011_context_records.sql"),
        postgres: include_str!("postgres/0011_context_records.sql"),
    },
    Migration {
        version: 12,
        name: "console alert rules: rules an msp-admin added in the console",
        sqlite: include_str!("sqlite/0012_console_alert_rules.sql"),
        postgres: include_str!("postgres/0012_console_alert_rules.sql"),
    },
    Migration {
        version: 13,
        name: "fleet: reusable enrollment secrets for a tenant, with a count of uses; policy serials per tenant",
        sqlite: include_str!("sqlite/0013_fleet.sql"),
        postgres: include_str!("postgres/0013_fleet.sql"),
    },
    Migration {
        version: 14,
        name: "incremental ingest: row digests, and each agent's last scan per plugin for last_seen",
        sqlite: include_str!("sqlite/0014_incremental_ingest.sql"),
        postgres: include_str!("postgres/0014_incremental_ingest.sql"),
    },
];

/// The PostgreSQL advisory lock key that serialises migrations
/// (`plumblin` in ASCII).
pub const PG_LOCK_KEY: i64 = 0x706c_756d_626c_696e;

#[cfg(test)]
mod tests {
    /// Migration 6 credits what is present to every live agent of its site,
    /// so the first batch after the upgrade erases nothing.
    #[test]
    fn sightings_are_backfilled_per_site_for_live_agents() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for m in &super::MIGRATIONS[..5] {
            conn.execute_batch(m.sqlite).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO tenants VALUES ('t', 'T', 'x');
             INSERT INTO agents (id, tenant_id, site_id, public_key, hostname, enrolled_at, revoked_at)
                 VALUES ('a1', 't', 'hq', 'k', 'h', 'x', NULL), ('a2', 't', 'hq', 'k', 'h', 'x', NULL),
                        ('gone', 't', 'hq', 'k', 'h', 'x', 'y'), ('b1', 't', 'branch', 'k', 'h', 'x', NULL);
             INSERT INTO connectors (tenant_id, key, category, plugin, site_id, entry, present, first_seen, last_seen)
                 VALUES ('t', 'wf/x', 'c', 'wf', 'hq', '{}', 1, 'x', 'x'), ('t', 'wf/old', 'c', 'wf', 'hq', '{}', 0, 'x', 'x');
             INSERT INTO findings (tenant_id, id, check_id, connector_key, severity, plugin, site_id, status, entry,
                                   first_seen, last_seen, reopened_count)
                 VALUES ('t', 'f1', 'c', 'wf/x', 'high', 'wf', 'hq', 'open', '{}', 'x', 'x', 0),
                        ('t', 'f2', 'c', 'wf/x', 'high', 'wf', 'hq', 'resolved', '{}', 'x', 'x', 0);",
        )
        .unwrap();
        conn.execute_batch(super::MIGRATIONS[5].sqlite).unwrap();
        let mut stmt = conn.prepare("SELECT subject, key, agent_id FROM sightings ORDER BY 1, 2, 3").unwrap();
        let rows: Vec<(String, String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
        let want = [("connector", "wf/x", "a1"), ("connector", "wf/x", "a2"), ("finding", "f1", "a1"), ("finding", "f1", "a2")];
        assert_eq!(rows, want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())));
    }

    /// Migration 7 starts the SIEM feed with what is open now, an accepted
    /// risk that still holds marked, and the ones that ran out not news.
    #[test]
    fn the_feed_starts_with_what_is_open() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for m in &super::MIGRATIONS[..7] {
            conn.execute_batch(m.sqlite).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO tenants VALUES ('t', 'T', 'x');
             INSERT INTO findings (tenant_id, id, check_id, connector_key, severity, plugin, site_id, status, entry,
                                   first_seen, last_seen, resolved_at, reopened_count)
                 VALUES ('t', 'open', 'c', 'wf/x', 'high', 'wf', 'hq', 'open', '{}', '2026-01-02', '2026-03-01', NULL, 0),
                        ('t', 'back', 'c', 'wf/y', 'high', 'wf', 'hq', 'reopened', '{}', '2026-01-01', '2026-02-01', NULL, 1),
                        ('t', 'gone', 'c', 'wf/z', 'high', 'wf', 'hq', 'resolved', '{}', '2026-01-01', '2026-01-05', '2026-01-06', 0);
             INSERT INTO risk_acceptances VALUES ('t', 'open', 'r', 'a', '2999-12-31', 'e', 'x'),
                                                 ('t', 'back', 'r', 'a', '2000-01-01', 'e', 'x');",
        )
        .unwrap();
        conn.execute_batch(super::MIGRATIONS[7].sqlite).unwrap();
        let mut stmt = conn.prepare("SELECT finding_id, kind, at, accepted_until FROM finding_events ORDER BY id").unwrap();
        let rows: Vec<(String, String, String, Option<String>)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect();
        let s = |x: &str| x.to_string();
        assert_eq!(
            rows,
            [(s("open"), s("opened"), s("2026-01-02"), Some(s("2999-12-31"))), (s("back"), s("reopened"), s("2026-02-01"), None)]
        );
        let announced: Vec<bool> =
            conn.prepare("SELECT expiry_announced FROM risk_acceptances ORDER BY finding_id").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        assert_eq!(announced, [true, false], "back ran out before the upgrade; open still holds");
    }

    #[test]
    fn context_records_already_stored_are_flagged() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let upgrade = super::MIGRATIONS.iter().position(|m| m.version == 11).unwrap();
        for m in &super::MIGRATIONS[..upgrade] {
            conn.execute_batch(m.sqlite).unwrap();
        }
        conn.execute_batch(
            r#"INSERT INTO tenants VALUES ('t', 'T', 'x');
             INSERT INTO connectors (tenant_id, key, category, plugin, site_id, entry, present, first_seen, last_seen, co_owner_count)
                 VALUES ('t', 'exo/exchange:organization', 'exchange-connector', 'exo', 'hq',
                         '{"attributes": {"plumbline:record": "context"}}', 1, 'a', 'b', 0),
                        ('t', 'exo/exchange:inbound:a', 'exchange-connector', 'exo', 'hq',
                         '{"attributes": {"record": "context"}}', 1, 'a', 'b', 0);"#,
        )
        .unwrap();
        conn.execute_batch(super::MIGRATIONS[upgrade].sqlite).unwrap();
        let flags: Vec<(String, bool)> = conn
            .prepare("SELECT key, context FROM connectors ORDER BY key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(flags, [("exo/exchange:inbound:a".to_string(), false), ("exo/exchange:organization".to_string(), true)]);
    }

    #[test]
    fn versions_increase() {
        let v: Vec<i64> = super::MIGRATIONS.iter().map(|m| m.version).collect();
        assert!(v.windows(2).all(|w| w[0] < w[1]) && v[0] == 1);
    }
}
