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

/// schemathesis: "Connection aborted" on `GET /api/v1/cases?page=2147483648` — the page's
/// offset `(page - 1) * page_size` overflowed u32 (a panic in debug builds). A page past the
/// end is an empty page.
async fn a_page_past_every_case_is_empty(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    for query in ["page=2147483648", "page=4294967295&page_size=200"] {
        let (status, body) = app
            .get(&format!("/api/v1/cases?{query}"), Some(&admin))
            .await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["items"], serde_json::json!([]), "{query}");
    }
    let (status, _) = app.get("/api/v1/cases?page=1", Some(&admin)).await;
    assert_eq!(status, 200);
}
both!(a_page_past_every_case_is_empty);

/// cargo-fuzz (open311_form): `page=0800000000000000000` overflowed the Open311 list's offset
/// (i64). It is refused as a bad page, in the GeoReport error shape.
async fn an_open311_page_too_large_to_count_to_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = app
        .get("/open311/v2/requests.json?page=0800000000000000000", None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body[0]["code"], "400");
    assert!(
        body[0]["description"].as_str().unwrap().contains("page"),
        "{body}"
    );
    let (status, body) = app
        .get("/open311/v2/requests.json?page=2&page_size=10", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.is_array());
}
both!(an_open311_page_too_large_to_count_to_is_refused);

/// Found while reading the deadline arithmetic the fuzz targets drive: a time limit of
/// 4294967295 hours put every deadline in the category past the clock's range (a panic on every
/// intake in it). Limits are at most ten years; the catalog is unchanged by a refused edit.
async fn a_time_limit_past_the_clock_is_refused(backend: Backend) {
    let d = crate::cases::desk_on(TestApp::spawn(backend).await).await;
    let (_, cats) = d.app.get("/api/v1/categories", None).await;
    let mut cat = cats
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["children"].as_array().unwrap().iter())
        .find(|c| c["code"] == "E0601")
        .unwrap()
        .clone();
    cat.as_object_mut().unwrap().remove("children");
    let put = |body: Value| {
        d.app
            .client
            .put(format!("{}/api/v1/categories/E0601", d.app.url))
            .bearer_auth(&d.admin)
            .json(&body)
            .send()
    };
    for (amount, unit) in [(4_294_967_295u64, "hours"), (3_661, "work_days")] {
        let mut bad = cat.clone();
        bad["handle_limit"] = serde_json::json!({"amount": amount, "unit": unit});
        let r = put(bad).await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_time_limit", "{body}");
    }
    let (_, after) = d.app.get("/api/v1/categories", None).await;
    assert_eq!(after, cats);
    let mut ok = cat.clone();
    ok["handle_limit"] = serde_json::json!({"amount": 3_660, "unit": "days"});
    assert_eq!(put(ok).await.unwrap().status().as_u16(), 200);
    let (s, c) = d
        .create(
            &d.operator,
            &crate::cases::new_case("E0601", crate::cases::IN_STREET_1),
        )
        .await;
    assert_eq!(s, 201, "{c}");
}
both!(a_time_limit_past_the_clock_is_refused);
