use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::*;
use crate::platform::areas::other_district_geojson;
use gongzhi_core::db::{query, Row};

const UNITS: [&str; 3] = ["110102-sw", "110102-cg", "110102001-jd"];

struct Past {
    grid: String,
    unit: Option<String>,
    dispatched: Option<String>,
    handled: Option<String>,
    closed: Option<String>,
    callback: Option<String>,
    contacted: Option<bool>,
    resolved: Option<bool>,
    satisfaction: Option<&'static str>,
    rework: i64,
    line: String,
}

/// A history file over the 西城 lattice: cases in September–November 2026 with a mix of outcomes.
fn history(n: usize, seed: u64) -> Vec<Past> {
    let (_, grids) = other_district_geojson(1);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for i in 0..n {
        let (code, ring) = &grids[rng.gen_range(0..grids.len())];
        let (x, y) = ring[..4]
            .iter()
            .fold((0.0, 0.0), |a, p| (a.0 + p.0 / 4.0, a.1 + p.1 / 4.0));
        let day = rng.gen_range(1..=85);
        let created = chrono::DateTime::parse_from_rfc3339("2026-09-01T08:00:00+08:00").unwrap()
            + chrono::Duration::hours(day * 24 + rng.gen_range(0..10));
        let t = |h: i64| (created + chrono::Duration::hours(h)).to_rfc3339();
        let dispatched = rng.gen_bool(0.95);
        let handled = dispatched && rng.gen_bool(0.85);
        let closed = handled && rng.gen_bool(0.9);
        let called = closed && rng.gen_bool(0.9);
        let contacted = called.then(|| rng.gen_bool(0.9));
        let resolved = called.then(|| rng.gen_bool(0.75));
        let satisfaction = if called {
            Some(["satisfied", "basically_satisfied", "dissatisfied"][rng.gen_range(0..3)])
        } else {
            None
        };
        let handle_h = rng.gen_range(1..120);
        let unit = dispatched.then(|| UNITS[rng.gen_range(0..3)].to_string());
        let p = Past {
            grid: code.clone(),
            unit: unit.clone(),
            dispatched: dispatched.then(|| t(1)),
            handled: handled.then(|| t(1 + handle_h)),
            closed: closed.then(|| t(2 + handle_h + rng.gen_range(0..48))),
            callback: called.then(|| t(200)),
            contacted,
            resolved,
            satisfaction,
            rework: if handled && rng.gen_bool(0.15) { 1 } else { 0 },
            line: String::new(),
        };
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        let b = |v: Option<bool>| v.map(|x| x.to_string()).unwrap_or_default();
        let line = format!(
            "H{i:05},complaint,E0102,历史案件{i},{y},{x},hotline,{},{},{},{},{},{},{},{},{},{},{},{},{}",
            created.to_rfc3339(),
            o(&p.dispatched),
            o(&unit),
            o(&p.dispatched),
            o(&p.dispatched),
            o(&p.handled),
            o(&p.handled),
            o(&p.closed),
            o(&p.callback),
            b(contacted),
            b(resolved),
            satisfaction.unwrap_or(""),
            p.rework
        );
        out.push(Past { line, ..p });
    }
    out
}

fn csv(cases: &[Past]) -> String {
    let mut s = String::from("number,kind,category,description,lat,lng,channel,created_at,dispatched_at,unit,signed_at,contacted_at,handled_at,verified_at,closed_at,callback_at,callback_contacted,callback_resolved,callback_satisfaction,rework_count\n");
    for c in cases {
        s.push_str(&c.line);
        s.push('\n');
    }
    s
}

async fn setup(backend: Backend) -> (TestApp, String) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    app.post_text(
        "/api/v1/areas/import/divisions",
        Some(&admin),
        "text/csv",
        OTHER_DIVISIONS,
    )
    .await;
    let (s, _) = app
        .post_text(
            "/api/v1/areas/import/geojson",
            Some(&admin),
            "application/geo+json",
            &other_district_geojson(1).0.to_string(),
        )
        .await;
    assert_eq!(s, 200);
    for u in UNITS {
        let (s, b) = app
            .post(
                "/api/v1/units",
                Some(&admin),
                &json!({"code": u, "name": u, "kind": "department"}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    (app, admin)
}

fn in_period(t: &Option<String>, start: &str, end: &str) -> bool {
    let Some(t) = t else { return false };
    let t = chrono::DateTime::parse_from_rfc3339(t).unwrap();
    let s = chrono::DateTime::parse_from_rfc3339(start).unwrap();
    let e = chrono::DateTime::parse_from_rfc3339(end).unwrap();
    s <= t && t < e
}

/// The expected three rates per key, computed here from the file alone.
fn expected(
    cases: &[Past],
    key: impl Fn(&Past) -> Option<String>,
    start: &str,
    end: &str,
) -> BTreeMap<String, (i64, f64, f64, f64, f64)> {
    let mut acc: BTreeMap<String, (i64, i64, i64, i64, i64)> = BTreeMap::new();
    for c in cases
        .iter()
        .filter(|c| in_period(&c.callback, start, end) && c.contacted.is_some())
    {
        let Some(k) = key(c) else { continue };
        let e = acc.entry(k).or_default();
        e.0 += 1;
        e.1 += i64::from(c.contacted == Some(true));
        e.2 += i64::from(c.resolved == Some(true));
        e.3 += i64::from(c.satisfaction == Some("satisfied"));
        e.4 += i64::from(c.satisfaction == Some("basically_satisfied"));
    }
    acc.into_iter()
        .map(|(k, (v, c, r, s, b))| {
            let v_f = v as f64;
            let (resp, res, sat) = (
                c as f64 / v_f,
                r as f64 / v_f,
                (s as f64 + 0.9 * b as f64) / v_f,
            );
            (
                k,
                (
                    v,
                    resp,
                    res,
                    sat,
                    100.0 * (0.1 * resp + 0.5 * res + 0.4 * sat),
                ),
            )
        })
        .collect()
}

async fn history_rates_match_an_independent_computation(backend: Backend) {
    let (app, admin) = setup(backend).await;
    let cases = history(400, 5);
    let file = app.dir.path().join("history.csv");
    std::fs::write(&file, csv(&cases)).unwrap();
    let out = app.cli(&["import", "cases", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(app.count("cases").await, 400);

    type Key = Box<dyn Fn(&Past) -> Option<String>>;
    let levels: [(&str, Key); 3] = [
        ("street", Box::new(|c: &Past| Some(c.grid[..9].to_string()))),
        ("grid", Box::new(|c: &Past| Some(c.grid.clone()))),
        ("unit", Box::new(|c: &Past| c.unit.clone())),
    ];
    for (level, key) in levels {
        let want = expected(
            &cases,
            key,
            "2026-10-01T00:00:00+08:00",
            "2026-11-01T00:00:00+08:00",
        );
        assert!(
            want.len() >= 2,
            "{level}: the file has callbacks in October"
        );
        let (s, rows) = app
            .get(
                &format!("/api/v1/stats/cases?period=2026-10&level={level}"),
                Some(&admin),
            )
            .await;
        assert_eq!(s, 200, "{rows}");
        let rows = rows.as_array().unwrap();
        let with_callbacks: Vec<&Value> = rows
            .iter()
            .filter(|r| r["valid_callbacks"].as_i64().unwrap() > 0)
            .collect();
        assert_eq!(with_callbacks.len(), want.len(), "{level}");
        for r in &with_callbacks {
            let (v, resp, res, sat, score) = want[r["code"].as_str().unwrap()];
            assert_eq!(r["valid_callbacks"].as_i64().unwrap(), v);
            for (field, value) in [
                ("response_rate", resp),
                ("resolution_rate", res),
                ("satisfaction_rate", sat),
                ("score", score),
            ] {
                assert!(
                    (r[field].as_f64().unwrap() - value).abs() < 1e-9,
                    "{level} {} {field}: {} vs {value}",
                    r["code"],
                    r[field]
                );
            }
        }
        // Later modules read the same figures through the cases module's manifest.
        let modules = gongzhi::server::modules();
        let measure = gongzhi_core::module::measure(&modules, "cases.satisfaction_rate")
            .expect("cases declares its satisfaction rate");
        let q = gongzhi_core::module::MeasureQuery {
            period: "2026-10".into(),
            level: level.into(),
        };
        let system = gongzhi_core::identity::Actor::system("evaluation");
        let values = (measure.read)(&app.db, &system, &q).await.unwrap();
        let measured: Vec<_> = values
            .iter()
            .filter(|v| want.contains_key(&v.code))
            .collect();
        assert_eq!(measured.len(), want.len(), "{level}");
        for v in measured {
            let (_, _, _, sat, _) = want[&v.code];
            assert!((v.value.unwrap() - sat).abs() < 1e-9, "{level} {}", v.code);
        }
        // Ranked by score, then volume, then code.
        for w in rows.windows(2) {
            let (a, b) = (
                w[0]["score"].as_f64().unwrap_or(-1.0),
                w[1]["score"].as_f64().unwrap_or(-1.0),
            );
            assert!(a >= b, "{level}: ranking");
            assert_eq!(
                w[0]["rank"].as_i64().unwrap() + 1,
                w[1]["rank"].as_i64().unwrap()
            );
        }
    }

    // GB/T rates over cases dispatched in the period, by street.
    let (_, rows) = app
        .get(
            "/api/v1/stats/cases?period=2026-10&level=street",
            Some(&admin),
        )
        .await;
    for r in rows.as_array().unwrap() {
        let code = r["code"].as_str().unwrap();
        let dispatched: Vec<&Past> = cases
            .iter()
            .filter(|c| {
                &c.grid[..9] == code
                    && in_period(
                        &c.dispatched,
                        "2026-10-01T00:00:00+08:00",
                        "2026-11-01T00:00:00+08:00",
                    )
            })
            .collect();
        let handled = dispatched.iter().filter(|c| c.handled.is_some()).count();
        let closed = dispatched.iter().filter(|c| c.closed.is_some()).count();
        let reworked = dispatched
            .iter()
            .filter(|c| c.handled.is_some() && c.rework > 0)
            .count();
        assert_eq!(r["dispatched"].as_i64().unwrap() as usize, dispatched.len());
        assert_eq!(r["reported_back"].as_i64().unwrap() as usize, handled);
        assert_eq!(r["closed"].as_i64().unwrap() as usize, closed);
        assert!(
            (r["handling_rate"].as_f64().unwrap() - handled as f64 / dispatched.len() as f64).abs()
                < 1e-12
        );
        assert!(
            (r["closure_rate"].as_f64().unwrap() - closed as f64 / dispatched.len() as f64).abs()
                < 1e-12
        );
        assert!(
            (r["rework_rate"].as_f64().unwrap() - reworked as f64 / handled as f64).abs() < 1e-12
        );
        assert!(
            r["on_time_handling_rate"].as_f64().unwrap() <= r["handling_rate"].as_f64().unwrap()
        );
    }

    // Beijing's cycle: period 2026-10 runs from 19 September to 19 October.
    let mut settings = app.get("/api/v1/stats/settings", Some(&admin)).await.1;
    settings["cycle_start_day"] = json!(19);
    let (s, _) = app
        .client
        .put(format!("{}/api/v1/stats/settings", app.url))
        .bearer_auth(&admin)
        .json(&settings)
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(s, 200);
    let want = expected(
        &cases,
        |c| Some(c.grid[..9].to_string()),
        "2026-09-19T00:00:00+08:00",
        "2026-10-19T00:00:00+08:00",
    );
    let (_, rows) = app
        .get(
            "/api/v1/stats/cases?period=2026-10&level=street",
            Some(&admin),
        )
        .await;
    for r in rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["valid_callbacks"].as_i64().unwrap() > 0)
    {
        let (v, _, _, _, score) = want[r["code"].as_str().unwrap()];
        assert_eq!(r["valid_callbacks"].as_i64().unwrap(), v);
        assert!((r["score"].as_f64().unwrap() - score).abs() < 1e-9);
    }

    // Exports: CSV with a BOM, XLSX as a zip.
    let resp = app
        .client
        .get(format!(
            "{}/api/v1/stats/cases?period=2026-10&level=grid&format=csv",
            app.url
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
    assert!(String::from_utf8_lossy(&bytes).contains("满意率 satisfaction_rate"));
    let resp = app
        .client
        .get(format!(
            "{}/api/v1/stats/cases?period=2026-10&level=unit&format=xlsx",
            app.url
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(&resp.bytes().await.unwrap()[..2], b"PK");
    let (s, _) = app
        .get(
            "/api/v1/stats/cases?period=2026-13&level=grid",
            Some(&admin),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = app
        .get(
            "/api/v1/stats/cases?period=2026-10&level=planet",
            Some(&admin),
        )
        .await;
    // A value outside a closed set: 422 unknown_value (the error catalogue).
    assert_eq!(s, 422);
    let handler = app
        .user_with("h_sw", "handler", None, Some("110102-sw"))
        .await;
    let (s, _) = app
        .get(
            "/api/v1/stats/cases?period=2026-10&level=grid",
            Some(&handler),
        )
        .await;
    assert_eq!(s, 403);
    // The measure is read within the reader's permission, as the API.
    let modules = gongzhi::server::modules();
    let measure = gongzhi_core::module::measure(&modules, "cases.score").unwrap();
    let unit_handler = gongzhi_core::identity::actor_for_token(&app.db, &handler)
        .await
        .unwrap();
    let q = gongzhi_core::module::MeasureQuery {
        period: "2026-10".into(),
        level: "grid".into(),
    };
    let refused = (measure.read)(&app.db, &unit_handler, &q)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, gongzhi_core::Error::Forbidden(_)),
        "{refused:?}"
    );
    let q = gongzhi_core::module::MeasureQuery {
        period: "2026-10".into(),
        level: "planet".into(),
    };
    let system = gongzhi_core::identity::Actor::system("evaluation");
    assert!((measure.read)(&app.db, &system, &q).await.is_err());
}
both!(history_rates_match_an_independent_computation);

/// A list counts its matches up to 1,000 and says when it stopped; a narrower filter counts
/// exactly; pages come newest first (also within one status, read from its index).
async fn lists_count_up_to_the_cap(backend: Backend) {
    let (app, admin) = setup(backend).await;
    let cases = history(1_050, 11);
    let file = app.dir.path().join("history.csv");
    std::fs::write(&file, csv(&cases)).unwrap();
    let out = app.cli(&["import", "cases", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (s, all) = app.get("/api/v1/cases?page_size=50", Some(&admin)).await;
    assert_eq!(s, 200, "{all}");
    assert_eq!(all["total"], 1_000, "counting stops at the cap");
    assert_eq!(all["total_capped"], true);
    assert_eq!(all["items"].as_array().unwrap().len(), 50);
    let grid = &cases[0].grid;
    let want = cases.iter().filter(|c| &c.grid == grid).count();
    assert!(want < 1_000);
    let (_, one) = app
        .get(
            &format!("/api/v1/cases?area={grid}&page_size=200"),
            Some(&admin),
        )
        .await;
    assert_eq!(one["total"], want, "below the cap the count is exact");
    assert_eq!(one["total_capped"], false);

    // Past the cap the list still pages to its end, by cursor (keyset), each case once, in order.
    let stored: i64 = {
        query("SELECT COUNT(*) FROM cases")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    };
    assert!(stored > 1_000);
    let (mut seen, mut order) = (std::collections::HashSet::new(), Vec::new());
    let mut url = "/api/v1/cases?page_size=200".to_string();
    loop {
        let (s, page) = app.get(&url, Some(&admin)).await;
        assert_eq!(s, 200, "{page}");
        assert_eq!(
            page["total"], 1_000,
            "the total is the list's, not what is left"
        );
        for c in page["items"].as_array().unwrap() {
            assert!(
                seen.insert(c["id"].as_str().unwrap().to_string()),
                "{c} twice"
            );
            order.push(c["created_at"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(next) => url = format!("/api/v1/cases?page_size=200&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, stored, "every case, once");
    assert!(order.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let (s, bad) = app.get("/api/v1/cases?after=soon", Some(&admin)).await;
    assert_eq!(
        (s, bad["error"]["code"].as_str()),
        (400, Some("invalid_cursor")),
        "{bad}"
    );
    for status in ["called_back", "closed"] {
        let (_, page) = app
            .get(
                &format!("/api/v1/cases?status={status}&page_size=60"),
                Some(&admin),
            )
            .await;
        let items = page["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{status}: {page}");
        assert!(items.iter().all(|c| c["status"] == status));
        let times: Vec<&str> = items
            .iter()
            .map(|c| c["created_at"].as_str().unwrap())
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "{status}: newest first"
        );
    }
}
both!(lists_count_up_to_the_cap);

async fn bad_history_and_calendar_files_change_nothing(backend: Backend) {
    let (app, _) = setup(backend).await;
    let mut cases = history(3, 9);
    cases[1].line = cases[1].line.replace("E0102", "Z999");
    cases[2].line = cases[2].line.replacen(",hotline,", ",pigeon,", 1);
    let file = app.dir.path().join("bad.csv");
    std::fs::write(&file, csv(&cases)).unwrap();
    let out = app.cli(&["import", "cases", file.to_str().unwrap()], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("line 4: channel"), "{err}");
    assert_eq!(app.count("cases").await, 0);
    // With the channel fixed, the unknown category is still reported with its line.
    cases[2].line = cases[2].line.replacen(",pigeon,", ",hotline,", 1);
    std::fs::write(&file, csv(&cases)).unwrap();
    let out = app.cli(&["import", "cases", file.to_str().unwrap()], None);
    assert!(
        text(&out.stderr).contains("line 3: category"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(app.count("cases").await, 0);

    let cal = app.dir.path().join("cal.csv");
    std::fs::write(
        &cal,
        "date,kind,note\n2026-10-01,holiday,国庆\n2026-10-02,vacation,x\n",
    )
    .unwrap();
    let out = app.cli(
        &[
            "import",
            "calendar",
            "--name",
            "default",
            cal.to_str().unwrap(),
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("line 3"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(app.count("calendar_days").await, 0);
}
both!(bad_history_and_calendar_files_change_nothing);

async fn deadlines_follow_the_imported_calendar(backend: Backend) {
    let (app, admin) = setup(backend).await;
    let cal = app.dir.path().join("cal.csv");
    let mut days = String::from("date,kind,note\n");
    for d in 1..=7 {
        days.push_str(&format!("2026-10-{d:02},holiday,国庆节\n"));
    }
    days.push_str("2026-10-10,workday,调休\n");
    std::fs::write(&cal, days).unwrap();
    let out = app.cli(
        &[
            "import",
            "calendar",
            "--name",
            "default",
            cal.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // C0101 (上水井盖): handle within 1 work day, close within 2 work days.
    let (_, grids) = other_district_geojson(1);
    let (x, y) = grids[0].1[..4]
        .iter()
        .fold((0.0, 0.0), |a, p| (a.0 + p.0 / 4.0, a.1 + p.1 / 4.0));
    let line = format!("N1,report,C0101,井盖,{y},{x},hotline,2026-09-30T16:00:00+08:00,2026-09-30T16:30:00+08:00,110102-sw,,,,,,,,,,0");
    let file = app.dir.path().join("one.csv");
    std::fs::write(
        &file,
        format!(
            "{}\n{line}\n",
            gongzhi_cases::rules::history::HEADER.join(",")
        ),
    )
    .unwrap();
    let out = app.cli(&["import", "cases", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, case) = app.get("/api/v1/cases/N1", Some(&admin)).await;
    // 16:30–17:30 on the 30th, then the holidays, then 6 hours on Thursday 8 October.
    assert_eq!(case["deadlines"]["handle"], "2026-10-08T16:30:00+08:00");
    // Two work days: the 8th, then Friday the 9th.
    assert_eq!(case["deadlines"]["close"], "2026-10-09T16:30:00+08:00");
    assert_eq!(case["status"], "dispatched");
    assert_eq!(case["overdue"], true);
    let (_, overdue) = app.get("/api/v1/cases?overdue=true", Some(&admin)).await;
    assert_eq!(overdue["total"], 1);
}
both!(deadlines_follow_the_imported_calendar);

/// Each case's contribution to the daily counters, computed here from its stored row alone
/// (the rules of issue 3 item 7): (level, Shanghai day, code) → the 11 counts.
fn full_scan(rows: &[Row]) -> BTreeMap<(String, i64, String), [i64; 11]> {
    let day = |ms: i64| (ms + 8 * 3_600_000).div_euclid(86_400_000);
    let mut out: BTreeMap<(String, i64, String), [i64; 11]> = BTreeMap::new();
    for r in rows {
        let int = |c: &str| r.try_get::<Option<i64>, _>(c).unwrap();
        let text = |c: &str| r.try_get::<Option<String>, _>(c).unwrap();
        if text("status").as_deref() == Some("merged") {
            continue;
        }
        let mut add = |at: i64, counts: [i64; 11]| {
            for (level, col) in [
                ("street", "street_code"),
                ("community", "community_code"),
                ("grid", "grid_code"),
                ("unit", "unit_code"),
            ] {
                if let Some(code) = text(col) {
                    let e = out.entry((level.into(), day(at), code)).or_default();
                    for i in 0..11 {
                        e[i] += counts[i];
                    }
                }
            }
        };
        if let (Some(at), Some(contacted)) = (int("callback_at"), int("callback_contacted")) {
            let sat = text("callback_satisfaction");
            add(
                at,
                [
                    1,
                    i64::from(contacted == 1),
                    i64::from(int("callback_resolved") == Some(1)),
                    i64::from(sat.as_deref() == Some("satisfied")),
                    i64::from(sat.as_deref() == Some("basically_satisfied")),
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                ],
            );
        }
        if let Some(at) = int("dispatched_at") {
            let back = int("reported_back_at");
            let closed = int("closed_at");
            let on_time = |t: Option<i64>, d: Option<i64>| {
                i64::from(matches!((t, d), (Some(t), Some(d)) if t <= d))
            };
            add(
                at,
                [
                    0,
                    0,
                    0,
                    0,
                    0,
                    1,
                    i64::from(back.is_some()),
                    on_time(back, int("handle_deadline")),
                    i64::from(closed.is_some()),
                    on_time(closed, int("close_deadline")),
                    i64::from(back.is_some() && r.try_get::<i64, _>("rework_count").unwrap() > 0),
                ],
            );
        }
    }
    out.retain(|_, v| v.iter().any(|x| *x != 0));
    out
}

async fn stored_counters(app: &TestApp) -> BTreeMap<(String, i64, String), [i64; 11]> {
    stored_rows(app, "case_stats_daily", "day").await
}

/// The daily counters' rows summed by calendar month, as the monthly roll-ups should hold them.
fn by_month(
    daily: &BTreeMap<(String, i64, String), [i64; 11]>,
) -> BTreeMap<(String, i64, String), [i64; 11]> {
    let mut out: BTreeMap<(String, i64, String), [i64; 11]> = BTreeMap::new();
    for ((level, day, code), v) in daily {
        let month = gongzhi_cases::rules::stats::month_of(*day);
        let e = out.entry((level.clone(), month, code.clone())).or_default();
        for i in 0..11 {
            e[i] += v[i];
        }
    }
    out.retain(|_, v| v.iter().any(|x| *x != 0));
    out
}

async fn stored_rows(
    app: &TestApp,
    table: &str,
    period: &str,
) -> BTreeMap<(String, i64, String), [i64; 11]> {
    let cols = gongzhi_cases::rules::stats::COUNTER_COLUMNS.join(", ");
    let mut out = BTreeMap::new();
    for r in query(&format!(
        "SELECT level, {period} AS day, code, {cols} FROM {table}"
    ))
    .fetch_all(app.db.pool())
    .await
    .unwrap()
    {
        let mut v = [0i64; 11];
        for (i, c) in gongzhi_cases::rules::stats::COUNTER_COLUMNS
            .iter()
            .enumerate()
        {
            v[i] = r.try_get(*c).unwrap();
        }
        assert!(v.iter().all(|x| *x >= 0), "a counter went negative: {v:?}");
        if v.iter().any(|x| *x != 0) {
            out.insert(
                (
                    r.try_get("level").unwrap(),
                    r.try_get("day").unwrap(),
                    r.try_get("code").unwrap(),
                ),
                v,
            );
        }
    }
    out
}

/// The daily counters behind the rankings equal a full scan of the cases after every kind of
/// write: intake, random walks through the loop (dispatch, return and re-dispatch to another
/// unit, failed verification, close, callbacks, reopen, extensions, merge, cancel), and a
/// history import; and the API's rows equal the scan's rows for the period at every level.
async fn counters_equal_a_full_scan_after_random_writes(backend: Backend) {
    use rand::seq::SliceRandom;
    let d = crate::cases::desk_on(TestApp::spawn(backend).await).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let points = [
        (39.9020, 116.3020),
        (39.9020, 116.3520),
        (39.9100, 116.3300),
    ];
    let mut ids = Vec::new();
    for i in 0..24 {
        let category = ["C0101", "E0503", "E0102"][i % 3];
        let (s, c) = d
            .create(
                &d.operator,
                &crate::cases::new_case(category, points[i % 3]),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    let steps: [(&str, Value); 14] = [
        ("accept", json!({})),
        ("file", json!({})),
        ("dispatch", json!({})),
        ("dispatch", json!({"unit": "110102-cg"})),
        ("sign", json!({})),
        ("contact", json!({"note": "已联系"})),
        ("report_back", json!({"note": "已处置"})),
        ("verify", json!({"passed": false, "note": "未完成"})),
        ("verify", json!({"passed": true})),
        ("close", json!({})),
        ("return", json!({"reason": "不属于本单位"})),
        (
            "extend",
            json!({"until": "2099-01-01T00:00:00+08:00", "reason": "需要采购"}),
        ),
        ("approve_extension", json!({})),
        ("reopen", json!({"reason": "回访不满意"})),
    ];
    let satisfactions = ["satisfied", "basically_satisfied", "dissatisfied"];
    let handler_steps = ["sign", "contact", "report_back", "return", "extend"];
    let mut applied = 0;
    for _round in 0..10 {
        for id in &ids {
            // Each round, each case takes one step: the first allowed of a random order.
            let mut order: Vec<(&str, Value)> = steps.to_vec();
            order.push((
                "call_back",
                json!({"contacted": rng.gen_bool(0.8), "resolved": rng.gen_bool(0.6),
                       "satisfaction": satisfactions.choose(&mut rng).unwrap()}),
            ));
            order.shuffle(&mut rng);
            'step: for (step, body) in order {
                let tokens = if handler_steps.contains(&step) {
                    vec![&d.water, &d.urban]
                } else {
                    vec![&d.dispatcher]
                };
                for token in tokens {
                    let (s, _) = d.act(token, id, step, body.clone()).await;
                    if s == 200 {
                        applied += 1;
                        break 'step;
                    }
                }
            }
        }
    }
    // Merge two open cases into others and cancel one.
    for (dup, into) in [(&ids[0], &ids[3]), (&ids[1], &ids[4])] {
        let _ = d
            .act(&d.dispatcher, dup, "merge", json!({"into": into}))
            .await;
    }
    let _ = d
        .act(&d.dispatcher, &ids[2], "cancel", json!({"reason": "重复"}))
        .await;
    assert!(applied > 150, "the walk took {applied} steps");

    // A history import on top (past months).
    let past = history(60, 9);
    let file = d.app.dir.path().join("history.csv");
    std::fs::write(&file, csv(&past)).unwrap();
    let out = d
        .app
        .cli(&["import", "cases", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let rows = query("SELECT * FROM cases")
        .fetch_all(d.app.db.pool())
        .await
        .unwrap();
    let scan = full_scan(&rows);
    let stored = stored_counters(&d.app).await;
    assert!(
        scan.len() > 20,
        "the scan found {} counter rows",
        scan.len()
    );
    let differ: Vec<_> = scan
        .keys()
        .chain(stored.keys())
        .filter(|k| scan.get(*k) != stored.get(*k))
        .take(10)
        .map(|k| {
            format!(
                "{k:?}: counters {:?}, scan {:?}",
                stored.get(k),
                scan.get(k)
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "the counters differ from a full scan:\n{}",
        differ.join("\n")
    );

    // The monthly roll-ups are the daily counters summed by calendar month.
    assert_eq!(
        stored_rows(&d.app, "case_stats_monthly", "month").await,
        by_month(&scan),
        "the monthly roll-ups differ from a full scan summed by month"
    );

    // The migration's fill from stored cases (what an upgraded database starts with) gives the
    // same counters, and the roll-ups' fill from those the same months.
    query("DELETE FROM case_stats_daily")
        .execute(d.app.db.pool())
        .await
        .unwrap();
    let fill = gongzhi_cases::store::stats::MIGRATION
        .sql
        .split(';')
        .nth(1)
        .unwrap();
    query(fill).execute(d.app.db.pool()).await.unwrap();
    assert_eq!(
        stored_counters(&d.app).await,
        scan,
        "the migration's fill differs from a full scan"
    );
    query("DELETE FROM case_stats_monthly")
        .execute(d.app.db.pool())
        .await
        .unwrap();
    let fill = gongzhi_cases::store::stats::MONTHLY_MIGRATION
        .sql
        .split(';')
        .nth(1)
        .unwrap();
    query(fill).execute(d.app.db.pool()).await.unwrap();
    assert_eq!(
        stored_rows(&d.app, "case_stats_monthly", "month").await,
        by_month(&scan),
        "the roll-ups' migration fill differs from a full scan summed by month"
    );

    // The API's rows for this month and October at every level equal the scan's.
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    for period in [now.format("%Y-%m").to_string(), "2026-10".to_string()] {
        for level in ["street", "community", "grid", "unit"] {
            let (s, api) = d
                .app
                .get(
                    &format!("/api/v1/stats/cases?period={period}&level={level}"),
                    Some(&d.admin),
                )
                .await;
            assert_eq!(s, 200, "{api}");
            let (start, end) = gongzhi_cases::rules::stats::period_bounds(&period, 1).unwrap();
            let day = |ms: i64| (ms + 8 * 3_600_000).div_euclid(86_400_000);
            let mut want: BTreeMap<String, [i64; 11]> = BTreeMap::new();
            for ((l, dday, code), v) in &scan {
                if l == level && *dday >= day(start) && *dday < day(end) {
                    let e = want.entry(code.clone()).or_default();
                    for i in 0..11 {
                        e[i] += v[i];
                    }
                }
            }
            want.retain(|_, v| v[0] > 0 || v[5] > 0);
            let got: BTreeMap<String, [i64; 11]> = api
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let v = gongzhi_cases::rules::stats::COUNTER_COLUMNS
                        .map(|c| r[c].as_i64().unwrap());
                    (r["code"].as_str().unwrap().to_string(), v)
                })
                .collect();
            assert_eq!(got, want, "{period} {level}");
        }
    }
}
both!(counters_equal_a_full_scan_after_random_writes);
