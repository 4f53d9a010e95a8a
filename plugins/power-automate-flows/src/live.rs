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
//! The host retries throttled answers (429 with Retry-After) before the
//! plugin sees them.

use crate::fields::is_safe_name;
use crate::inventory::Source;
use crate::model::{is_user_object, permissions_from_values, Definition, Environment, Flow, User};
use plumbline_plugin_sdk::http::{self, parse_json_response, Request, Response, MAX_PAGES};
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

/// The live source over a transport (`http::send` in a scan, a fake in
/// native tests).
pub struct Live<T: FnMut(&Request) -> Result<Response, ScanError>> {
    send: T,
    flow_credential: String,
    bap_credential: String,
    graph_credential: Option<String>,
    /// Requests sent.
    pub requests: usize,
    /// Flows whose permissions or definition answered 404.
    pub vanished: usize,
}

impl<T: FnMut(&Request) -> Result<Response, ScanError>> Live<T> {
    /// A live source sending through `send` with these credential profiles.
    pub fn new(send: T, flow_credential: &str, bap_credential: &str, graph_credential: Option<&str>) -> Self {
        Live {
            send,
            flow_credential: flow_credential.to_string(),
            bap_credential: bap_credential.to_string(),
            graph_credential: graph_credential.map(str::to_string),
            requests: 0,
            vanished: 0,
        }
    }

    fn exchange(&mut self, method: &str, url: &str, body: Option<&Value>, credential: &str) -> Result<Response, ScanError> {
        self.requests += 1;
        let req = http::json_request(method, url, body, Some(credential), &[]);
        (self.send)(&req)
    }

    /// GET and parse; a 404 is `None`.
    fn get_json_or_404(&mut self, url: &str, credential: &str) -> Result<Option<Value>, ScanError> {
        let resp = self.exchange("GET", url, None, credential)?;
        if resp.status == 404 {
            return Ok(None);
        }
        parse_json_response(url, &resp).map(Some)
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

impl<T: FnMut(&Request) -> Result<Response, ScanError>> Source for Live<T> {
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
        let cred = self.flow_credential.clone();
        let url = permissions_url(env, flow);
        let Some(answer) = self
            .get_json_or_404(&url, &cred)
            .map_err(|e| e.context(format!("permissions of flow {flow}")))?
        else {
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

    fn definition(&mut self, env: &str, flow: &str) -> Result<Option<Definition>, ScanError> {
        let cred = self.flow_credential.clone();
        let url = definition_url(env, flow);
        match self
            .get_json_or_404(&url, &cred)
            .map_err(|e| e.context(format!("definition of flow {flow}")))?
        {
            Some(v) => Ok(Definition::from_flow_value(&v)),
            None => {
                self.vanished += 1;
                Ok(None)
            }
        }
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
        for chunk in ids.chunks(GET_BY_IDS_CHUNK) {
            let url = get_by_ids_url();
            let body = json!({"ids": chunk, "types": ["user"]});
            let resp = self.exchange("POST", &url, Some(&body), &cred)?;
            let answer = parse_json_response(&url, &resp).map_err(|e| e.context("Graph getByIds"))?;
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
        for id in unsettled.into_iter().take(MAX_USER_LOOKUPS) {
            if !is_safe_name(id) {
                continue;
            }
            let url = user_url(id);
            match self
                .get_json_or_404(&url, &cred)
                .map_err(|e| e.context(format!("Graph user {id}")))?
            {
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
mod tests {
    use super::*;
    use crate::config::{Config, Mode};
    use crate::inventory::collect;
    use crate::model::AccountStatus;
    use plumbline_plugin_sdk::Attribute;

    fn ok(body: Value) -> Result<Response, ScanError> {
        Ok(Response {
            status: 200,
            headers: vec![Attribute { name: "content-type".into(), value: "application/json".into() }],
            body: body.to_string().into_bytes(),
        })
    }

    fn status(code: u16) -> Result<Response, ScanError> {
        Ok(Response {
            status: code,
            headers: vec![Attribute { name: "content-type".into(), value: "application/json".into() }],
            body: br#"{"error":{"code":"X","message":"m"}}"#.to_vec(),
        })
    }

    fn config(max: usize) -> Config {
        Config {
            mode: Mode::Live { flow_credential: "flow".into(), bap_credential: "bap".into(), graph_credential: Some("graph".into()) },
            environments: Vec::new(),
            max_flows: max,
        }
    }

    fn flow(name: &str, trigger: Value) -> Value {
        json!({"name": name, "properties": {"displayName": name, "state": "Started",
               "definitionSummary": {"triggers": [trigger], "actions": []}}})
    }

    /// A small fake tenant: one environment, three flows over two pages.
    fn fake(req: &Request, log: &mut Vec<(String, String, Option<String>)>) -> Result<Response, ScanError> {
        log.push((req.method.clone(), req.url.clone(), req.credential.clone()));
        let u = req.url.as_str();
        if u.starts_with("https://api.bap.microsoft.com/") {
            return ok(json!({"value": [{"name": "Default-t", "properties": {"displayName": "Contoso (default)"}}]}));
        }
        if u.contains("/v2/flows") && !u.contains("skiptoken") {
            return ok(json!({"value": [flow("f1", json!({"type": "Recurrence"})), flow("f2", json!({"type": "Request", "kind": "Http"}))],
                             "nextLink": "https://api.flow.microsoft.com/providers/Microsoft.ProcessSimple/scopes/admin/environments/Default-t/v2/flows?api-version=2016-11-01&$top=250&$skiptoken=2"}));
        }
        if u.contains("/v2/flows") {
            return ok(json!({"value": [flow("f3", json!({"type": "Recurrence"}))]}));
        }
        if u.contains("/flows/f3/permissions") {
            return status(404);
        }
        if u.contains("/permissions") {
            return ok(json!({"value": [
                {"properties": {"roleName": "Owner", "principal": {"id": "u1", "type": "User"}}},
                {"properties": {"roleName": "CanEdit", "principal": {"id": "u2", "type": "User"}}}]}));
        }
        if u.contains("$expand=properties.definition") {
            return ok(json!({"name": "f2", "properties": {"definition": {"triggers": {"manual": {"type": "Request", "kind": "Http", "inputs": {}}}}}}));
        }
        if u.contains("getByIds") {
            let body: Value = serde_json::from_slice(req.body.as_deref().unwrap()).unwrap();
            assert_eq!(body["types"], json!(["user"]));
            assert_eq!(body["ids"], json!(["u1", "u2"]));
            return ok(json!({"value": [{"@odata.type": "#microsoft.graph.user", "id": "u1", "accountEnabled": false}]}));
        }
        if u.contains("/v1.0/users/u2") {
            return status(404);
        }
        panic!("unexpected request {u}");
    }

    #[test]
    fn walks_pages_permissions_definitions_and_users() {
        let mut log = Vec::new();
        let mut live = Live::new(|r: &Request| fake(r, &mut log), "flow", "bap", Some("graph"));
        let inv = collect(&mut live, &config(100)).unwrap();
        let (requests, vanished) = (live.requests, live.vanished);
        drop(live);
        let env = &inv.environments[0];
        assert!(env.listing == crate::inventory::Listing::Complete && !inv.cut);
        let names: Vec<_> = env.flows.iter().map(|f| f.flow.name.as_str()).collect();
        assert_eq!(names, ["f1", "f2", "f3"]);
        assert_eq!(env.flows[2].permissions, None, "404: the flow vanished; unknown");
        assert_eq!(vanished, 1);
        assert_eq!(env.flows[1].auth, crate::model::AuthKnowledge::NotSet);
        let users = inv.users.unwrap();
        assert_eq!(users["u1"].status, AccountStatus::Disabled);
        assert_eq!(users["u2"].status, AccountStatus::Deleted, "a 404 from /users/{{id}} is a deleted user");
        // 1 environments + 2 flow pages + 3 permissions + 1 definition + 1 getByIds + 1 user
        assert_eq!(requests, 9);
        assert_eq!(log.len(), 9);
        let cred_of = |needle: &str| log.iter().find(|(_, u, _)| u.contains(needle)).unwrap().2.clone().unwrap();
        assert_eq!(cred_of("api.bap.microsoft.com"), "bap");
        assert_eq!(cred_of("/v2/flows"), "flow");
        assert_eq!(cred_of("getByIds"), "graph");
        assert!(log.iter().any(|(m, u, _)| m == "POST" && u.contains("getByIds?$select=id,accountEnabled")));
        assert!(log[1].1.ends_with("/v2/flows?api-version=2016-11-01&$top=250"), "{}", log[1].1);
    }

    #[test]
    fn max_flows_stops_listing_and_says_so() {
        let mut log = Vec::new();
        let mut live = Live::new(|r: &Request| fake(r, &mut log), "flow", "bap", Some("graph"));
        let inv = collect(&mut live, &config(2)).unwrap();
        drop(live);
        assert!(inv.cut);
        assert_eq!(inv.environments[0].flows.len(), 2);
        assert_eq!(inv.environments[0].listing, crate::inventory::Listing::Cut);
        assert!(!log.iter().any(|(_, u, _)| u.contains("skiptoken")), "the second page is not fetched");
        assert!(inv.notes.iter().any(|n| n.contains("max_flows = 2")), "{:?}", inv.notes);
    }

    #[test]
    fn errors_name_what_was_read() {
        let mut live = Live::new(
            |r: &Request| if r.url.contains("/v2/flows") { status(403) } else { fake(r, &mut Vec::new()) },
            "flow",
            "bap",
            Some("graph"),
        );
        let e = collect(&mut live, &config(10)).unwrap_err();
        assert!(matches!(e, ScanError::Upstream(ref m) if m.starts_with("flows of environment Default-t: ") && m.contains("HTTP 403")), "{e:?}");
        let mut live = Live::new(|_: &Request| ok(json!({"nope": 1})), "flow", "bap", Some("graph"));
        let e = collect(&mut live, &config(10)).unwrap_err();
        assert!(matches!(e, ScanError::Malformed(ref m) if m.contains("environments") && m.contains("`value`")), "{e:?}");
    }

    #[test]
    fn no_graph_profile_leaves_owner_status_unknown() {
        let mut live = Live::new(
            |r: &Request| {
                assert!(!r.url.contains("graph.microsoft.com"));
                fake(r, &mut Vec::new())
            },
            "flow",
            "bap",
            None,
        );
        let inv = collect(&mut live, &config(10)).unwrap();
        assert_eq!(inv.users, None);
        assert!(inv.notes.iter().any(|n| n.contains("graph_credential")));
    }

    #[test]
    fn runaway_next_links_are_refused() {
        let mut live = Live::new(
            |r: &Request| {
                if r.url.contains("bap") {
                    ok(json!({"value": [], "nextLink": "https://api.bap.microsoft.com/again"}))
                } else {
                    unreachable!()
                }
            },
            "flow",
            "bap",
            None,
        );
        let e = live.environments().unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
    }

    /// The real admin answer with `"triggers": []` (pnp/cli-microsoft365,
    /// see tests/fixtures/real-samples/README.md for it and the definitions):
    /// both definitions are asked for, and who may call each is read.
    #[test]
    fn empty_summaries_are_read_from_the_definition() {
        const ENV: &str = "Default-1e852b49-bf4b-4ba5-bcd4-a8c4706c8ed4";
        const FLOWS: &str = include_str!("../tests/fixtures/real-samples/Default-1e852b49-bf4b-4ba5-bcd4-a8c4706c8ed4/flows.json");
        const DEFINITIONS: &str =
            include_str!("../tests/fixtures/real-samples/Default-1e852b49-bf4b-4ba5-bcd4-a8c4706c8ed4/definitions.json");
        let definitions: Value = serde_json::from_str(DEFINITIONS).unwrap();
        let mut asked = Vec::new();
        let mut live = Live::new(
            |r: &Request| {
                let u = r.url.as_str();
                if u.starts_with("https://api.bap.microsoft.com/") {
                    return ok(json!({"value": [{"name": ENV}]}));
                }
                if u.contains("/v2/flows") {
                    return ok(serde_json::from_str(FLOWS).unwrap());
                }
                if u.contains("/permissions") {
                    return ok(json!({"value": []}));
                }
                let flow = u.split("/flows/").nth(1).and_then(|f| f.split('?').next()).unwrap().to_string();
                assert!(u.ends_with("$expand=properties.definition"), "{u}");
                asked.push(flow.clone());
                ok(definitions[flow.as_str()].clone())
            },
            "flow",
            "bap",
            None,
        );
        let inv = collect(&mut live, &config(10)).unwrap();
        drop(live);
        assert_eq!(asked, ["fc2d4ef5-4151-4e93-9aaa-1f380d7ed95d", "0eabab30-8e55-4100-911f-e7afd9ba8919"]);
        let auth: Vec<_> = inv.environments[0].flows.iter().map(|f| f.auth.describe().to_string()).collect();
        assert_eq!(auth, ["Anyone", "SpecificUsers"]);
    }

    #[test]
    fn urls_match_the_admin_apis() {
        assert_eq!(
            permissions_url("Default-t", "f1"),
            "https://api.flow.microsoft.com/providers/Microsoft.ProcessSimple/scopes/admin/environments/Default-t/flows/f1/permissions?api-version=2016-11-01"
        );
        assert!(definition_url("e", "f").ends_with("/flows/f?api-version=2016-11-01&$expand=properties.definition"));
        assert_eq!(user_url("u1"), "https://graph.microsoft.com/v1.0/users/u1?$select=id,accountEnabled,displayName,userPrincipalName");
        assert!(environments_url().ends_with("/scopes/admin/environments?api-version=2023-06-01"));
    }
}
