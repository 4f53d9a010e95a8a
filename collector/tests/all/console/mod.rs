//! The console: accounts, sessions, the fleet counts, review decisions and
//! the audit trail in the store (both backends), and every page in a real
//! headless Chromium against a real collector over HTTPS.

mod browser;
mod fixture;
mod policy;
mod report;
mod store;
