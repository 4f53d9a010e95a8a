//! Issue 12's fault tests: the collector process killed (SIGKILL) and its
//! PostgreSQL crashed in the middle of ingest, while agents keep delivering
//! and retrying; afterwards nothing is lost or doubled, and the register is
//! what a replay of the stored envelopes makes.

mod delivery;
mod pg_restart;
mod sigkill;
mod verify;
