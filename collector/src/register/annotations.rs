//! MSP annotations: checking and applying a partial update.
//!
//! The enumerated fields take exactly the values below, so the console's
//! filters, the fleet counts and the QBR report can count them.

use crate::timestamp;
use plumbline_protocol::read_api::{Annotations, AnnotationsUpdate};

/// Longest text an annotation field takes.
pub const MAX_FIELD_CHARS: usize = 4096;

/// [`Annotations::data_sensitivity`] values, least sensitive first.
pub const DATA_SENSITIVITY: &[&str] = &["public", "internal", "confidential", "restricted"];
/// [`Annotations::criticality`] values, least critical first.
pub const CRITICALITY: &[&str] = &["low", "medium", "high", "critical"];
/// The migration ladder of a legacy Teams connector or Incoming Webhook, in
/// order, then the way off the ladder.
pub const MIGRATION_LADDER: &[&str] =
    &["unknown", "inventoried", "replacement-built", "tested", "old-disabled", "exception-approved"];

/// Why an update was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidAnnotation {
    /// The field.
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// Check an update before it is stored.
pub fn validate(update: &AnnotationsUpdate) -> Result<(), InvalidAnnotation> {
    let bad = |field, reason: &str| Err(InvalidAnnotation { field, reason: reason.to_string() });
    let texts = [
        ("purpose", &update.purpose),
        ("owner_override", &update.owner_override),
        ("last_tested", &update.last_tested),
        ("client_decision", &update.client_decision),
        ("evidence_link", &update.evidence_link),
        ("connected_system", &update.connected_system),
        ("replacement_key", &update.replacement_key),
    ];
    for (field, value) in texts {
        if let Some(Some(text)) = value {
            if text.chars().count() > MAX_FIELD_CHARS {
                return bad(field, "too long");
            }
        }
    }
    if let Some(Some(names)) = &update.co_owner_override {
        if names.len() > 100 || names.iter().any(|n| n.chars().count() > 320) {
            return bad("co_owner_override", "at most 100 names of at most 320 characters");
        }
    }
    if let Some(Some(days)) = update.review_cadence_days {
        if !(1..=3660).contains(&days) {
            return bad("review_cadence_days", "between 1 and 3660");
        }
    }
    if let Some(Some(date)) = &update.last_tested {
        if !timestamp::is_date_or_time(date) {
            return bad("last_tested", "a date (YYYY-MM-DD) or an RFC 3339 time");
        }
    }
    let enums = [
        ("data_sensitivity", &update.data_sensitivity, DATA_SENSITIVITY),
        ("criticality", &update.criticality, CRITICALITY),
        ("migration_status", &update.migration_status, MIGRATION_LADDER),
    ];
    for (field, value, allowed) in enums {
        if let Some(Some(v)) = value {
            if !allowed.contains(&v.as_str()) {
                return bad(field, &format!("one of {}", allowed.join(", ")));
            }
        }
    }
    if let Some(Some(date)) = &update.last_reviewed {
        if !timestamp::is_date_or_time(date) {
            return bad("last_reviewed", "a date (YYYY-MM-DD) or an RFC 3339 time");
        }
    }
    if let Some(Some(link)) = &update.evidence_link {
        if !(link.starts_with("https://") || link.starts_with("http://")) {
            return bad("evidence_link", "an http(s) link");
        }
    }
    Ok(())
}

/// A connector enters `tested` only with a test date and an evidence link,
/// and keeps both while it is there. Checked on the merged result, by the
/// store inside the update's transaction, so the API, the board and the
/// form cannot differ. A row stored before the rule that lacks them still
/// takes other edits.
pub fn check_merged(before: &Annotations, after: &Annotations) -> Result<(), InvalidAnnotation> {
    let lacks = |a: &Annotations| {
        a.migration_status.as_deref() == Some("tested") && (a.last_tested.is_none() || a.evidence_link.is_none())
    };
    if lacks(after) && !lacks(before) {
        return Err(InvalidAnnotation {
            field: "migration_status",
            reason: "a connector moves to tested only with a test date and an evidence link; set both first".into(),
        });
    }
    Ok(())
}

/// `current` with `update` applied, stamped with who and when.
pub fn merge(current: Annotations, update: &AnnotationsUpdate, by: &str, now: &str) -> Annotations {
    fn pick<T: Clone>(old: Option<T>, new: &Option<Option<T>>) -> Option<T> {
        match new {
            Some(value) => value.clone(),
            None => old,
        }
    }
    Annotations {
        purpose: pick(current.purpose, &update.purpose),
        owner_override: pick(current.owner_override, &update.owner_override),
        co_owner_override: pick(current.co_owner_override, &update.co_owner_override),
        review_cadence_days: pick(current.review_cadence_days, &update.review_cadence_days),
        last_tested: pick(current.last_tested, &update.last_tested),
        client_decision: pick(current.client_decision, &update.client_decision),
        evidence_link: pick(current.evidence_link, &update.evidence_link),
        connected_system: pick(current.connected_system, &update.connected_system),
        data_sensitivity: pick(current.data_sensitivity, &update.data_sensitivity),
        criticality: pick(current.criticality, &update.criticality),
        migration_status: pick(current.migration_status, &update.migration_status),
        replacement_key: pick(current.replacement_key, &update.replacement_key),
        last_reviewed: pick(current.last_reviewed, &update.last_reviewed),
        updated_by: Some(by.to_string()),
        updated_at: Some(now.to_string()),
    }
}

/// The audit trail's before and after of an annotation change, as JSON
/// without the `updated_by`/`updated_at` stamps (the entry carries who and
/// when), so that re-saving the same values records nothing.
pub fn audit_pair(before: &Annotations, after: &Annotations) -> (String, String) {
    let strip = |a: &Annotations| {
        let mut a = a.clone();
        a.updated_by = None;
        a.updated_at = None;
        serde_json::to_string(&a).expect("annotations serialise")
    };
    (strip(before), strip(after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_updates_keep_clear_and_set() {
        let start = Annotations { purpose: Some("p".into()), owner_override: Some("o".into()), ..Default::default() };
        let update: AnnotationsUpdate =
            serde_json::from_str(r#"{"owner_override":null,"review_cadence_days":90}"#).unwrap();
        validate(&update).unwrap();
        let got = merge(start, &update, "alice", "now");
        assert_eq!(got.purpose.as_deref(), Some("p"));
        assert_eq!(got.owner_override, None);
        assert_eq!(got.review_cadence_days, Some(90));
        assert_eq!(got.updated_by.as_deref(), Some("alice"));
    }

    #[test]
    fn bad_values_are_refused() {
        for body in [
            r#"{"review_cadence_days":0}"#,
            r#"{"last_tested":"yesterday"}"#,
            r#"{"evidence_link":"javascript:alert(1)"}"#,
            r#"{"criticality":"urgent"}"#,
            r#"{"migration_status":"done"}"#,
            r#"{"data_sensitivity":"secret"}"#,
            r#"{"last_reviewed":"soon"}"#,
        ] {
            let update: AnnotationsUpdate = serde_json::from_str(body).unwrap();
            assert!(validate(&update).is_err(), "{body}");
        }
    }
}
