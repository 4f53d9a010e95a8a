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
    /// Set only when the scan was too large for one batch: which part of it
    /// this is. Absent on a whole scan, so its bytes (and digest) are as
    /// before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<BatchPart>,
}

/// One part of a scan split into several batches, each under the
/// collector's size limit. Every part carries all the scan's plugin
/// statuses; the connectors and findings are shared out among the parts.
/// The collector decides what disappeared only at the last part, from all
/// the parts together (see the collector's `register::parts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchPart {
    /// The same in every part of one scan, unique per agent.
    pub scan_id: String,
    /// 1 to `count`; parts are numbered (and sent) in order.
    pub index: u32,
    /// How many parts the scan has (at least 2).
    pub count: u32,
}

impl BatchPart {
    /// The last part: only here is disappearance decided.
    pub fn is_last(&self) -> bool {
        self.index == self.count
    }
}
