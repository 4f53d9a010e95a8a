//! Live mode against fake transports: paging, lists, errors, URLs.

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

/// Counts the lists it is handed, answering each request as `fake` does.
struct Lists(Vec<usize>);

impl Transport for Lists {
    fn send(&mut self, req: &Request) -> Result<Response, ScanError> {
        fake(req, &mut Vec::new())
    }

    fn send_all(&mut self, reqs: &[Request]) -> Vec<Result<Response, ScanError>> {
        self.0.push(reqs.len());
        reqs.iter().map(|r| self.send(r)).collect()
    }
}

#[test]
fn per_flow_requests_go_out_as_lists() {
    let mut live = Live::new(Lists(Vec::new()), "flow", "bap", Some("graph"));
    let inv = collect(&mut live, &config(100)).unwrap();
    assert_eq!(inv.environments[0].flows.len(), 3);
    // 3 permissions, 1 definition, 1 getByIds, 1 user lookup: one list each.
    assert_eq!(live.send.0, [3, 1, 1, 1]);
    assert_eq!(live.requests, 9);
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
    const FLOWS: &str = include_str!("../../tests/fixtures/real-samples/Default-1e852b49-bf4b-4ba5-bcd4-a8c4706c8ed4/flows.json");
    const DEFINITIONS: &str =
        include_str!("../../tests/fixtures/real-samples/Default-1e852b49-bf4b-4ba5-bcd4-a8c4706c8ed4/definitions.json");
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
