use geo::InteriorPoint;
use gongzhi_core::areas::geometry;
use gongzhi_core::demo::DemoSize;
use serde_json::Value;

use crate::both;
use crate::helpers::*;

#[test]
fn the_demo_jurisdiction_is_dongcheng_and_always_the_same() {
    let a = gongzhi_core::areas::demo::jurisdiction();
    assert_eq!(
        a,
        gongzhi_core::areas::demo::jurisdiction(),
        "same seed, same areas"
    );
    let features = a["features"].as_array().unwrap();
    let level = |l: &str| {
        features
            .iter()
            .filter(|f| f["properties"]["level"] == l)
            .collect::<Vec<_>>()
    };
    assert_eq!(level("district").len(), 1);
    assert_eq!(level("street").len(), 17);
    assert_eq!(level("community").len(), 169);
    let grids = level("grid");
    assert!((550..=650).contains(&grids.len()), "{} grids", grids.len());
    for g in &grids {
        let p = &g["properties"];
        let code = p["code"].as_str().unwrap();
        assert_eq!(code.len(), 15);
        assert!(code.starts_with(p["parent_code"].as_str().unwrap()));
        let h = p["households"].as_i64().unwrap();
        assert!((300..=500).contains(&h), "{code}: {h}");
    }
    let names: Vec<&str> = level("street")
        .iter()
        .map(|s| s["properties"]["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"东华门街道") && names.contains(&"永定门外街道"));
}

async fn the_demo_seeds_and_locates_every_grid(backend: Backend) {
    let app = TestApp::spawn_bare(backend).await;
    let size = DemoSize {
        days: 20,
        per_day: 15,
        people: 0,
    };
    gongzhi::server::seed_demo(&app.db, &app.sealer, size)
        .await
        .expect("the generated jurisdiction passes import validation");
    app.running.state.refresh_locate().await.unwrap();
    let doc = gongzhi_core::areas::demo::jurisdiction();
    for f in doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["level"] == "grid")
        .step_by(7)
    {
        let shape = geometry::parse(&f["geometry"]).unwrap();
        let p = shape.interior_point().unwrap();
        let (status, body) = app
            .get(
                &format!("/api/v1/areas/locate?lat={}&lng={}", p.y(), p.x()),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["grid"]["code"], f["properties"]["code"]);
        assert_eq!(body["district"]["name"], "东城区");
    }
    // Every role can sign in with the printed password.
    let modules = gongzhi::server::modules();
    for u in modules.iter().flat_map(|m| m.demo_users()) {
        let token = app.token(u.username, u.password).await;
        let (_, me) = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(me["assignments"][0]["role"], u.role.as_str());
    }
    let admin = app.token("admin", "admin-demo").await;
    // The history makes the rankings mean something: every street has callbacks this month or last.
    let (_, page) = app.get("/api/v1/cases?page_size=1", Some(&admin)).await;
    assert!(page["total"].as_i64().unwrap() > 200, "{page}");
    let (_, overdue) = app
        .get("/api/v1/cases?overdue=true&page_size=1", Some(&admin))
        .await;
    assert!(overdue["total"].as_i64().unwrap() > 0);
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let (s, rows) = app
        .get(
            &format!("/api/v1/stats/cases?period={month}&level=street"),
            Some(&admin),
        )
        .await;
    assert_eq!(s, 200);
    assert!(!rows.as_array().unwrap().is_empty());
    let (_, units) = app.get("/api/v1/units", Some(&admin)).await;
    let units: Vec<Value> = units.as_array().unwrap().clone();
    for name in [
        "东城区城市管理委员会",
        "东城区园林绿化局",
        "东城区水务局",
        "东城区供热管理中心",
        "东华门派出所",
    ] {
        assert!(units.iter().any(|u| u["name"] == name), "{name}");
    }
}
both!(the_demo_seeds_and_locates_every_grid);

/// The demo's deliberation: topics in several states, a finished call per winner rule whose
/// published results recompute from their Pabulib export, an open consultation, a drawn panel.
async fn the_demo_seeds_deliberation(backend: Backend) {
    let app = TestApp::spawn_bare(backend).await;
    let size = DemoSize {
        days: 2,
        per_day: 5,
        people: 30,
    };
    gongzhi::server::seed_demo(&app.db, &app.sealer, size)
        .await
        .unwrap();
    let (_, topics) = app.get("/api/v1/topics", None).await;
    let statuses: Vec<&str> = topics
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    for s in ["done", "voting", "deliberating", "proposed"] {
        assert!(statuses.contains(&s), "{s} in {statuses:?}");
    }
    let (_, calls) = app.get("/api/v1/budgets", None).await;
    let finished: Vec<&Value> = calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["phase"] == "implementing")
        .collect();
    assert_eq!(finished.len(), 2);
    for c in finished {
        let id = c["id"].as_str().unwrap();
        let (s, r) = app
            .get(&format!("/api/v1/budgets/{id}/results"), None)
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["ballots"], 30);
        assert!(!r["winners"].as_array().unwrap().is_empty());
        assert!(r["spent"].as_i64().unwrap() <= r["budget"].as_i64().unwrap());
    }
    let (_, cs) = app.get("/api/v1/consultations", None).await;
    assert_eq!(cs[0]["state"], "open");
    let out = app.cli(&["audit", "verify"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
both!(the_demo_seeds_deliberation);
