//! Security regressions: Open311 published every case in a public category — hotline 举报
//! naming neighbours, exact coordinates, residents' photos (issue 13, #4). Now a case is public
//! only when its reporter chose so or staff published it; the public sees a rounded location,
//! the description or its redaction, approved photos without their metadata, and nothing else.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::both;
use crate::cases::{desk_on, Desk, IN_STREET_1};
use crate::helpers::*;
use crate::platform::web::{hidden, Browser};
use gongzhi_cases::rules::publicity::round_to_grid;
use gongzhi_core::db::query;

/// A JPEG whose EXIF names the camera's position (signature, APP1, scan, end).
fn jpeg_with_gps() -> Vec<u8> {
    let exif = b"Exif\0\0GPS 39.902345N 116.302345E";
    let mut j = vec![0xFF, 0xD8, 0xFF, 0xE1, 0, (exif.len() + 2) as u8];
    j.extend(exif);
    j.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0, 1, 2, 3, 0xFF, 0xD9]);
    j
}

async fn upload(app: &TestApp, token: &str, content_type: &str, bytes: Vec<u8>) -> String {
    let (s, b) = app
        .post_bytes("/api/v1/attachments", Some(token), content_type, bytes)
        .await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_str().unwrap().to_string()
}

async fn text_at(app: &TestApp, path: &str) -> (u16, String) {
    let (s, _, b) = app.get_bytes(path, None).await;
    (s, String::from_utf8_lossy(&b).to_string())
}

/// Everything an anonymous client can read about these requests through Open311, in both
/// formats: lists (with every filter that widens them), each request, updates, tokens.
async fn open311_reads(app: &TestApp, numbers: &[&str], tokens: &[&str]) -> String {
    let mut all = String::new();
    for f in ["json", "xml"] {
        let mut paths = vec![
            format!("/open311/v2/requests.{f}"),
            format!("/open311/v2/requests.{f}?extensions=true&page_size=1000"),
            format!("/open311/v2/requests.{f}?status=open"),
            format!("/open311/v2/servicerequestupdates.{f}"),
            format!(
                "/open311/v2/requests.{f}?service_request_id={}",
                numbers.join(",")
            ),
        ];
        for n in numbers {
            paths.push(format!("/open311/v2/requests/{n}.{f}?extensions=true"));
        }
        for t in tokens {
            paths.push(format!("/open311/v2/tokens/{t}.{f}"));
        }
        // Refusals echo what was asked (`no request N`); only answers count as reads.
        for p in paths {
            let (s, body) = text_at(app, &p).await;
            if s == 200 {
                all.push_str(&body);
                all.push('\n');
            }
        }
    }
    all
}

fn assert_absent(reads: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !reads.contains(s),
            "{s:?} is readable through Open311:\n{reads}"
        );
    }
}

async fn set_publication(d: &Desk, token: &str, id: &str, body: Value) -> (u16, Value) {
    let r = d
        .app
        .client
        .put(format!("{}/api/v1/cases/{id}/publication", d.app.url))
        .bearer_auth(token)
        .json(&body);
    answer(r).await
}

async fn one(app: &TestApp, number: &str) -> (u16, Value) {
    app.get(&format!("/open311/v2/requests/{number}.json"), None)
        .await
}

/// The hole: a hotline 举报 with a neighbour's name and phone, its address, its exact place and
/// its photo were all readable anonymously. Now only what was made public is, as made public.
async fn open311_shows_only_what_was_made_public(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.open311_public_precision_m = 500).await;
    let d = desk_on(app).await;
    let app = &d.app;
    // A hotline 举报 naming a neighbour, with an address, an exact place and a photo with GPS.
    let photo = upload(app, &d.operator, "image/jpeg", jpeg_with_gps()).await;
    let (s, hotline) = d
        .create(
            &d.operator,
            &json!({"kind": "report", "category": "C0101", "channel": "hotline",
                "description": "举报邻居王某某（电话13900001111）私占井盖位置",
                "location": {"lat": 39.902345, "lng": 116.302345}, "address": "西长安街某胡同3号院",
                "reporter": {"name": "张小明", "phone": "13812345678"}, "photos": [photo]}),
        )
        .await;
    assert_eq!(s, 201, "{hotline}");
    // A resident's request for help, public by default: text and rounded place, nothing else.
    let png = upload(app, &d.resident, "image/png", PNG.to_vec()).await;
    let (s, help) = d
        .create(
            &d.resident,
            &json!({"kind": "help", "category": "C0101", "channel": "web",
                "description": "井盖松动，请尽快修理", "location": {"lat": 39.903456, "lng": 116.303456},
                "address": "府右街某胡同5号", "photos": [png]}),
        )
        .await;
    assert_eq!(s, 201, "{help}");
    // A suggestion its reporter kept private.
    let (s, kept) = d
        .create(
            &d.resident,
            &json!({"kind": "suggestion", "category": "C0101", "channel": "web", "public": false,
                "description": "建议在3号楼前加装路灯", "location": {"lat": IN_STREET_1.0, "lng": IN_STREET_1.1}}),
        )
        .await;
    assert_eq!(s, 201, "{kept}");
    let (hotline_n, help_n, kept_n) = (
        hotline["number"].as_str().unwrap(),
        help["number"].as_str().unwrap(),
        kept["number"].as_str().unwrap(),
    );
    let reads = open311_reads(app, &[hotline_n, help_n, kept_n], &[]).await;
    assert_absent(
        &reads,
        &[
            hotline_n,
            kept_n,
            "王某某",
            "13900001111",
            "张小明",
            "13812345678",
            "加装路灯",
            "某胡同",
            "39.902345",
            "116.302345",
            "39.903456",
            "116.303456",
            &photo,
            &png,
        ],
    );
    assert!(
        reads.contains(help_n) && reads.contains("井盖松动"),
        "{reads}"
    );
    for n in [hotline_n, kept_n] {
        for f in ["json", "xml"] {
            let (s, body) = text_at(app, &format!("/open311/v2/requests/{n}.{f}")).await;
            assert_eq!(s, 404, "{body}");
        }
    }
    // The public request: its place on the configured grid, no address, no photo yet.
    let (s, public) = one(app, help_n).await;
    assert_eq!(s, 200, "{public}");
    let (lat, lng) = round_to_grid(39.903456, 116.303456, 500.0);
    assert_eq!(
        (public[0]["lat"].as_f64(), public[0]["long"].as_f64()),
        (Some(lat), Some(lng))
    );
    assert_eq!(public[0]["address"], Value::Null);
    assert_eq!(public[0]["media_url"], Value::Null);
    for p in [&photo, &png] {
        let (s, _, _) = app.get_bytes(&format!("/open311/v2/media/{p}"), None).await;
        assert_eq!(s, 404, "a photo no one approved");
    }

    // Staff publish the 举报 after review: redacted, its photo approved, its address not.
    let hotline_id = hotline["id"].as_str().unwrap();
    let (s, p) = set_publication(
        &d,
        &d.dispatcher,
        hotline_id,
        json!({"public": true, "public_description": "有人私占井盖位置", "photos_public": [photo]}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["chosen_by"], "staff");
    let reads = open311_reads(app, &[hotline_n], &[]).await;
    assert!(reads.contains("有人私占井盖位置"), "{reads}");
    assert_absent(
        &reads,
        &[
            "王某某",
            "13900001111",
            "张小明",
            "某胡同",
            "39.902345",
            "116.302345",
        ],
    );
    let (_, published) = one(app, hotline_n).await;
    let media = published[0]["media_url"]
        .as_str()
        .expect("the approved photo")
        .to_string();
    let (s, ct, bytes) = app.get_bytes(&media, None).await;
    assert_eq!((s, ct.as_str()), (200, "image/jpeg"));
    assert!(
        !String::from_utf8_lossy(&bytes).contains("GPS"),
        "the camera's position is stripped"
    );
    // The description itself is unchanged for staff.
    let (_, case) = app
        .get(&format!("/api/v1/cases/{hotline_id}"), Some(&d.dispatcher))
        .await;
    assert!(case["description"].as_str().unwrap().contains("王某某"));
    // Withdrawn: gone from every read, its photo too.
    let (s, _) = set_publication(&d, &d.dispatcher, hotline_id, json!({"public": false})).await;
    assert_eq!(s, 200);
    let reads = open311_reads(app, &[hotline_n], &[]).await;
    assert_absent(&reads, &[hotline_n, "有人私占井盖位置"]);
    let (s, _, _) = app.get_bytes(&media, None).await;
    assert_eq!(s, 404);
}
both!(open311_shows_only_what_was_made_public);

/// An Open311 client publishes by posting (GeoReport v2 has no private request): its request
/// and photo are public at once, until staff withdraw them; then its token, its updates and its
/// photo answer as unknown, and outside updates to it are refused with nothing written.
async fn open311_posts_are_public_until_withdrawn(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    let out = app.cli(&["open311", "key", "add", "--name", "app"], None);
    let key = text(&out.stdout).lines().last().unwrap().trim().to_string();
    let form = Form::new()
        .text("api_key", key.clone())
        .text("service_code", "C0101")
        .text("lat", "39.902345")
        .text("long", "116.302345")
        .text("address_string", "西长安街某胡同3号院")
        .text("description", "井盖缺失")
        .part(
            "media",
            Part::bytes(PNG.to_vec())
                .file_name("p.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let (s, created) = app
        .post_multipart("/open311/v2/requests.json", None, form)
        .await;
    assert_eq!(s, 200, "{created}");
    let number = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = created[0]["token"].as_str().unwrap().to_string();
    let (s, shown) = one(app, &number).await;
    assert_eq!(s, 200);
    let media = shown[0]["media_url"]
        .as_str()
        .expect("the posted photo")
        .to_string();
    assert_eq!(app.get_bytes(&media, None).await.0, 200);
    assert_eq!(
        shown[0]["address"],
        Value::Null,
        "an address waits for staff"
    );
    assert_ne!(shown[0]["lat"].as_f64(), Some(39.902345));
    let (s, _) = app
        .get(&format!("/open311/v2/tokens/{token}.json"), None)
        .await;
    assert_eq!(s, 200);

    let (_, case) = app
        .get(&format!("/api/v1/cases/{number}"), Some(&d.dispatcher))
        .await;
    let id = case["id"].as_str().unwrap().to_string();
    let (s, b) = set_publication(&d, &d.dispatcher, &id, json!({"public": false})).await;
    assert_eq!(s, 200, "{b}");
    let reads = open311_reads(app, &[&number], &[&token]).await;
    assert_absent(&reads, &[&number, "井盖缺失"]);
    for f in ["json", "xml"] {
        let (s, _) = text_at(app, &format!("/open311/v2/tokens/{token}.{f}")).await;
        assert_eq!(s, 404);
    }
    assert_eq!(app.get_bytes(&media, None).await.0, 404);
    let (events, updates) = (
        app.count("case_events").await,
        app.count("open311_updates").await,
    );
    let (s, b) = app
        .post_text(
            "/open311/v2/servicerequestupdates.json",
            None,
            "application/x-www-form-urlencoded",
            &format!("api_key={key}&service_request_id={number}&update_id=x1&status=open&updated_datetime=2026-11-23T10:00:00%2B08:00&description=ok"),
        )
        .await;
    assert_eq!(s, 404, "{b}");
    assert_eq!(
        (
            app.count("case_events").await,
            app.count("open311_updates").await
        ),
        (events, updates)
    );
    // Staff may publish it again, the photo with it.
    let photo = media.rsplit('/').next().unwrap();
    let (s, _) = set_publication(
        &d,
        &d.dispatcher,
        &id,
        json!({"public": true, "photos_public": [photo]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(app.get_bytes(&media, None).await.0, 200);
}
both!(open311_posts_are_public_until_withdrawn);

/// Publication is for the dispatch desks of the case's area. The reporter, other residents,
/// the handling unit, a grid worker, another street's dispatcher and strangers are refused
/// (not found when they cannot read the case), and nothing is written.
async fn only_the_desks_of_the_area_may_publish(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    let (s, case) = d
        .create(
            &d.resident,
            &json!({"kind": "complaint", "category": "C0101", "channel": "web",
                "description": "楼下王某某堆放杂物", "location": {"lat": IN_STREET_1.0, "lng": IN_STREET_1.1}}),
        )
        .await;
    assert_eq!(s, 201, "{case}");
    let (id, number) = (
        case["id"].as_str().unwrap().to_string(),
        case["number"].as_str().unwrap().to_string(),
    );
    let stranger = app.user_with("res2", "resident", None, None).await;
    let publish = json!({"public": true});
    let counts = || async {
        (
            app.count("case_publication").await,
            app.count("case_public_photos").await,
            app.count("audit_log").await,
            app.count("case_events").await,
        )
    };
    let before = counts().await;
    for (who, token, want) in [
        ("the reporter", d.resident.as_str(), 403),
        ("another resident", stranger.as_str(), 404),
        ("the handling unit", d.water.as_str(), 403),
        ("a grid worker", d.grid_worker.as_str(), 403),
        (
            "another street's dispatcher",
            d.other_dispatcher.as_str(),
            404,
        ),
        ("a forged token", "forged", 401),
    ] {
        let (s, b) = set_publication(&d, token, &id, publish.clone()).await;
        assert_eq!(s, want, "{who}: {b}");
        assert!(b["error"]["code"].is_string(), "{who}: {b}");
        assert_eq!(counts().await, before, "{who} wrote something");
    }
    assert_eq!(one(app, &number).await.0, 404);
    // Bad input from the right desk: refused with its code, nothing written.
    for (body, code) in [
        (
            json!({"public": true, "photos_public": ["not-a-photo"]}),
            "unknown_photo",
        ),
        (
            json!({"public": true, "public_description": "x".repeat(4001)}),
            "invalid_public_description",
        ),
        (
            json!({"public": true, "public_description": "   "}),
            "invalid_public_description",
        ),
        (
            json!({"public": true, "shown": "everything"}),
            "invalid_body",
        ),
    ] {
        let (s, b) = set_publication(&d, &d.dispatcher, &id, body).await;
        assert_eq!((s, b["error"]["code"].as_str()), (400, Some(code)), "{b}");
        assert_eq!(counts().await, before);
    }
    // The page's form: offered to the desk, not to the reporter, refused for the reporter.
    let mut reporter = Browser::new(&app.url);
    assert_eq!(reporter.login("res", "res-password").await.0, 303);
    let before = counts().await; // signing in is audited
    let (s, _, page) = reporter.get(&format!("/cases/{id}")).await;
    assert_eq!(s, 200);
    assert!(!page.contains("/publication\""), "no form for the reporter");
    let forged = Form::new()
        .text("_csrf", hidden(&page, "_csrf"))
        .text("public", "1");
    let (s, _, _) = reporter
        .post_form(&format!("/cases/{id}/publication"), forged)
        .await;
    assert_eq!(s, 403);
    assert_eq!(counts().await, before);
    let mut desk = Browser::new(&app.url);
    assert_eq!(desk.login("disp", "disp-password").await.0, 303);
    let (_, _, page) = desk.get(&format!("/cases/{id}")).await;
    assert!(
        page.contains(&format!("action=\"/cases/{id}/publication\"")),
        "{page}"
    );
    let form = Form::new()
        .text("_csrf", hidden(&page, "_csrf"))
        .text("public", "1")
        .text("public_description", "楼下堆放杂物");
    let (s, l, _) = desk
        .post_form(&format!("/cases/{id}/publication"), form)
        .await;
    assert_eq!(s, 303, "{l}");
    let (s, shown) = one(app, &number).await;
    assert_eq!(s, 200);
    assert_eq!(shown[0]["description"], "楼下堆放杂物");
    let audited: i64 = {
        query("SELECT COUNT(*) FROM audit_log WHERE action = 'case.publication'")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    };
    assert_eq!(audited, 1);
    // The reporter sees on their own page that it is public now, and may take it back.
    let (_, _, page) = reporter.get(&format!("/cases/{id}")).await;
    assert!(page.contains("Open311 可见"));
    let withdraw = Form::new().text("_csrf", hidden(&page, "_csrf"));
    let (s, _, _) = reporter
        .post_form(&format!("/cases/{id}/publication"), withdraw)
        .await;
    assert_eq!(s, 303);
    assert_eq!(one(app, &number).await.0, 404, "withdrawn by its reporter");
    let (s, p) = app
        .get(
            &format!("/api/v1/cases/{id}/publication"),
            Some(&d.resident),
        )
        .await;
    assert_eq!(
        (s, p["public"].as_bool(), p["chosen_by"].as_str()),
        (200, Some(false), Some("reporter"))
    );
    assert_eq!(
        p["decided_by"],
        Value::Null,
        "residents are not told who decided"
    );
}
both!(only_the_desks_of_the_area_may_publish);

/// The reporter is asked, with the notice beside the box: off by default for complaints,
/// reports and hotline calls; the API's field has the same defaults.
async fn reporters_choose_and_the_defaults_keep_complaints_private(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    let mut resident = Browser::new(&app.url);
    assert_eq!(resident.login("res", "res-password").await.0, 303);
    let (_, _, page) = resident.get("/report").await;
    let boxed = &page[page.find("name=\"public\"").expect("the public checkbox")..];
    let tag = &boxed[..boxed.find('>').unwrap()];
    assert!(
        !tag.contains("checked"),
        "a complaint is not public by default: {tag}"
    );
    assert!(page.contains("向所有人公开") && page.contains("姓名和电话始终不公开"));
    let (_, _, _) = resident.get("/lang?to=en").await;
    let (_, _, en) = resident.get("/report").await;
    assert!(en.contains("public to everyone") && en.contains("name and phone never"));
    let csrf = hidden(&page, "_csrf");
    let report = |kind: &str, public: bool, text: &str| {
        let f = Form::new()
            .text("_csrf", csrf.clone())
            .text("kind", kind.to_string())
            .text("category", "C0101")
            .text("description", text.to_string())
            .text("lat", IN_STREET_1.0.to_string())
            .text("lng", IN_STREET_1.1.to_string())
            .text("anonymous", "1");
        if public {
            f.text("public", "1")
        } else {
            f
        }
    };
    let (s, _, _) = resident
        .post_form("/report", report("help", false, "未勾选的求助"))
        .await;
    assert_eq!(s, 303);
    let (s, _, _) = resident
        .post_form("/report", report("complaint", true, "勾选公开的投诉"))
        .await;
    assert_eq!(s, 303);
    let (_, list) = app.get("/open311/v2/requests.json", None).await;
    let listed = list.to_string();
    assert!(
        listed.contains("勾选公开的投诉") && !listed.contains("未勾选的求助"),
        "{listed}"
    );
    // The hotline form: off, and the operator is told to ask the caller.
    let mut op = Browser::new(&app.url);
    assert_eq!(op.login("op1", "op1-password").await.0, 303);
    let (_, _, page) = op.get("/report").await;
    let boxed = &page[page.find("name=\"public\"").unwrap()..];
    assert!(!boxed[..boxed.find('>').unwrap()].contains("checked"));
    assert!(page.contains("征得来电人同意"));
    // The API: the same defaults when the field is absent; an answer always wins.
    let at = json!({"lat": IN_STREET_1.0, "lng": IN_STREET_1.1});
    for (token, kind, channel, public, shown) in [
        (&d.resident, "help", "web", None, true),
        (&d.resident, "suggestion", "web", None, true),
        (&d.resident, "inquiry", "api", None, true),
        (&d.resident, "complaint", "web", None, false),
        (&d.resident, "report", "web", None, false),
        (&d.operator, "help", "hotline", None, false),
        (&d.operator, "help", "hotline", Some(true), true),
        (&d.resident, "help", "web", Some(false), false),
    ] {
        let mut body = json!({"kind": kind, "category": "C0101", "channel": channel,
            "description": format!("{kind} {channel} {public:?}"), "location": at});
        if let Some(p) = public {
            body["public"] = json!(p);
        }
        let (s, c) = d.create(token, &body).await;
        assert_eq!(s, 201, "{c}");
        let (s, _) = one(app, c["number"].as_str().unwrap()).await;
        assert_eq!(s == 200, shown, "{kind} by {channel}, asked {public:?}");
    }
}
both!(reporters_choose_and_the_defaults_keep_complaints_private);

/// The migration on a database from before: Open311's own requests (and the photos their
/// clients sent) stay public, every other case is private.
async fn the_migration_keeps_only_open311_requests_public(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    let out = app.cli(&["open311", "key", "add", "--name", "app"], None);
    let key = text(&out.stdout).lines().last().unwrap().trim().to_string();
    let form = Form::new()
        .text("api_key", key)
        .text("service_code", "C0101")
        .text("lat", IN_STREET_1.0.to_string())
        .text("long", IN_STREET_1.1.to_string())
        .text("description", "井盖缺失")
        .part(
            "media",
            Part::bytes(PNG.to_vec())
                .file_name("p.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let (s, created) = app
        .post_multipart("/open311/v2/requests.json", None, form)
        .await;
    assert_eq!(s, 200, "{created}");
    let open311_n = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, web) = d
        .create(
            &d.resident,
            &json!({"kind": "help", "category": "C0101", "channel": "web", "public": true,
                "description": "网上求助", "location": {"lat": IN_STREET_1.0, "lng": IN_STREET_1.1}}),
        )
        .await;
    let web_n = web["number"].as_str().unwrap().to_string();
    // Back to the schema before publicity, then `gongzhi migrate`.
    for stmt in [
        "DROP TABLE case_public_photos",
        "DROP TABLE case_publication",
        "DELETE FROM schema_migrations WHERE id = 'cases-0009-publication'",
    ] {
        query(stmt).execute(app.db.pool()).await.unwrap();
    }
    let out = app.cli(&["migrate"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (s, shown) = one(app, &open311_n).await;
    assert_eq!(s, 200, "{shown}");
    let media = shown[0]["media_url"]
        .as_str()
        .expect("its photo")
        .to_string();
    assert_eq!(app.get_bytes(&media, None).await.0, 200);
    assert_eq!(
        one(app, &web_n).await.0,
        404,
        "no one chose before the migration"
    );
}
both!(the_migration_keeps_only_open311_requests_public);
