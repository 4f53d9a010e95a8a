//! Paging of the JSON read endpoints (`register`, `findings`, `changes`):
//! `?limit=N&cursor=C`, and the cursor each page answers as `next_cursor`.
//!
//! A cursor is opaque to clients: base64url of a small versioned JSON (the
//! list, the tenant, the filter, and the sort key of the last row given)
//! and a short checksum. It holds a position, never a permission: the
//! tenant is still the path's, checked against the token, and a cursor
//! made for another list, tenant or filter is refused rather than followed.
//! The checksum catches a cursor cut short or edited by hand; forging one
//! gains nothing a `limit` and the first page do not already give.

use super::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Rows a page holds when `limit` is left out: under a megabyte of JSON (a
/// register page of 500 connectors, each with one finding, is about 0.7 MB;
/// 500 changes about 0.35 MB), quick to read in one snapshot and to parse in
/// a script.
pub const DEFAULT_PAGE: u32 = 500;
/// The most rows one page holds: a larger `limit` is served as this (the
/// client follows `next_cursor` as for any page, so nothing is lost, and a
/// client that asked `changes?limit=10000`, the old cap, is not refused),
/// which keeps each answer under about 10 MB and each read transaction
/// short, however large the tenant.
pub const MAX_PAGE: u32 = 5000;

/// The cursor format written now; any other is refused.
const VERSION: u32 = 1;
/// Bytes of the checksum after the JSON.
const CHECK_BYTES: usize = 8;

/// Which endpoint a cursor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// `GET register`.
    Register,
    /// `GET findings`.
    Findings,
    /// `GET changes`.
    Changes,
}

impl List {
    fn name(self) -> &'static str {
        match self {
            List::Register => "register",
            List::Findings => "findings",
            List::Changes => "changes",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u32,
    list: String,
    tenant: String,
    filter: String,
    after: serde_json::Value,
}

/// `limit` as asked: left out, the default; over the cap, the cap; 0 refused.
pub fn limit(asked: Option<u32>) -> Result<u32, ApiError> {
    match asked {
        None => Ok(DEFAULT_PAGE),
        Some(0) => Err(ApiError::malformed(format!(
            "limit=0: ask for 1 to {MAX_PAGE} rows a page, or leave limit out for {DEFAULT_PAGE}"
        ))),
        Some(n) => Ok(n.min(MAX_PAGE)),
    }
}

/// The cursor that resumes `list` of `tenant` (under `filter`) after the
/// row whose sort key is `after`.
pub fn encode<T: Serialize>(list: List, tenant: &str, filter: &str, after: &T) -> String {
    let wire = Wire {
        v: VERSION,
        list: list.name().into(),
        tenant: tenant.into(),
        filter: filter.into(),
        after: serde_json::to_value(after).expect("sort keys serialise"),
    };
    let mut bytes = serde_json::to_vec(&wire).expect("a cursor serialises");
    let check = checksum(&bytes);
    bytes.extend_from_slice(&check);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The sort key in `text`, when it is a cursor this collector made for
/// `list` of `tenant` under `filter`; else a 400 saying what to do.
pub fn decode<T: DeserializeOwned>(text: &str, list: List, tenant: &str, filter: &str) -> Result<T, ApiError> {
    let restart = "start again without `cursor`";
    let refuse = |why: &str| ApiError::malformed(format!("cursor: {why}; {restart}"));
    let not_ours = || refuse("not a cursor this collector gave out (it must be a `next_cursor`, copied whole)");
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| not_ours())?;
    if bytes.len() <= CHECK_BYTES {
        return Err(not_ours());
    }
    let (json, check) = bytes.split_at(bytes.len() - CHECK_BYTES);
    if checksum(json) != check {
        return Err(not_ours());
    }
    let wire: Wire = serde_json::from_slice(json).map_err(|_| not_ours())?;
    if wire.v != VERSION {
        return Err(refuse(&format!("format {} is not one this collector reads", wire.v)));
    }
    if wire.list != list.name() {
        return Err(refuse(&format!("it pages `{}`, not `{}`", wire.list, list.name())));
    }
    if wire.tenant != tenant {
        return Err(refuse("it pages another tenant"));
    }
    if wire.filter != filter {
        let (was, now) = (shown(&wire.filter), shown(filter));
        return Err(ApiError::malformed(format!(
            "cursor: it pages {was}, not {now}; repeat the query it came from, or {restart}"
        )));
    }
    serde_json::from_value(wire.after).map_err(|_| not_ours())
}

fn shown(filter: &str) -> String {
    if filter.is_empty() { "without a filter".into() } else { format!("`{filter}`") }
}

fn checksum(json: &[u8]) -> [u8; CHECK_BYTES] {
    let digest = Sha256::new().chain_update(b"plumbline read cursor\0").chain_update(json).finalize();
    let mut out = [0; CHECK_BYTES];
    out.copy_from_slice(&digest[..CHECK_BYTES]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T: std::fmt::Debug>(r: Result<T, ApiError>) -> String {
        let e = r.expect_err("refused");
        assert_eq!((e.status.as_u16(), e.code), (400, "malformed"));
        assert!(e.message.contains("without `cursor`") || e.message.contains("repeat the query"), "{}", e.message);
        e.message
    }

    #[test]
    fn a_cursor_resumes_only_where_it_was_made() {
        let c = encode(List::Register, "contoso", "", &"exo/key:1");
        assert!(c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{c}");
        assert_eq!(decode::<String>(&c, List::Register, "contoso", "").unwrap(), "exo/key:1");
        let elsewhere = message(decode::<String>(&c, List::Changes, "contoso", ""));
        assert!(elsewhere.contains("pages `register`, not `changes`"), "{elsewhere}");
        assert!(message(decode::<String>(&c, List::Register, "fabrikam", "")).contains("another tenant"));
        assert!(message(decode::<String>(&c, List::Register, "contoso", "status=all")).contains("`status=all`"));
        // The sort key of another list does not parse as this one's.
        assert!(message(decode::<i64>(&c, List::Register, "contoso", "")).contains("not a cursor"));
    }

    #[test]
    fn a_damaged_or_edited_cursor_is_refused() {
        let filter = "needs_review=false";
        let c = encode(List::Changes, "contoso", filter, &41_i64);
        for bad in ["", "!!!", "AAAA", &c[..c.len() - 3], &format!("{c}A")] {
            assert!(message(decode::<i64>(bad, List::Changes, "contoso", filter)).contains("not a cursor"), "{bad}");
        }
        // The same JSON with another position but the old checksum.
        let mut bytes = URL_SAFE_NO_PAD.decode(&c).unwrap();
        let at = bytes.iter().position(|b| *b == b'4').unwrap();
        bytes[at] = b'9';
        let edited = URL_SAFE_NO_PAD.encode(bytes);
        assert!(message(decode::<i64>(&edited, List::Changes, "contoso", filter)).contains("not a cursor"));
        // Another format version, checksummed right.
        let wire = Wire { v: 2, list: "changes".into(), tenant: "contoso".into(), filter: "".into(), after: 1.into() };
        let mut bytes = serde_json::to_vec(&wire).unwrap();
        bytes.extend_from_slice(&checksum(&bytes.clone()));
        let other = URL_SAFE_NO_PAD.encode(bytes);
        assert!(message(decode::<i64>(&other, List::Changes, "contoso", "")).contains("format 2"));
    }

    #[test]
    fn limits_default_cap_and_refuse_zero() {
        assert_eq!(limit(None).unwrap(), DEFAULT_PAGE);
        assert_eq!(limit(Some(1)).unwrap(), 1);
        assert_eq!(limit(Some(MAX_PAGE)).unwrap(), MAX_PAGE);
        assert_eq!(limit(Some(MAX_PAGE + 1)).unwrap(), MAX_PAGE);
        assert_eq!(limit(Some(u32::MAX)).unwrap(), MAX_PAGE);
        let e = limit(Some(0)).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert!(e.message.contains("1 to 5000"), "{}", e.message);
    }
}
