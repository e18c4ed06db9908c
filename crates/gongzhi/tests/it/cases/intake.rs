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
