//! Live mode: Microsoft Graph v1.0.
//!
//! 1. `GET /groups?$filter=resourceProvisioningOptions/Any(x:x eq 'Team')`,
//!    following `@odata.nextLink`;
//! 2. per team, `GET /teams/{id}/installedApps?$expand=teamsAppDefinition`
//!    and `GET /groups/{id}/owners?$select=...`, sent through
//!    `POST /$batch`, [`MAX_BATCH_REQUESTS`] at a time.
//!
//! A batch answers 200 even when some of its requests fail; each request has
//! its own status. Throttled ones (429, or 502/503/504) are sent again in a
//! later round (the plugin cannot sleep; the other batches of a round are
//! the pause), at most [`MAX_BATCH_ROUNDS`] rounds; what is still throttled
//! after that is fetched on its own with a plain GET, where the host waits
//! out `Retry-After`. A 403 or 404 (and any other failure) becomes a note on
//! that team, not a failed scan.
//!
//! The batches of a round, and the plain GETs after the last round, go out
//! as one `send-all` list each, which the host runs concurrently.
//!
//! Everything here takes the transport as an argument (the host in a scan,
//! a fake closure in native tests), so it never calls the host itself.

use crate::json::{collection_of, Collection, GraphError};
use crate::model::{Fetched, InstalledApp, Note, Owner, Team, TeamData};
use plumbline_plugin_sdk::http::{self, NextPage, Request, Transport};
use plumbline_plugin_sdk::ScanError;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Graph's v1.0 root.
pub const GRAPH_ROOT: &str = "https://graph.microsoft.com/v1.0";
/// Requests in one `$batch`: Graph's limit.
pub const MAX_BATCH_REQUESTS: usize = 20;
/// Rounds of `$batch` before throttled requests fall back to plain GETs.
pub const MAX_BATCH_ROUNDS: usize = 4;
/// `$top` of the team listing (Graph's maximum for groups).
pub const TEAMS_PAGE_SIZE: usize = 999;
/// Per-request statuses inside a batch that are worth sending again.
const RETRYABLE: [u16; 4] = [429, 502, 503, 504];

/// The first request of the team listing.
pub fn teams_request(credential: &str) -> Request {
    let url = format!(
        "{GRAPH_ROOT}/groups?$filter=resourceProvisioningOptions/Any(x:x%20eq%20'Team')\
         &$select=id,displayName,visibility,createdDateTime&$top={TEAMS_PAGE_SIZE}"
    );
    http::json_request("GET", &url, None, Some(credential), &[])
}

/// List every team, following `@odata.nextLink` pages.
pub fn list_teams(
    credential: &str,
    send: &mut impl Transport,
) -> Result<Vec<Team>, ScanError> {
    let values = http::collect_pages_with(teams_request(credential), NextPage::Get, |r| {
        http::parse_json_response(&r.url, &send.send(r)?)
    })
    .map_err(|e| e.context("listing teams"))?;
    let mut teams = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let team = Team::from_value(v).ok_or_else(|| {
            ScanError::Malformed(format!("listing teams: item {i} has no `id`"))
        })?;
        teams.push(team);
    }
    Ok(teams)
}

/// What a batch item asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Want {
    /// `installedApps?$expand=teamsAppDefinition`.
    Apps,
    /// `owners?$select=...`.
    Owners,
}

/// One request of a batch: what, for which team (an index into the list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchItem {
    /// Index of the team.
    pub team: usize,
    /// What is asked.
    pub want: Want,
}

impl BatchItem {
    /// The request id inside the batch: `apps-3`, `owners-3`.
    pub fn id(&self) -> String {
        match self.want {
            Want::Apps => format!("apps-{}", self.team),
            Want::Owners => format!("owners-{}", self.team),
        }
    }

    /// The URL relative to the version root, as `$batch` wants it.
    pub fn relative_url(&self, team_id: &str) -> String {
        match self.want {
            Want::Apps => format!("/teams/{team_id}/installedApps?$expand=teamsAppDefinition"),
            Want::Owners => format!(
                "/groups/{team_id}/owners?$select=id,displayName,userPrincipalName,accountEnabled"
            ),
        }
    }
}

/// The `$batch` request for `items`.
pub fn batch_request(items: &[BatchItem], teams: &[Team], credential: &str) -> Request {
    let requests: Vec<Value> = items
        .iter()
        .map(|it| {
            json!({
                "id": it.id(),
                "method": "GET",
                "url": it.relative_url(&teams[it.team].id),
            })
        })
        .collect();
    http::json_request(
        "POST",
        &format!("{GRAPH_ROOT}/$batch"),
        Some(&json!({ "requests": requests })),
        Some(credential),
        &[],
    )
}

/// `items` in batches of at most [`MAX_BATCH_REQUESTS`].
pub fn split_batches(items: &[BatchItem]) -> impl Iterator<Item = &[BatchItem]> {
    items.chunks(MAX_BATCH_REQUESTS)
}

/// What one request inside a batch answered.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemOutcome {
    /// 2xx: the items of this page, and the next page's link if any.
    Page {
        /// `value` items.
        items: Vec<Value>,
        /// `@odata.nextLink`.
        next_link: Option<String>,
    },
    /// Throttled or briefly unavailable: send it again later.
    Retry {
        /// The status.
        status: u16,
        /// `Retry-After`, in seconds, when given.
        retry_after: Option<u64>,
    },
    /// Refused or failed for good.
    Failed(Note),
}

/// Read a `$batch` answer (`{"responses": [{"id", "status", "headers",
/// "body"}]}`) for the `sent` items. Answers may come in any order; an item
/// with no answer is to be retried.
pub fn parse_batch_response(
    answer: &Value,
    sent: &[BatchItem],
) -> Result<Vec<(BatchItem, ItemOutcome)>, ScanError> {
    let responses = answer
        .get("responses")
        .and_then(Value::as_array)
        .ok_or_else(|| ScanError::Malformed("$batch: the answer has no `responses` array".into()))?;
    let mut by_id: HashMap<String, &Value> = HashMap::new();
    for (i, r) in responses.iter().enumerate() {
        let id = match r.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(ScanError::Malformed(format!(
                    "$batch: response {i} has no `id`"
                )))
            }
        };
        by_id.insert(id, r);
    }
    let mut out = Vec::with_capacity(sent.len());
    for item in sent {
        let Some(r) = by_id.get(&item.id()) else {
            out.push((*item, ItemOutcome::Retry { status: 0, retry_after: None }));
            continue;
        };
        let status = r
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| {
                ScanError::Malformed(format!("$batch: response `{}` has no numeric `status`", item.id()))
            })?;
        let body = r.get("body").cloned().unwrap_or(Value::Null);
        out.push((*item, outcome(status, header(r, "retry-after"), body, &item.id())?));
    }
    Ok(out)
}

fn header(r: &Value, name: &str) -> Option<String> {
    r.get("headers")?
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

fn outcome(status: u16, retry_after: Option<String>, body: Value, what: &str) -> Result<ItemOutcome, ScanError> {
    if (200..300).contains(&status) {
        if body.is_null() && status != 204 {
            // Absent is unknown, not "no apps": an answer without a body is unusable.
            return Err(ScanError::Malformed(format!("{what}: HTTP {status} without a body")));
        }
        return match collection_of(body, what)? {
            Collection::Items { items, next_link } => Ok(ItemOutcome::Page { items, next_link }),
            Collection::Error(e) => Ok(ItemOutcome::Failed(note_of(&e, status))),
        };
    }
    if RETRYABLE.contains(&status) {
        return Ok(ItemOutcome::Retry {
            status,
            retry_after: retry_after.and_then(|s| s.trim().parse().ok()),
        });
    }
    let e = GraphError::from_value(&body, Some(status)).unwrap_or(GraphError {
        status: Some(status),
        code: None,
        message: "no error body".into(),
    });
    Ok(ItemOutcome::Failed(note_of(&e, status)))
}

fn note_of(e: &GraphError, status: u16) -> Note {
    let hint = match status {
        403 => " (the app lacks TeamsAppInstallation.ReadForTeam.All / GroupMember.Read.All, or the team is restricted)",
        404 => " (the team was deleted or is still being provisioned)",
        _ => "",
    };
    Note {
        status: Some(status),
        reason: format!("{}{hint}", e.describe()),
    }
}

/// Counters of one live read, for the log and the register.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Batch rounds sent.
    pub rounds: usize,
    /// `$batch` requests sent.
    pub batches: usize,
    /// Requests answered 429/5xx inside a batch (each time).
    pub throttled: usize,
    /// Largest `Retry-After` seen inside a batch, seconds.
    pub max_retry_after: Option<u64>,
    /// Requests fetched on their own after the last round.
    pub fallback_gets: usize,
    /// `@odata.nextLink` pages followed for per-team answers.
    pub extra_pages: usize,
}

/// Each batch item's result.
pub type BatchResults = BTreeMap<BatchItem, Fetched<Vec<Value>>>;

/// Send every item through `$batch`, re-queueing throttled ones, and return
/// each item's result.
pub fn run_batches(
    items: &[BatchItem],
    teams: &[Team],
    credential: &str,
    send: &mut impl Transport,
) -> Result<(BatchResults, BatchStats), ScanError> {
    let mut stats = BatchStats::default();
    let mut results = BTreeMap::new();
    let mut pending: Vec<BatchItem> = items.to_vec();
    while !pending.is_empty() && stats.rounds < MAX_BATCH_ROUNDS {
        stats.rounds += 1;
        let mut again = Vec::new();
        // A round's batches go out as one list, which the host runs
        // concurrently; a throttled batch is retried by the host on its own.
        let chunks: Vec<&[BatchItem]> = split_batches(&pending).collect();
        let reqs: Vec<Request> = chunks.iter().map(|chunk| batch_request(chunk, teams, credential)).collect();
        stats.batches += reqs.len();
        let answers = send.send_all(&reqs);
        for ((chunk, req), answer) in chunks.iter().zip(&reqs).zip(answers) {
            let answer = http::parse_json_response(&req.url, &answer?)
                .map_err(|e| e.context("reading installed apps and owners"))?;
            for (item, outcome) in parse_batch_response(&answer, chunk)? {
                match outcome {
                    ItemOutcome::Page { items, next_link } => {
                        let all = follow(items, next_link, credential, send, &mut stats)?;
                        results.insert(item, all);
                    }
                    ItemOutcome::Retry { retry_after, .. } => {
                        stats.throttled += 1;
                        stats.max_retry_after = stats.max_retry_after.max(retry_after);
                        again.push(item);
                    }
                    ItemOutcome::Failed(note) => {
                        results.insert(item, Fetched::Failed(note));
                    }
                }
            }
        }
        pending = again;
    }
    stats.fallback_gets += pending.len();
    let reqs: Vec<Request> = pending
        .iter()
        .map(|item| {
            let url = format!("{GRAPH_ROOT}{}", item.relative_url(&teams[item.team].id));
            http::json_request("GET", &url, None, Some(credential), &[])
        })
        .collect();
    let answers = send.send_all(&reqs);
    for ((item, req), resp) in pending.into_iter().zip(&reqs).zip(answers) {
        let resp = resp?;
        let body: Value = if (200..300).contains(&resp.status) {
            // A 2xx must be JSON: an HTML page or a cut answer is an error, never "nothing".
            http::parse_json_response(&req.url, &resp)?
        } else {
            serde_json::from_slice(&resp.body).unwrap_or(Value::Null)
        };
        let retry_after = http::header(&resp, "retry-after").map(str::to_string);
        let result = match outcome(resp.status, retry_after, body, &item.id())? {
            ItemOutcome::Page { items, next_link } => follow(items, next_link, credential, send, &mut stats)?,
            ItemOutcome::Retry { status, .. } => Fetched::Failed(Note {
                status: Some(status),
                reason: format!(
                    "HTTP {status}: still throttled after {MAX_BATCH_ROUNDS} batch rounds and the host's retries"
                ),
            }),
            ItemOutcome::Failed(note) => Fetched::Failed(note),
        };
        results.insert(item, result);
    }
    Ok((results, stats))
}

/// The rest of a per-team answer that came in pages.
fn follow(
    mut items: Vec<Value>,
    next_link: Option<String>,
    credential: &str,
    send: &mut impl Transport,
    stats: &mut BatchStats,
) -> Result<Fetched<Vec<Value>>, ScanError> {
    if let Some(link) = next_link {
        let first = http::json_request("GET", &link, None, Some(credential), &[]);
        let rest = http::collect_pages_with(first, NextPage::Get, |r| {
            stats.extra_pages += 1;
            http::parse_json_response(&r.url, &send.send(r)?)
        })?;
        items.extend(rest);
    }
    Ok(Fetched::Read(items))
}

/// Whether `id` is a GUID (a group id always is): only such ids go into URLs.
pub fn is_guid(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The whole live read: teams, then their apps and owners.
pub fn fetch_live_with(
    credential: &str,
    send: &mut impl Transport,
) -> Result<(Vec<TeamData>, BatchStats), ScanError> {
    let teams = list_teams(credential, send)?;
    let mut items = Vec::with_capacity(teams.len() * 2);
    for (i, t) in teams.iter().enumerate() {
        if is_guid(&t.id) {
            items.push(BatchItem { team: i, want: Want::Apps });
            items.push(BatchItem { team: i, want: Want::Owners });
        }
    }
    let (mut results, stats) = run_batches(&items, &teams, credential, send)?;
    let data = teams
        .into_iter()
        .enumerate()
        .map(|(i, team)| {
            let mut take = |want: Want| {
                results.remove(&BatchItem { team: i, want }).unwrap_or_else(|| {
                    Fetched::Failed(Note {
                        status: None,
                        reason: format!("the team id {:?} is not a GUID; not requested", team.id),
                    })
                })
            };
            let apps = take(Want::Apps);
            let owners = take(Want::Owners);
            TeamData {
                apps: map(apps, InstalledApp::from_value),
                owners: map(owners, Owner::from_value),
                team,
            }
        })
        .collect();
    Ok((data, stats))
}

fn map<T>(f: Fetched<Vec<Value>>, read: impl Fn(&Value) -> T) -> Fetched<Vec<T>> {
    match f {
        Fetched::Read(vs) => Fetched::Read(vs.iter().map(read).collect()),
        Fetched::Failed(n) => Fetched::Failed(n),
        Fetched::Missing(m) => Fetched::Missing(m),
    }
}

#[cfg(test)]
mod tests;
