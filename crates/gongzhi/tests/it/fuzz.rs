//! Regressions for what bench/fuzz-api (schemathesis against the running demo) found.

use serde_json::Value;

use crate::both;
use crate::helpers::*;

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// schemathesis: "Unresolvable reference #/components/schemas/StatsLevel" on
/// GET /api/v1/stats/cases — a query parameter's enum was referenced but never registered.
async fn every_openapi_reference_resolves(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(status, 200);
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external reference {r}"));
        assert!(doc.pointer(pointer).is_some(), "unresolvable reference {r}");
    }
    // schemathesis: every query parameter was documented as a path parameter, so clients and
    // fuzzers never sent them. A path parameter must appear in its path template.
    let mut query = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                match p["in"].as_str().unwrap() {
                    "path" => assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: {name} is documented as a path parameter"
                    ),
                    "query" => query += 1,
                    _ => {}
                }
            }
        }
    }
    assert!(query >= 20, "only {query} query parameters documented");
    // The ranking's level is documented with its values.
    let params = doc["paths"]["/api/v1/stats/cases"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let level = params.iter().find(|p| p["name"] == "level").unwrap();
    assert_eq!(
        level["schema"]["enum"],
        serde_json::json!(["street", "community", "grid", "unit"])
    );
}
both!(every_openapi_reference_resolves);
