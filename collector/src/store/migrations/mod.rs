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
];

/// The PostgreSQL advisory lock key that serialises migrations
/// (`plumblin` in ASCII).
pub const PG_LOCK_KEY: i64 = 0x706c_756d_626c_696e;

#[cfg(test)]
mod tests {
    #[test]
    fn versions_increase() {
        let v: Vec<i64> = super::MIGRATIONS.iter().map(|m| m.version).collect();
        assert!(v.windows(2).all(|w| w[0] < w[1]) && v[0] == 1);
    }
}
