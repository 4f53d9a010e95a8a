//! What the agent and the collector agree on.
//!
//! - [`register`]: the connector register entry and finding, the unit that
//!   flows end to end.
//! - [`batch`]: one scan as the agent delivers it.
//! - [`envelope`]: DSSE signing and verification (Ed25519 over PAE).
//! - [`identity`]: agent keys and the agent id derived from them.
//! - [`plugin_signature`]: publisher signatures on plugin components.
//! - [`policy`]: the collector's signed policy for an agent.
//! - [`agent_auth`]: an agent's signature on a request with no body.
//! - [`release`]: signed agent release manifests, for self-update.
//! - [`messages`]: enrollment and ingest requests and answers.
//! - [`read_api`]: what the collector's read API answers.
//! - [`ocsf`]: a finding as an OCSF Compliance Finding, for SIEMs.
//! - [`cells`]: register text made safe for spreadsheets and terminals.
//! - [`wording`]: counts worded alike by both binaries.
//! - `logging` (feature `logging`): one log format for both binaries.

pub mod agent_auth;
pub mod batch;
pub mod cells;
pub mod envelope;
pub mod identity;
#[cfg(feature = "logging")]
pub mod logging;
pub mod messages;
pub mod ocsf;
pub mod plugin_signature;
pub mod policy;
pub mod read_api;
pub mod register;
pub mod tenant;
pub mod release;
pub mod wording;
