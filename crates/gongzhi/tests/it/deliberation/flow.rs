//! Deliberation through the API on both backends: verification, the topic loop with its
//! refusals, racing votes, micro-project calls recomputed from their Pabulib export,
//! consultations, sortition re-run from its published record, moderation.

use std::sync::Arc;

use gongzhi_core::time::ManualClock;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::*;
use gongzhi_core::db::query;

const COMMUNITY: &str = "110102001001";
const OTHER: &str = "110102001002";
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-12-01T09:00:00+08:00.
const START: i64 = 1_796_086_800_000;

fn at(ms: i64) -> String {
    gongzhi_core::time::format_ms(ms)
}

struct Place {
    app: TestApp,
    clock: Arc<ManualClock>,
    council: String,
}

impl Place {
    async fn new(backend: Backend) -> Place {
        let clock = Arc::new(ManualClock::new(START));
        let app = TestApp::spawn_with_clock(backend, |_| {}, clock.clone()).await;
        let admin = app.admin().await;
        let (s, b) = app
            .post_text(
                "/api/v1/areas/import/divisions",
                Some(&admin),
                "text/csv",
                OTHER_DIVISIONS,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let council = app
            .user_with("council", "council", Some(COMMUNITY), None)
            .await;
        Place {
            app,
            clock,
            council,
        }
    }

    fn now(&self) -> i64 {
        use gongzhi_core::time::Clock;
        self.clock.now_ms()
    }

    /// A resident verified by the council for `place` in `area`.
    async fn resident(&self, name: &str, area: &str, place: &str) -> String {
        let token = self.app.user_with(name, "resident", None, None).await;
        let staff = if area == COMMUNITY {
            self.council.clone()
        } else {
            self.app.admin().await
        };
        let (s, b) = self
            .app
            .post(
                "/api/v1/residents/verifications",
                Some(&staff),
                &json!({"username": name, "area": area, "place": place}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        token
    }

    async fn step(&self, token: &str, topic: &str, action: &str, body: Value) -> (u16, Value) {
        self.app
            .post(
                &format!("/api/v1/topics/{topic}/actions/{action}"),
                Some(token),
                &body,
            )
            .await
    }

    async fn ok(&self, token: &str, topic: &str, action: &str, body: Value) -> Value {
        let (s, b) = self.step(token, topic, action, body).await;
        assert_eq!(s, 200, "{action}: {b}");
        b
    }

    async fn vote(&self, token: &str, topic: &str, choice: &str) -> u16 {
        self.app
            .post(
                &format!("/api/v1/topics/{topic}/votes"),
                Some(token),
                &json!({"choice": choice}),
            )
            .await
            .0
    }
}

async fn inbox_titles(app: &TestApp, token: &str) -> Vec<String> {
    let (s, b) = app.get("/api/v1/me/notifications", Some(token)).await;
    assert_eq!(s, 200);
    b.as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_string())
        .collect()
}

async fn the_topic_loop_with_refusals(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let r1 = p.resident("res-1", COMMUNITY, "和平小区/3号楼").await;
    let r2 = p.resident("res-2", COMMUNITY, "和平小区/5号楼").await;
    let r3 = p.resident("res-3", COMMUNITY, "").await;
    let outsider = p.resident("outsider", OTHER, "").await;
    let unverified = app.user_with("res-4", "resident", None, None).await;

    // One verification per resident; staff of another community may not verify here.
    let (s, _) = app
        .post(
            "/api/v1/residents/verifications",
            Some(&p.council),
            &json!({"username": "res-1", "area": COMMUNITY, "place": ""}),
        )
        .await;
    assert_eq!(s, 409);
    let other_staff = app
        .user_with("gw-other", "grid_worker", Some(OTHER), None)
        .await;
    let (s, _) = app
        .post(
            "/api/v1/residents/verifications",
            Some(&other_staff),
            &json!({"username": "res-4", "area": COMMUNITY}),
        )
        .await;
    assert_eq!(s, 403);

    // Proposing: unverified residents are refused; the level must match the place.
    let topic = json!({"title": "加装电梯", "body": "3号楼老人多，希望加装电梯。", "level": "community", "area": COMMUNITY});
    let (s, _) = app.post("/api/v1/topics", Some(&unverified), &topic).await;
    assert_eq!(s, 403);
    let (s, b) = app
        .post(
            "/api/v1/topics",
            Some(&r1),
            &json!({"title": "x", "body": "y", "level": "building", "area": COMMUNITY, "place": "和平小区"}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let before = app.count("topics").await;
    let (s, b) = app.post("/api/v1/topics", Some(&r1), &topic).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["status"], "proposed");
    assert_eq!(b["proposer_kind"], "resident");
    assert_eq!(app.count("topics").await, before + 1);
    let id = b["id"].as_str().unwrap().to_string();

    // Screening is the council's, from the right state only.
    assert_eq!(p.step(&r1, &id, "accept", json!({})).await.0, 403);
    assert_eq!(p.step(&p.council, &id, "open_vote", json!({})).await.0, 409);
    p.ok(&p.council, &id, "accept", json!({})).await;
    let (s, b) = p.step(&p.council, &id, "accept", json!({})).await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["error"]["code"], "wrong_state", "{b}");
    assert!(inbox_titles(app, &r1)
        .await
        .iter()
        .any(|t| t.contains("议题已受理")));

    // Deliberation: comments with stances and replies; meetings with sign-in and minutes.
    let (s, c) = app
        .post(
            &format!("/api/v1/topics/{id}/comments"),
            Some(&r2),
            &json!({"stance": "for", "body": "支持，出行方便"}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    p.clock.advance_ms(1000);
    let (s, _) = app
        .post(
            &format!("/api/v1/topics/{id}/comments"),
            Some(&r3),
            &json!({"stance": "against", "body": "费用如何分摊？", "parent_id": c["id"]}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .post(
            &format!("/api/v1/topics/{id}/comments"),
            Some(&outsider),
            &json!({"stance": "for", "body": "路过"}),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .post(
            &format!("/api/v1/topics/{id}/comments"),
            Some(&r2),
            &json!({"stance": "maybe", "body": "?"}),
        )
        .await;
    // A value outside a closed set: 422 unknown_value (the error catalogue).
    assert_eq!(s, 422);
    let v = p
        .ok(
            &p.council,
            &id,
            "schedule_meeting",
            json!({"mode": "offline", "starts_at": at(START + DAY), "place": "社区议事厅"}),
        )
        .await;
    let meeting = v["meetings"][0]["id"].as_str().unwrap().to_string();
    p.ok(&r2, &id, "sign_in", json!({"meeting_id": meeting}))
        .await;
    assert_eq!(
        p.step(&r2, &id, "sign_in", json!({"meeting_id": meeting}))
            .await
            .0,
        409
    );
    p.ok(
        &p.council,
        &id,
        "record_minutes",
        json!({"meeting_id": meeting, "minutes": "到会 1 人，同意进入表决。"}),
    )
    .await;

    // The vote: rules checked, fixed at opening with the roll of eligible residents.
    let (s, _) = p
        .step(
            &p.council,
            &id,
            "open_vote",
            json!({"rules": {"quorum": 1.5, "pass_threshold": 0.5, "opens_at": at(START), "closes_at": at(START + DAY), "secret": true}}),
        )
        .await;
    assert_eq!(s, 400);
    let v = p
        .ok(
            &p.council,
            &id,
            "open_vote",
            json!({"rules": {"quorum": 0.5, "pass_threshold": 0.5, "opens_at": at(p.now() - HOUR), "closes_at": at(p.now() + DAY), "secret": true}}),
        )
        .await;
    assert_eq!(v["status"], "voting");
    assert_eq!(v["eligible"], 3);
    p.clock.advance_ms(1000);
    let late = p.resident("late", COMMUNITY, "").await;
    assert_eq!(p.vote(&late, &id, "yes").await, 403, "not on the roll");
    assert_eq!(p.vote(&r1, &id, "yes").await, 201);
    assert_eq!(p.vote(&r1, &id, "no").await, 409, "a second vote");
    assert_eq!(p.vote(&r2, &id, "yes").await, 201);
    assert_eq!(p.vote(&outsider, &id, "yes").await, 403);
    assert_eq!(p.vote(&unverified, &id, "yes").await, 403);
    assert_eq!(p.vote(&r3, &id, "maybe").await, 422, "not a choice");
    assert_eq!(p.vote(&r3, &id, "no").await, 201);
    let (_, v) = app.get(&format!("/api/v1/topics/{id}"), Some(&r1)).await;
    assert_eq!(v["voted"], true);
    assert!(v["tally"].is_null(), "no tally before the close");
    assert_eq!(
        p.step(&p.council, &id, "close_vote", json!({})).await.0,
        409
    );
    p.clock.advance_ms(DAY);
    assert_eq!(p.vote(&r3, &id, "yes").await, 409, "after the close");
    let v = p.ok(&p.council, &id, "close_vote", json!({})).await;
    assert_eq!(v["status"], "decided");
    assert_eq!(v["tally"]["yes"], 2);
    assert_eq!(v["tally"]["no"], 1);
    assert_eq!(v["tally"]["cast"], 3);
    assert_eq!(v["tally"]["passed"], true);
    // A secret ballot keeps who voted apart from what they chose.
    let linked: i64 = query("SELECT COUNT(*) FROM topic_ballots WHERE voter_id IS NOT NULL")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(linked, 0);

    // Publication with an objection period, then execution with tasks.
    assert_eq!(p.step(&p.council, &id, "publish", json!({})).await.0, 400);
    let v = p
        .ok(
            &p.council,
            &id,
            "publish",
            json!({"resolution": "同意加装电梯，费用按楼层分摊。", "objection_days": 7}),
        )
        .await;
    assert_eq!(v["status"], "published");
    assert!(inbox_titles(app, &r3)
        .await
        .iter()
        .any(|t| t.contains("公示")));
    assert_eq!(p.step(&p.council, &id, "execute", json!({})).await.0, 409);
    p.ok(&r3, &id, "object", json!({"note": "分摊比例需再议"}))
        .await;
    assert_eq!(
        p.step(&outsider, &id, "object", json!({"note": "x"}))
            .await
            .0,
        403
    );
    p.clock.advance_ms(8 * DAY);
    assert_eq!(
        p.step(&r3, &id, "object", json!({"note": "too late"}))
            .await
            .0,
        409
    );
    p.ok(&p.council, &id, "execute", json!({})).await;
    assert_eq!(p.step(&p.council, &id, "complete", json!({})).await.0, 409);
    let v = p
        .ok(
            &p.council,
            &id,
            "add_task",
            json!({"title": "电梯招标", "owner": "社区居委会"}),
        )
        .await;
    let task = v["tasks"][0]["id"].as_str().unwrap().to_string();
    // A task may link a case, named by its number: found through the cases module's declared
    // lookup (deliberation reads no cases table); an unknown one is refused.
    let admin = app.admin().await;
    let mut report = crate::cases::new_case("C0101", (0.0, 0.0));
    report.as_object_mut().unwrap().remove("location");
    report["address"] = json!("和平小区5号楼");
    let (s, case) = app.post("/api/v1/cases", Some(&admin), &report).await;
    assert_eq!(s, 201, "{case}");
    let linked = json!({"title": "井盖", "owner": "社区居委会", "case_id": case["number"]});
    let v = p.ok(&p.council, &id, "add_task", linked).await;
    assert_eq!(v["tasks"].as_array().unwrap().len(), 2);
    let linked_task = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "井盖")
        .and_then(|t| t["id"].as_str())
        .unwrap()
        .to_string();
    p.ok(
        &p.council,
        &id,
        "progress",
        json!({"task_id": linked_task, "progress": 100}),
    )
    .await;
    let unknown = json!({"title": "井盖", "owner": "社区居委会", "case_id": "no-such-case"});
    let (_, v) = p.step(&p.council, &id, "add_task", unknown).await;
    assert_eq!(v["error"]["code"], "unknown_case", "{v}");
    assert_eq!(
        p.step(
            &p.council,
            &id,
            "progress",
            json!({"task_id": task, "progress": 101})
        )
        .await
        .0,
        400
    );
    p.ok(
        &p.council,
        &id,
        "progress",
        json!({"task_id": task, "progress": 50}),
    )
    .await;
    assert_eq!(p.step(&p.council, &id, "complete", json!({})).await.0, 409);
    p.ok(
        &p.council,
        &id,
        "progress",
        json!({"task_id": task, "progress": 100, "note": "已完工"}),
    )
    .await;
    let v = p.ok(&p.council, &id, "complete", json!({})).await;
    assert_eq!(v["status"], "done");
    assert_eq!(p.step(&p.council, &id, "accept", json!({})).await.0, 409);
    // Everyone who took part hears the outcome: proposer, commenters, attendees, voters.
    for t in [&r1, &r2, &r3] {
        assert!(inbox_titles(app, t)
            .await
            .iter()
            .any(|t| t.contains("决议已落实")));
    }
    assert!(!inbox_titles(app, &outsider)
        .await
        .iter()
        .any(|t| t.contains("决议")));

    // The whole history is public; names are masked.
    let (s, v) = app.get(&format!("/api/v1/topics/{id}"), None).await;
    assert_eq!(s, 200);
    let steps: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    for want in [
        "propose",
        "accept",
        "schedule_meeting",
        "sign_in",
        "record_minutes",
        "open_vote",
        "close_vote",
        "publish",
        "object",
        "execute",
        "add_task",
        "progress",
        "complete",
    ] {
        assert!(steps.contains(&want), "{want} in {steps:?}");
    }
    assert!(
        !v["history"].to_string().contains("res-"),
        "the history names residents only as residents"
    );
    assert_eq!(v["comments"].as_array().unwrap().len(), 2);
    assert_eq!(v["comments"][1]["parent_id"], v["comments"][0]["id"]);

    // Declining needs a published reason; merging joins another topic.
    let (_, a) = app.post("/api/v1/topics", Some(&r2), &json!({"title": "楼道灯", "body": "5号楼楼道灯坏了", "level": "building", "area": COMMUNITY, "place": "和平小区/5号楼"})).await;
    let (_, b2) = app.post("/api/v1/topics", Some(&r2), &json!({"title": "楼道照明", "body": "同上", "level": "compound", "area": COMMUNITY, "place": "和平小区"})).await;
    let (a, b2) = (a["id"].as_str().unwrap(), b2["id"].as_str().unwrap());
    assert_eq!(p.step(&p.council, a, "decline", json!({})).await.0, 400);
    let v = p.ok(&p.council, b2, "merge", json!({"into": a})).await;
    assert_eq!(v["status"], "merged");
    let v = p
        .ok(
            &p.council,
            a,
            "decline",
            json!({"reason": "属于物业报修，已转诉求办理"}),
        )
        .await;
    assert_eq!(v["decline_reason"], "属于物业报修，已转诉求办理");

    let out = app.cli(&["audit", "verify"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
both!(the_topic_loop_with_refusals);

async fn racing_votes_and_steps_have_one_winner(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let r1 = p.resident("res-1", COMMUNITY, "").await;
    let council2 = app
        .user_with("council2", "council", Some(COMMUNITY), None)
        .await;
    let (_, b) = app
        .post(
            "/api/v1/topics",
            Some(&r1),
            &json!({"title": "t", "body": "b", "level": "community", "area": COMMUNITY}),
        )
        .await;
    let id = b["id"].as_str().unwrap().to_string();
    let (a, b) = tokio::join!(
        p.step(&p.council, &id, "accept", json!({})),
        p.step(&council2, &id, "accept", json!({}))
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [200, 409]);
    p.ok(
        &p.council,
        &id,
        "open_vote",
        json!({"rules": {"quorum": 0.1, "pass_threshold": 0.5, "opens_at": at(p.now()), "closes_at": at(p.now() + DAY), "secret": false}}),
    )
    .await;
    // All eight ballots are in flight together.
    let votes = (0..8)
        .map(|i| Box::pin(p.vote(&r1, &id, if i % 2 == 0 { "yes" } else { "no" })))
        .collect();
    let codes = join_all_boxed(votes).await;
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 7, "{codes:?}");
    assert_eq!(app.count("topic_ballots").await, 1);
    assert_eq!(app.count("topic_voters").await, 1);
}
both!(racing_votes_and_steps_have_one_winner);

async fn join_all_boxed<F: std::future::Future<Output = u16> + Unpin>(mut fs: Vec<F>) -> Vec<u16> {
    let mut done: Vec<Option<u16>> = vec![None; fs.len()];
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in fs.iter_mut().enumerate() {
            if done[i].is_none() {
                match std::pin::Pin::new(f).poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    done.into_iter().map(|d| d.unwrap()).collect()
}

/// An independent greedy approval count straight from a Pabulib file (not the crate's code).
fn greedy_from_pb(pb: &str) -> Vec<String> {
    let mut section = "";
    let mut budget = 0i64;
    let mut costs: Vec<(String, i64)> = Vec::new();
    let mut votes: std::collections::HashMap<String, i64> = Default::default();
    let mut header = false;
    for line in pb.lines() {
        if ["META", "PROJECTS", "VOTES"].contains(&line) {
            section = line;
            header = true;
            continue;
        }
        if header {
            header = false;
            continue;
        }
        let cols: Vec<&str> = line.split(';').collect();
        match section {
            "META" if cols[0] == "budget" => budget = cols[1].parse().unwrap(),
            "PROJECTS" => costs.push((cols[0].into(), cols[1].parse().unwrap())),
            "VOTES" => {
                for p in cols[1].split(',').filter(|s| !s.is_empty()) {
                    *votes.entry(p.into()).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    costs.sort_by(|a, b| {
        let (va, vb) = (votes.get(&a.0).unwrap_or(&0), votes.get(&b.0).unwrap_or(&0));
        vb.cmp(va).then(a.1.cmp(&b.1)).then(a.0.cmp(&b.0))
    });
    let mut left = budget;
    let mut won = Vec::new();
    for (id, cost) in costs {
        if votes.get(&id).copied().unwrap_or(0) > 0 && cost <= left {
            left -= cost;
            won.push(id);
        }
    }
    won
}

async fn micro_project_calls_compute_their_winners(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let mut residents = Vec::new();
    for i in 0..7 {
        residents.push(p.resident(&format!("voter-{i}"), COMMUNITY, "").await);
    }
    let outsider = p.resident("outsider", OTHER, "").await;
    let now = p.now();
    let call = |ballot: &str, rule: &str| {
        json!({"title": format!("2026年民生微实事 {ballot} {rule}"), "area": COMMUNITY, "budget": 100000,
               "ballot": ballot, "max_approvals": 2, "rule": rule, "completion": "add1_then_greedy",
               "proposing_from": at(now - HOUR), "reviewing_from": at(now + DAY), "voting_from": at(now + 2 * DAY),
               "voting_until": at(now + 3 * DAY), "implementing_from": at(now + 4 * DAY)})
    };
    let (s, _) = app
        .post(
            "/api/v1/budgets",
            Some(&residents[0]),
            &call("approval", "greedy"),
        )
        .await;
    assert_eq!(s, 403, "residents do not open calls");
    let mut bad = call("approval", "greedy");
    bad["voting_until"] = json!(at(now));
    assert_eq!(
        app.post("/api/v1/budgets", Some(&p.council), &bad).await.0,
        400
    );
    let (s, g) = app
        .post(
            "/api/v1/budgets",
            Some(&p.council),
            &call("approval", "greedy"),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let (s, m) = app
        .post(
            "/api/v1/budgets",
            Some(&p.council),
            &call("knapsack", "equal_shares"),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let (g, m) = (
        g["id"].as_str().unwrap().to_string(),
        m["id"].as_str().unwrap().to_string(),
    );
    assert_eq!(g.len(), 36);

    // Proposals (verified residents only, within the budget), then reviews.
    let costs = [60000, 30000, 30000, 20000, 90000];
    let mut ids = std::collections::HashMap::new();
    for callid in [&g, &m] {
        for (i, c) in costs.iter().enumerate() {
            let (s, b) = app
                .post(
                    &format!("/api/v1/budgets/{callid}/projects"),
                    Some(&residents[i]),
                    &json!({"title": format!("项目{i}"), "cost_estimate": c}),
                )
                .await;
            assert_eq!(s, 201, "{b}");
            ids.insert((callid.clone(), i), b["id"].as_str().unwrap().to_string());
        }
        assert_eq!(
            app.post(
                &format!("/api/v1/budgets/{callid}/projects"),
                Some(&outsider),
                &json!({"title": "x", "cost_estimate": 1})
            )
            .await
            .0,
            403
        );
        assert_eq!(
            app.post(
                &format!("/api/v1/budgets/{callid}/projects"),
                Some(&residents[0]),
                &json!({"title": "x", "cost_estimate": 100001})
            )
            .await
            .0,
            400
        );
    }
    p.clock.advance_ms(DAY);
    for callid in [&g, &m] {
        assert_eq!(
            app.post(
                &format!("/api/v1/budgets/{callid}/projects"),
                Some(&residents[0]),
                &json!({"title": "late", "cost_estimate": 5})
            )
            .await
            .0,
            409
        );
        for i in 0..4 {
            let pid = &ids[&(callid.clone(), i)];
            let (s, b) = app
                .post(
                    &format!("/api/v1/budgets/{callid}/projects/{pid}/review"),
                    Some(&p.council),
                    &json!({"feasible": true}),
                )
                .await;
            assert_eq!(s, 200, "{b}");
        }
        let pid = &ids[&(callid.clone(), 4)];
        let path = format!("/api/v1/budgets/{callid}/projects/{pid}/review");
        assert_eq!(
            app.post(&path, Some(&p.council), &json!({"feasible": false}))
                .await
                .0,
            400,
            "unfeasible needs a note"
        );
        assert_eq!(
            app.post(
                &path,
                Some(&p.council),
                &json!({"feasible": false, "note": "涉及承重结构，无法实施"})
            )
            .await
            .0,
            200
        );
    }
    assert!(inbox_titles(app, &residents[4])
        .await
        .iter()
        .any(|t| t.contains("项目审核结果")));

    // Ballots: within the rules, once each, eligible residents only.
    p.clock.advance_ms(DAY);
    let ballots: [&[usize]; 7] = [&[0], &[0, 1], &[1, 2], &[1, 2], &[2, 3], &[3], &[0, 3]];
    for callid in [&g, &m] {
        let pid = |i: usize| ids[&(callid.clone(), i)].clone();
        let path = format!("/api/v1/budgets/{callid}/ballots");
        assert_eq!(
            app.post(&path, Some(&residents[0]), &json!({"projects": [pid(4)]}))
                .await
                .0,
            400,
            "unfeasible"
        );
        assert_eq!(
            app.post(&path, Some(&outsider), &json!({"projects": [pid(0)]}))
                .await
                .0,
            403
        );
        if callid == &g {
            assert_eq!(
                app.post(
                    &path,
                    Some(&residents[0]),
                    &json!({"projects": [pid(0), pid(1), pid(2)]})
                )
                .await
                .0,
                400,
                "more than 2"
            );
        } else {
            assert_eq!(
                app.post(
                    &path,
                    Some(&residents[0]),
                    &json!({"projects": [pid(0), pid(1), pid(2)]})
                )
                .await
                .0,
                400,
                "over the budget"
            );
        }
        for (v, b) in ballots.iter().enumerate() {
            let list: Vec<String> = b.iter().map(|i| pid(*i)).collect();
            let (s, body) = app
                .post(&path, Some(&residents[v]), &json!({"projects": list}))
                .await;
            assert_eq!(s, 201, "{body}");
        }
        assert_eq!(
            app.post(&path, Some(&residents[0]), &json!({"projects": [pid(1)]}))
                .await
                .0,
            409,
            "twice"
        );
        assert_eq!(
            app.get(&format!("/api/v1/budgets/{callid}/results"), None)
                .await
                .0,
            409,
            "not before the close"
        );
    }

    p.clock.advance_ms(DAY);
    // Greedy: votes P001 3, P002 3, P003 3, P004 3 — all tied, so by lower cost then id:
    // P004 (20k), P002 (30k), P003 (30k): 80k; P001 (60k) no longer fits.
    let (s, r) = app.get(&format!("/api/v1/budgets/{g}/results"), None).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["winners"], json!(["P004", "P002", "P003"]));
    assert_eq!(r["spent"], 80000);
    let (s, ct, pb) = app
        .get_bytes(&format!("/api/v1/budgets/{g}/export.pb"), None)
        .await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/plain"));
    let pb = String::from_utf8(pb).unwrap();
    assert!(
        !pb.contains("voter-0") && !pb.contains(&ids[&(g.clone(), 0)]),
        "voters and internal ids are not exported"
    );
    let mut independent = greedy_from_pb(&pb);
    let mut ours: Vec<String> = serde_json::from_value(r["winners"].clone()).unwrap();
    independent.sort();
    ours.sort();
    assert_eq!(independent, ours);
    // Equal shares: the crate's parser and rule recompute the same winners from the export.
    let (_, r) = app.get(&format!("/api/v1/budgets/{m}/results"), None).await;
    let (_, _, pb) = app
        .get_bytes(&format!("/api/v1/budgets/{m}/export.pb"), None)
        .await;
    let (budget, projects, ballots) =
        gongzhi_deliberation::pabulib::parse(&String::from_utf8(pb).unwrap()).unwrap();
    let again = gongzhi_deliberation::pb::winners(
        budget,
        &projects,
        &ballots,
        gongzhi_deliberation::pb::Rule::EqualShares {
            completion: gongzhi_deliberation::pb::Completion::Add1ThenGreedy,
        },
    );
    assert_eq!(r["winners"], json!(again.winners));
    assert!(r["projects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| !p["reason"].as_str().unwrap().is_empty()
            && !p["reason_zh"].as_str().unwrap().is_empty()));

    // Implementation with photos, for winners only, once implementing.
    let winner = ids[&(g.clone(), 3)].clone();
    let loser = ids[&(g.clone(), 0)].clone();
    let (s, _) = app
        .post(
            &format!("/api/v1/budgets/{g}/projects/{winner}/progress"),
            Some(&p.council),
            &json!({"progress": 10}),
        )
        .await;
    assert_eq!(s, 409, "not yet implementing");
    p.clock.advance_ms(DAY);
    let (s, up) = app
        .post_bytes(
            "/api/v1/attachments",
            Some(&p.council),
            "image/png",
            PNG.to_vec(),
        )
        .await;
    assert_eq!(s, 201, "{up}");
    let (s, v) = app
        .post(
            &format!("/api/v1/budgets/{g}/projects/{winner}/progress"),
            Some(&p.council),
            &json!({"progress": 40, "note": "已进场施工", "photos": [up["id"]]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let proj = v["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == json!(winner))
        .unwrap()
        .clone();
    assert_eq!(proj["progress"], 40);
    assert_eq!(proj["photos"].as_array().unwrap().len(), 1);
    // A project's photos are public, as its call is: anyone may load them.
    let photo = proj["photos"][0]["url"].as_str().unwrap();
    let (s, _, bytes) = app.get_bytes(photo, None).await;
    assert_eq!((s, bytes.as_slice()), (200, PNG));
    assert_eq!(
        app.post(
            &format!("/api/v1/budgets/{g}/projects/{loser}/progress"),
            Some(&p.council),
            &json!({"progress": 40})
        )
        .await
        .0,
        409
    );
    let (_, list) = app.get("/api/v1/budgets", None).await;
    let rules: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"greedy") && rules.contains(&"equal_shares"));
}
both!(micro_project_calls_compute_their_winners);

async fn consultations_take_one_response_per_verified_resident(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let r1 = p.resident("res-1", COMMUNITY, "和平小区/3号楼").await;
    let r2 = p.resident("res-2", COMMUNITY, "和平小区/5号楼").await;
    let r3 = p.resident("res-3", COMMUNITY, "").await;
    let outsider = p.resident("outsider", OTHER, "").await;
    let now = p.now();
    let body = json!({"title": "小区停车征询", "area": COMMUNITY, "place": "和平小区", "opens_at": at(now - HOUR), "closes_at": at(now + DAY),
        "questions": [
            {"kind": "single", "text": "是否同意划线停车？", "options": ["同意", "不同意"]},
            {"kind": "multiple", "text": "希望的时段", "options": ["早", "中", "晚"]},
            {"kind": "scale", "text": "满意度", "min": 1, "max": 5},
            {"kind": "text", "text": "其他建议"}]});
    assert_eq!(
        app.post("/api/v1/consultations", Some(&r1), &body).await.0,
        403
    );
    let mut bad = body.clone();
    bad["questions"][0]["options"] = json!(["只有一个"]);
    assert_eq!(
        app.post("/api/v1/consultations", Some(&p.council), &bad)
            .await
            .0,
        400
    );
    let (s, c) = app
        .post("/api/v1/consultations", Some(&p.council), &body)
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap();
    let path = format!("/api/v1/consultations/{id}/responses");
    assert_eq!(
        app.post(&path, Some(&r1), &json!({"answers": [5, [0], 3, "x"]}))
            .await
            .0,
        400,
        "no option 5"
    );
    assert_eq!(
        app.post(&path, Some(&r1), &json!({"answers": [0, [0, 0], 3, "x"]}))
            .await
            .0,
        400,
        "repeated option"
    );
    assert_eq!(
        app.post(&path, Some(&r1), &json!({"answers": [0, [0], 9, "x"]}))
            .await
            .0,
        400,
        "off the scale"
    );
    assert_eq!(
        app.post(&path, Some(&r1), &json!({"answers": [0]})).await.0,
        400,
        "too few"
    );
    assert_eq!(app.count("consultation_responses").await, 0);
    assert_eq!(
        app.post(
            &path,
            Some(&r1),
            &json!({"answers": [0, [0, 2], 4, "加装充电桩"]})
        )
        .await
        .0,
        201
    );
    assert_eq!(
        app.post(&path, Some(&r1), &json!({"answers": [1, [], 1, null]}))
            .await
            .0,
        409
    );
    assert_eq!(
        app.post(&path, Some(&r2), &json!({"answers": [1, [2], 2, null]}))
            .await
            .0,
        201
    );
    assert_eq!(
        app.post(&path, Some(&r3), &json!({"answers": [0, [0], 5, null]}))
            .await
            .0,
        403,
        "not of the compound"
    );
    assert_eq!(
        app.post(
            &path,
            Some(&outsider),
            &json!({"answers": [0, [0], 5, null]})
        )
        .await
        .0,
        403
    );
    // Results: the council any time; everyone once closed.
    assert_eq!(
        app.get(&format!("/api/v1/consultations/{id}/results"), Some(&r1))
            .await
            .0,
        403
    );
    let (s, r) = app
        .get(
            &format!("/api/v1/consultations/{id}/results"),
            Some(&p.council),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    // Two answers are fewer than a mixed batch: counted only at the close.
    assert_eq!(r["responses"], 0);
    assert_eq!(r["pending"], 2);
    p.clock.advance_ms(DAY);
    assert_eq!(
        app.post(&path, Some(&r2), &json!({"answers": [0, [0], 5, null]}))
            .await
            .0,
        409,
        "closed"
    );
    let (s, r) = app
        .get(&format!("/api/v1/consultations/{id}/results"), None)
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["responses"], 2);
    assert_eq!(r["pending"], 0);
    assert_eq!(r["questions"][0]["counts"][0]["count"], 1);
    assert_eq!(r["questions"][1]["counts"][2]["count"], 2);
    assert_eq!(r["questions"][2]["mean"], 3.0);
    assert_eq!(r["questions"][3]["texts"], json!(["加装充电桩"]));
    assert!(!r.to_string().contains("res-1") && !r.to_string().contains(r1.as_str()));
}
both!(consultations_take_one_response_per_verified_resident);

async fn sortition_is_published_drawn_and_rerun(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let candidates: Vec<String> = (1..=30).map(|i| format!("居民{i:02} {i}号楼")).collect();
    assert_eq!(app.post("/api/v1/panels", Some(&p.council), &json!({"title": "议事会居民代表", "area": COMMUNITY, "seats": 31, "candidates": candidates})).await.0, 400);
    assert_eq!(
        app.post(
            "/api/v1/panels",
            Some(&p.council),
            &json!({"title": "x", "area": COMMUNITY, "seats": 2, "candidates": ["a", "a"]})
        )
        .await
        .0,
        400
    );
    let (s, panel) = app.post("/api/v1/panels", Some(&p.council), &json!({"title": "议事会居民代表", "area": COMMUNITY, "seats": 7, "candidates": candidates})).await;
    assert_eq!(s, 201, "{panel}");
    assert!(panel["seed"].is_null() && panel["result"].is_null());
    let id = panel["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/panels/{id}/verify"), None)
            .await
            .0,
        409
    );
    let (s, drawn) = app
        .post(
            &format!("/api/v1/panels/{id}/draw"),
            Some(&p.council),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{drawn}");
    assert_eq!(
        drawn["commitment"], panel["commitment"],
        "the commitment never changes"
    );
    assert_eq!(drawn["result"].as_array().unwrap().len(), 7);
    assert_eq!(
        app.post(
            &format!("/api/v1/panels/{id}/draw"),
            Some(&p.council),
            &json!({})
        )
        .await
        .0,
        409
    );
    let (_, verdict) = app.get(&format!("/api/v1/panels/{id}/verify"), None).await;
    assert_eq!(verdict["verified"], true, "{verdict}");
    // Anyone re-runs it from the published record with the CLI; a changed result is caught.
    let (_, record) = app.get(&format!("/api/v1/panels/{id}"), None).await;
    let file = app.dir.path().join("panel.json");
    std::fs::write(&file, record.to_string()).unwrap();
    let out = app.cli(&["sortition", "verify", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut forged = record.clone();
    forged["result"][0] = json!(candidates
        .iter()
        .find(|c| !record["result"].as_array().unwrap().contains(&json!(c)))
        .unwrap());
    std::fs::write(&file, forged.to_string()).unwrap();
    let out = app.cli(&["sortition", "verify", file.to_str().unwrap()], None);
    assert!(!out.status.success());
}
both!(sortition_is_published_drawn_and_rerun);

async fn moderation_hides_on_reports_and_moderators_decide(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let r1 = p.resident("res-1", COMMUNITY, "").await;
    let r2 = p.resident("res-2", COMMUNITY, "").await;
    let r3 = p.resident("res-3", COMMUNITY, "").await;
    let unverified = app.user_with("res-4", "resident", None, None).await;
    let moderator = app
        .user_with("moderator1", "moderator", Some(COMMUNITY), None)
        .await;
    let admin = app.admin().await;
    let (s, _) = app
        .client
        .put(format!("{}/api/v1/moderation/settings", app.url))
        .bearer_auth(&admin)
        .json(&json!({"auto_hide_reports": 2}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(s, 200);
    let (_, t) = app
        .post(
            "/api/v1/topics",
            Some(&r1),
            &json!({"title": "t", "body": "b", "level": "community", "area": COMMUNITY}),
        )
        .await;
    let id = t["id"].as_str().unwrap();
    p.ok(&p.council, id, "accept", json!({})).await;
    let (_, c) = app
        .post(
            &format!("/api/v1/topics/{id}/comments"),
            Some(&r1),
            &json!({"stance": "neutral", "body": "广告：低价装修"}),
        )
        .await;
    let target = format!("comment:{}", c["id"].as_str().unwrap());
    assert_eq!(
        app.post(
            "/api/v1/reports",
            Some(&unverified),
            &json!({"target": target, "reason": "广告"})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        app.post(
            "/api/v1/reports",
            Some(&r2),
            &json!({"target": "comment:nope", "reason": "广告"})
        )
        .await
        .0,
        404
    );
    let (s, o) = app
        .post(
            "/api/v1/reports",
            Some(&r2),
            &json!({"target": target, "reason": "广告"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(o["hidden"], false);
    assert_eq!(
        app.post(
            "/api/v1/reports",
            Some(&r2),
            &json!({"target": target, "reason": "广告"})
        )
        .await
        .0,
        409
    );
    let (_, o) = app
        .post(
            "/api/v1/reports",
            Some(&r3),
            &json!({"target": target, "reason": "广告"}),
        )
        .await;
    assert_eq!(o["hidden"], true, "hidden at the threshold");
    let (_, v) = app.get(&format!("/api/v1/topics/{id}"), Some(&r3)).await;
    assert_eq!(v["comments"][0]["hidden"], true);
    assert_eq!(v["comments"][0]["body"], "");
    assert!(v["comments"][0]["hidden_reason"]
        .as_str()
        .unwrap()
        .contains("举报"));
    let (s, q) = app
        .get(
            &format!("/api/v1/moderation/queue?area={COMMUNITY}"),
            Some(&moderator),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(q[0]["open_reports"], 2);
    assert_eq!(
        app.post(
            "/api/v1/moderation/restore",
            Some(&r1),
            &json!({"target": target, "reason": "x"})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        app.post(
            "/api/v1/moderation/restore",
            Some(&moderator),
            &json!({"target": target, "reason": "经核实不是广告"})
        )
        .await
        .0,
        200
    );
    let (_, v) = app.get(&format!("/api/v1/topics/{id}"), Some(&r3)).await;
    assert_eq!(v["comments"][0]["hidden"], false);
    assert_eq!(v["comments"][0]["body"], "广告：低价装修");
    let (_, q) = app
        .get(
            &format!("/api/v1/moderation/queue?area={COMMUNITY}"),
            Some(&moderator),
        )
        .await;
    assert_eq!(q.as_array().unwrap().len(), 0, "the reports were rejected");
    assert_eq!(
        app.post(
            "/api/v1/moderation/hide",
            Some(&moderator),
            &json!({"target": format!("topic:{id}"), "reason": "含个人信息"})
        )
        .await
        .0,
        200
    );
    let (_, v) = app.get(&format!("/api/v1/topics/{id}"), None).await;
    assert_eq!(v["hidden"], true);
    assert_eq!(v["body"], "");
    assert_eq!(v["hidden_reason"], "含个人信息");
}
both!(moderation_hides_on_reports_and_moderators_decide);

async fn codes_verify_in_person_and_revocation_ends_taking_part(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let resident = app.user_with("res-1", "resident", None, None).await;
    let other = app.user_with("res-2", "resident", None, None).await;
    assert_eq!(
        app.post(
            "/api/v1/residents/codes",
            Some(&resident),
            &json!({"area": COMMUNITY, "count": 1})
        )
        .await
        .0,
        403
    );
    let (s, codes) = app
        .post(
            "/api/v1/residents/codes",
            Some(&p.council),
            &json!({"area": COMMUNITY, "place": "和平小区/3号楼", "count": 2}),
        )
        .await;
    assert_eq!(s, 201, "{codes}");
    let code = codes["codes"][0].as_str().unwrap();
    assert_eq!(
        app.post(
            "/api/v1/residents/redeem",
            Some(&resident),
            &json!({"code": "WRONGCODE1"})
        )
        .await
        .0,
        409
    );
    let (s, v) = app
        .post(
            "/api/v1/residents/redeem",
            Some(&resident),
            &json!({"code": code.to_lowercase()}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["method"], "code");
    assert_eq!(v["place"], "和平小区/3号楼");
    assert_eq!(
        app.post(
            "/api/v1/residents/redeem",
            Some(&other),
            &json!({"code": code})
        )
        .await
        .0,
        409,
        "used once"
    );
    let (_, mine) = app.get("/api/v1/me/verification", Some(&resident)).await;
    assert_eq!(mine["area"], COMMUNITY);
    let (s, _) = app.post("/api/v1/topics", Some(&resident), &json!({"title": "t", "body": "b", "level": "building", "area": COMMUNITY, "place": "和平小区/3号楼"})).await;
    assert_eq!(s, 201);
    let vid = v["id"].as_str().unwrap();
    assert_eq!(
        app.post(
            &format!("/api/v1/residents/verifications/{vid}/revoke"),
            Some(&p.council),
            &json!({"reason": ""})
        )
        .await
        .0,
        400
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/residents/verifications/{vid}/revoke"),
            Some(&p.council),
            &json!({"reason": "已搬离"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/residents/verifications/{vid}/revoke"),
            Some(&p.council),
            &json!({"reason": "again"})
        )
        .await
        .0,
        409
    );
    let (s, _) = app
        .post(
            "/api/v1/topics",
            Some(&resident),
            &json!({"title": "t", "body": "b", "level": "community", "area": COMMUNITY}),
        )
        .await;
    assert_eq!(s, 403, "revoked residents no longer take part");
    let (_, list) = app
        .get(
            &format!("/api/v1/residents/verifications?area={COMMUNITY}"),
            Some(&p.council),
        )
        .await;
    assert_eq!(list[0]["revoke_reason"], "已搬离");
    // Absurd pages are refused, not overflowed (the kind of input schemathesis sends).
    assert_eq!(
        app.get("/api/v1/topics?page=9223372036854775807", None)
            .await
            .0,
        400
    );
    assert_eq!(app.get("/api/v1/topics?page=0", None).await.0, 400);
}
both!(codes_verify_in_person_and_revocation_ends_taking_part);

/// Closed sets (a call's ballot, rule and completion, a question's kind, a meeting's mode, a
/// status filter) are parsed at the edge: an unknown value is 422 `unknown_value`, naming the
/// values allowed, and nothing is written; the known ones are stored as the text they always
/// were.
async fn unknown_values_of_closed_sets_are_refused_and_change_nothing(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let now = p.now();
    let call = json!({"title": "微实事", "area": COMMUNITY, "budget": 100000, "ballot": "approval",
        "max_approvals": 2, "rule": "equal_shares", "completion": "add1",
        "proposing_from": at(now - HOUR), "reviewing_from": at(now + DAY), "voting_from": at(now + 2 * DAY),
        "voting_until": at(now + 3 * DAY), "implementing_from": at(now + 4 * DAY)});
    for (field, value) in [
        ("ballot", "lottery"),
        ("rule", "coin_toss"),
        ("completion", "all"),
    ] {
        let mut bad = call.clone();
        bad[field] = json!(value);
        let (s, b) = app.post("/api/v1/budgets", Some(&p.council), &bad).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (422, Some("unknown_value")),
            "{field}: {b}"
        );
        assert!(
            b["error"]["message"].as_str().unwrap().contains(field),
            "{b}"
        );
    }
    assert_eq!(app.count("budget_calls").await, 0, "nothing was written");
    let (s, c) = app.post("/api/v1/budgets", Some(&p.council), &call).await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(
        (
            c["ballot"].as_str(),
            c["rule"].as_str(),
            c["completion"].as_str(),
            c["phase"].as_str()
        ),
        (
            Some("approval"),
            Some("equal_shares"),
            Some("add1"),
            Some("proposing")
        ),
        "{c}"
    );

    let consultation = json!({"title": "征询", "area": COMMUNITY, "opens_at": at(now), "closes_at": at(now + DAY),
        "questions": [{"kind": "ranking", "text": "?", "options": ["a", "b"]}]});
    let (s, b) = app
        .post("/api/v1/consultations", Some(&p.council), &consultation)
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("unknown_value")),
        "{b}"
    );
    assert_eq!(app.count("consultations").await, 0);

    let (s, b) = app.get("/api/v1/topics?status=pondering", None).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("unknown_value")),
        "{b}"
    );

    let r1 = p.resident("res-closed", COMMUNITY, "").await;
    let (s, t) = app
        .post("/api/v1/topics", Some(&r1), &json!({"title": "加装电梯", "body": "议一议", "level": "community", "area": COMMUNITY}))
        .await;
    assert_eq!(s, 201, "{t}");
    let id = t["id"].as_str().unwrap();
    p.ok(&p.council, id, "accept", json!({})).await;
    let (s, b) = p
        .step(
            &p.council,
            id,
            "schedule_meeting",
            json!({"mode": "hologram", "starts_at": at(now + DAY), "place": "议事厅"}),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (422, Some("unknown_value")),
        "{b}"
    );
    assert_eq!(app.count("topic_meetings").await, 0);
    let (_, v) = app.get(&format!("/api/v1/topics/{id}"), None).await;
    assert_eq!(
        (
            v["status"].as_str(),
            v["level"].as_str(),
            v["proposer_kind"].as_str()
        ),
        (Some("deliberating"), Some("community"), Some("resident")),
        "{v}"
    );
}
both!(unknown_values_of_closed_sets_are_refused_and_change_nothing);
