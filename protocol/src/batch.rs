//! One scan as the agent delivers it: the signed payload of a DSSE envelope
//! of type [`crate::envelope::SCAN_PAYLOAD_TYPE`].

use crate::register::{ConnectorEntry, FindingEntry, PluginStatus};
use serde::{Deserialize, Serialize};

/// Payload schema version.
pub const BATCH_SCHEMA: u32 = 1;

/// A signed scan batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanBatch {
    /// [`BATCH_SCHEMA`].
    pub schema: u32,
    /// The signer.
    pub agent_id: String,
    /// The tenant the agent is enrolled for.
    pub tenant_id: String,
    /// The site the agent runs at.
    pub site_id: String,
    /// Strictly increasing per agent; the collector refuses anything not
    /// above the last it accepted (replay and staleness).
    pub sequence: u64,
    /// Scan start, RFC 3339.
    pub scan_started_at: String,
    /// Scan end, RFC 3339.
    pub scan_finished_at: String,
    /// Per plugin: name, version, sha256, ok or error.
    pub plugins: Vec<PluginStatus>,
    /// Register entries.
    pub connectors: Vec<ConnectorEntry>,
    /// Findings.
    pub findings: Vec<FindingEntry>,
}
