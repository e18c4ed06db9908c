//! Open311 GeoReport v2 over HTTP on both backends: discovery, services, POST with a key from
//! the CLI, GET in both formats, and bad input of several kinds refused with the specified
//! error shape and nothing created.

use serde_json::Value;

use crate::both;
use crate::cases::{desk_on, IN_STREET_1};
use crate::helpers::*;

async fn raw(app: &TestApp, method: &str, path: &str, body: Option<&str>) -> (u16, String, String) {
    let url = format!("{}{path}", app.url);
    let req = match method {
        "POST" => app
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.unwrap_or("").to_string()),
        _ => app.client.get(url),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

async fn open311_serves_lists_takes_and_refuses(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    let (s, _, body) = raw(app, "GET", "/open311/v2/discovery.json", None).await;
    assert_eq!(s, 200);
    assert!(body.contains("GeoReport_v2"));
    // Services: a bare array of the public categories, codes as strings.
    let (s, _, body) = raw(app, "GET", "/open311/v2/services.json", None).await;
    assert_eq!(s, 200);
    let services: Value = serde_json::from_str(&body).unwrap();
    let list = services.as_array().expect("a bare array");
    assert!(list.iter().any(|x| x["service_code"] == "C0101"));
    assert!(list
        .iter()
        .all(|x| x["service_code"].is_string() && x["metadata"] == false));
    let (s, ct, xml) = raw(app, "GET", "/open311/v2/services.xml", None).await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/xml"));
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service>"));
    assert!(xml.contains("<service_code>C0101</service_code>"));
    let (s, _, body) = raw(app, "GET", "/open311/v2/services/NOPE.json", None).await;
    assert_eq!(s, 404);
    let err: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err[0]["code"], "404");

    // POST without a key, with a wrong one: 403, nothing created.
    let cases = app.count("cases").await;
    let form = format!("service_code=C0101&lat={}&long={}&description=%E4%BA%95%E7%9B%96%E7%BC%BA%E5%A4%B1&first_name=%E5%BC%A0&phone=13812345678", IN_STREET_1.0, IN_STREET_1.1);
    let (s, _, body) = raw(app, "POST", "/open311/v2/requests.json", Some(&form)).await;
    assert_eq!(s, 403, "{body}");
    let (s, _, xml) = raw(
        app,
        "POST",
        "/open311/v2/requests.xml?api_key=wrong",
        Some(&form),
    )
    .await;
    assert_eq!(s, 403);
    assert!(xml.contains("<errors><error><code>403</code>"), "{xml}");
    // A key from the CLI: the last line of `open311 key add`.
    let out = app.cli(&["open311", "key", "add", "--name", "城市应用"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout).lines().last().unwrap().trim().to_string();
    // Bad input of several kinds: 400 with the error shape, nothing created.
    for bad in [
        format!("api_key={key}&service_code=NOPE&lat=39.9&long=116.3"),
        format!("api_key={key}&service_code=C0101"),
        format!("api_key={key}&service_code=C0101&lat=north&long=116.3"),
        format!("api_key={key}&service_code=C0101&lat=39.9"),
        format!("api_key={key}&service_code=C0101&lat=31.2&long=121.5"),
        format!(
            "api_key={key}&service_code=C0101&lat=39.9&long=116.3&description={}",
            "x".repeat(4001)
        ),
    ] {
        let (s, _, body) = raw(app, "POST", "/open311/v2/requests.json", Some(&bad)).await;
        assert_eq!(s, 400, "{bad}: {body}");
        let e: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(e[0]["code"], "400");
        assert!(e[0]["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    assert_eq!(app.count("cases").await, cases);
    // A good request, the key in the query, the rest in the body; empty parameters are absent.
    let (s, _, body) = raw(
        app,
        "POST",
        &format!("/open311/v2/requests.json?api_key={key}&address_id="),
        Some(&form),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created[0]["service_request_id"]
        .as_str()
        .expect("id as a string")
        .to_string();
    let token = created[0]["token"].as_str().unwrap().to_string();
    assert_eq!(app.count("cases").await, cases + 1);
    // It is a real case: located and routed like any other.
    let (s, _, body) = raw(app, "GET", &format!("/open311/v2/requests/{id}.json"), None).await;
    assert_eq!(s, 200);
    let one: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        one.as_array().unwrap().len(),
        1,
        "a single request is a one-element array"
    );
    assert_eq!(one[0]["status"], "open");
    assert_eq!(one[0]["agency_responsible"], "110102-sw");
    assert!(one[0]["requested_datetime"]
        .as_str()
        .unwrap()
        .ends_with("+08:00"));
    assert!(one[0]["expected_datetime"].is_string());
    assert!(
        !body.contains("13812345678") && !body.contains("张"),
        "no personal data: {body}"
    );
    let (_, _, xml) = raw(app, "GET", &format!("/open311/v2/requests/{id}.xml"), None).await;
    assert!(xml.contains("<service_requests><request>"), "{xml}");
    assert!(xml.contains(&format!("<service_request_id>{id}</service_request_id>")));
    let (s, _, body) = raw(
        app,
        "GET",
        &format!("/open311/v2/tokens/{token}.json"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(body.contains(&id));
    // Lists and filters.
    let (_, _, body) = raw(
        app,
        "GET",
        "/open311/v2/requests.json?status=open&service_code=C0101",
        None,
    )
    .await;
    assert!(body.contains(&id));
    let (_, _, body) = raw(app, "GET", "/open311/v2/requests.json?status=closed", None).await;
    assert!(!body.contains(&id));
    let (s, _, _) = raw(app, "GET", "/open311/v2/requests.json?status=maybe", None).await;
    assert_eq!(s, 400);
    let (s, _, _) = raw(
        app,
        "GET",
        "/open311/v2/requests.json?start_date=yesterday",
        None,
    )
    .await;
    assert_eq!(s, 400);
    let (s, _, _) = raw(app, "GET", "/open311/v2/requests/999.json", None).await;
    assert_eq!(s, 404);
    // A revoked key no longer works.
    let out = app.cli(&["open311", "key", "list"], None);
    let key_id = text(&out.stdout).split('\t').next().unwrap().to_string();
    assert!(app
        .cli(&["open311", "key", "revoke", &key_id], None)
        .status
        .success());
    let (s, _, _) = raw(
        app,
        "POST",
        &format!("/open311/v2/requests.json?api_key={key}"),
        Some(&form),
    )
    .await;
    assert_eq!(s, 403);
}
both!(open311_serves_lists_takes_and_refuses);

async fn open311_media_updates_jurisdiction_and_a_real_client(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    let out = app.cli(&["open311", "key", "add", "--name", "fms"], None);
    let key = text(&out.stdout).lines().last().unwrap().trim().to_string();
    let url = format!("{}/open311/v2/requests.json", app.url);
    // Multipart with a photo in `media`: stored, attached, served publicly under media_url.
    let form = |media: Vec<u8>| {
        reqwest::multipart::Form::new()
            .text("api_key", key.clone())
            .text("service_code", "C0101")
            .text("lat", IN_STREET_1.0.to_string())
            .text("long", IN_STREET_1.1.to_string())
            .text("description", "井盖缺失")
            .text("jurisdiction_id", "110102")
            .part(
                "media",
                reqwest::multipart::Part::bytes(media)
                    .file_name("p.png")
                    .mime_str("image/png")
                    .unwrap(),
            )
    };
    let cases = app.count("cases").await;
    let resp = app
        .client
        .post(&url)
        .multipart(form(b"not a png".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400, "a bad photo is a 400");
    assert_eq!(
        (app.count("cases").await, app.count("attachments").await),
        (cases, 0)
    );
    let resp = app
        .client
        .post(&url)
        .multipart(form(PNG.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let created: Value = resp.json().await.unwrap();
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, body) = app
        .get(&format!("/open311/v2/requests/{id}.json"), None)
        .await;
    let media = body[0]["media_url"]
        .as_str()
        .expect("media_url")
        .to_string();
    let (s, ct, bytes) = app.get_bytes(&media, None).await;
    assert_eq!((s, ct.as_str(), bytes.as_slice()), (200, "image/png", PNG));
    // A foreign jurisdiction is refused.
    let (s, body) = app
        .get("/open311/v2/services.json?jurisdiction_id=310101", None)
        .await;
    assert_eq!(s, 400, "{body}");
    // Updates from an outside system; a repeated update_id is refused.
    let upd = format!("api_key={key}&service_request_id={id}&update_id=ext-1&status=open&updated_datetime=2026-11-23T10:00:00%2B08:00&description=%E5%B7%B2%E5%88%B0%E7%8E%B0%E5%9C%BA");
    let post = |body: String| {
        app.client
            .post(format!("{}/open311/v2/servicerequestupdates.json", app.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let r = post(upd.clone()).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = post(upd.clone()).await.unwrap();
    assert_eq!(r.status().as_u16(), 400, "a repeated update_id");
    let r = post(upd.replace(&format!("api_key={key}"), "api_key=nope"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let (s, updates) = app
        .get("/open311/v2/servicerequestupdates.json", None)
        .await;
    assert_eq!(s, 200);
    let mine: Vec<&Value> = updates
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["service_request_id"] == id.as_str())
        .collect();
    assert!(
        mine.iter().any(|u| u["description"] == "已到现场"),
        "{updates}"
    );
    assert!(mine.iter().all(|u| u["update_id"].is_string()
        && u["updated_datetime"].as_str().unwrap().ends_with("+08:00")));
    let (_, ext) = app
        .get(
            &format!("/open311/v2/requests/{id}.json?extensions=true"),
            None,
        )
        .await;
    assert!(ext[0]["extended_attributes"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["note"] == "已到现场"));

    // The georeport client from PyPI, in both formats.
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/open311/georeport_client.py"
    );
    let out = std::process::Command::new("python3")
        .args([
            script,
            &format!("{}/open311/v2", app.url),
            "C0101",
            &id,
            "110102",
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "georeport client failed (pip install georeport==0.3.1): {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("georeport xml"));
}
both!(open311_media_updates_jurisdiction_and_a_real_client);

async fn open311_service_definitions_check_attributes(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    let defn = serde_json::json!([
        {"code": "hurt", "datatype": "singlevaluelist", "required": true, "description": "有人受伤吗", "order": 1,
         "values": [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]},
        {"code": "kinds", "datatype": "multivaluelist", "required": false, "description": "缺失部件", "order": 2,
         "values": [{"key": "lid", "name": "井盖"}, {"key": "frame", "name": "井座"}]},
        {"code": "depth", "datatype": "number", "required": false, "description": "深度（厘米）", "order": 3}
    ]);
    let put = |token: String, body: Value| {
        app.client
            .put(format!(
                "{}/api/v1/open311/services/C0101/attributes",
                app.url
            ))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    assert_eq!(
        put(d.operator.clone(), defn.clone())
            .await
            .unwrap()
            .status()
            .as_u16(),
        403,
        "administrators only"
    );
    let bad = serde_json::json!([{"code": "x", "datatype": "colour", "required": false, "description": "", "order": 1}]);
    assert_eq!(
        put(d.admin.clone(), bad).await.unwrap().status().as_u16(),
        400
    );
    assert_eq!(
        put(d.admin.clone(), defn).await.unwrap().status().as_u16(),
        200
    );
    let (_, services) = app.get("/open311/v2/services.json", None).await;
    let c0101 = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "C0101")
        .unwrap()
        .clone();
    assert_eq!(c0101["metadata"], true);
    let (s, def) = app.get("/open311/v2/services/C0101.json", None).await;
    assert_eq!(s, 200);
    assert_eq!(def["service_code"], "C0101");
    assert_eq!(def["attributes"][0]["code"], "hurt");
    assert_eq!(def["attributes"][0]["values"][1]["key"], "no");
    let (_, _, xml) = app.get_bytes("/open311/v2/services/C0101.xml", None).await;
    let xml = String::from_utf8(xml).unwrap();
    assert!(
        xml.contains("<service_definition>")
            && xml.contains("<attributes><attribute>")
            && xml.contains("<values><value><key>yes</key>"),
        "{xml}"
    );

    let out = app.cli(&["open311", "key", "add", "--name", "app"], None);
    let key = text(&out.stdout).lines().last().unwrap().trim().to_string();
    let base = format!(
        "api_key={key}&service_code=C0101&lat={}&long={}",
        IN_STREET_1.0, IN_STREET_1.1
    );
    let post = |body: String| {
        app.client
            .post(format!("{}/open311/v2/requests.json", app.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let cases = app.count("cases").await;
    for bad in [
        "",
        "&attribute%5Bhurt%5D=maybe",
        "&attribute%5Bhurt%5D=no&attribute%5Bdepth%5D=deep",
        "&attribute%5Bhurt%5D=no&attribute%5Bkinds%5D=lid",
        "&attribute%5Bhurt%5D=no&attribute%5Bcolour%5D=red",
    ] {
        let r = post(format!("{base}{bad}")).await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "{bad}");
    }
    assert_eq!(
        app.count("cases").await,
        cases,
        "refused requests create nothing"
    );
    let r = post(format!("{base}&attribute%5Bhurt%5D=no&attribute%5Bkinds%5D%5B%5D=lid&attribute%5Bkinds%5D%5B%5D=frame&attribute%5Bdepth%5D=12.5&media_url=https%3A%2F%2Fexample.org%2Fp.jpg")).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let created: Value = r.json().await.unwrap();
    let id = created[0]["service_request_id"].as_str().unwrap();
    assert_eq!(
        app.count("case_extras").await,
        3,
        "token, media URL and attribute values, with the case"
    );
    let (_, one) = app
        .get(&format!("/open311/v2/requests/{id}.json"), None)
        .await;
    assert_eq!(one[0]["media_url"], "https://example.org/p.jpg");
}
both!(open311_service_definitions_check_attributes);
