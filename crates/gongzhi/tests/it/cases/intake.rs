//! Group commit seen from outside: concurrent intakes share commits, and every committed case
//! is counted in the batch sizes the benchmarks report and `/metrics` shows.

use gongzhi_cases::store::intake::{batch_sizes, BATCH};

use super::{desk_on, new_case, IN_STREET_1};
use crate::both;
use crate::helpers::*;

async fn group_commits_are_counted(backend: Backend) {
    let token = "metrics-token-for-the-test";
    let app = TestApp::spawn_with(backend, |c| c.metrics_token = Some(token.into())).await;
    let d = desk_on(app).await;
    let before = batch_sizes(&d.app.db);
    // One intake alone is one commit of one case.
    let (s, b) = d.create(&d.operator, &new_case("C0102", IN_STREET_1)).await;
    assert_eq!(s, 201, "{b}");
    let one = batch_sizes(&d.app.db).since(&before);
    assert_eq!((one.batches, one.cases), (1, 1));
    // Many at once: every case committed once, in at most as many commits as cases.
    let n = 24;
    let mut racing = Vec::new();
    for _ in 0..n {
        let (client, url, token) = (d.app.client.clone(), d.app.url.clone(), d.operator.clone());
        racing.push(tokio::spawn(async move {
            client
                .post(format!("{url}/api/v1/cases"))
                .bearer_auth(token)
                .json(&new_case("C0102", IN_STREET_1))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for r in racing {
        assert_eq!(r.await.unwrap(), 201);
    }
    let after = batch_sizes(&d.app.db);
    let many = after.since(&before);
    assert_eq!(many.cases, n + 1);
    assert!(many.batches >= 2 && many.batches <= n + 1, "{many:?}");
    assert!(
        after.largest >= 1 && after.largest <= BATCH as u64,
        "{after:?}"
    );
    assert!((1.0..=BATCH as f64).contains(&many.mean()), "{many:?}");
    // A failed intake commits nothing.
    let (s, _) = d
        .create(&d.operator, &new_case("C0102", (10.0, 10.0)))
        .await;
    assert_ne!(s, 201);
    assert_eq!(batch_sizes(&d.app.db), after);
    // Operators see the same sizes.
    let (s, metrics) = d.app.get("/metrics", Some(token)).await;
    assert_eq!(s, 200);
    let metrics = metrics.as_str().unwrap();
    assert!(metrics.contains("gongzhi_intake_batch_cases"), "{metrics}");
}
both!(group_commits_are_counted);

/// Clients that hang up while their intake waits in a group commit: the batch is written for
/// the others all the same, and nobody waits forever. (The writing used to run in one caller's
/// request; a hang-up dropped it mid-batch and left the other callers waiting for a writer
/// that was gone.)
async fn a_client_that_hangs_up_does_not_stall_the_batch(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let before = d.app.count("cases").await;
    let mut patient = Vec::new();
    let mut impatient = Vec::new();
    for i in 0..40 {
        let (client, url, token) = (d.app.client.clone(), d.app.url.clone(), d.operator.clone());
        let task = tokio::spawn(async move {
            let mut req = client
                .post(format!("{url}/api/v1/cases"))
                .bearer_auth(token)
                .json(&new_case("C0102", IN_STREET_1));
            if i % 2 == 1 {
                // Hangs up before the answer can come.
                req = req.timeout(std::time::Duration::from_millis(1 + (i % 5) as u64));
            }
            req.send().await.map(|r| r.status().as_u16())
        });
        if i % 2 == 1 {
            impatient.push(task);
        } else {
            patient.push(task);
        }
    }
    let answered = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        let mut codes = Vec::new();
        for t in patient {
            codes.push(t.await.unwrap().unwrap());
        }
        codes
    })
    .await
    .expect("every patient client is answered");
    assert!(answered.iter().all(|&s| s == 201), "{answered:?}");
    for t in impatient {
        let _ = t.await.unwrap();
    }
    // The cases of clients that hung up may or may not be written, but each at most once.
    let stored = d.app.count("cases").await - before;
    assert!(stored >= 20 && stored <= 40, "{stored} cases stored");
    // No case was written twice: no two share a number.
    let numbers = gongzhi_core::db::query("SELECT COUNT(DISTINCT number) FROM cases")
        .fetch_one(d.app.db.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap();
    assert_eq!(numbers, d.app.count("cases").await);
}
both!(a_client_that_hangs_up_does_not_stall_the_batch);
