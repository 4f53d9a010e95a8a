//! Tests of the live Graph reads.

use super::*;
use plumbline_plugin_sdk::http::Response;
use plumbline_plugin_sdk::Attribute;

fn team(i: usize) -> Team {
    Team {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        display_name: Some(format!("Team {i}")),
        ..Team::default()
    }
}

fn ok(body: Value) -> Response {
    Response {
        status: 200,
        headers: vec![Attribute { name: "content-type".into(), value: "application/json".into() }],
        body: body.to_string().into_bytes(),
    }
}

fn body_of(r: &Request) -> Value {
    serde_json::from_slice(r.body.as_deref().unwrap_or_default()).unwrap()
}

#[test]
fn the_team_listing_asks_graph_for_teams_only() {
    let r = teams_request("graph");
    assert_eq!(r.method, "GET");
    assert_eq!(r.credential.as_deref(), Some("graph"));
    assert_eq!(
        r.url,
        "https://graph.microsoft.com/v1.0/groups?$filter=resourceProvisioningOptions/Any(x:x%20eq%20'Team')&$select=id,displayName,visibility,createdDateTime&$top=999"
    );
}

#[test]
fn listing_follows_next_links() {
    let mut calls = Vec::new();
    let teams = list_teams("graph", &mut |r: &Request| {
        calls.push((r.method.clone(), r.url.clone()));
        Ok(match calls.len() {
            1 => ok(json!({"value": [{"id": team(1).id, "displayName": "A"}], "@odata.nextLink": "https://graph.microsoft.com/v1.0/groups?$skiptoken=x"})),
            _ => ok(json!({"value": [{"id": team(2).id}]})),
        })
    })
    .unwrap();
    assert_eq!(teams.len(), 2);
    assert_eq!(calls[1], ("GET".to_string(), "https://graph.microsoft.com/v1.0/groups?$skiptoken=x".to_string()));
    let e = list_teams("graph", &mut |_r: &Request| Ok(ok(json!({"value": [{"displayName": "no id"}]})))).unwrap_err();
    assert!(e.to_string().contains("item 0 has no `id`"), "{e}");
}

#[test]
fn batches_hold_at_most_twenty_requests() {
    let teams: Vec<Team> = (0..23).map(team).collect();
    let items: Vec<BatchItem> = (0..23)
        .flat_map(|i| [BatchItem { team: i, want: Want::Apps }, BatchItem { team: i, want: Want::Owners }])
        .collect();
    let sizes: Vec<usize> = split_batches(&items).map(<[BatchItem]>::len).collect();
    assert_eq!(sizes, vec![20, 20, 6]);
    let req = batch_request(&items[..2], &teams, "graph");
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, "https://graph.microsoft.com/v1.0/$batch");
    assert_eq!(
        body_of(&req),
        json!({"requests": [
            {"id": "apps-0", "method": "GET", "url": "/teams/00000000-0000-4000-8000-000000000000/installedApps?$expand=teamsAppDefinition"},
            {"id": "owners-0", "method": "GET", "url": "/groups/00000000-0000-4000-8000-000000000000/owners?$select=id,displayName,userPrincipalName,accountEnabled"}
        ]})
    );
}

#[test]
fn batch_answers_per_item_statuses_in_any_order() {
    let sent = [
        BatchItem { team: 0, want: Want::Apps },
        BatchItem { team: 0, want: Want::Owners },
        BatchItem { team: 1, want: Want::Apps },
        BatchItem { team: 2, want: Want::Apps },
    ];
    let answer = json!({"responses": [
        {"id": "apps-2", "status": 403, "headers": {"Content-Type": "application/json"},
         "body": {"error": {"code": "Forbidden", "message": "Missing role permissions on the request."}}},
        {"id": "apps-1", "status": 429, "headers": {"Retry-After": "7"},
         "body": {"error": {"code": "TooManyRequests", "message": "Too many requests"}}},
        {"id": "owners-0", "status": 200, "body": {"value": [{"id": "u1"}], "@odata.nextLink": "https://graph.microsoft.com/v1.0/groups/x/owners?$skiptoken=2"}},
        {"id": "apps-0", "status": 200, "body": {"@odata.context": "c", "value": []}}
    ]});
    let got = parse_batch_response(&answer, &sent).unwrap();
    assert_eq!(got[0].1, ItemOutcome::Page { items: vec![], next_link: None });
    assert!(matches!(&got[1].1, ItemOutcome::Page { next_link: Some(l), .. } if l.ends_with("skiptoken=2")));
    assert_eq!(got[2].1, ItemOutcome::Retry { status: 429, retry_after: Some(7) });
    let ItemOutcome::Failed(note) = &got[3].1 else { panic!("{got:?}") };
    assert_eq!(note.status, Some(403));
    assert!(note.reason.starts_with("HTTP 403 Forbidden: Missing role permissions"), "{}", note.reason);
    // A 200 without a body is unusable, not "no apps".
    let e = parse_batch_response(&json!({"responses": [{"id": "apps-0", "status": 200}]}), &sent[..1]).unwrap_err();
    assert!(matches!(&e, ScanError::Malformed(m) if m.contains("without a body")), "{e:?}");
    // A request with no answer is retried.
    let got = parse_batch_response(&json!({"responses": []}), &sent[..1]).unwrap();
    assert!(matches!(got[0].1, ItemOutcome::Retry { .. }));
    assert!(parse_batch_response(&json!({"value": []}), &sent).is_err());
    assert!(parse_batch_response(&json!({"responses": [{"status": 200}]}), &sent).is_err());
}

/// A fake Graph: every `$batch` item answers 200 except those listed in
/// `throttle` (team index → how many times it answers 429 first) and
/// `forbid` (403 for apps).
struct FakeGraph {
    teams: usize,
    throttle: HashMap<usize, usize>,
    forbid: Vec<usize>,
    batch_sizes: Vec<usize>,
    direct: Vec<String>,
}

impl FakeGraph {
    fn send(&mut self, r: &Request) -> Result<Response, ScanError> {
        if r.url.contains("/groups?$filter") {
            let value: Vec<Value> = (0..self.teams).map(|i| json!({"id": team(i).id, "displayName": format!("Team {i}")})).collect();
            return Ok(ok(json!({ "value": value })));
        }
        if r.url.ends_with("/$batch") {
            let reqs = body_of(r)["requests"].as_array().unwrap().clone();
            self.batch_sizes.push(reqs.len());
            let responses: Vec<Value> = reqs
                .iter()
                .rev()
                .map(|q| {
                    let id = q["id"].as_str().unwrap().to_string();
                    let t: usize = id.rsplit('-').next().unwrap().parse().unwrap();
                    if let Some(n) = self.throttle.get_mut(&t).filter(|n| **n > 0) {
                        *n -= 1;
                        return json!({"id": id, "status": 429, "headers": {"Retry-After": "3"}, "body": {"error": {"code": "TooManyRequests", "message": "slow down"}}});
                    }
                    if id.starts_with("apps") && self.forbid.contains(&t) {
                        return json!({"id": id, "status": 403, "body": {"error": {"code": "Forbidden", "message": "no"}}});
                    }
                    let value = if id.starts_with("apps") {
                        json!([{"id": "inst", "teamsAppDefinition": {"teamsAppId": "203a1e2c-26cc-47ca-83ae-be98f960b6b2", "displayName": "Incoming Webhook"}}])
                    } else {
                        json!([{"id": "u", "userPrincipalName": format!("owner{t}@x.example")}])
                    };
                    json!({"id": id, "status": 200, "body": {"value": value}})
                })
                .collect();
            return Ok(ok(json!({ "responses": responses })));
        }
        self.direct.push(r.url.clone());
        Ok(ok(json!({"value": []})))
    }
}

#[test]
fn throttled_items_go_into_a_later_batch_and_403_is_a_note() {
    let mut g = FakeGraph { teams: 25, throttle: HashMap::from([(3, 1), (24, 3)]), forbid: vec![7], batch_sizes: vec![], direct: vec![] };
    let (data, stats) = fetch_live_with("graph", &mut |r: &Request| g.send(r)).unwrap();
    assert_eq!(data.len(), 25);
    // 50 requests in batches of 20; the 3 throttled ones (one of team
    // 3's, both of team 24's) go again in round 2, where one of team
    // 24's is throttled again and goes in round 3.
    assert_eq!(g.batch_sizes, vec![20, 20, 10, 3, 1]);
    assert_eq!((stats.rounds, stats.batches, stats.throttled), (3, 5, 4));
    assert_eq!(stats.max_retry_after, Some(3));
    assert!(g.direct.is_empty());
    for (i, d) in data.iter().enumerate() {
        let owners = d.owners.read().expect("owners read");
        assert_eq!(owners[0].upn.as_deref(), Some(format!("owner{i}@x.example").as_str()));
        if i == 7 {
            assert!(matches!(&d.apps, Fetched::Failed(n) if n.status == Some(403)), "{:?}", d.apps);
        } else {
            assert!(d.apps.read().unwrap()[0].is_incoming_webhook(), "team {i}");
        }
    }
}

#[test]
fn still_throttled_after_the_last_round_falls_back_to_plain_gets() {
    let mut g = FakeGraph { teams: 2, throttle: HashMap::from([(1, 100)]), forbid: vec![], batch_sizes: vec![], direct: vec![] };
    let (data, stats) = fetch_live_with("graph", &mut |r: &Request| g.send(r)).unwrap();
    assert_eq!(stats.rounds, MAX_BATCH_ROUNDS);
    assert_eq!(g.batch_sizes, vec![4, 2, 2, 2]);
    assert_eq!(stats.fallback_gets, 2);
    assert_eq!(
        g.direct,
        vec![
            format!("https://graph.microsoft.com/v1.0/teams/{}/installedApps?$expand=teamsAppDefinition", team(1).id),
            format!("https://graph.microsoft.com/v1.0/groups/{}/owners?$select=id,displayName,userPrincipalName,accountEnabled", team(1).id),
        ]
    );
    assert_eq!(data[1].apps, Fetched::Read(vec![]));
}

#[test]
fn a_fallback_get_answered_with_html_is_an_error_not_no_apps() {
    let teams = vec![team(0)];
    let items = [BatchItem { team: 0, want: Want::Apps }];
    let e = run_batches(&items, &teams, "graph", &mut |r: &Request| {
        Ok(if r.url.ends_with("$batch") {
            ok(json!({"responses": [{"id": "apps-0", "status": 503, "body": {"error": {"code": "ServiceUnavailable", "message": "later"}}}]}))
        } else {
            Response { status: 200, headers: vec![], body: b"<html><title>Sign in</title></html>".to_vec() }
        })
    })
    .unwrap_err();
    assert!(matches!(&e, ScanError::Malformed(m) if m.contains("HTML")), "{e:?}");
}

#[test]
fn per_team_pages_are_followed_and_batch_failures_fail_the_scan() {
    let teams = vec![team(0)];
    let items = [BatchItem { team: 0, want: Want::Owners }];
    let mut urls = Vec::new();
    let (res, stats) = run_batches(&items, &teams, "graph", &mut |r: &Request| {
        urls.push(r.url.clone());
        Ok(if r.url.ends_with("$batch") {
            ok(json!({"responses": [{"id": "owners-0", "status": 200, "body": {"value": [{"id": "a"}], "@odata.nextLink": "https://graph.microsoft.com/v1.0/next"}}]}))
        } else {
            ok(json!({"value": [{"id": "b"}]}))
        })
    })
    .unwrap();
    assert_eq!(urls[1], "https://graph.microsoft.com/v1.0/next");
    assert_eq!(stats.extra_pages, 1);
    assert_eq!(res[&items[0]].read().map(Vec::len), Some(2));
    let e = run_batches(&items, &teams, "graph", &mut |_r: &Request| {
        Ok(Response { status: 401, headers: vec![], body: b"{}".to_vec() })
    })
    .unwrap_err();
    assert!(matches!(&e, ScanError::Upstream(m) if m.contains("HTTP 401") && m.starts_with("reading installed apps")), "{e:?}");
}

#[test]
fn only_guids_go_into_urls() {
    assert!(is_guid("1a7c3e52-9b1d-4e8f-a2c4-6d0e8f1a3b5c"));
    assert!(!is_guid("1a7c3e52-9b1d-4e8f-a2c4-6d0e8f1a3b5c/../x"));
    assert!(!is_guid("19:abc@thread.tacv2"));
}
