use serde_json::{json, Value};

use crate::both;
use crate::helpers::*;
use crate::platform::areas::other_district_geojson;
use gongzhi_core::db::query;

/// A point inside grid 110102001001001 (bottom-left cell; interior nodes move by ≤ 0.3 cell).
pub const IN_STREET_1: (f64, f64) = (39.9020, 116.3020);
/// A point inside street 110102002 (right half of the lattice).
pub const IN_STREET_2: (f64, f64) = (39.9020, 116.3520);

pub struct Desk {
    pub app: TestApp,
    pub admin: String,
    pub operator: String,
    pub dispatcher: String,
    pub water: String,
    pub urban: String,
    pub grid_worker: String,
    pub resident: String,
    pub other_dispatcher: String,
}

async fn desk(backend: Backend) -> Desk {
    desk_on(TestApp::spawn(backend).await).await
}

/// The 西城 test district with its units, routing rules and one user per desk.
pub async fn desk_on(app: TestApp) -> Desk {
    let admin = app.admin().await;
    let (s, _) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&admin),
            "text/csv",
            OTHER_DIVISIONS,
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .post_text(
            "/api/v1/areas/import/geojson",
            Some(&admin),
            "application/geo+json",
            &other_district_geojson(1).0.to_string(),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    for (code, name, kind, area) in [
        ("110102-zhzx", "西城区指挥中心", "command_center", "110102"),
        ("110102-sw", "西城区水务局", "department", "110102"),
        ("110102-cg", "西城区城管委", "department", "110102"),
        (
            "110102001-jd",
            "西长安街街道办事处",
            "street_office",
            "110102001",
        ),
        (
            "110102002-jd",
            "新街口街道办事处",
            "street_office",
            "110102002",
        ),
    ] {
        let (s, b) = app
            .post(
                "/api/v1/units",
                Some(&admin),
                &json!({"code": code, "name": name, "kind": kind, "area_code": area}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    for (category, area, unit) in [
        (Some("C01"), Some("110102"), "110102-sw"),
        (Some("E05"), Some("110102002"), "110102-cg"),
        (Some("E05"), Some("110102"), "110102-zhzx"),
    ] {
        let (s, b) = app
            .post(
                "/api/v1/routing-rules",
                Some(&admin),
                &json!({"category": category, "area": area, "unit": unit}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    Desk {
        operator: app.user_with("op1", "operator", Some("110102"), None).await,
        dispatcher: app
            .user_with("disp", "dispatcher", Some("110102"), None)
            .await,
        water: app
            .user_with("water", "handler", None, Some("110102-sw"))
            .await,
        urban: app
            .user_with("urban", "handler", None, Some("110102-cg"))
            .await,
        grid_worker: app
            .user_with("gw1", "grid_worker", Some("110102001001"), None)
            .await,
        resident: app.user_with("res", "resident", None, None).await,
        other_dispatcher: app
            .user_with("disp2", "dispatcher", Some("110102002"), None)
            .await,
        admin,
        app,
    }
}

pub fn new_case(category: &str, at: (f64, f64)) -> Value {
    json!({"kind": "report", "category": category, "description": "井盖破损，有人险些踩空", "location": {"lat": at.0, "lng": at.1},
           "channel": "hotline", "reporter": {"name": "张小明", "phone": "13812345678"}})
}

impl Desk {
    pub async fn create(&self, token: &str, body: &Value) -> (u16, Value) {
        self.app.post("/api/v1/cases", Some(token), body).await
    }
    pub async fn act(&self, token: &str, id: &str, action: &str, body: Value) -> (u16, Value) {
        self.app
            .post(
                &format!("/api/v1/cases/{id}/actions/{action}"),
                Some(token),
                &body,
            )
            .await
    }
    pub async fn ok(&self, token: &str, id: &str, action: &str, body: Value) -> Value {
        let (s, b) = self.act(token, id, action, body).await;
        assert_eq!(s, 200, "{action}: {b}");
        b
    }
}

async fn the_whole_loop_with_refusals(backend: Backend) {
    let d = desk(backend).await;
    let (s, case) = d.create(&d.operator, &new_case("C0101", IN_STREET_1)).await;
    assert_eq!(s, 201, "{case}");
    assert_eq!(case["status"], "reported");
    assert_eq!(case["grid"]["code"], "110102001001001");
    assert_eq!(case["street"]["code"], "110102001");
    assert_eq!(
        case["unit"], "110102-sw",
        "the C01 rule routes water covers to 水务"
    );
    assert_eq!(case["number"].as_str().unwrap().len(), 14);
    assert!(case["deadlines"]["handle"]
        .as_str()
        .unwrap()
        .ends_with("+08:00"));
    assert_eq!(case["reporter"]["name"], "张*明");
    assert_eq!(case["reporter"]["phone"], "138****5678");
    let id = case["id"].as_str().unwrap().to_string();

    // Wrong state, wrong role, wrong scope.
    let (s, b) = d.act(&d.water, &id, "sign", json!({})).await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["error"]["code"], "wrong_state", "{b}");
    assert!(b["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not allowed while the case is reported"));
    // Who may not read a case is told it does not exist (issue 13: no existence oracle).
    let (s, _) = d.act(&d.resident, &id, "accept", json!({})).await;
    assert_eq!(s, 404);
    d.ok(&d.operator, &id, "accept", json!({})).await;
    d.ok(&d.operator, &id, "file", json!({})).await;
    let (s, b) = d.act(&d.other_dispatcher, &id, "dispatch", json!({})).await;
    assert_eq!(s, 404, "a dispatcher of another street: {b}");
    let (s, _) = d.act(&d.operator, &id, "dispatch", json!({})).await;
    assert_eq!(s, 403, "operators do not dispatch");
    let dispatched = d.ok(&d.dispatcher, &id, "dispatch", json!({})).await;
    assert_eq!(dispatched["status"], "dispatched");
    assert_eq!(dispatched["lead_unit"], "110102-sw");
    let (s, _) = d.act(&d.urban, &id, "sign", json!({})).await;
    assert_eq!(s, 404, "another unit cannot sign, nor see the case");
    d.ok(&d.water, &id, "sign", json!({})).await;
    d.ok(
        &d.water,
        &id,
        "contact",
        json!({"note": "已电话联系诉求人"}),
    )
    .await;
    let (s, _) = d.act(&d.water, &id, "contact", json!({})).await;
    assert_eq!(s, 409, "contacted once");
    let (s, b) = d.act(&d.water, &id, "report_back", json!({})).await;
    assert_eq!(s, 400, "report_back needs a note: {b}");
    d.ok(&d.water, &id, "report_back", json!({"note": "已更换井盖"}))
        .await;
    let rework = d
        .ok(
            &d.grid_worker,
            &id,
            "verify",
            json!({"passed": false, "note": "井盖未固定"}),
        )
        .await;
    assert_eq!(rework["status"], "signed");
    assert_eq!(rework["rework_count"], 1);
    d.ok(&d.water, &id, "report_back", json!({"note": "已固定"}))
        .await;
    d.ok(&d.grid_worker, &id, "verify", json!({"passed": true}))
        .await;
    d.ok(&d.dispatcher, &id, "close", json!({})).await;
    let (s, b) = d
        .act(
            &d.operator,
            &id,
            "call_back",
            json!({"contacted": true, "resolved": true, "satisfaction": "very"}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let done = d
        .ok(
            &d.operator,
            &id,
            "call_back",
            json!({"contacted": true, "resolved": true, "satisfaction": "satisfied"}),
        )
        .await;
    assert_eq!(done["status"], "called_back");
    let (s, _) = d
        .act(&d.dispatcher, &id, "reopen", json!({"reason": "想重开"}))
        .await;
    assert_eq!(s, 409, "a satisfied case is not reopened");

    let (_, full) = d
        .app
        .get(&format!("/api/v1/cases/{id}"), Some(&d.dispatcher))
        .await;
    let steps: Vec<&str> = full["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "create",
            "accept",
            "file",
            "dispatch",
            "sign",
            "contact",
            "report_back",
            "verify",
            "report_back",
            "verify",
            "close",
            "call_back"
        ]
    );
    assert_eq!(full["timeline"][3]["actor"], "user:disp");
    assert_eq!(full["timeline"][7]["note"], "井盖未固定");
    // Every step is in the audit chain.
    let out = d.app.cli(&["audit", "verify"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, log) = d.app.get("/api/v1/audit?limit=1000", Some(&d.admin)).await;
    let case_entries = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entity"] == format!("case:{id}"))
        .count();
    assert_eq!(case_entries, steps.len());
}
both!(the_whole_loop_with_refusals);

async fn racing_dispatchers_one_wins(backend: Backend) {
    let d = desk(backend).await;
    let second = d
        .app
        .user_with("disp3", "dispatcher", Some("110102"), None)
        .await;
    for _ in 0..3 {
        let (_, case) = d.create(&d.operator, &new_case("C0102", IN_STREET_1)).await;
        let id = case["id"].as_str().unwrap().to_string();
        d.ok(&d.operator, &id, "accept", json!({})).await;
        d.ok(&d.operator, &id, "file", json!({})).await;
        let go = |token: String, unit: &'static str| {
            let client = d.app.client.clone();
            let url = format!("{}/api/v1/cases/{id}/actions/dispatch", d.app.url);
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"unit": unit}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        };
        let a = go(d.dispatcher.clone(), "110102-sw");
        let b = go(second.clone(), "110102-cg");
        let mut statuses = vec![a.await.unwrap(), b.await.unwrap()];
        statuses.sort();
        assert_eq!(statuses, [200, 409]);
        let (_, full) = d
            .app
            .get(&format!("/api/v1/cases/{id}"), Some(&d.dispatcher))
            .await;
        let dispatches = full["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["step"] == "dispatch")
            .count();
        assert_eq!(dispatches, 1);
    }
}
both!(racing_dispatchers_one_wins);

async fn routing_most_specific_rule_then_default_owner(backend: Backend) {
    let d = desk(backend).await;
    // E0503 (parked cars) in street 2: the street-2 rule beats the district rule.
    let (_, c) = d.create(&d.operator, &new_case("E0503", IN_STREET_2)).await;
    assert_eq!(c["unit"], "110102-cg");
    // In street 1 only the district rule applies.
    let (_, c) = d.create(&d.operator, &new_case("E0503", IN_STREET_1)).await;
    assert_eq!(c["unit"], "110102-zhzx");
    // No rule, no default unit: the street office (兜底).
    let (_, c) = d.create(&d.operator, &new_case("E0601", IN_STREET_2)).await;
    assert_eq!(c["unit"], "110102002-jd");
    // A default unit on the category is used before the street office.
    let (_, cats) = d.app.get("/api/v1/categories", None).await;
    let e06 = cats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "E06")
        .unwrap();
    let mut noise = e06["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "E0601")
        .unwrap()
        .clone();
    noise.as_object_mut().unwrap().remove("children");
    noise["default_unit"] = json!("110102-cg");
    let (s, b) = d
        .app
        .client
        .put(format!("{}/api/v1/categories/E0601", d.app.url))
        .bearer_auth(&d.admin)
        .json(&noise)
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(s, 200, "{:?}", b.text().await);
    let (_, c) = d.create(&d.operator, &new_case("E0601", IN_STREET_2)).await;
    assert_eq!(c["unit"], "110102-cg");
    // Only administrators edit the catalog.
    let s = d
        .app
        .client
        .put(format!("{}/api/v1/categories/E0601", d.app.url))
        .bearer_auth(&d.dispatcher)
        .json(&noise)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(s.as_u16(), 403);
}
both!(routing_most_specific_rule_then_default_owner);

async fn duplicates_merge_and_idempotent_retries(backend: Backend) {
    let d = desk(backend).await;
    let (_, first) = d.create(&d.operator, &new_case("E0102", IN_STREET_1)).await;
    let near = (IN_STREET_1.0 + 0.0002, IN_STREET_1.1);
    let (_, second) = d.create(&d.operator, &new_case("E0102", near)).await;
    let dups = second["possible_duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1);
    assert_eq!(dups[0]["id"], first["id"]);
    assert!(dups[0]["distance_m"].as_f64().unwrap() < 30.0);
    // Another category at the same place is not a duplicate.
    let (_, other) = d.create(&d.operator, &new_case("E0104", near)).await;
    assert!(other.get("possible_duplicates").is_none());
    let merged = d
        .ok(
            &d.dispatcher,
            second["id"].as_str().unwrap(),
            "merge",
            json!({"into": first["id"]}),
        )
        .await;
    assert_eq!(merged["status"], "merged");
    assert_eq!(merged["merged_into"], first["id"]);
    let (_, primary) = d
        .app
        .get(
            &format!("/api/v1/cases/{}", first["id"].as_str().unwrap()),
            Some(&d.dispatcher),
        )
        .await;
    assert!(primary["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["step"] == "merged_in"));

    // Idempotency-Key: a retry answers with the same case and stores nothing new.
    let before = d.app.count("cases").await;
    let send = || {
        d.app
            .client
            .post(format!("{}/api/v1/cases", d.app.url))
            .bearer_auth(&d.operator)
            .header("Idempotency-Key", "call-778")
            .json(&new_case("C0105", IN_STREET_2))
            .send()
    };
    let r1 = send().await.unwrap();
    assert_eq!(r1.status().as_u16(), 201);
    let c1: Value = r1.json().await.unwrap();
    let r2 = send().await.unwrap();
    assert_eq!(r2.status().as_u16(), 200);
    let c2: Value = r2.json().await.unwrap();
    assert_eq!(c1["id"], c2["id"]);
    assert_eq!(d.app.count("cases").await, before + 1);
}
both!(duplicates_merge_and_idempotent_retries);

async fn bad_intake_changes_nothing(backend: Backend) {
    let d = desk(backend).await;
    let before = d.app.count("cases").await;
    let audit_before = d.app.count("audit_log").await;
    let mut outside = new_case("C0101", (39.0, 116.0));
    let (s, b) = d.create(&d.operator, &outside).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (404, Some("outside_jurisdiction"))
    );
    outside["category"] = json!("Z99");
    let (s, b) = d.create(&d.operator, &outside).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("unknown_category"))
    );
    let (s, b) = d.create(&d.operator, &json!({"kind": "report", "category": "C0101", "description": "x", "channel": "hotline"})).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("missing_location"))
    );
    let (s, _) = d.create(&d.operator, &json!({"kind": "rumour", "category": "C0101", "description": "x", "channel": "hotline", "address": "a"})).await;
    // A value outside a closed set: 422 unknown_value (the error catalogue).
    assert_eq!(s, 422);
    let mut long = new_case("C0101", IN_STREET_1);
    long["description"] = json!("长".repeat(4001));
    let (s, _) = d.create(&d.operator, &long).await;
    assert_eq!(s, 400);
    let mut bad_phone = new_case("C0101", IN_STREET_1);
    bad_phone["reporter"]["phone"] = json!("call me");
    let (s, _) = d.create(&d.operator, &bad_phone).await;
    assert_eq!(s, 400);
    let (s, _) = d
        .app
        .post("/api/v1/cases", None, &new_case("C0101", IN_STREET_1))
        .await;
    assert_eq!(s, 401);
    let (s, _) = d
        .act(&d.dispatcher, "no-such-case", "accept", json!({}))
        .await;
    assert_eq!(s, 404);
    assert_eq!(d.app.count("cases").await, before);
    assert_eq!(d.app.count("audit_log").await, audit_before);
    // An address alone is accepted: the case waits for a dispatcher to place it.
    let (s, c) = d.create(&d.operator, &json!({"kind": "inquiry", "category": "R0101", "description": "暖气不热", "channel": "hotline", "address": "新街口外大街1号"})).await;
    assert_eq!(s, 201, "{c}");
    assert!(c["grid"].is_null());
    let (s, _) = d
        .act(
            &d.operator,
            c["id"].as_str().unwrap(),
            "action-that-does-not-exist",
            json!({}),
        )
        .await;
    assert_eq!(s, 400);
}
both!(bad_intake_changes_nothing);

async fn reporters_are_private_and_residents_see_their_own(backend: Backend) {
    let d = desk(backend).await;
    let (s, mine) = d.create(&d.resident, &json!({"kind": "complaint", "category": "E0601", "description": "夜间噪声", "location": {"lat": IN_STREET_2.0, "lng": IN_STREET_2.1},
        "channel": "web", "reporter": {"name": "李四", "phone": "13900001111"}})).await;
    assert_eq!(s, 201, "{mine}");
    let (_, theirs) = d.create(&d.operator, &new_case("C0101", IN_STREET_1)).await;
    let (s, _) = d
        .app
        .get(
            &format!("/api/v1/cases/{}", mine["id"].as_str().unwrap()),
            Some(&d.resident),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = d
        .app
        .get(
            &format!("/api/v1/cases/{}", theirs["id"].as_str().unwrap()),
            Some(&d.resident),
        )
        .await;
    assert_eq!(s, 404, "a resident sees only their own cases");
    let (_, page) = d.app.get("/api/v1/cases", Some(&d.resident)).await;
    assert_eq!(page["total"], 1);
    // Residents may not file internal categories.
    let (s, _) = d.create(&d.resident, &new_case("C0502", IN_STREET_1)).await;
    assert_eq!(s, 400);

    let id = theirs["id"].as_str().unwrap();
    let audit_before = d.app.count("audit_log").await;
    let (_, revealed) = d
        .app
        .get(
            &format!("/api/v1/cases/{id}?reveal=true"),
            Some(&d.operator),
        )
        .await;
    assert_eq!(revealed["reporter"]["phone"], "13812345678");
    assert_eq!(d.app.count("audit_log").await, audit_before + 1);
    let (s, _) = d
        .app
        .get(
            &format!("/api/v1/cases/{id}?reveal=true"),
            Some(&d.grid_worker),
        )
        .await;
    assert_eq!(s, 403, "grid workers do not see reporters");
    let raw: String = query("SELECT reporter_phone FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(d.app.db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(raw.starts_with("v1:") && !raw.contains("13812345678"));
}
both!(reporters_are_private_and_residents_see_their_own);

async fn side_steps(backend: Backend) {
    let d = desk(backend).await;
    let (_, c) = d.create(&d.operator, &new_case("C0103", IN_STREET_1)).await;
    let id = c["id"].as_str().unwrap().to_string();
    let (s, _) = d.act(&d.operator, &id, "cancel", json!({})).await;
    assert_eq!(s, 400, "cancel needs a reason");
    d.ok(&d.operator, &id, "accept", json!({})).await;
    d.ok(&d.operator, &id, "file", json!({})).await;
    d.ok(&d.dispatcher, &id, "dispatch", json!({})).await;
    // Return to the dispatcher, then dispatch elsewhere.
    let back = d
        .ok(&d.water, &id, "return", json!({"reason": "不属于本单位"}))
        .await;
    assert_eq!(back["status"], "filed");
    assert!(back["unit"].is_null());
    let again = d
        .ok(&d.dispatcher, &id, "dispatch", json!({"unit": "110102-sw"}))
        .await;
    assert_eq!(again["lead_unit"], "110102-sw");
    d.ok(&d.water, &id, "sign", json!({})).await;
    // Extension: asked with a reason, approved by the dispatcher, moves the deadline.
    let until = "2099-01-01T12:00:00+08:00";
    let (s, _) = d
        .act(&d.water, &id, "extend", json!({"until": until}))
        .await;
    assert_eq!(s, 400);
    d.ok(
        &d.water,
        &id,
        "extend",
        json!({"until": until, "reason": "需要协调燃气公司"}),
    )
    .await;
    let (s, _) = d
        .act(
            &d.water,
            &id,
            "extend",
            json!({"until": until, "reason": "again"}),
        )
        .await;
    assert_eq!(s, 409);
    let (s, _) = d.act(&d.water, &id, "approve_extension", json!({})).await;
    assert_eq!(s, 403, "a unit does not approve its own extension");
    let approved = d
        .ok(&d.dispatcher, &id, "approve_extension", json!({}))
        .await;
    assert_eq!(approved["deadlines"]["handle"], until);
    // Summon (吹哨报到): each unit has its own task and reports in.
    let summoned = d
        .ok(
            &d.dispatcher,
            &id,
            "summon",
            json!({"units": ["110102-cg", "110102001-jd"], "report_within_minutes": 30}),
        )
        .await;
    assert_eq!(summoned["summons"].as_array().unwrap().len(), 2);
    let (s, _) = d
        .act(&d.water, &id, "report_in", json!({"unit": "110102-cg"}))
        .await;
    assert_eq!(s, 403, "only the summoned unit reports in");
    let (_, visible) = d
        .app
        .get(&format!("/api/v1/cases/{id}"), Some(&d.urban))
        .await;
    assert_eq!(visible["id"], id.as_str(), "a summoned unit sees the case");
    let reported = d
        .ok(&d.urban, &id, "report_in", json!({"unit": "110102-cg"}))
        .await;
    let cg = reported["summons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["unit"] == "110102-cg")
        .unwrap()
        .clone();
    assert!(cg["reported_at"].is_string());
    let (s, _) = d
        .act(&d.urban, &id, "report_in", json!({"unit": "110102-cg"}))
        .await;
    assert_eq!(s, 409);
    // Hold and resume; supervise and remind leave the status alone.
    let held = d
        .ok(
            &d.dispatcher,
            &id,
            "hold",
            json!({"reason": "等待产权单位"}),
        )
        .await;
    assert_eq!(held["status"], "on_hold");
    let resumed = d.ok(&d.dispatcher, &id, "resume", json!({})).await;
    assert_eq!(resumed["status"], "signed");
    let sup = d
        .ok(&d.dispatcher, &id, "supervise", json!({"note": "督办"}))
        .await;
    assert_eq!(
        (sup["status"].as_str(), sup["supervised"].as_bool()),
        (Some("signed"), Some(true))
    );
    d.ok(&d.operator, &id, "remind", json!({"note": "催办"}))
        .await;
    // Unhappy callback → reopen goes back to the unit.
    d.ok(&d.water, &id, "report_back", json!({"note": "完成"}))
        .await;
    d.ok(&d.dispatcher, &id, "verify", json!({"passed": true}))
        .await;
    d.ok(&d.dispatcher, &id, "close", json!({})).await;
    d.ok(
        &d.operator,
        &id,
        "call_back",
        json!({"contacted": true, "resolved": false, "satisfaction": "dissatisfied"}),
    )
    .await;
    let reopened = d
        .ok(
            &d.dispatcher,
            &id,
            "reopen",
            json!({"reason": "群众不满意"}),
        )
        .await;
    assert_eq!(reopened["status"], "dispatched");
    assert_eq!(reopened["unit"], "110102-sw");
}
both!(side_steps);

async fn lists_filter_and_paginate(backend: Backend) {
    let d = desk(backend).await;
    for i in 0..5 {
        let at = if i % 2 == 0 { IN_STREET_1 } else { IN_STREET_2 };
        let (s, _) = d.create(&d.operator, &new_case("C0104", at)).await;
        assert_eq!(s, 201);
    }
    let (_, all) = d
        .app
        .get("/api/v1/cases?page_size=2", Some(&d.dispatcher))
        .await;
    assert_eq!(all["total"], 5);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, p3) = d
        .app
        .get("/api/v1/cases?page_size=2&page=3", Some(&d.dispatcher))
        .await;
    assert_eq!(p3["items"].as_array().unwrap().len(), 1);
    let (_, s1) = d
        .app
        .get("/api/v1/cases?area=110102001", Some(&d.dispatcher))
        .await;
    assert_eq!(s1["total"], 3);
    let (_, scoped) = d.app.get("/api/v1/cases", Some(&d.other_dispatcher)).await;
    assert_eq!(
        scoped["total"], 2,
        "a street dispatcher sees their street only"
    );
    let (_, by_unit) = d
        .app
        .get(
            "/api/v1/cases?unit=110102-sw&status=reported&category=C01&channel=hotline&kind=report",
            Some(&d.dispatcher),
        )
        .await;
    assert_eq!(by_unit["total"], 5);
    let (_, handler) = d.app.get("/api/v1/cases", Some(&d.urban)).await;
    assert_eq!(handler["total"], 0, "other units' cases are not listed");
    let (_, overdue) = d
        .app
        .get("/api/v1/cases?overdue=true", Some(&d.dispatcher))
        .await;
    assert_eq!(overdue["total"], 0);
    let (s, _) = d
        .app
        .get("/api/v1/cases?status=lost", Some(&d.dispatcher))
        .await;
    assert_eq!(s, 400);
    let (s, _) = d
        .app
        .get("/api/v1/cases?from=yesterday", Some(&d.dispatcher))
        .await;
    assert_eq!(s, 400);
    let (s, _) = d.app.get("/api/v1/cases", Some(&d.resident)).await;
    assert_eq!(s, 200);
}
both!(lists_filter_and_paginate);

#[tokio::test]
async fn the_catalog_is_seeded_with_the_standard_classes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (s, tree) = app.get("/api/v1/categories", None).await;
    assert_eq!(s, 200);
    let tree = tree.as_array().unwrap();
    let names: Vec<&str> = tree
        .iter()
        .filter(|c| c["class"] == "component")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "公用设施",
            "道路交通",
            "市容环境",
            "园林绿化",
            "房屋土地",
            "其他设施"
        ]
    );
    let c01 = &tree[0];
    assert_eq!(c01["code"], "C01");
    assert_eq!(
        c01["children"][0]["handle_limit"],
        json!({"amount": 1, "unit": "work_days"})
    );
    let (_, public) = app.get("/api/v1/categories?public=true", None).await;
    let has_internal = public.to_string().contains("C0502");
    assert!(!has_internal);
}

async fn photos_checked_at_the_door_and_attached_once(backend: Backend) {
    let d = desk(backend).await;
    let app = &d.app;
    let up = "/api/v1/attachments";
    // Bad uploads: refused with the reason, nothing stored.
    let (s, b) = app
        .post_bytes(up, Some(&d.operator), "text/plain", b"hello".to_vec())
        .await;
    assert_eq!(s, 415, "{b}");
    let (s, b) = app
        .post_bytes(up, Some(&d.operator), "image/jpeg", PNG.to_vec())
        .await;
    assert_eq!(s, 415, "declared JPEG, content PNG: {b}");
    let (s, b) = app
        .post_bytes(up, Some(&d.operator), "image/png", vec![])
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("empty_upload"))
    );
    let mut huge = PNG.to_vec();
    // Just over the bound, under the transport limit: read whole, then refused (deterministic).
    huge.resize(10 * 1024 * 1024 + 1, 0);
    let (s, _) = app
        .post_bytes(up, Some(&d.operator), "image/png", huge)
        .await;
    assert_eq!(s, 413);
    let (s, _) = app.post_bytes(up, None, "image/png", PNG.to_vec()).await;
    assert_eq!(s, 401);
    assert_eq!(app.count("attachments").await, 0);

    // A raw upload and a multipart one.
    let (s, raw) = app
        .post_bytes(up, Some(&d.operator), "image/png", PNG.to_vec())
        .await;
    assert_eq!(s, 201, "{raw}");
    assert_eq!(raw["content_type"], "image/png");
    assert_eq!(raw["size"], PNG.len());
    let part = reqwest::multipart::Part::bytes(PNG.to_vec())
        .file_name("井盖.png")
        .mime_str("image/png")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("note", "x")
        .part("file", part);
    let (s, multi) = app.post_multipart(up, Some(&d.water), form).await;
    assert_eq!(s, 201, "{multi}");
    assert_eq!(multi["sha256"], raw["sha256"], "same bytes, same digest");
    let raw_id = raw["id"].as_str().unwrap().to_string();

    // Only its uploader sees an unattached upload.
    let (s, _, _) = app
        .get_bytes(&format!("{up}/{raw_id}"), Some(&d.water))
        .await;
    assert_eq!(s, 404);

    // Someone else's upload cannot be attached; the case is not created.
    let cases = app.count("cases").await;
    let mut body = new_case("C0101", IN_STREET_1);
    body["photos"] = json!([multi["id"]]);
    let (s, b) = d.create(&d.operator, &body).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("unknown_attachment")),
        "{b}"
    );
    assert_eq!(app.count("cases").await, cases);

    body["photos"] = json!([raw_id]);
    let (s, case) = d.create(&d.operator, &body).await;
    assert_eq!(s, 201, "{case}");
    assert_eq!(case["photos"][0]["id"], raw["id"]);
    assert_eq!(case["photos"][0]["step"], "create");
    let (s, b) = d.create(&d.operator, &body).await;
    assert_eq!(s, 400, "a photo is attached once: {b}");

    // Staff see attached photos, byte for byte.
    let (s, ct, bytes) = app
        .get_bytes(&format!("{up}/{raw_id}"), Some(&d.water))
        .await;
    assert_eq!((s, ct.as_str()), (200, "image/png"));
    assert_eq!(bytes, PNG);

    // The unit reports back with its own photo.
    let id = case["id"].as_str().unwrap().to_string();
    d.ok(&d.operator, &id, "accept", json!({})).await;
    d.ok(&d.operator, &id, "file", json!({})).await;
    d.ok(&d.dispatcher, &id, "dispatch", json!({})).await;
    d.ok(&d.water, &id, "sign", json!({})).await;
    let done = d
        .ok(
            &d.water,
            &id,
            "report_back",
            json!({"note": "已更换", "photos": [multi["id"]]}),
        )
        .await;
    let steps: Vec<&str> = done["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["create", "report_back"]);
}
both!(photos_checked_at_the_door_and_attached_once);
