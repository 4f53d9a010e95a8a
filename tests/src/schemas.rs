//! The published schemas the tests validate against, kept in `tests/data`
//! (where each came from is in its README): OCSF 1.4.0's Compliance Finding
//! and the OpenAPI 3.1 document schema.

use std::path::Path;

fn load(relative: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).expect("a schema is JSON");
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{} does not compile: {e}", path.display()))
}

/// OCSF 1.4.0 Compliance Finding (class 2003) with the `cloud` profile.
pub fn ocsf() -> jsonschema::Validator {
    load("ocsf/compliance_finding-1.4.0-cloud.schema.json")
}

/// OpenAPI 3.1 documents (2022-10-07).
pub fn openapi() -> jsonschema::Validator {
    load("openapi/oas-3.1-schema-2022-10-07.json")
}

/// Every way `value` fails `schema`, with where; empty when it passes.
pub fn errors(schema: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    schema.iter_errors(value).map(|e| format!("{e} at {}", e.instance_path())).collect()
}
