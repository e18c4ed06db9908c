use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn openapi_documents_every_route_and_every_documented_route_answers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.admin().await;
    let (status, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/areas/locate",
        "/api/v1/areas/{code}",
        "/api/v1/areas",
        "/api/v1/auth/token",
        "/api/v1/units",
        "/api/v1/users",
        "/api/v1/audit",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
    // Every documented operation is served (a missing route would hit the JSON 404 fallback).
    for (path, ops) in paths {
        let concrete = path.replace("{code}", "110101").replace("{id}", "nobody");
        for method in ops.as_object().unwrap().keys() {
            let req = app
                .client
                .request(
                    method.to_uppercase().parse().unwrap(),
                    format!("{}{concrete}", app.url),
                )
                .bearer_auth(&admin);
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let fallback = status == 404 && body["error"]["message"] == "no such endpoint";
            assert!(!fallback, "{method} {path} is documented but not served");
            assert!(status < 500, "{method} {path} → {status} {body}");
        }
    }
}

/// The error catalogue is the OpenAPI document's: `ErrorCode` enumerates every code, with its
/// status and messages in its description, and every error body's code refers to it.
#[tokio::test]
async fn the_error_catalogue_is_documented() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, doc) = app.get("/api/openapi.json", None).await;
    let schemas = &doc["components"]["schemas"];
    let listed: Vec<&str> = schemas["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode enumerates the codes")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let catalogue: Vec<&str> = gongzhi_core::error::catalogue::CATALOGUE
        .iter()
        .map(|e| e.code)
        .collect();
    assert_eq!(listed, catalogue);
    for code in [
        "wrong_state",
        "lost_race",
        "already_voted",
        "unknown_value",
        "duplicate",
    ] {
        assert!(listed.contains(&code), "{code}");
    }
    let described = schemas["ErrorCode"]["description"].as_str().unwrap();
    assert!(
        described.contains("| `already_voted` | 409 | 您已投过票 |"),
        "{described}"
    );
    assert_eq!(
        schemas["ErrorDetail"]["properties"]["code"]["$ref"],
        "#/components/schemas/ErrorCode"
    );
}

#[tokio::test]
async fn health_metrics_and_error_shapes() {
    let token = "metrics-token-for-the-test";
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.metrics_token = Some(token.into())).await;
    let (status, body) = app.get("/healthz", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    app.get("/api/v1/areas/locate?lat=1&lng=1", None).await;
    let (status, metrics) = app.get("/metrics", Some(token)).await;
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap().to_string();
    assert!(metrics.contains("gongzhi_http_requests_total"), "{metrics}");
    assert!(metrics.contains("gongzhi_locate_total"), "{metrics}");

    let (status, body) = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");

    let (status, body) = app
        .post_text(
            "/api/v1/auth/token",
            None,
            "application/json",
            "{\"username\": ",
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_json");
    assert!(body["error"]["message"].is_string());
    let (status, body) = app
        .post_text(
            "/api/v1/auth/token",
            None,
            "application/json",
            "{\"username\": 5}",
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_body");
    let (status, body) = app
        .post_text("/api/v1/auth/token", None, "text/plain", "hello")
        .await;
    assert_eq!(status, 415);
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    let huge = format!(
        "{{\"username\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let (status, _) = app
        .post_text("/api/v1/auth/token", None, "application/json", &huge)
        .await;
    assert_eq!(status, 413);
}
