use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::*;

const X0: f64 = 116.30;
const Y0: f64 = 39.90;
const CELL: f64 = 0.01;

/// A jittered 6×4 lattice of grids for the district of OTHER_DIVISIONS: two streets (three
/// columns each), two communities per street (two rows each), six grids per community. Nodes
/// and edge bends inside a community are jittered; community borders stay straight.
pub fn other_district_geojson(seed: u64) -> (Value, Vec<(String, Vec<(f64, f64)>)>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (cols, rows) = (6usize, 4usize);
    let mut node = vec![vec![(0.0, 0.0); rows + 1]; cols + 1];
    for (i, col) in node.iter_mut().enumerate() {
        for (j, n) in col.iter_mut().enumerate() {
            let fixed = i % 3 == 0 || j % 2 == 0;
            let (dx, dy) = if fixed {
                (0.0, 0.0)
            } else {
                (rng.gen_range(-0.3..0.3), rng.gen_range(-0.3..0.3))
            };
            *n = (X0 + (i as f64 + dx) * CELL, Y0 + (j as f64 + dy) * CELL);
        }
    }
    let mut grids = Vec::new();
    let mut features = vec![];
    let rect = |x0: f64, y0: f64, x1: f64, y1: f64| json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]});
    features.push(json!({"type": "Feature", "properties": {"code": "110102"}, "geometry": rect(X0, Y0, X0 + 6.0 * CELL, Y0 + 4.0 * CELL)}));
    for s in 0..2 {
        let sx = X0 + (s * 3) as f64 * CELL;
        features.push(json!({"type": "Feature", "properties": {"code": format!("11010200{}", s + 1)}, "geometry": rect(sx, Y0, sx + 3.0 * CELL, Y0 + 4.0 * CELL)}));
        for c in 0..2 {
            let cy = Y0 + (c * 2) as f64 * CELL;
            features.push(json!({"type": "Feature", "properties": {"code": format!("11010200{}00{}", s + 1, c + 1)}, "geometry": rect(sx, cy, sx + 3.0 * CELL, cy + 2.0 * CELL)}));
        }
    }
    for i in 0..cols {
        for j in 0..rows {
            let (s, c) = (i / 3, j / 2);
            let seq = (i % 3) + 3 * (j % 2) + 1;
            let code = format!("11010200{}00{}{:03}", s + 1, c + 1, seq);
            let ring = vec![
                node[i][j],
                node[i + 1][j],
                node[i + 1][j + 1],
                node[i][j + 1],
                node[i][j],
            ];
            features.push(json!({
                "type": "Feature",
                "properties": {"code": code, "name": format!("网格{code}"), "level": "grid", "parent_code": &code[..12],
                               "households": 300 + seq as i64 * 10, "population": 800, "grid_type": "基础"},
                "geometry": {"type": "Polygon", "coordinates": [ring.iter().map(|(x, y)| vec![*x, *y]).collect::<Vec<_>>()]}
            }));
            grids.push((code, ring));
        }
    }
    (
        json!({"type": "FeatureCollection", "features": features}),
        grids,
    )
}

/// Ray casting, written here independently of the geometry library gongzhi uses.
fn inside(ring: &[(f64, f64)], x: f64, y: f64) -> bool {
    let mut c = false;
    for k in 0..ring.len() - 1 {
        let (xi, yi) = ring[k];
        let (xj, yj) = ring[k + 1];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            c = !c;
        }
    }
    c
}

async fn import_other_district(app: &TestApp, token: &str) -> Vec<(String, Vec<(f64, f64)>)> {
    let (status, body) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(token),
            "text/csv",
            OTHER_DIVISIONS,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 7);
    let (doc, grids) = other_district_geojson(1);
    let (status, body) = app
        .post_text(
            "/api/v1/areas/import/geojson",
            Some(token),
            "application/geo+json",
            &doc.to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 24, "{body}");
    assert_eq!(body["updated"], 7, "{body}");
    grids
}

async fn divisions_import_then_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (status, body) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&admin),
            "text/csv",
            OTHER_DIVISIONS,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["created"].as_i64(), body["updated"].as_i64()),
        (Some(7), Some(0))
    );

    let (status, area) = app.get("/api/v1/areas/110102002001", Some(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(area["name"], "西四北社区");
    assert_eq!(area["level"], "community");
    let chain: Vec<&str> = area["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(chain, ["110102002", "110102"]);

    let (_, kids) = app.get("/api/v1/areas?parent=110102", Some(&admin)).await;
    let codes: Vec<&str> = kids
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["110102001", "110102002"]);
    let (_, roots) = app.get("/api/v1/areas", Some(&admin)).await;
    assert_eq!(roots.as_array().unwrap().len(), 1);
    let (status, body) = app.get("/api/v1/areas/999999", Some(&admin)).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = app.get("/api/v1/areas/110102", None).await;
    assert_eq!(status, 401);

    // Importing again renames nothing and creates nothing: the import is an upsert.
    let renamed = OTHER_DIVISIONS.replace("钟声社区", "钟声胡同社区");
    let (status, body) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&admin),
            "text/csv",
            &renamed,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["created"].as_i64(), body["updated"].as_i64()),
        (Some(0), Some(7))
    );
    let (_, area) = app.get("/api/v1/areas/110102001002", Some(&admin)).await;
    assert_eq!(area["name"], "钟声胡同社区");
}
both!(divisions_import_then_read);

async fn bad_divisions_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let audit_before = app.count("audit_log").await;
    let csv = "code,name,level,parent_code\n\
110102,西城区,district,\n\
11010200,短码街道,street,110102\n\
110102001,西长安街街道,street,110103\n\
110102003001,孤儿社区,community,110102003\n\
110102001,重复街道,street,110102\n\
110102002,,street,110102\n\
110102004,怪级别,town,110102\n\
110102005,多余,street,110102,extra\n\
110102006001001,网格,grid,110102006001\n";
    let (status, body) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&admin),
            "text/csv",
            csv,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "import_rejected");
    let problems = body["error"]["details"]["problems"].as_array().unwrap();
    let at = |line: &str| -> Vec<String> {
        problems
            .iter()
            .filter(|p| p["at"] == line)
            .map(|p| p["problem"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        at("line 3")
            .iter()
            .any(|p| p.contains("9-digit") || p.contains("digits")),
        "{problems:?}"
    );
    assert!(
        at("line 4").iter().any(|p| p.contains("mismatched parent")),
        "{problems:?}"
    );
    assert!(
        at("line 5").iter().any(|p| p.contains("unknown parent")),
        "{problems:?}"
    );
    assert!(
        at("line 6").iter().any(|p| p.contains("duplicate")),
        "{problems:?}"
    );
    assert!(
        at("line 7").iter().any(|p| p.contains("empty")),
        "{problems:?}"
    );
    assert!(
        at("line 8").iter().any(|p| p.contains("level")),
        "{problems:?}"
    );
    assert!(
        at("line 9").iter().any(|p| p.contains("4 fields")),
        "{problems:?}"
    );
    assert!(
        at("line 10").iter().any(|p| p.contains("unknown parent")),
        "{problems:?}"
    );
    assert_eq!(app.count("areas").await, 0, "nothing was written");
    assert_eq!(
        app.count("audit_log").await,
        audit_before,
        "nothing was audited"
    );

    let (status, body) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&admin),
            "text/csv",
            "id,name\n1,x\n",
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["error"]["details"]["problems"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("header"));
    let (status, _) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&admin),
            "text/csv",
            "code,name,level,parent_code\n",
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(app.count("areas").await, 0);
}
both!(bad_divisions_change_nothing);

async fn geojson_problems_are_reported_per_feature(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (doc, _) = other_district_geojson(2);
    let mut features = doc["features"].as_array().unwrap().clone();
    // feature 7 (first grid): unclosed ring; 8: three positions; 9: bow-tie; 10: outside its
    // community; 11: overlaps feature 12's grid; a duplicate of 13 at the end.
    let set_ring = |f: &mut Value, ring: Value| {
        f["geometry"] = json!({"type": "Polygon", "coordinates": [ring]})
    };
    set_ring(
        &mut features[7],
        json!([
            [116.30, 39.90],
            [116.31, 39.90],
            [116.31, 39.91],
            [116.30, 39.91]
        ]),
    );
    set_ring(
        &mut features[8],
        json!([[116.30, 39.90], [116.31, 39.90], [116.30, 39.90]]),
    );
    set_ring(
        &mut features[9],
        json!([
            [116.30, 39.90],
            [116.31, 39.91],
            [116.31, 39.90],
            [116.30, 39.91],
            [116.30, 39.90]
        ]),
    );
    set_ring(
        &mut features[10],
        json!([
            [117.30, 39.90],
            [117.31, 39.90],
            [117.31, 39.91],
            [117.30, 39.91],
            [117.30, 39.90]
        ]),
    );
    let g12 = features[12]["geometry"].clone();
    features[11]["geometry"] = g12;
    features.push(features[13].clone());
    let last = features.len() - 1;
    let doc = json!({"type": "FeatureCollection", "features": features});
    let (status, body) = app
        .post_text(
            "/api/v1/areas/import/geojson",
            Some(&admin),
            "application/geo+json",
            &doc.to_string(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let problems = body["error"]["details"]["problems"].as_array().unwrap();
    let at = |i: usize| -> String {
        problems
            .iter()
            .filter(|p| p["at"] == format!("feature {i}"))
            .map(|p| p["problem"].as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(at(7).contains("not closed"), "{problems:#?}");
    assert!(at(8).contains("at least 4"), "{problems:#?}");
    assert!(at(9).contains("self-intersection"), "{problems:#?}");
    assert!(at(10).contains("outside its parent"), "{problems:#?}");
    assert!(
        at(11).contains("overlaps grid") || at(12).contains("overlaps grid"),
        "{problems:#?}"
    );
    assert!(at(last).contains("duplicate"), "{problems:#?}");
    assert_eq!(app.count("areas").await, 0);

    for (bad, expect) in [
        ("{not json", "malformed JSON"),
        (r#"{"type":"Feature"}"#, "FeatureCollection"),
        (
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":null}]}"#,
            "code is missing",
        ),
        (
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"110102"},"geometry":{"type":"Point","coordinates":[1,2]}}]}"#,
            "Polygon or MultiPolygon",
        ),
    ] {
        let (status, body) = app
            .post_text(
                "/api/v1/areas/import/geojson",
                Some(&admin),
                "application/geo+json",
                bad,
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.to_string().contains(expect), "{bad}: {body}");
    }
    assert_eq!(app.count("areas").await, 0);
}
both!(geojson_problems_are_reported_per_feature);

async fn locate_agrees_with_independent_point_in_polygon(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let grids = import_other_district(&app, &admin).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let (mut hits, mut misses) = (0, 0);
    for _ in 0..2000 {
        // Over the district and a margin around it.
        let x = X0 - 0.01 + rng.gen::<f64>() * 0.08;
        let y = Y0 - 0.01 + rng.gen::<f64>() * 0.06;
        let want: Vec<&str> = grids
            .iter()
            .filter(|(_, r)| inside(r, x, y))
            .map(|(c, _)| c.as_str())
            .collect();
        assert!(want.len() <= 1, "grids overlap at {x},{y}: {want:?}");
        let (status, body) = app
            .get(&format!("/api/v1/areas/locate?lat={y}&lng={x}"), None)
            .await;
        match want.first() {
            Some(code) => {
                assert_eq!(status, 200, "{x},{y}: {body}");
                assert_eq!(body["grid"]["code"], *code, "{x},{y}");
                assert_eq!(body["community"]["code"], code[..12]);
                assert_eq!(body["street"]["code"], code[..9]);
                assert_eq!(body["district"]["code"], "110102");
                assert_eq!(body["district"]["name"], "西城区");
                hits += 1;
            }
            None => {
                assert_eq!(status, 404, "{x},{y}: {body}");
                assert_eq!(body["error"]["code"], "outside_jurisdiction");
                misses += 1;
            }
        }
    }
    assert!(
        hits > 800 && misses > 500,
        "{hits} inside, {misses} outside"
    );

    // The same place given in GCJ-02 finds the same grid.
    let (x, y) = (X0 + 0.015, Y0 + 0.015);
    let (_, wgs) = app
        .get(&format!("/api/v1/areas/locate?lat={y}&lng={x}"), None)
        .await;
    let (glat, glng) = gongzhi_core::areas::locate::wgs84_to_gcj02(y, x);
    let (status, gcj) = app
        .get(
            &format!("/api/v1/areas/locate?lat={glat}&lng={glng}&crs=gcj02"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(gcj["grid"], wgs["grid"]);
    let (_, raw) = app
        .get(&format!("/api/v1/areas/locate?lat={glat}&lng={glng}"), None)
        .await;
    assert_ne!(
        raw["grid"], wgs["grid"],
        "the GCJ-02 offset (~500 m) moves the point to another grid"
    );

    // Stored attributes and the export.
    let (_, g) = app.get("/api/v1/areas/110102001001001", Some(&admin)).await;
    assert_eq!(g["households"], 310);
    assert_eq!(g["grid_type"], "基础");
    let m2 = g["area_m2"].as_f64().unwrap();
    assert!((300_000.0..1_500_000.0).contains(&m2), "{m2}");
    let (status, export) = app
        .get("/api/v1/areas/export/geojson?level=grid", Some(&admin))
        .await;
    assert_eq!(status, 200);
    assert_eq!(export["features"].as_array().unwrap().len(), 24);
}
both!(locate_agrees_with_independent_point_in_polygon);

#[tokio::test]
async fn locate_refuses_bad_coordinates_and_is_rate_limited() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.locate_per_second = 5).await;
    let mut codes = Vec::new();
    for q in [
        "lat=91&lng=116",
        "lat=39&lng=-181",
        "lat=abc&lng=116",
        "lng=116",
        "lat=39.9&lng=116.3&crs=bd09",
    ] {
        let (status, body) = app.get(&format!("/api/v1/areas/locate?{q}"), None).await;
        codes.push((
            status,
            body["error"]["code"].as_str().unwrap_or("").to_string(),
        ));
    }
    assert_eq!(codes[0], (400, "invalid_coordinates".into()));
    assert_eq!(codes[1], (400, "invalid_coordinates".into()));
    assert_eq!(codes[2].0, 400);
    assert_eq!(codes[3].0, 400);
    // The limiter counted those five; the window is one second, so the next ones are refused.
    let (status, body) = app
        .get("/api/v1/areas/locate?lat=39.9&lng=116.3", None)
        .await;
    if status != 429 {
        // The second rolled over between requests: use up the new window.
        for _ in 0..5 {
            app.get("/api/v1/areas/locate?lat=39.9&lng=116.3", None)
                .await;
        }
        let (status, body) = app
            .get("/api/v1/areas/locate?lat=39.9&lng=116.3", None)
            .await;
        assert_eq!(status, 429, "{body}");
    } else {
        assert_eq!(body["error"]["code"], "rate_limited");
    }
}

async fn locate_follows_imports_by_another_process(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, _) = app
        .get(
            &format!("/api/v1/areas/locate?lat={}&lng={}", Y0 + 0.015, X0 + 0.015),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let csv = app.dir.path().join("d.csv");
    std::fs::write(&csv, OTHER_DIVISIONS).unwrap();
    let gj = app.dir.path().join("g.geojson");
    std::fs::write(&gj, other_district_geojson(3).0.to_string()).unwrap();
    let out = app.cli(&["import", "divisions", csv.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = app.cli(&["import", "geojson", gj.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("24 created"),
        "{}",
        text(&out.stdout)
    );
    // The server notices the change (it polls every second in tests) and rebuilds its index.
    let mut found = false;
    for _ in 0..50 {
        let (status, _) = app
            .get(
                &format!("/api/v1/areas/locate?lat={}&lng={}", Y0 + 0.015, X0 + 0.015),
                None,
            )
            .await;
        if status == 200 {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(found, "the server never picked up the import");
    // And the export holds what was imported.
    let out = app.cli(&["export", "geojson", "--level", "grid"], None);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["features"].as_array().unwrap().len(), 24);
}
both!(locate_follows_imports_by_another_process);

async fn export_then_import_round_trips(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let token = a.admin().await;
    import_other_district(&a, &token).await;
    let (_, exported) = a.get("/api/v1/areas/export/geojson", Some(&token)).await;
    let b = TestApp::spawn(backend).await;
    let token_b = b.admin().await;
    let (status, body) = b
        .post_text(
            "/api/v1/areas/import/geojson",
            Some(&token_b),
            "application/geo+json",
            &exported.to_string(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 31);
    let (_, again) = b.get("/api/v1/areas/export/geojson", Some(&token_b)).await;
    assert_eq!(exported, again);
}
both!(export_then_import_round_trips);
