//! Security regressions: deliberation (issue 13 #8). Secret ballots, micro-project ballots and
//! consultation answers are cast one by one through the API, then the database is read
//! directly, by every ordering handle it has (SQLite rowid; PostgreSQL ctid and xmin): nothing
//! stored links a counted ballot to its voter — not its position, not its transaction.

use std::sync::Arc;

use gongzhi_core::db::Backend as DbBackend;
use gongzhi_core::time::{Clock, ManualClock};
use rand::Rng;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::*;
use gongzhi_core::db::{query, Row};

const COMMUNITY: &str = "110102001001";
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-12-01T09:00:00+08:00.
const START: i64 = 1_796_086_800_000;
const VOTERS: usize = 30;

fn at(ms: i64) -> String {
    gongzhi_core::time::format_ms(ms)
}

struct Place {
    app: TestApp,
    clock: Arc<ManualClock>,
    council: String,
    voters: Vec<String>,
}

impl Place {
    /// A community with its council and `VOTERS` residents verified for it.
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
        let mut voters = Vec::new();
        for i in 0..VOTERS {
            let name = format!("voter-{i:02}");
            voters.push(app.user_with(&name, "resident", None, None).await);
            let (s, b) = app
                .post(
                    "/api/v1/residents/verifications",
                    Some(&council),
                    &json!({"username": name, "area": COMMUNITY, "place": ""}),
                )
                .await;
            assert_eq!(s, 201, "{b}");
        }
        Place {
            app,
            clock,
            council,
            voters,
        }
    }

    async fn rows(&self, sql: &str, bind: &str) -> Vec<Row> {
        query(sql)
            .bind(bind.to_string())
            .fetch_all(self.app.db.pool())
            .await
            .unwrap()
    }

    /// `content` of `table`'s rows for `owner`, in storage order (rowid or ctid).
    async fn stored_order(&self, table: &str, owner: &str, content: &str, id: &str) -> Vec<String> {
        let order = match self.app.db.backend() {
            DbBackend::Sqlite => "rowid",
            DbBackend::Postgres => "ctid",
        };
        self.rows(
            &format!("SELECT {content} FROM {table} WHERE {owner} = $1 ORDER BY {order}"),
            id,
        )
        .await
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
    }

    /// PostgreSQL: the inserting transaction of each row of `table` matching `filter`.
    async fn xmins(&self, table: &str, filter: &str, bind: &str) -> Vec<String> {
        self.rows(
            &format!("SELECT xmin::text FROM {table} WHERE {filter}"),
            bind,
        )
        .await
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
    }

    async fn columns(&self, table: &str) -> Vec<String> {
        let sql = match self.app.db.backend() {
            DbBackend::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY name",
            DbBackend::Postgres => "SELECT column_name::text FROM information_schema.columns WHERE table_name = $1 ORDER BY column_name",
        };
        self.rows(sql, table)
            .await
            .iter()
            .map(|r| r.try_get::<String, _>(0).unwrap())
            .collect()
    }

    /// Voter `i` answers consultation `id`, a minute after the last one; each answer is
    /// unique, so the test can tell whose it is.
    async fn respond(&self, id: &str, i: usize) {
        self.clock.advance_ms(60_000);
        let (s, b) = self
            .app
            .post(
                &format!("/api/v1/consultations/{id}/responses"),
                Some(&self.voters[i]),
                &json!({"answers": [i % 2, format!("建议-{i:02}")]}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }

    /// Voter 0 sends eight requests and every other voter one, all in flight together; the
    /// statuses, voter 0's first.
    async fn race(&self, path: &str, body: impl Fn(usize) -> Value) -> Vec<u16> {
        let mut calls = Vec::new();
        for i in 0..8 {
            calls.push((self.voters[0].clone(), body(i)));
        }
        for (i, v) in self.voters[1..].iter().enumerate() {
            calls.push((v.clone(), body(i)));
        }
        let handles: Vec<_> = calls
            .into_iter()
            .map(|(token, body)| {
                let (client, url) = (self.app.client.clone(), format!("{}{path}", self.app.url));
                tokio::spawn(async move {
                    client
                        .post(url)
                        .bearer_auth(token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let mut codes = Vec::new();
        for h in handles {
            codes.push(h.await.unwrap());
        }
        codes
    }

    async fn set_batch(&self, k: i64) {
        let admin = self.app.admin().await;
        let mut req = self
            .app
            .client
            .put(format!("{}/api/v1/deliberation/settings", self.app.url))
            .json(&json!({"ballot_batch": k}));
        req = req.bearer_auth(&admin);
        let (s, b) = answer(req).await;
        assert_eq!(s, 200, "{b}");
    }
}

/// Kendall's tau of a sequence against 0, 1, 2, …: ±1 when stored in (reverse) voting order.
fn kendall(ranks: &[usize]) -> f64 {
    let n = ranks.len();
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            s += (ranks[j] as i64 - ranks[i] as i64).signum();
        }
    }
    s as f64 / (n * (n - 1) / 2) as f64
}

/// Pearson correlation of two equally long sequences of numbers.
fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

async fn secret_ballots_are_not_linked_to_voters_by_storage(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let (s, t) = app
        .post(
            "/api/v1/topics",
            Some(&p.council),
            &json!({"title": "加装电梯", "body": "表决", "level": "community", "area": COMMUNITY}),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let id = t["id"].as_str().unwrap().to_string();
    let act = |action: &'static str, body: Value| {
        let (app, id, council) = (&p.app, id.clone(), p.council.clone());
        async move {
            app.post(
                &format!("/api/v1/topics/{id}/actions/{action}"),
                Some(&council),
                &body,
            )
            .await
        }
    };
    assert_eq!(act("accept", json!({})).await.0, 200);
    let now = p.clock.now_ms();
    let (s, b) = act("open_vote", json!({"rules": {"quorum": 0.5, "pass_threshold": 0.5, "opens_at": at(now - HOUR), "closes_at": at(now + DAY), "secret": true}})).await;
    assert_eq!(s, 200, "{b}");

    // Thirty residents vote one by one, each at their own moment.
    let mut rng = rand::thread_rng();
    let choices = ["yes", "no", "abstain"];
    let mut cast = Vec::new();
    for v in &p.voters {
        p.clock.advance_ms(60_000);
        let c = choices[rng.gen_range(0..3)];
        let (s, b) = app
            .post(
                &format!("/api/v1/topics/{id}/votes"),
                Some(v),
                &json!({"choice": c}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        cast.push(c);
    }
    let (s, b) = app
        .post(
            &format!("/api/v1/topics/{id}/votes"),
            Some(&p.voters[0]),
            &json!({"choice": "yes"}),
        )
        .await;
    assert_eq!(s, 409, "a second ballot: {b}");
    assert_eq!(b["error"]["code"], "already_voted", "{b}");

    // While the vote is open nothing is counted, and the pool holds only ciphertext.
    assert_eq!(app.count("topic_ballots").await, 0);
    let pooled = p
        .rows(
            "SELECT sealed FROM ballot_pool WHERE box = $1",
            &format!("topic:{id}"),
        )
        .await;
    assert_eq!(pooled.len(), VOTERS);
    let other_key = gongzhi_core::privacy::Sealer::from_key(&[7; 32]);
    let mut ciphertexts = Vec::new();
    for r in &pooled {
        let s: String = r.try_get(0).unwrap();
        ciphertexts.push(s.clone());
        assert!(
            other_key.open(&s).is_err(),
            "sealed with the server's key only"
        );
        // Opened with it, a pooled ballot names its box and choice, never the voter.
        let v: Value = serde_json::from_str(&app.sealer.open(&s).unwrap()).unwrap();
        let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["ballot", "box"]);
    }
    let (_, v) = app.get(&format!("/api/v1/topics/{id}"), None).await;
    assert!(v["tally"].is_null(), "no interim tally: {v}");

    p.clock.advance_ms(DAY);
    let (s, v) = act("close_vote", json!({})).await;
    assert_eq!(s, 200, "{v}");
    let n = |c: &str| cast.iter().filter(|x| **x == c).count();
    assert_eq!(v["tally"]["cast"], VOTERS);
    assert_eq!(v["tally"]["yes"], n("yes"));
    assert_eq!(v["tally"]["no"], n("no"));
    assert_eq!(v["tally"]["abstain"], n("abstain"));
    assert_eq!(app.count("ballot_pool").await, 0, "the pool is drained");
    if app.db.backend() == DbBackend::Sqlite {
        // Deleted from the pool, the ciphertext is zeroed too (secure_delete): once the WAL is
        // checkpointed into it, the database file holds none of it.
        let r = query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(r.try_get::<i64, _>(0).unwrap(), 0, "checkpoint not blocked");
        let file = std::fs::read(app.dir.path().join("gongzhi.db")).unwrap();
        let wal = std::fs::read(app.dir.path().join("gongzhi.db-wal")).unwrap_or_default();
        for c in &ciphertexts {
            let needle = &c.as_bytes()[3..40];
            let found = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
            assert!(
                !found(&file) && !found(&wal),
                "a pooled ballot's ciphertext is still in the file"
            );
        }
    }

    // A counted ballot has nothing but its topic and choice: no id, no time, no voter.
    assert_eq!(
        p.columns("topic_ballots").await,
        ["choice", "topic_id", "voter_id"]
    );
    let named: i64 = p
        .rows(
            "SELECT COUNT(*) FROM topic_ballots WHERE topic_id = $1 AND voter_id IS NOT NULL",
            &id,
        )
        .await[0]
        .try_get(0)
        .unwrap();
    assert_eq!(named, 0);
    // In storage order the choices no longer follow the voting order (before the fix they were
    // the same sequence: correlation 1).
    let stored = p
        .stored_order("topic_ballots", "topic_id", "choice", &id)
        .await;
    assert_eq!(stored.len(), VOTERS);
    let code = |c: &str| choices.iter().position(|x| *x == c).unwrap() as f64;
    let a: Vec<f64> = cast.iter().map(|c| code(c)).collect();
    let b: Vec<f64> = stored.iter().map(|c| code(c)).collect();
    if a.iter().any(|x| *x != a[0]) {
        let r = pearson(&a, &b);
        assert!(r.abs() < 0.8, "storage order follows voting order: r = {r}");
    }
    if app.db.backend() == DbBackend::Postgres {
        // Every ballot was written by one transaction (the close), which wrote no voter row
        // and no voter's audit entry.
        let ballots = p.xmins("topic_ballots", "topic_id = $1", &id).await;
        let mut one = ballots.clone();
        one.dedup();
        assert_eq!(one.len(), 1, "one mixing transaction: {ballots:?}");
        let voters = p.xmins("topic_voters", "topic_id = $1", &id).await;
        let audit = p.xmins("audit_log", "action = $1", "topic.vote").await;
        assert_eq!(voters.len(), VOTERS);
        assert_eq!(audit.len(), VOTERS);
        assert!(
            !voters.contains(&one[0]) && !audit.contains(&one[0]),
            "a ballot shares its transaction with a voter"
        );
    }
    let out = app.cli(&["audit", "verify"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
both!(secret_ballots_are_not_linked_to_voters_by_storage);

async fn consultation_answers_are_mixed_before_anyone_counts_them(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let consultation = |title: &str| {
        let now = p.clock.now_ms();
        json!({"title": title, "area": COMMUNITY, "opens_at": at(now - HOUR), "closes_at": at(now + DAY),
            "questions": [{"kind": "single", "text": "是否同意？", "options": ["同意", "不同意"]},
                          {"kind": "text", "text": "建议"}]})
    };
    let whose = |stored: &[String]| -> Vec<usize> {
        stored
            .iter()
            .map(|a| {
                let v: Value = serde_json::from_str(a).unwrap();
                v[1].as_str().unwrap()["建议-".len()..].parse().unwrap()
            })
            .collect()
    };

    // One batch (fewer than 2k answers): all mixed together at the close.
    let (s, c) = app
        .post(
            "/api/v1/consultations",
            Some(&p.council),
            &consultation("停车"),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    for i in 0..VOTERS {
        p.respond(&id, i).await;
    }
    let results = format!("/api/v1/consultations/{id}/results");
    let (s, r) = app.get(&results, Some(&p.council)).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["responses"], 0,
        "nothing counted before a batch is mixed: {r}"
    );
    assert_eq!(r["pending"], VOTERS);
    assert_eq!(r["batch"], 20);
    let (_, view) = app.get(&format!("/api/v1/consultations/{id}"), None).await;
    assert_eq!(view["responses"], VOTERS, "who answered is counted at once");
    p.clock.advance_ms(DAY);
    let (s, r) = app.get(&results, None).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["responses"], VOTERS);
    assert_eq!(r["pending"], 0);
    assert_eq!(r["questions"][0]["counts"][0]["count"], VOTERS / 2);
    assert_eq!(
        p.columns("consultation_responses").await,
        ["answers", "consultation_id"]
    );
    let stored = p
        .stored_order("consultation_responses", "consultation_id", "answers", &id)
        .await;
    let ranks = whose(&stored);
    let mut sorted = ranks.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        (0..VOTERS).collect::<Vec<_>>(),
        "every answer, once"
    );
    let tau = kendall(&ranks);
    assert!(
        tau.abs() < 0.6,
        "storage order follows answering order: tau = {tau}, {ranks:?}"
    );
    if app.db.backend() == DbBackend::Postgres {
        let mut one = p
            .xmins("consultation_responses", "consultation_id = $1", &id)
            .await;
        one.dedup();
        assert_eq!(one.len(), 1, "one mixing transaction");
        let who = p
            .xmins("consultation_respondents", "consultation_id = $1", &id)
            .await;
        let audit = p
            .xmins("audit_log", "action = $1", "consultation.respond")
            .await;
        assert!(!who.contains(&one[0]) && !audit.contains(&one[0]));
    }

    // Batches of k = 5 while open: the council's figures move only by whole batches, and
    // every batch was written by a transaction of its own, with at least k answers.
    p.set_batch(5).await;
    let (_, c) = app
        .post(
            "/api/v1/consultations",
            Some(&p.council),
            &consultation("绿化"),
        )
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let results = format!("/api/v1/consultations/{id}/results");
    let mut seen = vec![0i64];
    for i in 0..VOTERS {
        p.respond(&id, i).await;
        let (_, r) = app.get(&results, Some(&p.council)).await;
        assert_eq!(r["batch"], 5);
        assert!(r["pending"].as_i64().unwrap() < 10, "{r}");
        let counted = r["responses"].as_i64().unwrap();
        assert_eq!(counted + r["pending"].as_i64().unwrap(), i as i64 + 1);
        if counted != *seen.last().unwrap() {
            assert!(
                counted - seen.last().unwrap() >= 5,
                "a batch under k: {seen:?} → {counted}"
            );
            seen.push(counted);
        }
    }
    assert_eq!(seen, [0, 5, 10, 15, 20, 25]);
    p.clock.advance_ms(DAY);
    let (_, r) = app.get(&results, None).await;
    assert_eq!(r["responses"], VOTERS);
    let stored = p
        .stored_order("consultation_responses", "consultation_id", "answers", &id)
        .await;
    assert_eq!(stored.len(), VOTERS);
    if app.db.backend() == DbBackend::Postgres {
        let xs = p
            .xmins("consultation_responses", "consultation_id = $1", &id)
            .await;
        let mut batches: std::collections::HashMap<&String, usize> = Default::default();
        for x in &xs {
            *batches.entry(x).or_default() += 1;
        }
        assert_eq!(batches.len(), 6, "{batches:?}");
        assert!(batches.values().all(|n| *n >= 5), "{batches:?}");
        let who = p
            .xmins("consultation_respondents", "consultation_id = $1", &id)
            .await;
        let audit = p
            .xmins("audit_log", "action = $1", "consultation.respond")
            .await;
        assert!(batches
            .keys()
            .all(|x| !who.contains(x) && !audit.contains(x)));
    }
    let out = app.cli(&["audit", "verify"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
both!(consultation_answers_are_mixed_before_anyone_counts_them);

async fn micro_project_ballots_name_no_voter_and_keep_no_order(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let now = p.clock.now_ms();
    let (s, call) = app
        .post(
            "/api/v1/budgets",
            Some(&p.council),
            &json!({"title": "微实事", "area": COMMUNITY, "budget": 100000, "ballot": "approval", "max_approvals": 2,
                "rule": "greedy", "proposing_from": at(now - HOUR), "reviewing_from": at(now + DAY),
                "voting_from": at(now + 2 * DAY), "voting_until": at(now + 3 * DAY), "implementing_from": at(now + 4 * DAY)}),
        )
        .await;
    assert_eq!(s, 201, "{call}");
    let id = call["id"].as_str().unwrap().to_string();
    let mut projects = Vec::new();
    for i in 0..4 {
        let (s, b) = app
            .post(
                &format!("/api/v1/budgets/{id}/projects"),
                Some(&p.voters[i]),
                &json!({"title": format!("项目{i}"), "cost_estimate": 20000 + i * 1000}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        projects.push(b["id"].as_str().unwrap().to_string());
    }
    p.clock.advance_ms(DAY);
    for pid in &projects {
        let (s, b) = app
            .post(
                &format!("/api/v1/budgets/{id}/projects/{pid}/review"),
                Some(&p.council),
                &json!({"feasible": true}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    p.clock.advance_ms(DAY);
    let mut rng = rand::thread_rng();
    let mut votes = [0usize; 4];
    for v in &p.voters {
        p.clock.advance_ms(60_000);
        let pick = rng.gen_range(0..4);
        votes[pick] += 1;
        let (s, b) = app
            .post(
                &format!("/api/v1/budgets/{id}/ballots"),
                Some(v),
                &json!({"projects": [projects[pick]]}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    let (s, _) = app
        .post(
            &format!("/api/v1/budgets/{id}/ballots"),
            Some(&p.voters[0]),
            &json!({"projects": [projects[0]]}),
        )
        .await;
    assert_eq!(s, 409, "a second ballot");
    assert_eq!(
        app.count("budget_ballots").await,
        0,
        "nothing counted while voting"
    );
    assert_eq!(app.count("budget_voters").await, VOTERS as i64);
    let (_, c) = app
        .get(&format!("/api/v1/budgets/{id}"), Some(&p.voters[0]))
        .await;
    assert_eq!(c["ballots"], VOTERS);
    assert_eq!(c["voted"], true);

    p.clock.advance_ms(DAY);
    let (s, r) = app
        .get(&format!("/api/v1/budgets/{id}/results"), None)
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["ballots"], VOTERS);
    for (i, pr) in r["projects"].as_array().unwrap().iter().enumerate() {
        assert_eq!(pr["votes"], votes[i], "{r}");
    }
    assert_eq!(p.columns("budget_ballots").await, ["call_id", "projects"]);
    assert_eq!(app.count("ballot_pool").await, 0);
    if app.db.backend() == DbBackend::Postgres {
        let mut one = p.xmins("budget_ballots", "call_id = $1", &id).await;
        one.dedup();
        assert_eq!(one.len(), 1, "one mixing transaction");
        let who = p.xmins("budget_voters", "call_id = $1", &id).await;
        let audit = p.xmins("audit_log", "action = $1", "budget.ballot").await;
        assert!(!who.contains(&one[0]) && !audit.contains(&one[0]));
    }
    let (s, _, pb) = app
        .get_bytes(&format!("/api/v1/budgets/{id}/export.pb"), None)
        .await;
    assert_eq!(s, 200);
    assert!(!String::from_utf8(pb).unwrap().contains("voter-"));
}
both!(micro_project_ballots_name_no_voter_and_keep_no_order);

async fn racing_ballots_and_answers_have_one_winner_and_count_once(backend: Backend) {
    let p = Place::new(backend).await;
    let app = &p.app;
    let (_, t) = app
        .post(
            "/api/v1/topics",
            Some(&p.council),
            &json!({"title": "t", "body": "b", "level": "community", "area": COMMUNITY}),
        )
        .await;
    let id = t["id"].as_str().unwrap().to_string();
    let step = |action: &'static str, body: Value| {
        let (id, council) = (id.clone(), p.council.clone());
        async move {
            app.post(
                &format!("/api/v1/topics/{id}/actions/{action}"),
                Some(&council),
                &body,
            )
            .await
            .0
        }
    };
    assert_eq!(step("accept", json!({})).await, 200);
    let now = p.clock.now_ms();
    assert_eq!(step("open_vote", json!({"rules": {"quorum": 0.1, "pass_threshold": 0.5, "opens_at": at(now), "closes_at": at(now + DAY), "secret": true}})).await, 200);
    // One voter's eight ballots and every other voter's one, all in flight together.
    let codes = p
        .race(
            &format!("/api/v1/topics/{id}/votes"),
            |i| json!({"choice": if i % 2 == 0 { "yes" } else { "no" }}),
        )
        .await;
    assert_eq!(
        codes[..8].iter().filter(|c| **c == 201).count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes[..8].iter().filter(|c| **c == 409).count(),
        7,
        "{codes:?}"
    );
    assert!(codes[8..].iter().all(|c| *c == 201), "{codes:?}");

    // Consultation answers in small batches, so mixes race with answers and each other.
    p.set_batch(5).await;
    let (_, c) = app
        .post(
            "/api/v1/consultations",
            Some(&p.council),
            &json!({"title": "征询", "area": COMMUNITY, "opens_at": at(now - HOUR), "closes_at": at(now + DAY),
                "questions": [{"kind": "single", "text": "同意吗？", "options": ["同意", "不同意"]}]}),
        )
        .await;
    let consultation = c["id"].as_str().unwrap().to_string();
    let codes = p
        .race(
            &format!("/api/v1/consultations/{consultation}/responses"),
            |i| json!({"answers": [i % 2]}),
        )
        .await;
    assert_eq!(
        codes[..8].iter().filter(|c| **c == 201).count(),
        1,
        "{codes:?}"
    );
    assert!(codes[8..].iter().all(|c| *c == 201), "{codes:?}");
    let (_, r) = app
        .get(
            &format!("/api/v1/consultations/{consultation}/results"),
            Some(&p.council),
        )
        .await;
    let (counted, pending) = (
        r["responses"].as_i64().unwrap(),
        r["pending"].as_i64().unwrap(),
    );
    assert_eq!(counted + pending, VOTERS as i64, "{r}");
    assert_eq!(counted % 5, 0, "whole batches only: {r}");
    if app.db.backend() == DbBackend::Postgres {
        let mut batches: std::collections::HashMap<String, usize> = Default::default();
        for x in p
            .xmins(
                "consultation_responses",
                "consultation_id = $1",
                &consultation,
            )
            .await
        {
            *batches.entry(x).or_default() += 1;
        }
        assert!(
            batches.values().all(|n| *n == 5),
            "batches of k while open: {batches:?}"
        );
    }
    p.clock.advance_ms(DAY);
    let (_, r) = app
        .get(
            &format!("/api/v1/consultations/{consultation}/results"),
            None,
        )
        .await;
    assert_eq!(
        r["responses"], VOTERS,
        "every answer counted exactly once: {r}"
    );
    let (s, v) = app
        .post(
            &format!("/api/v1/topics/{id}/actions/close_vote"),
            Some(&p.council),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["tally"]["cast"], VOTERS,
        "every ballot counted exactly once"
    );
    assert_eq!(app.count("topic_ballots").await, VOTERS as i64);
    assert_eq!(app.count("ballot_pool").await, 0);
}
both!(racing_ballots_and_answers_have_one_winner_and_count_once);
