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
