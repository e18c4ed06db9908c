//! Security regressions: the pages. Names with markup stay data and names with control
//! characters are refused (#1), every response carries the security headers and pages carry no
//! inline script or style (#1, #16), the dashboard counts exactly what the API lets the same
//! person read (#2), /admin shows only what the API allows and only fixed messages (#3), and
//! sign-in never sends anyone off the site (#7). The browser half is tests/e2e/security.mjs.

use reqwest::multipart::Form;
use serde_json::{json, Value};

use crate::both;
use crate::cases::{desk_on, new_case, Desk, IN_STREET_1};
use crate::helpers::*;
use crate::platform::web::{hidden, Browser};

/// A point in street 110102002 (the right half of the test district).
const IN_STREET_2: (f64, f64) = (39.9020, 116.3520);
const GRID_1: &str = "110102001001001";
const XSS: &str = "G1 <img src=x onerror=\"window.pwned=1\">";

/// A division CSV line renaming the grid that holds `IN_STREET_1`.
fn rename_grid(name: &str) -> String {
    format!(
        "code,name,level,parent_code\n{GRID_1},\"{}\",grid,110102001001\n",
        name.replace('"', "\"\"")
    )
}

async fn area_name(app: &TestApp, token: &str, code: &str) -> String {
    let (s, a) = app.get(&format!("/api/v1/areas/{code}"), Some(token)).await;
    assert_eq!(s, 200, "{a}");
    a["name"].as_str().unwrap_or_default().to_string()
}

/// A user with these assignments (created by the district admin), signed in on the pages and
/// with an API token.
async fn person(app: &TestApp, name: &str, assignments: Value) -> (Browser, String) {
    let admin = app.admin().await;
    let password = format!("{name}-password");
    let (s, b) = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"username": name, "password": password, "assignments": assignments}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let mut browser = Browser::new(&app.url);
    let (s, _, _) = browser.login(name, &password).await;
    assert_eq!(s, 303, "{name} signs in");
    // The session is an API token too: the same person on both.
    let token = browser
        .cookies
        .iter()
        .find(|(k, _)| k == "gz_session")
        .map(|(_, v)| v.clone())
        .unwrap();
    (browser, token)
}

async fn names_are_plain_text(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    let (mut street_admin, street_token) = person(
        app,
        "streetadmin",
        json!([{"role": "admin", "area": "110102001"}]),
    )
    .await;
    // Markup is a legal name (it has no control characters): stored as given, shown as text.
    let (s, b) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&street_token),
            "text/csv",
            &rename_grid(XSS),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(area_name(app, &d.admin, GRID_1).await, XSS);
    let (s, _, grids) = street_admin.get("/dashboard/grids.json").await;
    assert_eq!(s, 200);
    let grids: Value = serde_json::from_str(&grids).unwrap();
    let f = grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["code"] == GRID_1)
        .expect("the grid is on the map");
    assert_eq!(f["properties"]["name"], XSS, "JSON carries the text as is");
    // Server-rendered, the name is escaped wherever it appears (the case page names its grid).
    let (_, case) = d.create(&d.operator, &new_case("C0101", IN_STREET_1)).await;
    let mut district = Browser::new(&app.url);
    district.login("admin", ADMIN_PASSWORD).await;
    let (s, _, page) = district
        .get(&format!("/cases/{}", case["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, 200);
    assert!(!page.contains("<img src=x"), "no markup from a name");
    assert!(page.contains("G1 &lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;"));

    // Control characters, line breaks and bidirectional overrides are refused, all or nothing,
    // in either import, with the offending row named.
    let before = area_name(app, &d.admin, GRID_1).await;
    for bad in [
        "G1\tx",
        "G1\nx",
        "G1\rx",
        "G1\u{7}x",
        "abc\u{202e}gpj",
        "G1\u{2028}x",
    ] {
        let two = format!(
            "{}110102001002,钟声社区（改）,community,110102001\n",
            rename_grid(bad)
        );
        let (s, b) = app
            .post_text(
                "/api/v1/areas/import/divisions",
                Some(&street_token),
                "text/csv",
                &two,
            )
            .await;
        assert_eq!(s, 400, "{bad:?}: {b}");
        assert!(b.to_string().contains("control character"), "{b}");
        let geo = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
            "properties": {"code": GRID_1, "name": bad}, "geometry": null}]});
        let (s, b) = app
            .post_text(
                "/api/v1/areas/import/geojson",
                Some(&street_token),
                "application/geo+json",
                &geo.to_string(),
            )
            .await;
        assert_eq!(s, 400, "{bad:?}: {b}");
    }
    assert_eq!(area_name(app, &d.admin, GRID_1).await, before);
    assert_eq!(area_name(app, &d.admin, "110102001002").await, "钟声社区");
    let long = "长".repeat(101);
    let (s, _) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&street_token),
            "text/csv",
            &rename_grid(&long),
        )
        .await;
    assert_eq!(s, 400);

    // Units, categories and people's names go through the same check.
    let units = app.count("units").await;
    let (s, b) = app
        .post(
            "/api/v1/units",
            Some(&d.admin),
            &json!({"code": "110102-x", "name": "城管\n委", "kind": "department", "area_code": "110102"}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_name")),
        "{b}"
    );
    assert_eq!(app.count("units").await, units);
    let (s, tree) = app.get("/api/v1/categories", Some(&d.admin)).await;
    assert_eq!(s, 200);
    let mut c = find_category(&tree, "C0101").expect("C0101");
    if let Some(o) = c.as_object_mut() {
        o.remove("children");
    }
    c["name"] = json!("上水井盖\u{202e}");
    let (s, b) = answer(
        app.client
            .put(format!("{}/api/v1/categories/C0101", app.url))
            .bearer_auth(&d.admin)
            .json(&c),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_name")),
        "{b}"
    );
    let users = app.count("users").await;
    let (s, b) = app
        .post(
            "/api/v1/users",
            Some(&d.admin),
            &json!({"username": "newline", "password": "long-enough-1", "full_name": "张\r\n三",
                    "assignments": [{"role": "resident"}]}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_name")),
        "{b}"
    );
    assert_eq!(app.count("users").await, users);
}
both!(names_are_plain_text);

fn find_category(v: &Value, code: &str) -> Option<Value> {
    match v {
        Value::Array(items) => items.iter().find_map(|i| find_category(i, code)),
        Value::Object(o) => {
            if o.get("code").and_then(|c| c.as_str()) == Some(code) {
                return Some(v.clone());
            }
            o.values().find_map(|i| find_category(i, code))
        }
        _ => None,
    }
}

/// Every page, the API and the fallback carry the headers; pages carry no inline script, no
/// inline event handler and no style attribute (the CSP would refuse them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_everywhere() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.basemap_url = Some("https://{s}.tile.example.org/{z}/{x}/{y}.png".into());
        c.secure_cookies = true;
    })
    .await;
    let d = desk_on(app).await;
    let app = &d.app;
    let (_, case) = d.create(&d.operator, &new_case("C0101", IN_STREET_1)).await;
    let case_page = format!("/cases/{}", case["id"].as_str().unwrap());
    let mut b = Browser::new(&app.url);
    b.login("admin", ADMIN_PASSWORD).await;
    let pages = [
        "/",
        "/login",
        "/report",
        "/cases",
        "/queue",
        "/dashboard",
        "/admin",
        "/deliberation",
        "/notices",
        &case_page,
    ];
    for path in pages.iter().copied().chain([
        "/api/v1/areas?parent=110102",
        "/api/openapi.json",
        "/nowhere",
        "/static/app.js",
        "/dashboard/grids.json",
    ]) {
        let resp = b
            .http
            .get(format!("{}{path}", app.url))
            .header(
                "cookie",
                b.cookies
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
            .send()
            .await
            .unwrap();
        let h = resp.headers().clone();
        let get = |name: &str| {
            h.get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let csp = get("content-security-policy");
        for part in [
            "default-src 'self'",
            "script-src 'self';",
            "style-src 'self';",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "img-src 'self' data: blob: https://*.tile.example.org;",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(get("referrer-policy"), "same-origin", "{path}");
        assert_eq!(get("x-frame-options"), "DENY", "{path}");
        assert!(
            get("strict-transport-security").starts_with("max-age="),
            "{path}"
        );
        let device = if path == "/report" {
            "geolocation=(self), camera=(self)"
        } else {
            "geolocation=(), camera=()"
        };
        assert_eq!(get("permissions-policy"), device, "{path}");
        if pages.contains(&path) {
            let status = resp.status().as_u16();
            let html = resp.text().await.unwrap();
            assert!(status < 500, "{path}: {status}");
            assert!(!html.contains("style="), "{path}: a style attribute");
            for (at, _) in html.match_indices("<script") {
                let tag = &html[at..at + html[at..].find('>').unwrap()];
                assert!(
                    tag.contains(" src=\"/static/") || tag.contains("type=\"application/json\""),
                    "{path}: inline script {tag}"
                );
            }
            let lower = html.to_lowercase();
            for handler in [
                " onclick=",
                " onload=",
                " onerror=",
                " onchange=",
                " onsubmit=",
                "javascript:",
            ] {
                assert!(!lower.contains(handler), "{path}: {handler}");
            }
        }
    }
    // Without secure cookies, no HSTS (a plain-HTTP demo must stay reachable).
    let plain = TestApp::spawn(Backend::Sqlite).await;
    let resp = plain
        .client
        .get(format!("{}/login", plain.url))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("strict-transport-security").is_none());
    assert!(!resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("tile"));
}

/// Open cases per grid and the trend, as the dashboard's grids.json and page show them.
async fn dashboard_figures(b: &mut Browser) -> (u16, Value, Option<Value>) {
    let (s, _, grids) = b.get("/dashboard/grids.json").await;
    assert_eq!(s, 200, "the map's shapes are for everyone signed in");
    let grids: Value = serde_json::from_str(&grids).unwrap();
    let (status, _, page) = b.get("/dashboard").await;
    let trend = page.find("id=\"trend-data\">").map(|at| {
        let rest = &page[at + 16..];
        serde_json::from_str(&rest[..rest.find("</script>").unwrap()]).unwrap()
    });
    (status, grids, trend)
}

fn grid_open(grids: &Value, code: &str) -> i64 {
    grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["code"] == code)
        .map(|f| f["properties"]["open"].as_i64().unwrap())
        .unwrap_or(0)
}

async fn api_total(app: &TestApp, token: &str, query: &str) -> i64 {
    let (s, b) = app
        .get(&format!("/api/v1/cases?{query}"), Some(token))
        .await;
    match s {
        200 => b["total"].as_i64().unwrap(),
        403 => 0,
        _ => panic!("{query}: {s} {b}"),
    }
}

/// Cases in both streets, for three units; every role combination's dashboard counts what the
/// API lists for the same person — never the district's figures through a resident role or a
/// unit-only assignment.
async fn dashboard_counts_what_the_api_lists(backend: Backend) {
    let d: Desk = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    let mut grids_with_cases = std::collections::BTreeSet::new();
    for (category, at) in [
        ("C0101", IN_STREET_1),
        ("C0101", IN_STREET_1),
        ("C0101", IN_STREET_2),
        ("E0503", IN_STREET_2),
        ("E0601", IN_STREET_2),
    ] {
        let (s, c) = d.create(&d.operator, &new_case(category, at)).await;
        assert_eq!(s, 201, "{c}");
        grids_with_cases.insert(c["grid"]["code"].as_str().unwrap().to_string());
    }
    let community = &GRID_1[..12];
    let on_top = [
        None,
        Some(json!({"role": "resident"})),
        Some(json!({"role": "organization"})),
        Some(json!({"role": "council", "area": community})),
    ];
    let bases = [
        json!([{"role": "leader"}]),
        json!([{"role": "leader", "area": "110102001"}]),
        json!([{"role": "leader", "area": community}]),
        json!([{"role": "leader", "unit": "110102-sw"}]),
        json!([{"role": "dispatcher", "area": "110102002"}]),
        json!([{"role": "dispatcher", "unit": "110102-cg"}]),
        json!([{"role": "admin", "area": "110102001"}]),
        json!([{"role": "admin", "unit": "110102-sw"}]),
        json!([{"role": "leader", "area": "110102001"}, {"role": "dispatcher", "area": "110102002"}]),
        json!([{"role": "leader", "unit": "110102-sw"}, {"role": "leader", "area": community}]),
        json!([{"role": "handler", "unit": "110102-cg"}]),
        json!([{"role": "grid_worker", "area": GRID_1}]),
    ];
    let mut checked = 0;
    for (i, base) in bases.iter().enumerate() {
        for (j, extra) in on_top.iter().enumerate() {
            let mut assignments = base.as_array().unwrap().clone();
            assignments.extend(extra.clone());
            let name = format!("p{i}x{j}");
            let (mut b, token) = person(app, &name, Value::Array(assignments.clone())).await;
            let (status, grids, trend) = dashboard_figures(&mut b).await;
            let total = api_total(app, &token, "").await;
            let mut mapped = 0;
            for g in &grids_with_cases {
                let want = api_total(app, &token, &format!("area={g}")).await;
                assert_eq!(grid_open(&grids, g), want, "{assignments:?}: grid {g}");
                mapped += want;
            }
            assert_eq!(
                mapped, total,
                "{assignments:?}: every listed case is on the map"
            );
            let oversees = assignments
                .iter()
                .any(|a| ["leader", "dispatcher", "admin"].contains(&a["role"].as_str().unwrap()));
            if oversees {
                assert_eq!(status, 200, "{assignments:?}");
                let trend = trend.expect("the trend");
                let created: i64 = trend["created"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap())
                    .sum();
                assert_eq!(created, total, "{assignments:?}: the trend");
            } else {
                assert_eq!(status, 403, "{assignments:?}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, bases.len() * on_top.len());
    // The scopes really differ: the district leader sees all five, the unit-only water leader
    // the three water cases, the community leader its two.
    let (_, t) = person(
        app,
        "district",
        json!([{"role": "leader"}, {"role": "resident"}]),
    )
    .await;
    assert_eq!(api_total(app, &t, "").await, 5);
    let (mut b, t) = person(
        app,
        "waterlead",
        json!([{"role": "leader", "unit": "110102-sw"}, {"role": "resident"}]),
    )
    .await;
    assert_eq!(api_total(app, &t, "").await, 3);
    let (_, grids, _) = dashboard_figures(&mut b).await;
    assert_eq!(grid_open(&grids, GRID_1), 2);
    // A resident on their own: the shapes for the report form's map, no figures.
    let (mut b, _) = person(app, "justres", json!([{"role": "resident"}])).await;
    let (status, grids, _) = dashboard_figures(&mut b).await;
    assert_eq!(status, 403);
    assert!(grids["features"].as_array().unwrap().len() >= 24);
    assert!(grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["properties"]["open"] == 0));
}
both!(dashboard_counts_what_the_api_lists);

/// A user whose only assignments are units (no area) sees their units' figures on the dashboard
/// — the ranking, the map, the trend and the export — never the district's; a handling unit,
/// whose roles do not read the figures, is refused the dashboard and sees only its own cases on
/// the map. Through the real pages, issue 14.
async fn unit_only_users_see_only_their_units_figures(backend: Backend) {
    let d: Desk = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    // Three cases for the water unit (two in street 1, one in street 2), one for urban
    // management; all dispatched, so each unit has a row in the month's ranking.
    for (category, at, unit) in [
        ("C0101", IN_STREET_1, "110102-sw"),
        ("C0101", IN_STREET_1, "110102-sw"),
        ("C0101", IN_STREET_2, "110102-sw"),
        ("E0503", IN_STREET_2, "110102-cg"),
    ] {
        let (s, c) = d.create(&d.operator, &new_case(category, at)).await;
        assert_eq!((s, c["unit"].as_str()), (201, Some(unit)), "{c}");
        let id = c["id"].as_str().unwrap();
        d.ok(&d.operator, id, "accept", json!({})).await;
        d.ok(&d.operator, id, "file", json!({})).await;
        d.ok(&d.dispatcher, id, "dispatch", json!({})).await;
    }
    let sum_open = |grids: &Value| -> i64 {
        grids["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["open"].as_i64().unwrap())
            .sum()
    };
    // The district leader sees both units: the figures are really there to leak.
    let (mut district, _) = person(app, "distlead", json!([{"role": "leader"}])).await;
    let (_, _, page) = district.get("/dashboard?level=unit").await;
    assert!(page.contains("西城区水务局") && page.contains("西城区城管委"));

    let (mut lead, token) = person(
        app,
        "swlead",
        json!([{"role": "leader", "unit": "110102-sw"}]),
    )
    .await;
    assert_eq!(api_total(app, &token, "").await, 3);
    let (status, grids, trend) = dashboard_figures(&mut lead).await;
    assert_eq!(status, 200);
    assert_eq!(sum_open(&grids), 3, "the map counts the water unit's cases");
    let created: i64 = trend.expect("the trend")["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(created, 3, "the trend counts the water unit's cases");
    let (s, _, page) = lead.get("/dashboard?level=unit").await;
    assert_eq!(s, 200);
    assert!(page.contains("id=\"ranking\""), "its own row: {page}");
    assert!(page.contains("西城区水务局"));
    assert!(!page.contains("西城区城管委"), "no other unit's row");
    for level in ["street", "community", "grid"] {
        let (s, _, page) = lead.get(&format!("/dashboard?level={level}")).await;
        assert_eq!(s, 200);
        assert!(
            !page.contains("id=\"ranking\""),
            "no area's figures at {level} level"
        );
    }
    let (s, _, csv) = lead.get("/dashboard/export?format=csv&level=unit").await;
    assert_eq!(s, 200);
    assert!(
        csv.contains("110102-sw") && !csv.contains("110102-cg"),
        "{csv}"
    );
    let (s, _, csv) = lead.get("/dashboard/export?format=csv&level=street").await;
    assert_eq!(s, 200);
    assert!(!csv.contains("110102001"), "no street's row: {csv}");

    // A handling unit: the dashboard is not theirs; the map counts their one case.
    let (mut handler, _) = person(
        app,
        "cghandler",
        json!([{"role": "handler", "unit": "110102-cg"}]),
    )
    .await;
    let (status, grids, trend) = dashboard_figures(&mut handler).await;
    assert_eq!(status, 403);
    assert!(trend.is_none());
    assert_eq!(sum_open(&grids), 1);
    let (s, _, _) = handler.get("/dashboard/export?format=csv&level=unit").await;
    assert_eq!(s, 403);
}
both!(unit_only_users_see_only_their_units_figures);

/// A street admin's /admin has no district-wide audit log and no routing rules (the API
/// refuses both); messages after a redirect come from a fixed list, never from the address.
async fn admin_page_shows_what_the_api_allows(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    let (mut street, token) = person(
        app,
        "streetadm",
        json!([{"role": "admin", "area": "110102001"}]),
    )
    .await;
    let (s, _) = app.get("/api/v1/audit", Some(&token)).await;
    assert_eq!(s, 403);
    let (s, _) = app.get("/api/v1/routing-rules", Some(&token)).await;
    assert_eq!(s, 403);
    let (s, _, page) = street.get("/admin").await;
    assert_eq!(s, 200);
    for hidden_part in ["id=\"audit\"", "id=\"rules\"", "routing_rule.create"] {
        assert!(
            !page.contains(hidden_part),
            "a street admin's /admin shows {hidden_part}"
        );
    }
    assert!(
        !page.contains("disp2"),
        "users outside the street are not listed"
    );
    assert!(page.contains("id=\"users\"") && page.contains("id=\"units\""));
    let mut district = Browser::new(&app.url);
    district.login("admin", ADMIN_PASSWORD).await;
    let (_, _, page) = district.get("/admin").await;
    assert!(
        page.contains("id=\"audit\"")
            && page.contains("routing_rule.create")
            && page.contains("id=\"rules\"")
    );

    // Attacker-chosen texts in the address are not shown; known keys show the fixed message.
    let lure = "请致电 400-123-4567 领取补贴";
    for path in [
        format!("/admin?error={}&done={}", enc(lure), enc(lure)),
        format!("/admin?done=units%3A{}", enc(lure)),
    ] {
        let (s, _, page) = district.get(&path).await;
        assert_eq!(s, 200);
        assert!(!page.contains("400-123-4567"), "{path}");
    }
    let (_, _, page) = district.get("/admin?done=units").await;
    assert!(page.contains("单位已添加"));
    let (_, case) = d.create(&d.operator, &new_case("C0101", IN_STREET_1)).await;
    let id = case["id"].as_str().unwrap();
    let (_, _, page) = district
        .get(&format!("/cases/{id}?done={}", enc(lure)))
        .await;
    assert!(!page.contains("400-123-4567"));
    let (_, _, page) = district.get(&format!("/cases/{id}?done=accept")).await;
    assert!(page.contains("已办理"));
    // An import through the page reports its counts, as numbers only.
    let csrf = hidden(&page, "_csrf");
    let form = Form::new().text("_csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(rename_grid("网格一").into_bytes()).file_name("d.csv"),
    );
    let (s, l, _) = district.post_form("/admin/divisions", form).await;
    assert_eq!(
        (s, l.as_str()),
        (303, "/admin?done=divisions&created=0&updated=1")
    );
}
both!(admin_page_shows_what_the_api_allows);

fn enc(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// `next` after sign-in, and the language toggle's way back, stay on this site for every
/// spelling of another one; none of them is a 500 after a session was issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_stays_on_the_site() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let off_site = [
        "/\t/attacker.example/phish",
        "/\n/attacker.example",
        "/\r/attacker.example",
        "/\u{b}/attacker.example",
        "/\u{c}/attacker.example",
        "/\\attacker.example",
        "/\\/attacker.example",
        "//attacker.example",
        "///attacker.example",
        "/%2F/attacker.example",
        "/%2f%2fattacker.example",
        "/%09/attacker.example",
        "/%5C/attacker.example",
        "/%0a/attacker.example",
        "https://attacker.example/",
        "https:attacker.example",
        "javascript:alert(1)",
        " /attacker.example",
        "/\u{3000}/attacker.example",
        "/\u{2028}/attacker.example",
        "/\u{a0}/attacker.example",
        "/cases/..//attacker.example",
        "\\\\attacker.example",
    ];
    for next in off_site {
        let mut b = Browser::new(&app.url);
        // The sign-in page does not carry it into the form.
        let (s, _, page) = b.get(&format!("/login?next={}", enc(next))).await;
        assert_eq!(s, 200, "{next:?}");
        assert_eq!(hidden(&page, "next"), "", "{next:?}");
        // Nor is it followed when posted.
        let (_, _, page) = b.get("/login").await;
        let csrf = hidden(&page, "_csrf");
        let r = b.http.post(format!("{}/login", app.url)).form(&[
            ("_csrf", csrf.as_str()),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", next),
        ]);
        let (s, location, _, _) = b.send(r).await;
        assert_eq!((s, location.as_str()), (303, "/admin"), "{next:?}");
    }
    for (next, to) in [
        ("/cases?status=reported", "/cases?status=reported"),
        ("/cases/abc#top", "/cases/abc#top"),
        ("/my?q=%E4%BA%95", "/my?q=%E4%BA%95"),
    ] {
        let mut b = Browser::new(&app.url);
        let (_, _, page) = b.get("/login").await;
        let csrf = hidden(&page, "_csrf");
        let r = b.http.post(format!("{}/login", app.url)).form(&[
            ("_csrf", csrf.as_str()),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", next),
        ]);
        let (s, location, _, _) = b.send(r).await;
        assert_eq!((s, location.as_str()), (303, to));
    }
    // The language toggle goes back only to a path of this site.
    for (referer, back) in [
        (
            format!("{}/cases?status=reported", app.url),
            "/cases?status=reported",
        ),
        (format!("{}//attacker.example/", app.url), "/"),
        (format!("{}/\t/attacker.example", app.url), "/"),
        (format!("{}/%5C/attacker.example", app.url), "/"),
        ("https://attacker.example".to_string(), "/"),
    ] {
        let mut b = Browser::new(&app.url);
        let r = b
            .http
            .get(format!("{}/lang?to=en", app.url))
            .header("referer", referer.as_str());
        let (s, location, _, _) = b.send(r).await;
        assert_eq!((s, location.as_str()), (303, back), "{referer:?}");
    }
}
