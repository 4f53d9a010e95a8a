//! `GET /v1/openapi.json`: it covers every route the router serves, it is a
//! valid OpenAPI 3.1 document, and real answers match its schemas.

use crate::api::{call, router};
use crate::support::{connector, finding, ok, Backend};
use axum::http::{Method, StatusCode};
use plumbline_collector::admin;
use plumbline_collector::api::route_table;
use plumbline_tests::schemas;
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn document() -> Value {
    let t = Backend::Sqlite.store().await;
    let a = call(&router(&t), Method::GET, "/v1/openapi.json", None, "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["content-type"], "application/json");
    a.json()
}

/// A validator for the document's schema `name`, its `$ref`s resolved
/// within the document.
fn component(doc: &Value, name: &str) -> jsonschema::Validator {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[tokio::test]
async fn every_route_is_described_and_nothing_else() {
    let doc = document().await;
    let routed: BTreeSet<(String, String)> =
        route_table().into_iter().map(|(m, p)| (m.as_str().to_lowercase(), p.to_string())).collect();
    let described: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.clone(), path.clone())))
        .collect();
    let missing: Vec<_> = routed.difference(&described).collect();
    let stale: Vec<_> = described.difference(&routed).collect();
    assert!(missing.is_empty(), "routes missing from /v1/openapi.json: {missing:?}");
    assert!(stale.is_empty(), "described but not routed: {stale:?}");
    assert!(routed.contains(&("get".into(), "/v1/findings.ocsf".into())), "{routed:?}");
    // The route table is the router: each of its paths answers, none as an unknown endpoint.
    let t = Backend::Sqlite.store().await;
    let r = router(&t);
    for (method, path) in route_table() {
        let a = call(&r, method.clone(), path, None, "").await;
        let unknown = a.status == StatusCode::NOT_FOUND && String::from_utf8_lossy(&a.body).contains("no such endpoint");
        assert!(!unknown && a.status != StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {}", a.status);
    }
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let doc = document().await;
    assert_eq!(doc["openapi"], "3.1.0");
    let oas = schemas::openapi();
    assert_eq!(schemas::errors(&oas, &doc), Vec::<String>::new());
    // Each schema in it is a valid JSON Schema (2020-12, OpenAPI 3.1's dialect).
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        assert!(jsonschema::draft202012::meta::is_valid(schema), "{name}: {schema:#}");
    }
    assert!(doc["components"]["securitySchemes"]["api_token"]["scheme"] == "bearer");
    // The validator is not a rubber stamp.
    let mut broken = doc.clone();
    broken["paths"]["v1/no-slash"] = json!({});
    broken["info"].as_object_mut().unwrap().remove("title");
    assert!(schemas::errors(&oas, &broken).len() >= 2, "a path without / and an info without title pass");
}

/// What the API really answers matches what the document says it answers.
async fn answers_match_the_document(backend: Backend) {
    let doc = document().await;
    let t = backend.store().await;
    let r = router(&t);
    let agent = t.agent("contoso", "hq").await;
    let c = connector("exchange:inbound:1", "exchange-connector", "exo");
    let f = finding("contoso", "exo.tls", &c.key, "exo");
    let body = agent.sign(&agent.batch(1, vec![ok("exo")], vec![c.clone()], vec![f]));
    let ingested = call(&r, Method::POST, "/v1/ingest", None, body).await;
    let token = admin::create_api_token(t.dyn_store(), None, None).await.unwrap();
    let key = c.key.replace('/', "%2F");
    let checks = [
        (ingested, "IngestResponse"),
        (call(&r, Method::GET, "/v1/tenants/contoso/register", Some(&token), "").await, "RegisterView"),
        (call(&r, Method::GET, "/v1/tenants/contoso/changes", Some(&token), "").await, "ChangesView"),
        (call(&r, Method::GET, "/v1/tenants/contoso/findings?status=all", Some(&token), "").await, "FindingsView"),
        (call(&r, Method::GET, "/v1/tenants/contoso/agents", Some(&token), "").await, "AgentsView"),
        (call(&r, Method::PUT, &format!("/v1/tenants/contoso/connectors/{key}/annotations"), Some(&token), r#"{"purpose":"scanner"}"#).await, "Annotations"),
        (call(&r, Method::GET, "/v1/tenants/nobody/register", Some(&token), "").await, "ErrorBody"),
    ];
    for (answer, name) in checks {
        let value: Value = answer.json();
        assert_eq!(schemas::errors(&component(&doc, name), &value), Vec::<String>::new(), "{name}: {value:#}");
    }
    let digest = t.dyn_store().changes("contoso", false, 1).await.unwrap()[0].batch_digest.clone();
    let envelope = call(&r, Method::GET, &format!("/v1/tenants/contoso/batches/{digest}/envelope"), Some(&token), "").await;
    assert_eq!(schemas::errors(&component(&doc, "Envelope"), &envelope.json()), Vec::<String>::new());
    let ocsf = call(&r, Method::GET, "/v1/findings.ocsf", Some(&token), "").await;
    let line: Value = serde_json::from_str(std::str::from_utf8(&ocsf.body).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(schemas::errors(&component(&doc, "ocsf.ComplianceFinding"), &line), Vec::<String>::new());
    // And the document's schema is not a rubber stamp either.
    let mut wrong = line.clone();
    wrong["severity_id"] = json!("high");
    assert!(!schemas::errors(&component(&doc, "ocsf.ComplianceFinding"), &wrong).is_empty());
}

crate::both_backends!(answers_match_the_document);
