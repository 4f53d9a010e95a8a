//! MSP annotations: checking and applying a partial update.

use crate::timestamp;
use plumbline_protocol::read_api::{Annotations, AnnotationsUpdate};

/// Longest text an annotation field takes.
pub const MAX_FIELD_CHARS: usize = 4096;

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
    if let Some(Some(link)) = &update.evidence_link {
        if !(link.starts_with("https://") || link.starts_with("http://")) {
            return bad("evidence_link", "an http(s) link");
        }
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
        updated_by: Some(by.to_string()),
        updated_at: Some(now.to_string()),
    }
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
        ] {
            let update: AnnotationsUpdate = serde_json::from_str(body).unwrap();
            assert!(validate(&update).is_err(), "{body}");
        }
    }
}
