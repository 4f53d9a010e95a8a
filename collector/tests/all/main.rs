//! The collector's integration tests. Every store test runs against both
//! backends (`NAME::sqlite`, `NAME::postgres`), each on a fresh database.

mod support;

mod alerts;
mod alerts_email;
mod api;
mod cli;
mod console;
mod crosscheck;
mod enroll;
mod faults;
mod fleet_enroll;
mod https;
mod incremental;
mod ingest;
mod migrations;
mod observability;
mod offboarding;
mod openapi;
mod paging;
mod parts;
mod postgres_tls;
mod register;
mod releases;
mod replicas;
mod retention;
mod siem;
mod tokens;
mod uploads;
