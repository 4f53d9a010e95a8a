//! The published list of Office 365 connector Teams app ids (first- and
//! third-party), shipped as data in `data/connector-apps.tsv` with its
//! source named there.
//!
//! Graph has no "is a connector" property on an installed app, so without
//! this list a Jenkins, GitHub or RSS connector stays invisible unless audit
//! records name it or the operator lists its id by hand.

/// Whose connector it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// Published by Microsoft in the connector catalogue's first-party list.
    First,
    /// Published by another company.
    Third,
}

impl Party {
    /// As written in the data file.
    pub fn as_str(self) -> &'static str {
        match self {
            Party::First => "first-party",
            Party::Third => "third-party",
        }
    }
}

/// One entry of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownConnector {
    /// Teams app id, lower case.
    pub app_id: &'static str,
    /// Whose it is.
    pub party: Party,
    /// Its name in the catalogue.
    pub name: &'static str,
}

const DATA: &str = include_str!("../data/connector-apps.tsv");

/// Every entry, in file order. A malformed line is skipped: the file is
/// ours and tested, so that only happens if someone edits it badly, and the
/// test below then fails.
pub fn all() -> impl Iterator<Item = KnownConnector> {
    DATA.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).filter_map(|l| {
        let mut f = l.split('\t');
        let (app_id, party, name) = (f.next()?, f.next()?, f.next()?);
        let party = match party {
            "first-party" => Party::First,
            "third-party" => Party::Third,
            _ => return None,
        };
        Some(KnownConnector { app_id, party, name })
    })
}

/// The entry for `app_id` (any case), if it is a known connector.
pub fn lookup(app_id: &str) -> Option<KnownConnector> {
    all().find(|k| k.app_id.eq_ignore_ascii_case(app_id.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_reads_whole() {
        let lines = DATA.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).count();
        let entries: Vec<KnownConnector> = all().collect();
        assert_eq!(entries.len(), lines, "a line failed to parse");
        assert_eq!(entries.len(), 157);
        assert_eq!(entries.iter().filter(|k| k.party == Party::First).count(), 32);
        for k in &entries {
            assert_eq!(k.app_id.len(), 36, "{k:?}");
            assert!(k.app_id.bytes().all(|c| c == b'-' || c.is_ascii_digit() || (b'a'..=b'f').contains(&c)), "{k:?}");
            assert!(!k.name.is_empty());
        }
    }

    #[test]
    fn lookup_ignores_case_and_knows_the_incoming_webhook() {
        let k = lookup("8FD5DFB8-2FEA-4741-BEC6-2C7947CBCCB2").expect("Jenkins");
        assert_eq!((k.name, k.party), ("Jenkins", Party::First));
        assert_eq!(lookup(crate::model::INCOMING_WEBHOOK_APP_ID).map(|k| k.name), Some("Incoming Webhook"));
        assert_eq!(lookup("ad306cd4-1e98-4c46-8833-611a714fddba").map(|k| k.party), Some(Party::Third));
        assert!(lookup("00000000-0000-0000-0000-000000000000").is_none());
    }
}
