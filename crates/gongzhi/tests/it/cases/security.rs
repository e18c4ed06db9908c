//! Security regressions: cases, their photos, intake retries, exports and parsing (issue 13,
//! defects 5, 6, 12–15 and the resident's own case view). Each test plays the attack through the
//! real API or pages and checks that nothing was written.

use serde_json::{json, Value};

use crate::both;
use crate::cases::{desk_on, new_case, Desk, IN_STREET_1, IN_STREET_2};
use crate::helpers::*;
use gongzhi_core::db::query;

async fn desk(backend: Backend) -> Desk {
    desk_on(TestApp::spawn(backend).await).await
}

/// A case the district's operator took by phone in street 1 (routed to 水务), accepted and filed.
async fn filed_case(d: &Desk) -> String {
    let (s, c) = d.create(&d.operator, &new_case("C0101", IN_STREET_1)).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    d.ok(&d.operator, &id, "accept", json!({})).await;
    d.ok(&d.operator, &id, "file", json!({})).await;
    id
}

/// What the database holds about cases and their history: an attack must leave it unchanged.
async fn written(app: &TestApp) -> [i64; 4] {
    [
        app.count("cases").await,
        app.count("case_events").await,
        app.count("case_summons").await,
        app.count("audit_log").await,
    ]
}

async fn case_status(app: &TestApp, id: &str) -> String {
    query("SELECT status FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// A request with any method, headers and body, answered as status, headers and body text.
async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.url))
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// Defect 5: a dispatcher of street 2 merged their case into a case of street 1, writing an
/// event onto a case they may not even read. Now the primary must be theirs to read and to merge
/// into; otherwise the answer is the unknown-number 404, and nothing is written.
async fn merge_into_a_case_outside_ones_scope_is_unknown(backend: Backend) {
    let d = desk(backend).await;
    let primary = filed_case(&d).await;
    let (_, dup) = d.create(&d.operator, &new_case("C0101", IN_STREET_2)).await;
    let dup = dup["id"].as_str().unwrap().to_string();
    let before = written(&d.app).await;
    let (s_out, out) = d
        .act(&d.other_dispatcher, &dup, "merge", json!({"into": primary}))
        .await;
    let (s_unknown, unknown) = d
        .act(
            &d.other_dispatcher,
            &dup,
            "merge",
            json!({"into": "20990101000001"}),
        )
        .await;
    assert_eq!((s_out, s_unknown), (404, 404), "{out} {unknown}");
    assert_eq!(out, unknown, "out of scope answers exactly as unknown");
    assert_eq!(written(&d.app).await, before);
    assert_eq!(case_status(&d.app, &dup).await, "reported");

    // The district's dispatcher may do it: both sides are theirs.
    let merged = d
        .ok(&d.dispatcher, &dup, "merge", json!({"into": primary}))
        .await;
    assert_eq!(merged["merged_into"], primary.as_str());
}
both!(merge_into_a_case_outside_ones_scope_is_unknown);

/// Defect 13: acting on an out-of-scope case answered 403 (and an unknown one 404), and
/// `report_in` told any handler the status of any case. Every case route now answers a caller
/// who may not read the case exactly as it answers an unknown number, and changes nothing.
async fn out_of_scope_answers_as_unknown(backend: Backend) {
    let d = desk(backend).await;
    let id = filed_case(&d).await;
    let (_, c) = d
        .app
        .get(&format!("/api/v1/cases/{id}"), Some(&d.admin))
        .await;
    let number = c["number"].as_str().unwrap().to_string();
    let unknown = "20990101000001";
    let before = written(&d.app).await;
    let body = json!({"note": "x", "reason": "x", "unit": "110102-cg", "units": ["110102-cg"],
                      "passed": true, "contacted": true, "satisfaction": "satisfied",
                      "until": "2099-01-01T00:00:00+08:00", "into": unknown});
    // A dispatcher of another street, a handler of another unit (naming its own unit, as the
    // report_in oracle did), a resident who did not report it.
    for (who, token) in [
        ("other dispatcher", &d.other_dispatcher),
        ("other unit", &d.urban),
        ("resident", &d.resident),
    ] {
        for case in [id.as_str(), number.as_str()] {
            let (s, b) = d
                .app
                .get(&format!("/api/v1/cases/{case}"), Some(token))
                .await;
            let (s2, b2) = d
                .app
                .get(&format!("/api/v1/cases/{unknown}"), Some(token))
                .await;
            assert_eq!((s, &b), (s2, &b2), "{who}: GET {case}");
            assert_eq!(s, 404);
            for step in gongzhi_cases::rules::workflow::ALL_STEPS {
                let step = step.as_str();
                let (s, b) = d.act(token, case, step, body.clone()).await;
                let (s2, b2) = d.act(token, unknown, step, body.clone()).await;
                assert_eq!((s, &b), (s2, &b2), "{who}: {step} on {case}");
                assert_eq!(s, 404, "{who}: {step}: {b}");
            }
        }
    }
    assert_eq!(written(&d.app).await, before);
    assert_eq!(case_status(&d.app, &id).await, "filed");

    // Whoever may read the case still hears why a step is refused.
    let (s, b) = d.act(&d.water, &id, "sign", json!({})).await;
    assert_eq!(s, 409, "{b}");
    let (s, _) = d.act(&d.operator, &id, "dispatch", json!({})).await;
    assert_eq!(s, 403, "in scope, wrong role");

    // The pages answer the same way: the other street's dispatcher gets the unknown case's page.
    let mut other = Pages::sign_in(&d.app, "disp2", "disp2-password").await;
    let before = written(&d.app).await;
    let (s, page) = other.get(&format!("/cases/{id}")).await;
    let (s2, page2) = other.get(&format!("/cases/{unknown}")).await;
    assert_eq!((s, s2), (404, 404));
    assert_eq!(page, page2);
    let (s, page) = other.act(&id, "dispatch").await;
    let (s2, page2) = other.act(unknown, "dispatch").await;
    assert_eq!((s, s2), (404, 404), "{page}");
    assert_eq!(page.replace(&id, unknown), page2);
    assert_eq!(written(&d.app).await, before);
}
both!(out_of_scope_answers_as_unknown);

/// Defect 6: `GET /api/v1/attachments/{id}` served any linked photo to any staff role. A photo
/// is now seen by whoever may read its case (the reporter included), and an unlinked upload by
/// its uploader alone; the case page's photo route asks the same question.
async fn a_case_photo_is_seen_by_the_case_readers_only(backend: Backend) {
    let d = desk(backend).await;
    let app = &d.app;
    let up = |token: &str| {
        let token = token.to_string();
        async move {
            let (s, p) = app
                .post_bytes(
                    "/api/v1/attachments",
                    Some(&token),
                    "image/png",
                    PNG.to_vec(),
                )
                .await;
            assert_eq!(s, 201, "{p}");
            p["id"].as_str().unwrap().to_string()
        }
    };
    let photo = up(&d.resident).await;
    let mut body = new_case("C0101", IN_STREET_1);
    body["channel"] = json!("web");
    body["photos"] = json!([photo]);
    let (s, case) = d.create(&d.resident, &body).await;
    assert_eq!(s, 201, "{case}");
    let case_id = case["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/attachments/{photo}");

    let other_leader = app
        .user_with("leader2", "leader", Some("110102002"), None)
        .await;
    let other_grid = app
        .user_with("gw2", "grid_worker", Some("110102002"), None)
        .await;
    let other_resident = app.user_with("res2", "resident", None, None).await;
    for (who, token) in [
        ("dispatcher of another street", Some(&d.other_dispatcher)),
        ("handler of another unit", Some(&d.urban)),
        ("leader of another street", Some(&other_leader)),
        ("grid worker of another street", Some(&other_grid)),
        ("another resident", Some(&other_resident)),
        ("anonymous", None),
    ] {
        let (s, _, bytes) = app.get_bytes(&path, token.map(String::as_str)).await;
        assert_eq!(s, 404, "{who}");
        assert_ne!(bytes, PNG, "{who}");
    }
    for (who, token) in [
        ("the reporter", &d.resident),
        ("the district's dispatcher", &d.dispatcher),
        ("the case's unit", &d.water),
        ("the grid's worker", &d.grid_worker),
    ] {
        let (s, ct, bytes) = app.get_bytes(&path, Some(token)).await;
        assert_eq!(
            (s, ct.as_str(), bytes.as_slice()),
            (200, "image/png", PNG),
            "{who}"
        );
    }

    // An upload not yet attached is its uploader's alone, even to a global admin.
    let loose = up(&d.water).await;
    let (s, _, _) = app
        .get_bytes(&format!("/api/v1/attachments/{loose}"), Some(&d.admin))
        .await;
    assert_eq!(s, 404);
    let (s, _, _) = app
        .get_bytes(&format!("/api/v1/attachments/{loose}"), Some(&d.water))
        .await;
    assert_eq!(s, 200);

    // The page route: the reporter sees it, another resident does not (not even through a case
    // of their own in the path).
    let mut reporter = Pages::sign_in(app, "res", "res-password").await;
    let (s, _) = reporter
        .get(&format!("/cases/{case_id}/photos/{photo}"))
        .await;
    assert_eq!(s, 200);
    let mut stranger = Pages::sign_in(app, "res2", "res2-password").await;
    let (_, theirs) = d
        .create(&other_resident, &new_case("C0101", IN_STREET_2))
        .await;
    let theirs = theirs["id"].as_str().unwrap();
    for case in [case_id.as_str(), theirs] {
        let (s, _) = stranger.get(&format!("/cases/{case}/photos/{photo}")).await;
        assert_eq!(s, 404);
    }
}
both!(a_case_photo_is_seen_by_the_case_readers_only);

/// Defect 12: the same `Idempotency-Key` with another body answered 200 with the first case,
/// losing the second report silently. Now a retry of the same request (however its JSON is
/// spaced or ordered) gets the first case, another request gets 422 `idempotency_key_reused`.
async fn a_reused_idempotency_key_with_another_body_is_refused(backend: Backend) {
    let d = desk(backend).await;
    let app = &d.app;
    let post = |token: &str, key: &str, body: String| {
        let (token, key) = (token.to_string(), key.to_string());
        async move {
            send(
                app,
                "POST",
                "/api/v1/cases",
                Some(&token),
                &[JSON, ("idempotency-key", &key)],
                body.into_bytes(),
            )
            .await
        }
    };
    let first = new_case("C0101", IN_STREET_1);
    let (s, _, b) = post(&d.operator, "call-1", first.to_string()).await;
    assert_eq!(s, 201, "{b}");
    let created: Value = serde_json::from_str(&b).unwrap();
    let before = written(app).await;
    // The same request, spaced and ordered differently: the same case.
    let reordered = format!(
        r#"{{ "channel": "hotline", "reporter": {{"phone": "13812345678", "name": "张小明"}},
             "location": {{"lng": {}, "lat": {}}}, "description": "井盖破损，有人险些踩空",
             "category": "C0101", "kind": "report" }}"#,
        IN_STREET_1.1, IN_STREET_1.0
    );
    let (s, _, b) = post(&d.operator, "call-1", reordered).await;
    assert_eq!(s, 200, "{b}");
    let replayed: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(replayed["id"], created["id"]);
    // Another report under the same key: refused, nothing stored.
    let mut second = first.clone();
    second["description"] = json!("路灯不亮");
    let (s, _, b) = post(&d.operator, "call-1", second.to_string()).await;
    let err: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        (s, err["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused")),
        "{b}"
    );
    assert_eq!(written(app).await, before);
    // Keys are per caller: another caller's same key and body is a new case.
    let (s, _, b) = post(&d.dispatcher, "call-1", first.to_string()).await;
    assert_eq!(s, 201, "{b}");
}
both!(a_reused_idempotency_key_with_another_body_is_refused);

/// Defect 14: names went raw into CSV exports, so a unit named `=HYPERLINK(…)` ran as a formula
/// in the spreadsheet of whoever opened the ranking. Text cells that start like a formula now get
/// a leading `'`; numbers stay numbers.
async fn csv_text_cells_cannot_run_as_formulas(backend: Backend) {
    let d = desk(backend).await;
    let app = &d.app;
    let evil = "=HYPERLINK(\"http://attacker.example\",\"点此\")";
    for (code, name) in [
        ("110102-x1", evil),
        ("110102-x2", "@SUM(1+1)"),
        ("110102-x3", "-2+3"),
    ] {
        let (s, b) = app
            .post(
                "/api/v1/units",
                Some(&d.admin),
                &json!({"code": code, "name": name, "kind": "department", "area_code": "110102"}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let (_, c) = d.create(&d.operator, &new_case("C0101", IN_STREET_1)).await;
        let id = c["id"].as_str().unwrap();
        d.ok(&d.operator, id, "accept", json!({})).await;
        d.ok(&d.operator, id, "file", json!({})).await;
        d.ok(&d.dispatcher, id, "dispatch", json!({"unit": code}))
            .await;
    }
    let period = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m")
        .to_string();
    let (s, ct, bytes) = app
        .get_bytes(
            &format!("/api/v1/stats/cases?period={period}&level=unit&format=csv"),
            Some(&d.admin),
        )
        .await;
    assert_eq!((s, ct.starts_with("text/csv")), (200, true));
    let mut rows = csv::Reader::from_reader(&bytes[3..]);
    let mut names = vec![];
    for r in rows.records() {
        let r = r.unwrap();
        for cell in r.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell runs as a formula: {cell:?}"
            );
        }
        // Numbers are not prefixed.
        assert!(
            r[0].parse::<i64>().is_ok() && r[3].parse::<i64>().is_ok(),
            "{r:?}"
        );
        names.push(r[2].to_string());
    }
    for name in [evil, "@SUM(1+1)", "-2+3"] {
        assert!(names.contains(&format!("'{name}")), "{name} in {names:?}");
    }
}
both!(csv_text_cells_cannot_run_as_formulas);

/// Defect 15, the action endpoint: it acted on bodies with no or the wrong content type, with
/// unknown fields, nested 50,000 deep. It now reads its body as every other endpoint does.
async fn the_action_endpoint_parses_as_every_endpoint_does(backend: Backend) {
    let d = desk(backend).await;
    let app = &d.app;
    let (_, c) = d.create(&d.operator, &new_case("C0101", IN_STREET_1)).await;
    let path = format!("/api/v1/cases/{}/actions/accept", c["id"].as_str().unwrap());
    let before = written(app).await;
    let deep = format!("{{\"note\":{}{}}}", "[".repeat(50_000), "]".repeat(50_000));
    let deep_unknown = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    for (what, headers, body, status, code) in [
        (
            "no content type",
            vec![],
            "{}".to_string(),
            415,
            "unsupported_media_type",
        ),
        (
            "text/plain",
            vec![("content-type", "text/plain")],
            "{}".into(),
            415,
            "unsupported_media_type",
        ),
        (
            "form",
            vec![("content-type", "application/x-www-form-urlencoded")],
            "note=x".into(),
            415,
            "unsupported_media_type",
        ),
        (
            "unknown field",
            vec![JSON],
            r#"{"resaon": "typo"}"#.into(),
            400,
            "invalid_body",
        ),
        ("50,000 deep", vec![JSON], deep, 400, "invalid_json"),
        (
            "50,000 deep, top level",
            vec![JSON],
            deep_unknown,
            400,
            "invalid_json",
        ),
        ("empty", vec![JSON], String::new(), 400, "invalid_json"),
    ] {
        let (s, _, b) = send(
            app,
            "POST",
            &path,
            Some(&d.operator),
            &headers,
            body.into_bytes(),
        )
        .await;
        let err: Value = serde_json::from_str(&b).unwrap_or_else(|_| panic!("{what}: {b}"));
        assert_eq!(
            (s, err["error"]["code"].as_str()),
            (status, Some(code)),
            "{what}: {b}"
        );
    }
    assert_eq!(written(app).await, before);
    // Brackets inside a string are text, not nesting.
    let (s, _, b) = send(
        app,
        "POST",
        &path,
        Some(&d.operator),
        &[JSON],
        json!({"note": "[".repeat(200)}).to_string().into_bytes(),
    )
    .await;
    assert_eq!(s, 200, "{b}");
}
both!(the_action_endpoint_parses_as_every_endpoint_does);

/// Defect 15, the error shape: a body too large, a path that is not UTF-8 and a wrong method
/// were answered by the router in plain text (or nothing). Now the API answers them in its JSON
/// shape, Open311 in its own, and the pages with an error page; 405 keeps its `Allow`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_has_the_shape_of_where_it_was_asked() {
    // Nothing here is stored: one backend is enough.
    let d = desk(Backend::Sqlite).await;
    let app = &d.app;
    let big = vec![b'x'; 11 * 1024 * 1024];
    let bigger = vec![b'x'; 31 * 1024 * 1024];
    // The API.
    for (what, method, path, headers, body, status, code) in [
        (
            "too large",
            "POST",
            "/api/v1/cases",
            vec![JSON],
            vec![b' '; 2 * 1024 * 1024],
            413,
            "payload_too_large",
        ),
        (
            "not UTF-8",
            "GET",
            "/api/v1/cases/%FF%FE",
            vec![],
            vec![],
            400,
            "invalid_path",
        ),
        (
            "wrong method",
            "DELETE",
            "/api/v1/cases",
            vec![],
            vec![],
            405,
            "method_not_allowed",
        ),
        (
            "no such route",
            "GET",
            "/api/v1/nothing-here",
            vec![],
            vec![],
            404,
            "not_found",
        ),
    ] {
        let (s, h, b) = send(app, method, path, Some(&d.admin), &headers, body).await;
        let err: Value = serde_json::from_str(&b).unwrap_or_else(|_| panic!("{what}: {b}"));
        assert_eq!(
            (s, err["error"]["code"].as_str()),
            (status, Some(code)),
            "{what}: {b}"
        );
        assert!(
            err["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        assert!(h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        if s == 405 {
            let allow = h["allow"].to_str().unwrap();
            assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
        }
    }
    // Open311: its errors/error{code,description}, as JSON or XML by the path's extension.
    let (s, h, b) = send(
        app,
        "DELETE",
        "/open311/v2/requests.json",
        None,
        &[],
        vec![],
    )
    .await;
    let err: Value = serde_json::from_str(&b).unwrap_or_else(|_| panic!("{b}"));
    assert_eq!((s, err[0]["code"].as_str()), (405, Some("405")), "{b}");
    assert!(h.contains_key("allow"));
    let (s, _, b) = send(app, "DELETE", "/open311/v2/requests.xml", None, &[], vec![]).await;
    assert_eq!(s, 405);
    assert!(b.contains("<errors><error><code>405</code>"), "{b}");
    let form = ("content-type", "application/x-www-form-urlencoded");
    let (s, _, b) = send(
        app,
        "POST",
        "/open311/v2/requests.json",
        None,
        &[form],
        big.clone(),
    )
    .await;
    let err: Value = serde_json::from_str(&b).unwrap_or_else(|_| panic!("{b}"));
    assert_eq!((s, err[0]["code"].as_str()), (413, Some("413")), "{b}");
    let (s, _, b) = send(
        app,
        "GET",
        "/open311/v2/requests/%FF.json",
        None,
        &[],
        vec![],
    )
    .await;
    let err: Value = serde_json::from_str(&b).unwrap_or_else(|_| panic!("{b}"));
    assert_eq!((s, err[0]["code"].as_str()), (400, Some("400")), "{b}");
    // The pages: an error page in both languages, with no script.
    let mut pages = Pages::sign_in(app, "disp", "disp-password").await;
    for (what, method, path, body, status) in [
        ("wrong method", "DELETE", "/report", vec![], 405),
        ("not UTF-8", "GET", "/cases/%FF%FE", vec![], 400),
        ("no such page", "GET", "/no-such-page", vec![], 404),
        (
            "markup in a bad path",
            "GET",
            "/cases/%3Cb%3Ex%FF",
            vec![],
            400,
        ),
        ("too large", "POST", "/report", bigger.clone(), 413),
        ("too large", "POST", "/login", bigger, 413),
    ] {
        let (s, h, b) = pages.send(method, path, body).await;
        assert_eq!(s, status, "{what}: {b}");
        assert!(
            h["content-type"].to_str().unwrap().starts_with("text/html"),
            "{what}"
        );
        assert!(
            b.contains("<html lang=\"zh-CN\"") && b.contains("lang=\"en\""),
            "{what}: {b}"
        );
        assert!(!b.contains("<script") && !b.contains("style="), "{what}");
        assert!(!b.contains("<b>"), "what the request said is text: {b}");
        if s == 405 {
            assert!(h.contains_key("allow"), "{what}");
        }
    }
}

/// Defect 15, bad input in Open311 and forms: text that is not UTF-8 was stored as U+FFFD, and a
/// zero-byte `media` was dropped silently. Both are refused now, and nothing is stored.
async fn open311_and_forms_refuse_what_is_not_text_or_not_a_photo(backend: Backend) {
    let d = desk(backend).await;
    let app = &d.app;
    let out = app.cli(&["open311", "key", "add", "--name", "app"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout).lines().last().unwrap().trim().to_string();
    let before = (written(app).await, app.count("attachments").await);
    let url = "/open311/v2/requests.json";
    let base = format!(
        "api_key={key}&service_code=C0101&lat={}&long={}&jurisdiction_id=110102",
        IN_STREET_1.0, IN_STREET_1.1
    );
    let form = ("content-type", "application/x-www-form-urlencoded");
    for bad in ["description=caf%E9", "first_name=%FF%FE", "description=%C3"] {
        let (s, _, b) = send(
            app,
            "POST",
            url,
            None,
            &[form],
            format!("{base}&{bad}").into_bytes(),
        )
        .await;
        assert_eq!(s, 400, "{bad}: {b}");
        assert!(b.contains("UTF-8"), "{b}");
        let (s, _, _) = send(
            app,
            "POST",
            &format!("{url}?{bad}"),
            None,
            &[form],
            base.clone().into_bytes(),
        )
        .await;
        assert_eq!(s, 400, "{bad} in the query");
    }
    let multipart = |description: Vec<u8>, media: Vec<u8>| {
        reqwest::multipart::Form::new()
            .text("api_key", key.clone())
            .text("service_code", "C0101")
            .text("lat", IN_STREET_1.0.to_string())
            .text("long", IN_STREET_1.1.to_string())
            .text("jurisdiction_id", "110102")
            .part("description", reqwest::multipart::Part::bytes(description))
            .part(
                "media",
                reqwest::multipart::Part::bytes(media)
                    .file_name("p.png")
                    .mime_str("image/png")
                    .unwrap(),
            )
    };
    let (s, b) = app
        .post_multipart(url, None, multipart(b"caf\xE9".to_vec(), PNG.to_vec()))
        .await;
    assert_eq!(s, 400, "a text part that is not UTF-8: {b}");
    let (s, b) = app
        .post_multipart(url, None, multipart("井盖".as_bytes().to_vec(), vec![]))
        .await;
    assert_eq!(s, 400, "a zero-byte photo: {b}");
    assert_eq!((written(app).await, app.count("attachments").await), before);
    let (s, b) = app
        .post_multipart(
            url,
            None,
            multipart("井盖".as_bytes().to_vec(), PNG.to_vec()),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // The API refuses a zero-byte photo too.
    let (s, b) = app
        .post_bytes(
            "/api/v1/attachments",
            Some(&d.operator),
            "image/png",
            vec![],
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("empty_upload"))
    );
}
both!(open311_and_forms_refuse_what_is_not_text_or_not_a_photo);

/// Defect 15, filters: an unknown `kind` or `channel` was ignored into an empty list, `page=0`
/// and negative limits were clamped, `%` and `_` in a filter matched anything, and a refused
/// export was a 400. Each is now a 400 with its reason (the export a 403), and wildcards match
/// themselves.
async fn list_filters_refuse_what_they_do_not_know(backend: Backend) {
    let d = desk(backend).await;
    let app = &d.app;
    d.create(&d.operator, &new_case("C0101", IN_STREET_1)).await;
    for (query, code) in [
        ("kind=rumour", "invalid_kind"),
        ("channel=fax", "invalid_channel"),
        ("status=lost", "invalid_status"),
        ("page=0", "invalid_paging"),
        ("page_size=0", "invalid_paging"),
        ("page_size=201", "invalid_paging"),
        ("page=-1", "invalid_query"),
    ] {
        let (s, b) = app
            .get(&format!("/api/v1/cases?{query}"), Some(&d.admin))
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (400, Some(code)),
            "{query}: {b}"
        );
    }
    for query in ["limit=0", "limit=-1", "limit=1001", "after=-1"] {
        let (s, b) = app
            .get(&format!("/api/v1/audit?{query}"), Some(&d.admin))
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (400, Some("invalid_paging")),
            "{query}: {b}"
        );
    }
    let (s, _) = app.get("/api/v1/audit?after=abc", Some(&d.admin)).await;
    assert_eq!(s, 400);
    let (s, _) = app
        .get("/api/v1/me/notifications?limit=-5", Some(&d.admin))
        .await;
    assert_eq!(s, 400);
    // Wildcards are matched literally: `%` is no area and no category.
    let (_, all) = app.get("/api/v1/cases", Some(&d.admin)).await;
    assert_eq!(all["total"], 1);
    for query in [
        "area=%25",
        "area=1101_2",
        "category=%25",
        "category=C_1",
        "area=%5C",
    ] {
        let (s, b) = app
            .get(&format!("/api/v1/cases?{query}"), Some(&d.admin))
            .await;
        assert_eq!((s, &b["total"]), (200, &json!(0)), "{query}: {b}");
    }
    let (_, b) = app
        .get("/api/v1/cases?area=110102&category=C01", Some(&d.admin))
        .await;
    assert_eq!(b["total"], 1, "a real prefix still matches");
    // A refused export is a 403, in the API and on the dashboard.
    let (s, _) = app
        .get(
            "/api/v1/stats/cases?period=2026-10&level=street&format=csv",
            Some(&d.resident),
        )
        .await;
    assert_eq!(s, 403);
    let mut resident = Pages::sign_in(app, "res", "res-password").await;
    let (s, _) = resident
        .get("/dashboard/export?format=csv&level=street")
        .await;
    assert_eq!(s, 403);
}
both!(list_filters_refuse_what_they_do_not_know);

/// The resident's own case view showed staff user names and internal notes. It is now the
/// public timeline Open311 shows: each step and when, the resident's own words, no staff names,
/// no staff notes, no units; staff still see everything.
async fn a_residents_own_case_shows_the_public_timeline(backend: Backend) {
    let d = desk(backend).await;
    let app = &d.app;
    let mut body = new_case("C0101", IN_STREET_1);
    body["channel"] = json!("web");
    let (_, c) = d.create(&d.resident, &body).await;
    let id = c["id"].as_str().unwrap().to_string();
    d.ok(
        &d.operator,
        &id,
        "accept",
        json!({"note": "内部：报告人情绪激动，注意沟通"}),
    )
    .await;
    d.ok(&d.operator, &id, "file", json!({})).await;
    d.ok(&d.dispatcher, &id, "dispatch", json!({})).await;
    d.ok(
        &d.dispatcher,
        &id,
        "summon",
        json!({"units": ["110102-cg"]}),
    )
    .await;

    let (s, mine) = app
        .get(&format!("/api/v1/cases/{id}"), Some(&d.resident))
        .await;
    assert_eq!(s, 200, "{mine}");
    let seen = mine.to_string();
    for hidden in ["user:op1", "user:disp", "内部", "110102-sw", "110102-cg"] {
        assert!(!seen.contains(hidden), "the resident sees {hidden}: {seen}");
    }
    let steps: Vec<&str> = mine["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["create", "accept", "file", "dispatch", "summon"]);
    assert_eq!(
        mine["timeline"][0]["actor"], "user:res",
        "their own step is theirs"
    );
    assert_eq!(mine["timeline"][1]["actor"], "staff");
    assert!(mine["unit"].is_null() && mine["lead_unit"].is_null());
    assert!(mine.get("summons").is_none());

    // Their callback's answer is the same public view.
    for step in ["sign", "contact"] {
        d.ok(&d.water, &id, step, json!({})).await;
    }
    d.ok(
        &d.water,
        &id,
        "report_back",
        json!({"note": "内部：已更换井盖"}),
    )
    .await;
    d.ok(&d.grid_worker, &id, "verify", json!({"passed": true}))
        .await;
    d.ok(&d.dispatcher, &id, "close", json!({})).await;
    let answered = d
        .ok(&d.resident, &id, "call_back", json!({"contacted": true, "resolved": true, "satisfaction": "satisfied", "note": "谢谢"}))
        .await;
    let seen = answered.to_string();
    for hidden in ["user:op1", "user:water", "内部", "110102-sw"] {
        assert!(
            !seen.contains(hidden),
            "the callback's answer shows {hidden}: {seen}"
        );
    }
    assert!(seen.contains("谢谢"), "their own words are theirs");

    // Staff see the whole case.
    let (_, staff) = app
        .get(&format!("/api/v1/cases/{id}"), Some(&d.dispatcher))
        .await;
    assert_eq!(staff["timeline"][1]["actor"], "user:op1");
    assert!(staff["timeline"][1]["note"]
        .as_str()
        .unwrap()
        .contains("内部"));
    assert_eq!(staff["unit"], "110102-sw");

    // The resident's page shows the same public timeline.
    let mut pages = Pages::sign_in(app, "res", "res-password").await;
    let (s, page) = pages.get(&format!("/cases/{id}")).await;
    assert_eq!(s, 200);
    for hidden in [
        "user:op1",
        "user:disp",
        "内部",
        "西城区水务局",
        "西城区城管委",
    ] {
        assert!(!page.contains(hidden), "the resident's page shows {hidden}");
    }
}
both!(a_residents_own_case_shows_the_public_timeline);

/// A signed-in browser for the pages: the session cookie, and the CSRF token of its forms.
struct Pages<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookie: String,
}

impl<'a> Pages<'a> {
    async fn sign_in(app: &'a TestApp, user: &str, password: &str) -> Pages<'a> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = http.get(format!("{}/login", app.url)).send().await.unwrap();
        let mut cookie = cookies(&resp);
        let page = resp.text().await.unwrap();
        let resp = http
            .post(format!("{}/login", app.url))
            .header("cookie", &cookie)
            .form(&[
                ("_csrf", csrf(&page).as_str()),
                ("username", user),
                ("password", password),
                ("next", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 303, "sign in as {user}");
        cookie = format!("{cookie}; {}", cookies(&resp));
        Pages { app, http, cookie }
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        // The report form is multipart, sign-in urlencoded: each gets what it reads.
        let content_type = if path == "/report" {
            "multipart/form-data; boundary=x"
        } else {
            "application/x-www-form-urlencoded"
        };
        let resp = self
            .http
            .request(method, format!("{}{path}", self.app.url))
            .header("cookie", &self.cookie)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let (s, _, b) = self.send("GET", path, vec![]).await;
        (s, b)
    }

    /// Takes `step` on a case from the case page's form (with the session's CSRF token).
    async fn act(&mut self, case: &str, step: &str) -> (u16, String) {
        let (_, home) = self.get("/cases").await;
        let form = reqwest::multipart::Form::new().text("_csrf", csrf(&home));
        let resp = self
            .http
            .post(format!("{}/cases/{case}/act/{step}", self.app.url))
            .header("cookie", &self.cookie)
            .multipart(form)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

/// The `name=value` pairs a response sets, as one Cookie header.
fn cookies(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The CSRF token of a page's first form.
fn csrf(page: &str) -> String {
    let at = page
        .find("name=\"_csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 20;
    page[at..at + page[at..].find('"').unwrap()].to_string()
}
