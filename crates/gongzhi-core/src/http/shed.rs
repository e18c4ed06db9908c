//! Load shedding: at most `limits.max_in_flight` requests are handled at once; one more is
//! answered at once with 503 `overloaded` and `Retry-After`, in the shape of where it was asked
//! (the API's JSON, a module's own format, an error page), instead of queueing without bound.
//! Accepted requests keep their latency and the backlog cannot grow the server's memory.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Semaphore;

use crate::state::AppState;

/// What a shed client is told to wait, in seconds: long enough for a burst to drain.
pub const RETRY_AFTER_SECS: u64 = 1;

/// Paths never shed: a load balancer's health check must see a busy server as alive, and the
/// figures that show the overload must stay readable.
const NEVER_SHED: &[&str] = &["/healthz", "/metrics"];

/// The in-flight limit, shared by every request of one server.
#[derive(Clone)]
pub struct Shed {
    state: AppState,
    permits: Arc<Semaphore>,
}

impl Shed {
    pub fn new(state: AppState) -> Shed {
        let limit = state
            .config
            .max_in_flight
            .unwrap_or_else(|| crate::config::default_max_in_flight(state.db.connections()))
            .max(1);
        Shed {
            state,
            permits: Arc::new(Semaphore::new(limit)),
        }
    }
}

/// Holds a permit for the life of the handler (inside `run_to_completion`'s task, so a client
/// that goes away does not free a permit whose work is still running).
pub async fn shed(State(shed): State<Shed>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if NEVER_SHED.contains(&path) {
        return next.run(req).await;
    }
    let Ok(_permit) = shed.permits.clone().try_acquire_owned() else {
        metrics::counter!("gongzhi_http_shed_total").increment(1);
        let mut resp = crate::http::shape::shaped_error(
            &shed.state,
            path,
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the server is busy; try again shortly",
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        return resp;
    };
    next.run(req).await
}
