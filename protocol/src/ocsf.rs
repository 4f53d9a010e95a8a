//! A finding as an OCSF 1.4.0 Compliance Finding (class 2003, profile
//! `cloud`), for SIEMs. One mapping for both binaries: the agent's
//! `scan --format ocsf` and the collector's `findings.ocsf` feed print the
//! same shape, and differ only in what each knows (the collector adds the
//! feed's event id, the tenant's name and first and last seen).
//!
//! The schema the tests validate against is `tests/data/ocsf/`, generated
//! from the published 1.4.0 schema (see `tests/data/README.md`).

use crate::register::{ConnectorEntry, FindingEntry, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The OCSF schema version the objects follow (`metadata.version`).
pub const OCSF_VERSION: &str = "1.4.0";
/// Compliance Finding.
pub const CLASS_UID: u32 = 2003;
/// Findings.
pub const CATEGORY_UID: u32 = 2;
/// `cloud.provider`: every tenant is a Microsoft 365 client tenant.
pub const CLOUD_PROVIDER: &str = "Microsoft 365";
/// `compliance.standards`: the checks are Plumbline's own baseline, not an
/// external benchmark, so a SOC can tell them from CIS or ScubaGear results.
pub const STANDARD: &str = "Plumbline connector checks";
/// `metadata.product.name` and `vendor_name`.
pub const PRODUCT: &str = "Plumbline";

/// What happened to a finding: `metadata.event_code`, and the activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// The agent's scan reports it (it knows no history).
    Reported,
    /// First reported to the collector.
    Opened,
    /// Reported again after it was resolved.
    Reopened,
    /// No live agent reports it any more.
    Resolved,
    /// Accepted as a risk.
    Accepted,
    /// Its accepted risk ran out while it is still open.
    AcceptanceExpired,
}

impl Change {
    /// Every change, in the order of the list above.
    pub const ALL: [Change; 6] = [
        Change::Reported,
        Change::Opened,
        Change::Reopened,
        Change::Resolved,
        Change::Accepted,
        Change::AcceptanceExpired,
    ];

    /// As stored and as `metadata.event_code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Reported => "reported",
            Change::Opened => "opened",
            Change::Reopened => "reopened",
            Change::Resolved => "resolved",
            Change::Accepted => "accepted",
            Change::AcceptanceExpired => "acceptance-expired",
        }
    }

    /// Back from [`Change::as_str`].
    pub fn parse(text: &str) -> Option<Change> {
        Change::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// `activity_id`: 1 Create, 2 Update, 3 Close. A reopened finding is
    /// the same finding (the same `finding_info.uid`) updated, not a new one.
    pub fn activity_id(self) -> u8 {
        match self {
            Change::Reported | Change::Opened => 1,
            Change::Reopened | Change::Accepted | Change::AcceptanceExpired => 2,
            Change::Resolved => 3,
        }
    }
}

/// One finding at one moment, with what the caller knows about it.
#[derive(Debug, Clone)]
pub struct FindingEvent<'a> {
    /// The finding as last reported.
    pub finding: &'a FindingEntry,
    /// The connector it is about, when known (its name and category).
    pub connector: Option<&'a ConnectorEntry>,
    /// The tenant.
    pub tenant_id: &'a str,
    /// The tenant's display name, when known.
    pub tenant_name: Option<&'a str>,
    /// The site whose agent reported it.
    pub site_id: &'a str,
    /// What happened.
    pub change: Change,
    /// When, RFC 3339.
    pub at: &'a str,
    /// The last day (`YYYY-MM-DD`) of an accepted risk that held then.
    pub accepted_until: Option<&'a str>,
    /// First reported, RFC 3339 (the collector's).
    pub first_seen: Option<&'a str>,
    /// Last reported, RFC 3339 (the collector's).
    pub last_seen: Option<&'a str>,
    /// How often it came back after being resolved (the collector's).
    pub reopened_count: Option<u32>,
    /// The feed's event id (the collector's cursor).
    pub event_id: Option<i64>,
}

/// An OCSF Compliance Finding. Field names and ids are OCSF's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ocsf::ComplianceFinding))]
pub struct ComplianceFinding {
    /// 1 Create, 2 Update, 3 Close.
    pub activity_id: u8,
    /// Its name.
    pub activity_name: String,
    /// 2, Findings.
    pub category_uid: u32,
    /// `Findings`.
    pub category_name: String,
    /// 2003, Compliance Finding.
    pub class_uid: u32,
    /// `Compliance Finding`.
    pub class_name: String,
    /// `class_uid * 100 + activity_id`.
    pub type_uid: u32,
    /// `Compliance Finding: <activity>`.
    pub type_name: String,
    /// 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
    pub severity_id: u8,
    /// Its name.
    pub severity: String,
    /// 1 New, 3 Suppressed (an accepted risk), 4 Resolved.
    pub status_id: u8,
    /// Its name.
    pub status: String,
    /// Why suppressed: until when the risk is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    /// When it happened, milliseconds since the epoch.
    pub time: i64,
    /// The finding's title.
    pub message: String,
    /// Product, schema version, tenant and event id.
    pub metadata: Metadata,
    /// The client's tenant.
    pub cloud: Cloud,
    /// The finding.
    pub finding_info: FindingInfo,
    /// The check.
    pub compliance: Compliance,
    /// The connector it is about.
    pub resources: Vec<Resource>,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    /// What was seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidences: Vec<Evidence>,
    /// Plumbline's own fields that OCSF has no place for.
    pub unmapped: Unmapped,
}

/// `metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ocsf::Metadata))]
pub struct Metadata {
    /// The product.
    pub product: Product,
    /// [`OCSF_VERSION`].
    pub version: String,
    /// `["cloud"]`.
    pub profiles: Vec<String>,
    /// The tenant.
    pub tenant_uid: String,
    /// [`Change::as_str`].
    pub event_code: String,
    /// The feed's event id, as text: the cursor for `?after=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The feed's event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
}

/// `metadata.product`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ocsf::Product))]
pub struct Product {
    /// [`PRODUCT`].
    pub name: String,
    /// [`PRODUCT`].
    pub vendor_name: String,
    /// The Plumbline version.
    pub version: String,
}

/// `cloud`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ocsf::Cloud))]
pub struct Cloud {
    /// [`CLOUD_PROVIDER`].
    pub provider: String,
    /// The client tenant.
    pub account: Account,
}

/// `cloud.account`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ocsf::Account))]
pub struct Account {
    /// The tenant id.
    pub uid: String,
    /// The tenant's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `finding_info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ocsf::FindingInfo))]
pub struct FindingInfo {
    /// The finding id (stable across scans).
    pub uid: String,
    /// One line.
    pub title: String,
    /// What was seen.
    pub desc: String,
    /// The check id.
    pub types: Vec<String>,
    /// The plugin that reported it.
    pub data_sources: Vec<String>,
    /// First reported, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen_time: Option<i64>,
    /// Last reported, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_time: Option<i64>,
}

/// `compliance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ocsf::Compliance))]
pub struct Compliance {
    /// The check id.
    pub control: String,
    /// `[STANDARD]`.
    pub standards: Vec<String>,
    /// 1 Pass, 2 Warning, 3 Fail.
    pub status_id: u8,
    /// Its name.
    pub status: String,
}

/// `resources[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ocsf::Resource))]
pub struct Resource {
    /// The register key.
    pub uid: String,
    /// The connector's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its category (`exchange-connector`, `workflow`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub kind: Option<String>,
}

/// `remediation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ocsf::Remediation))]
pub struct Remediation {
    /// How to fix it.
    pub desc: String,
}

/// `evidences[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ocsf::Evidence))]
pub struct Evidence {
    /// The finding's evidence, name to value.
    pub data: BTreeMap<String, String>,
}

/// `unmapped`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ocsf::Unmapped))]
pub struct Unmapped {
    /// The site whose agent reported it.
    pub site_id: String,
    /// The plugin.
    pub plugin: String,
    /// How often it came back after being resolved (the collector's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_count: Option<u32>,
}

/// `severity_id` and its name.
pub fn severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// Milliseconds since the epoch of an RFC 3339 time.
pub fn epoch_ms(rfc3339: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(rfc3339.trim(), &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The Compliance Finding for `e`.
pub fn compliance_finding(e: &FindingEvent<'_>) -> ComplianceFinding {
    let f = e.finding;
    let activity_id = e.change.activity_id();
    let activity = ["Unknown", "Create", "Update", "Close"][usize::from(activity_id)];
    let (status_id, status) = match (e.change, e.accepted_until) {
        (Change::Resolved, _) => (4, "Resolved"),
        (_, Some(_)) => (3, "Suppressed"),
        _ => (1, "New"),
    };
    // A resolved finding is a control that passes now; an informational one
    // is worth knowing but fails nothing.
    let (compliance_id, compliance) = match (status_id, f.severity) {
        (4, _) => (1, "Pass"),
        (_, Severity::Info) => (2, "Warning"),
        _ => (3, "Fail"),
    };
    let (severity_id, severity_name) = severity(f.severity);
    ComplianceFinding {
        activity_id,
        activity_name: activity.into(),
        category_uid: CATEGORY_UID,
        category_name: "Findings".into(),
        class_uid: CLASS_UID,
        class_name: "Compliance Finding".into(),
        type_uid: CLASS_UID * 100 + u32::from(activity_id),
        type_name: format!("Compliance Finding: {activity}"),
        severity_id,
        severity: severity_name.into(),
        status_id,
        status: status.into(),
        status_detail: e.accepted_until.filter(|_| status_id == 3).map(|d| format!("risk accepted until {d}")),
        // The stores and the agent only keep RFC 3339 times; 0 would mark a corrupt one.
        time: epoch_ms(e.at).unwrap_or(0),
        message: f.title.clone(),
        metadata: Metadata {
            product: Product { name: PRODUCT.into(), vendor_name: PRODUCT.into(), version: env!("CARGO_PKG_VERSION").into() },
            version: OCSF_VERSION.into(),
            profiles: vec!["cloud".into()],
            tenant_uid: e.tenant_id.into(),
            event_code: e.change.as_str().into(),
            uid: e.event_id.map(|id| id.to_string()),
            sequence: e.event_id,
        },
        cloud: Cloud {
            provider: CLOUD_PROVIDER.into(),
            account: Account { uid: e.tenant_id.into(), name: e.tenant_name.map(Into::into) },
        },
        finding_info: FindingInfo {
            uid: f.id.clone(),
            title: f.title.clone(),
            desc: f.detail.clone(),
            types: vec![f.check_id.clone()],
            data_sources: vec![f.plugin.clone()],
            first_seen_time: e.first_seen.and_then(epoch_ms),
            last_seen_time: e.last_seen.and_then(epoch_ms),
        },
        compliance: Compliance {
            control: f.check_id.clone(),
            standards: vec![STANDARD.into()],
            status_id: compliance_id,
            status: compliance.into(),
        },
        resources: vec![Resource {
            uid: f.connector_key.clone(),
            name: e.connector.map(|c| c.name.clone()),
            kind: e.connector.map(|c| c.category.clone()),
        }],
        remediation: (!f.remediation.trim().is_empty()).then(|| Remediation { desc: f.remediation.clone() }),
        evidences: if f.evidence.is_empty() { vec![] } else { vec![Evidence { data: f.evidence.clone() }] },
        unmapped: Unmapped { site_id: e.site_id.into(), plugin: f.plugin.clone(), reopened_count: e.reopened_count },
    }
}

/// One NDJSON line (no newline): the object as compact JSON.
pub fn ndjson_line(finding: &ComplianceFinding) -> String {
    serde_json::to_string(finding).expect("OCSF objects serialise")
}

#[cfg(test)]
mod tests;
