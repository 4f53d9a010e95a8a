//! Live mode: the Power Platform admin API for environments, the Power
//! Automate admin API for flows, permissions and definitions, and Microsoft
//! Graph for the owners' accounts.
//!
//! Requests, per scan:
//! - 1 + pages: `GET api.bap.microsoft.com/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2023-06-01`
//! - per environment, pages of [`FLOW_PAGE_SIZE`]: `GET api.flow.microsoft.com/providers/Microsoft.ProcessSimple/scopes/admin/environments/{env}/v2/flows?api-version=2016-11-01&$top=250`, following `nextLink`
//! - per flow: `GET .../scopes/admin/environments/{env}/flows/{flow}/permissions?api-version=2016-11-01`
//! - per flow with a Teams webhook or Request trigger, or with no trigger in its summary (often all of
//!   them: the admin list may answer `"triggers": []`): `GET .../flows/{flow}?api-version=2016-11-01&$expand=properties.definition`
//! - per [`GET_BY_IDS_CHUNK`] distinct owners: `POST graph.microsoft.com/v1.0/directoryObjects/getByIds?$select=...`
//!   (`$select` because v1.0 returns only a few user properties by default)
//! - per owner that answer left out or without `accountEnabled` (at most
//!   [`MAX_USER_LOOKUPS`]): `GET graph.microsoft.com/v1.0/users/{id}?$select=...`, where a 404 means deleted.
//!
//! The per-flow requests (permissions, definitions) and the Graph lookups go
//! out as lists through `send-all`, which the host runs concurrently; a
//! page of flows costs a few round trips, not one per flow. The host retries
//! throttled answers (429 with Retry-After), each request on its own, before
//! the plugin sees them.

use crate::fields::is_safe_name;
use crate::inventory::Source;
use crate::model::{is_user_object, permissions_from_values, Definition, Environment, Flow, User};
use plumbline_plugin_sdk::http::{self, parse_json_response, Request, Response, Transport, MAX_PAGES};
use plumbline_plugin_sdk::ScanError;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Power Platform admin API host.
pub const BAP_HOST: &str = "api.bap.microsoft.com";
/// Power Automate API host.
pub const FLOW_HOST: &str = "api.flow.microsoft.com";
/// Microsoft Graph host.
pub const GRAPH_HOST: &str = "graph.microsoft.com";
/// Flows asked for per page (`$top`); the service may send fewer.
pub const FLOW_PAGE_SIZE: usize = 250;
/// Ids per `getByIds` request (the API's maximum is 1000).
pub const GET_BY_IDS_CHUNK: usize = 1000;
/// Owners looked up one by one (those `getByIds` did not settle) before the
/// rest are left unknown.
pub const MAX_USER_LOOKUPS: usize = 1000;
/// The user properties asked for.
const USER_SELECT: &str = "id,accountEnabled,displayName,userPrincipalName";

/// The environments list.
pub fn environments_url() -> String {
    format!("https://{BAP_HOST}/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2023-06-01")
}

/// The first page of an environment's flows.
pub fn flows_url(env: &str) -> String {
    format!(
        "https://{FLOW_HOST}/providers/Microsoft.ProcessSimple/scopes/admin/environments/{env}/v2/flows?api-version=2016-11-01&$top={FLOW_PAGE_SIZE}"
    )
}

/// A flow's permissions.
pub fn permissions_url(env: &str, flow: &str) -> String {
    format!(
        "https://{FLOW_HOST}/providers/Microsoft.ProcessSimple/scopes/admin/environments/{env}/flows/{flow}/permissions?api-version=2016-11-01"
    )
}

/// A flow with its definition.
pub fn definition_url(env: &str, flow: &str) -> String {
    format!(
        "https://{FLOW_HOST}/providers/Microsoft.ProcessSimple/scopes/admin/environments/{env}/flows/{flow}?api-version=2016-11-01&$expand=properties.definition"
    )
}

/// Graph `getByIds`.
pub fn get_by_ids_url() -> String {
    format!("https://{GRAPH_HOST}/v1.0/directoryObjects/getByIds?$select={USER_SELECT}")
}

/// One Graph user.
pub fn user_url(id: &str) -> String {
    format!("https://{GRAPH_HOST}/v1.0/users/{id}?$select={USER_SELECT}")
}

/// The live source over a transport (the host in a scan, a fake in native
/// tests).
pub struct Live<T: Transport> {
    send: T,
    flow_credential: String,
    bap_credential: String,
    graph_credential: Option<String>,
    /// Requests sent.
    pub requests: usize,
    /// Flows whose permissions or definition answered 404.
    pub vanished: usize,
    /// Where progress goes (the host's `progress` in a scan).
    pub on_progress: Option<fn(u64, Option<u64>, &str)>,
}

impl<T: Transport> Live<T> {
    /// A live source sending through `send` with these credential profiles.
    pub fn new(send: T, flow_credential: &str, bap_credential: &str, graph_credential: Option<&str>) -> Self {
        Live {
            send,
            flow_credential: flow_credential.to_string(),
            bap_credential: bap_credential.to_string(),
            graph_credential: graph_credential.map(str::to_string),
            requests: 0,
            vanished: 0,
            on_progress: None,
        }
    }

    fn exchange(&mut self, method: &str, url: &str, body: Option<&Value>, credential: &str) -> Result<Response, ScanError> {
        self.requests += 1;
        let req = http::json_request(method, url, body, Some(credential), &[]);
        self.send.send(&req)
    }

    /// GET every URL at once; answers in order, a 404 as `None`.
    fn get_all_json_or_404(&mut self, urls: &[String], credential: &str) -> Vec<Result<Option<Value>, ScanError>> {
        self.requests += urls.len();
        let reqs: Vec<Request> = urls.iter().map(|u| http::json_request("GET", u, None, Some(credential), &[])).collect();
        self.send
            .send_all(&reqs)
            .into_iter()
            .zip(urls)
            .map(|(answer, url)| {
                let resp = answer?;
                if resp.status == 404 {
                    return Ok(None);
                }
                parse_json_response(url, &resp).map(Some)
            })
            .collect()
    }

    /// One flow's permissions from its first page (the rest are followed).
    fn permissions_from(
        &mut self,
        flow: &str,
        answer: Result<Option<Value>, ScanError>,
    ) -> Result<Option<Vec<crate::model::Permission>>, ScanError> {
        let cred = self.flow_credential.clone();
        let Some(answer) = answer.map_err(|e| e.context(format!("permissions of flow {flow}")))? else {
            self.vanished += 1;
            return Ok(None);
        };
        // The permissions of one flow fit in one page; a nextLink here would
        // mean an unusual flow shared with very many principals.
        let mut items = match answer.get("value") {
            Some(Value::Array(items)) => items.clone(),
            _ => {
                return Err(ScanError::Malformed(format!(
                    "permissions of flow {flow}: the answer has no `value` array"
                )))
            }
        };
        if let Some(next) = answer.get("nextLink").or_else(|| answer.get("@odata.nextLink")).and_then(Value::as_str) {
            let next = next.to_string();
            self.pages(next, &cred, |more| {
                items.extend(more);
                Ok(true)
            })
            .map_err(|e| e.context(format!("permissions of flow {flow}")))?;
        }
        Ok(Some(permissions_from_values(&items)))
    }

    fn definition_from(&mut self, flow: &str, answer: Result<Option<Value>, ScanError>) -> Result<Option<Definition>, ScanError> {
        match answer.map_err(|e| e.context(format!("definition of flow {flow}")))? {
            Some(v) => Ok(Definition::from_flow_value(&v)),
            None => {
                self.vanished += 1;
                Ok(None)
            }
        }
    }

    fn get_json(&mut self, url: &str, credential: &str) -> Result<Value, ScanError> {
        let resp = self.exchange("GET", url, None, credential)?;
        parse_json_response(url, &resp)
    }

    /// Follow `nextLink` (the Power Platform APIs) or `@odata.nextLink`
    /// (Graph) from `first`, handing each page's `value` to `page`, which
    /// answers whether to go on. Returns whether a next page remained unread.
    fn pages(
        &mut self,
        first: String,
        credential: &str,
        mut page: impl FnMut(Vec<Value>) -> Result<bool, ScanError>,
    ) -> Result<bool, ScanError> {
        let mut url = first;
        for _ in 0..MAX_PAGES {
            let mut answer = self.get_json(&url, credential)?;
            let items = match answer.get_mut("value").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => {
                    return Err(ScanError::Malformed(format!(
                        "{}: the answer has no `value` array",
                        strip_query(&url)
                    )))
                }
            };
            let next = ["nextLink", "@odata.nextLink"]
                .iter()
                .find_map(|k| answer.get(*k).and_then(Value::as_str))
                .filter(|l| !l.is_empty())
                .map(str::to_string);
            let go_on = page(items)?;
            match next {
                Some(link) if go_on => url = link,
                Some(_) => return Ok(true),
                None => return Ok(false),
            }
        }
        Err(ScanError::Malformed(format!(
            "{}: more than {MAX_PAGES} pages; refusing to follow more next links",
            strip_query(&url)
        )))
    }
}

impl<T: Transport> Source for Live<T> {
    fn environments(&mut self) -> Result<Vec<Environment>, ScanError> {
        let cred = self.bap_credential.clone();
        let mut envs = Vec::new();
        let mut bad = Vec::new();
        self.pages(environments_url(), &cred, |items| {
            for v in &items {
                match Environment::from_value(v) {
                    Some(e) if is_safe_name(&e.name) => envs.push(e),
                    Some(e) => bad.push(e.name),
                    None => bad.push("(no name)".into()),
                }
            }
            Ok(true)
        })
        .map_err(|e| e.context("Power Platform environments"))?;
        if !bad.is_empty() {
            return Err(ScanError::Malformed(format!(
                "Power Platform environments: unusable environment names {bad:?}"
            )));
        }
        Ok(envs)
    }

    fn flows(&mut self, env: &Environment, limit: usize, notes: &mut Vec<String>) -> Result<Option<(Vec<Flow>, bool)>, ScanError> {
        let cred = self.flow_credential.clone();
        let mut flows = Vec::new();
        let mut skipped = 0;
        let mut left_in_page = false;
        let more_pages = self
            .pages(flows_url(&env.name), &cred, |items| {
                for (i, v) in items.iter().enumerate() {
                    if flows.len() == limit {
                        // The rest of this page is beyond the limit.
                        left_in_page = i < items.len();
                        return Ok(false);
                    }
                    match Flow::from_value(v, &env.name) {
                        Ok(f) => flows.push(f),
                        Err(_) => skipped += 1,
                    }
                }
                Ok(flows.len() < limit)
            })
            .map_err(|e| e.context(format!("flows of environment {}", env.name)))?;
        let more = more_pages || left_in_page;
        if skipped > 0 {
            notes.push(format!(
                "environment {}: {skipped} listed flows had no usable name and were skipped",
                env.name
            ));
        }
        Ok(Some((flows, more)))
    }

    fn permissions(&mut self, env: &str, flow: &str) -> Result<Option<Vec<crate::model::Permission>>, ScanError> {
        Ok(self.permissions_all(env, &[flow])?.pop().flatten())
    }

    fn permissions_all(&mut self, env: &str, flows: &[&str]) -> Result<Vec<Option<Vec<crate::model::Permission>>>, ScanError> {
        let urls: Vec<String> = flows.iter().map(|f| permissions_url(env, f)).collect();
        let cred = self.flow_credential.clone();
        let answers = self.get_all_json_or_404(&urls, &cred);
        flows.iter().zip(answers).map(|(flow, answer)| self.permissions_from(flow, answer)).collect()
    }

    fn definition(&mut self, env: &str, flow: &str) -> Result<Option<Definition>, ScanError> {
        Ok(self.definitions_all(env, &[flow])?.pop().flatten())
    }

    fn progress(&mut self, done: u64, total: Option<u64>) {
        if let Some(report) = self.on_progress {
            report(done, total, "flows examined");
        }
    }

    fn definitions_all(&mut self, env: &str, flows: &[&str]) -> Result<Vec<Option<Definition>>, ScanError> {
        let urls: Vec<String> = flows.iter().map(|f| definition_url(env, f)).collect();
        let cred = self.flow_credential.clone();
        let answers = self.get_all_json_or_404(&urls, &cred);
        flows.iter().zip(answers).map(|(flow, answer)| self.definition_from(flow, answer)).collect()
    }

    fn users(&mut self, ids: &[String], notes: &mut Vec<String>) -> Result<Option<BTreeMap<String, User>>, ScanError> {
        let Some(cred) = self.graph_credential.clone() else {
            notes.push(
                "graph_credential is empty: owners' account status was not looked up, so no flow can be \
                 called orphaned"
                    .into(),
            );
            return Ok(None);
        };
        let mut users: BTreeMap<String, User> = BTreeMap::new();
        let url = get_by_ids_url();
        let reqs: Vec<Request> = ids
            .chunks(GET_BY_IDS_CHUNK)
            .map(|chunk| http::json_request("POST", &url, Some(&json!({"ids": chunk, "types": ["user"]})), Some(&cred), &[]))
            .collect();
        self.requests += reqs.len();
        for answer in self.send.send_all(&reqs) {
            let answer = parse_json_response(&url, &answer?).map_err(|e| e.context("Graph getByIds"))?;
            let Some(Value::Array(items)) = answer.get("value") else {
                return Err(ScanError::Malformed("Graph getByIds: the answer has no `value` array".into()));
            };
            for u in items.iter().filter(|v| is_user_object(v)).filter_map(User::from_value) {
                users.insert(u.id.clone(), u);
            }
        }
        // getByIds leaves out deleted objects, and may leave out
        // accountEnabled: ask for those users one by one; 404 = deleted.
        let unsettled: Vec<&String> = ids
            .iter()
            .filter(|id| users.get(*id).is_none_or(|u| u.status == crate::model::AccountStatus::Unknown))
            .collect();
        if unsettled.len() > MAX_USER_LOOKUPS {
            notes.push(format!(
                "{} owners were not settled by Graph getByIds; only the first {MAX_USER_LOOKUPS} were looked \
                 up one by one, the others' account status is unknown",
                unsettled.len()
            ));
        }
        let lookups: Vec<&String> = unsettled.into_iter().take(MAX_USER_LOOKUPS).filter(|id| is_safe_name(id)).collect();
        let urls: Vec<String> = lookups.iter().map(|id| user_url(id)).collect();
        for (id, answer) in lookups.into_iter().zip(self.get_all_json_or_404(&urls, &cred)) {
            match answer.map_err(|e| e.context(format!("Graph user {id}")))? {
                None => {
                    users.insert(id.clone(), User::deleted(id));
                }
                Some(v) => {
                    if let Some(u) = User::from_value(&v) {
                        users.insert(id.clone(), u);
                    }
                }
            }
        }
        Ok(Some(users))
    }
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

#[cfg(test)]
mod tests;
