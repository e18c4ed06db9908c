//! Security regressions: the generated route matrix (issue 13). Every role scoped to street A
//! (handler and leader also scoped to a unit only) calls every `{id}` route the OpenAPI
//! document lists, every method, with the ids of street B's records — a case, its photo, a
//! topic, a micro-project call and its project, a consultation, a panel, a verification, a
//! user, the street itself — and must be refused (403 or 404) without anything written: the
//! row count of every table is the same before and after each call. Routes that publish to
//! everyone are listed in `PUBLIC` with why; they may answer, but must not write either.
//! A route added without a street-B record to try it on fails the test until one is added.
//! All failing cells are collected and printed before the test fails.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::both;
use crate::cases::{desk_on, new_case, IN_STREET_1};
use crate::helpers::*;
use gongzhi_core::db::query;

const STREET_A: &str = "110102001";
const STREET_B: &str = "110102002";
const COMMUNITY_A: &str = "110102001001";
const COMMUNITY_B: &str = "110102002001";
/// A point in street B (the right half of the test district's lattice).
const IN_STREET_B: (f64, f64) = (39.9020, 116.3520);

/// Routes that anyone may read, whatever their scope (method, path, why).
const PUBLIC: &[(&str, &str, &str)] = &[
    ("get", "/api/v1/topics/{id}", "topics and their history are published to everyone (议事公开)"),
    ("get", "/api/v1/budgets/{id}", "micro-project calls are public (三公开)"),
    ("get", "/api/v1/budgets/{id}/results", "the computed winners are published once voting closes (三公开)"),
    ("get", "/api/v1/budgets/{id}/export.pb", "the anonymised Pabulib file is published so anyone can recompute the winners"),
    ("get", "/api/v1/consultations/{id}", "a consultation's questions are public; answering needs verification for its place"),
    ("get", "/api/v1/panels/{id}", "a sortition panel's candidate list, commitment and draw are published"),
    ("get", "/api/v1/panels/{id}/verify", "anyone may re-run a published draw"),
    ("get", "/api/v1/areas/{code}", "area names and boundaries are reference data every signed-in role reads (AREA_READ is unscoped; the public locate answers the same)"),
];

/// Street B's records, by the path parameter they fill.
struct Records {
    case: String,
    photo: String,
    topic: String,
    call: String,
    project: String,
    consultation: String,
    panel: String,
    verification: String,
    /// Street B's council member, and a district leader who also holds a grid assignment in
    /// street A (their widest assignment sets who may see them, issue 13 #11).
    users: [String; 2],
    /// A case in street A (named by the case steps' `into`).
    case_a: String,
    category: Value,
}

impl Records {
    /// The value of `{param}` in `path`, or None when there is no street-B record for it.
    fn fill(&self, path: &str, param: &str) -> Option<Vec<String>> {
        let one = |s: &str| Some(vec![s.to_string()]);
        match param {
            "id" => {
                let prefix = path.split("/{").next()?;
                match prefix {
                    "/api/v1/cases" => one(&self.case),
                    "/api/v1/attachments" => one(&self.photo),
                    "/api/v1/topics" => one(&self.topic),
                    "/api/v1/budgets" => one(&self.call),
                    "/api/v1/consultations" => one(&self.consultation),
                    "/api/v1/panels" => one(&self.panel),
                    "/api/v1/residents/verifications" => one(&self.verification),
                    "/api/v1/users" => Some(self.users.to_vec()),
                    _ => None,
                }
            }
            "code" if path.starts_with("/api/v1/areas/") => one(STREET_B),
            "code" if path.starts_with("/api/v1/categories/") => {
                one(self.category["code"].as_str()?)
            }
            "project" => one(&self.project),
            // The roles street B's users hold (revoking them must be refused).
            "role" => Some(vec!["council".into(), "leader".into()]),
            "action" if path.starts_with("/api/v1/cases/") => Some(
                gongzhi_cases::rules::workflow::ALL_STEPS
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
            ),
            "action" if path.starts_with("/api/v1/topics/") => Some(
                gongzhi_deliberation::rules::ALL_STEPS
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
            ),
            _ => None,
        }
    }

    /// A body that would be valid for the route, so that only authorization stands between
    /// the caller and the write.
    fn body(&self, template: &str) -> Value {
        let soon = gongzhi_core::time::format_ms(gongzhi_core::time::now_ms() + 86_400_000);
        match template {
            "/api/v1/cases/{id}/actions/{action}" => json!({
                "note": "越权尝试", "reason": "越权尝试", "unit": "110102-cg", "units": ["110102-cg"],
                "report_within_minutes": 30, "passed": true, "contacted": true, "resolved": true,
                "satisfaction": "satisfied", "until": soon, "into": self.case_a}),
            "/api/v1/topics/{id}/actions/{action}" => json!({
                "note": "越权尝试", "reason": "越权尝试", "into": self.topic, "mode": "offline",
                "starts_at": soon, "place": "议事厅", "minutes": "纪要", "resolution": "决议",
                "objection_days": 1, "title": "任务", "owner": "居委会", "progress": 10,
                "rules": {"quorum": 0.1, "pass_threshold": 0.5, "opens_at": gongzhi_core::time::format_ms(gongzhi_core::time::now_ms()),
                          "closes_at": soon, "secret": true}}),
            "/api/v1/topics/{id}/comments" => json!({"stance": "for", "body": "越权尝试"}),
            "/api/v1/topics/{id}/votes" => json!({"choice": "yes"}),
            "/api/v1/budgets/{id}/projects" => json!({"title": "越权项目", "cost_estimate": 1}),
            "/api/v1/budgets/{id}/projects/{project}/review" => json!({"feasible": true}),
            "/api/v1/budgets/{id}/projects/{project}/progress" => json!({"progress": 10}),
            "/api/v1/budgets/{id}/ballots" => json!({"projects": [self.project]}),
            "/api/v1/consultations/{id}/responses" => json!({"answers": [0]}),
            "/api/v1/cases/{id}/publication" => json!({"public": true, "photos_public": []}),
            "/api/v1/residents/verifications/{id}/revoke" => json!({"reason": "越权尝试"}),
            // A role inside the caller's own street, granted to someone outside it.
            "/api/v1/users/{id}/roles" => json!({"role": "admin", "area": STREET_A}),
            "/api/v1/categories/{code}" => {
                let mut c = self.category.clone();
                c["name"] = json!("越权改名");
                c
            }
            _ => json!({}),
        }
    }
}

/// Every table's row count, in one statement.
async fn snapshot(app: &TestApp, tables: &[String]) -> Vec<i64> {
    let sql = format!(
        "SELECT {}",
        tables
            .iter()
            .map(|t| format!("(SELECT COUNT(*) FROM {t})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let row = query(&sql).fetch_one(app.db.pool()).await.unwrap();
    (0..tables.len())
        .map(|i| row.try_get::<i64, _>(i).unwrap())
        .collect()
}

async fn tables(app: &TestApp) -> Vec<String> {
    let sql = match app.db.backend() {
        gongzhi_core::db::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        gongzhi_core::db::Backend::Postgres => {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        }
    };
    query(sql)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
}

async fn created(app: &TestApp, token: &str, path: &str, body: &Value) -> Value {
    let (s, b) = app.post(path, Some(token), body).await;
    assert!(s == 201 || s == 200, "{path}: {s} {b}");
    b
}

async fn user_id(app: &TestApp, token: &str) -> String {
    let (s, me) = app.get("/api/v1/me", Some(token)).await;
    assert_eq!(s, 200, "{me}");
    me["id"].as_str().unwrap().to_string()
}

/// Street B's records, made by its own staff and residents.
async fn street_b(app: &TestApp, admin: &str) -> Records {
    let (s, photo) = app
        .post_bytes(
            "/api/v1/attachments",
            Some(admin),
            "image/png",
            PNG.to_vec(),
        )
        .await;
    assert_eq!(s, 201, "{photo}");
    let photo = photo["id"].as_str().unwrap().to_string();
    let mut body = new_case("C0101", IN_STREET_B);
    body["photos"] = json!([photo]);
    let case = created(app, admin, "/api/v1/cases", &body).await;
    assert_eq!(case["street"]["code"], STREET_B, "{case}");
    let case_a = created(app, admin, "/api/v1/cases", &new_case("C0101", IN_STREET_1)).await;
    assert_eq!(case_a["street"]["code"], STREET_A, "{case_a}");

    let council = app
        .user_with("b-council", "council", Some(COMMUNITY_B), None)
        .await;
    let resident = app.user_with("b-resident", "resident", None, None).await;
    let verification = created(
        app,
        &council,
        "/api/v1/residents/verifications",
        &json!({"username": "b-resident", "area": COMMUNITY_B, "place": ""}),
    )
    .await;
    let now = gongzhi_core::time::now_ms();
    let at = gongzhi_core::time::format_ms;
    let topic = created(
        app,
        &council,
        "/api/v1/topics",
        &json!({"title": "B 社区议题", "body": "表决中", "level": "community", "area": COMMUNITY_B}),
    )
    .await;
    let topic = topic["id"].as_str().unwrap().to_string();
    for (action, body) in [
        ("accept", json!({})),
        (
            "open_vote",
            json!({"rules": {"quorum": 0.1, "pass_threshold": 0.5, "opens_at": at(now - 3_600_000), "closes_at": at(now + 86_400_000), "secret": true}}),
        ),
    ] {
        created(
            app,
            &council,
            &format!("/api/v1/topics/{topic}/actions/{action}"),
            &body,
        )
        .await;
    }
    let day = 86_400_000;
    let call = created(
        app,
        &council,
        "/api/v1/budgets",
        &json!({"title": "B 微实事", "area": COMMUNITY_B, "budget": 100000, "ballot": "approval", "max_approvals": 2,
            "rule": "greedy", "proposing_from": at(now - 3_600_000), "reviewing_from": at(now + day),
            "voting_from": at(now + 2 * day), "voting_until": at(now + 3 * day), "implementing_from": at(now + 4 * day)}),
    )
    .await;
    let call = call["id"].as_str().unwrap().to_string();
    let project = created(
        app,
        &resident,
        &format!("/api/v1/budgets/{call}/projects"),
        &json!({"title": "B 项目", "cost_estimate": 20000}),
    )
    .await;
    let consultation = created(
        app,
        &council,
        "/api/v1/consultations",
        &json!({"title": "B 征询", "area": COMMUNITY_B, "opens_at": at(now - 3_600_000), "closes_at": at(now + day),
            "questions": [{"kind": "single", "text": "同意吗？", "options": ["同意", "不同意"]}]}),
    )
    .await;
    let panel = created(
        app,
        &council,
        "/api/v1/panels",
        &json!({"title": "B 代表", "area": COMMUNITY_B, "seats": 2, "candidates": ["甲 1号楼", "乙 2号楼", "丙 3号楼"]}),
    )
    .await;
    let wide = created(
        app,
        admin,
        "/api/v1/users",
        &json!({"username": "district-leader", "password": "district-leader-password", "full_name": "区领导", "phone": "13900001111",
                "assignments": [{"role": "grid_worker", "area": COMMUNITY_A}, {"role": "leader", "area": "110102"}]}),
    )
    .await;
    let (s, cats) = app.get("/api/v1/categories", Some(admin)).await;
    assert_eq!(s, 200);
    let category = find_category(&cats, "C0101").expect("category C0101");
    Records {
        case: case["id"].as_str().unwrap().into(),
        photo,
        topic,
        call,
        project: project["id"].as_str().unwrap().into(),
        consultation: consultation["id"].as_str().unwrap().into(),
        panel: panel["id"].as_str().unwrap().into(),
        verification: verification["id"].as_str().unwrap().into(),
        users: [
            user_id(app, &council).await,
            wide["id"].as_str().unwrap().into(),
        ],
        case_a: case_a["id"].as_str().unwrap().into(),
        category,
    }
}

/// The category `code` from the catalog tree, without its children.
fn find_category(nodes: &Value, code: &str) -> Option<Value> {
    for n in nodes.as_array()? {
        if n["code"] == code {
            let mut c = n.clone();
            c.as_object_mut()?.remove("children");
            return Some(c);
        }
        if let Some(c) = find_category(&n["children"], code) {
            return Some(c);
        }
    }
    None
}

/// The callers: every registered role (as `GET /api/v1/roles` lists them, so a module's new
/// role joins the matrix by being declared) scoped to street A; handler and leader also
/// scoped to a unit only.
async fn street_a(app: &TestApp, admin: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (status, roles) = app.get("/api/v1/roles", Some(admin)).await;
    assert_eq!(status, 200, "{roles}");
    let roles: Vec<String> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap().to_string())
        .collect();
    for known in [
        "resident",
        "grid_worker",
        "operator",
        "dispatcher",
        "handler",
        "leader",
        "admin",
        "council",
        "moderator",
        "organization",
    ] {
        assert!(
            roles.iter().any(|r| r == known),
            "{known} is registered: {roles:?}"
        );
    }
    for role in &roles {
        let name = format!("a-{role}");
        let token = app.user_with(&name, role, Some(STREET_A), None).await;
        out.push((format!("{role}@{STREET_A}"), token));
    }
    // The resident is verified for a community of street A, so takes part there.
    created(
        app,
        admin,
        "/api/v1/residents/verifications",
        &json!({"username": "a-resident", "area": COMMUNITY_A, "place": ""}),
    )
    .await;
    for role in ["handler", "leader"] {
        let name = format!("a-{role}-unit");
        let token = app.user_with(&name, role, None, Some("110102001-jd")).await;
        out.push((format!("{role}@unit:110102001-jd"), token));
    }
    out
}

/// The `{…}` routes of the OpenAPI document: (method, path template).
async fn id_routes(app: &TestApp) -> Vec<(String, String)> {
    let (s, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(s, 200);
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.contains('{') {
            continue;
        }
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.push((method.to_string(), path.clone()));
            }
        }
    }
    out
}

/// Every concrete path of `template`, its placeholders filled from `records`.
fn expand(records: &Records, template: &str) -> Result<Vec<String>, String> {
    let mut paths = vec![template.to_string()];
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        let param = &rest[open + 1..close];
        let values = records
            .fill(template, param)
            .ok_or_else(|| format!("no street-B record for {{{param}}} in {template}: add one"))?;
        paths = paths
            .iter()
            .flat_map(|p| {
                values
                    .iter()
                    .map(move |v| p.replacen(&format!("{{{param}}}"), v, 1))
            })
            .collect();
        rest = &rest[close + 1..];
    }
    Ok(paths)
}

async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let url = format!("{}{path}", app.url);
    let req = match method {
        "get" => app.client.get(url),
        "delete" => app.client.delete(url),
        "put" => app.client.put(url).json(body),
        "patch" => app.client.patch(url).json(body),
        _ => app.client.post(url).json(body),
    };
    answer(req.bearer_auth(token)).await
}

/// Waits until background work (deliveries, reminders) has settled, so a count that moves
/// during a call moved because of the call.
async fn settled(app: &TestApp, tables: &[String]) -> Vec<i64> {
    let mut last = snapshot(app, tables).await;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = snapshot(app, tables).await;
        if now == last {
            return now;
        }
        last = now;
    }
}

async fn every_role_is_refused_every_id_route_outside_its_street(backend: Backend) {
    let desk = desk_on(TestApp::spawn(backend).await).await;
    let app = &desk.app;
    let records = street_b(app, &desk.admin).await;
    let callers = street_a(app, &desk.admin).await;
    let routes = id_routes(app).await;
    assert!(
        routes.len() >= 20,
        "the OpenAPI document lists the {{id}} routes: {routes:?}"
    );
    for (m, p, _) in PUBLIC {
        assert!(
            routes.iter().any(|(rm, rp)| rm == m && rp == p),
            "the public route {m} {p} is no longer in the API: drop it from PUBLIC"
        );
    }
    let tables = tables(app).await;
    let mut failures: Vec<String> = Vec::new();
    let mut cells = 0;
    // Taken afresh before each caller's cells (after making their own case).
    let mut counts: Vec<i64>;

    for (label, token) in &callers {
        let mut todo: Vec<(String, String, String, Value)> = Vec::new();
        // Merging a case of one's own street into street B's (issue 13 #5) is tried apart: the
        // path names a fresh in-scope case, the body the out-of-scope one.
        let own = created(
            app,
            &desk.admin,
            "/api/v1/cases",
            &new_case("C0101", IN_STREET_1),
        )
        .await;
        todo.push((
            "post".into(),
            "/api/v1/cases/{id}/actions/merge (into street B)".into(),
            format!(
                "/api/v1/cases/{}/actions/merge",
                own["id"].as_str().unwrap()
            ),
            json!({"into": records.case, "note": "越权合并"}),
        ));
        counts = settled(app, &tables).await;
        for (method, template) in &routes {
            match expand(&records, template) {
                Ok(paths) => {
                    for path in paths {
                        todo.push((
                            method.clone(),
                            template.clone(),
                            path,
                            records.body(template),
                        ));
                    }
                }
                Err(e) => {
                    if !failures.contains(&e) {
                        failures.push(e);
                    }
                }
            }
        }
        for (method, template, path, body) in todo {
            cells += 1;
            let public = PUBLIC
                .iter()
                .any(|(m, p, _)| *m == method && *p == template);
            let (status, answer) = call(app, token, &method, &path, &body).await;
            let after = snapshot(app, &tables).await;
            let cell = format!("{label:<34} {:<6} {path}", method.to_uppercase());
            // A case or a photo out of scope must answer exactly as one that does not exist
            // (issue 13 #13); elsewhere a plain refusal is enough. Merging one's own case is a
            // role question first (403 to those who may not merge; the merge desk gets 404,
            // `security::cases::merge_into_a_case_outside_ones_scope_is_unknown`).
            let unknown_only = !template.ends_with("(into street B)")
                && template.starts_with("/api/v1/cases/")
                || template.starts_with("/api/v1/attachments/");
            if !public && status != 404 && (unknown_only || status != 403) {
                let why = answer["error"]["code"].as_str().unwrap_or("");
                failures.push(format!("{cell} → {status} {why}"));
            }
            if after != counts {
                let changed: Vec<String> = tables
                    .iter()
                    .zip(counts.iter().zip(&after))
                    .filter(|(_, (a, b))| a != b)
                    .map(|(t, (a, b))| format!("{t} {a}→{b}"))
                    .collect();
                failures.push(format!("{cell} → {status}, wrote: {}", changed.join(", ")));
                counts = settled(app, &tables).await;
            }
        }
    }
    let by_route: BTreeMap<&str, usize> = failures.iter().fold(BTreeMap::new(), |mut m, f| {
        *m.entry(f.split_whitespace().nth(2).unwrap_or(f))
            .or_default() += 1;
        m
    });
    if !failures.is_empty() {
        eprintln!(
            "route matrix: {} of {cells} cells failed (by path: {by_route:?}):\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed; see above",
        failures.len()
    );
}
both!(every_role_is_refused_every_id_route_outside_its_street);
