//! Wiring: which modules gongzhi serves, opening storage, and running the HTTP server.

use std::net::SocketAddr;

use gongzhi_core::app::app;
use gongzhi_core::audit;
use gongzhi_core::config::Config;
use gongzhi_core::db::Db;
use gongzhi_core::db::AUDIT_KEYED_MIGRATION;
use gongzhi_core::demo::{Demo, DemoSize};
use gongzhi_core::module::{self, Areas, Module, Platform};
use gongzhi_core::privacy::{self, Sealer};
use gongzhi_core::services::Services;
use gongzhi_core::state::AppState;
use gongzhi_core::Result;
use tokio::net::TcpListener;

/// Every part of the product this binary serves, in migration order. New modules register here.
pub fn modules() -> Vec<&'static dyn Module> {
    vec![
        &Platform,
        &Areas,
        &Services,
        &gongzhi_cases::Cases,
        &gongzhi_open311::Open311,
        &gongzhi_deliberation::Deliberation,
        &gongzhi_web::Web,
    ]
}

/// Opens the configured database, loads the keys derived from the secret key (personal data,
/// audit chain) and applies pending migrations.
pub async fn open(config: &Config) -> Result<(Db, Sealer)> {
    let (db, sealer, _) = open_counting(config).await?;
    Ok((db, sealer))
}

/// As [`open`], with the number of migrations applied.
pub async fn open_counting(config: &Config) -> Result<(Db, Sealer, usize)> {
    let db = Db::connect(&config.database_url()).await?;
    let secret = privacy::load_secret(config.secret_key.as_deref(), &config.data_dir)?;
    audit::use_keys(&db, audit::ChainKeys::derive(&secret));
    let keyed_before = db.migration_applied(AUDIT_KEYED_MIGRATION).await?;
    let applied = module::migrate(&db, &modules()).await?;
    audit::key_legacy_chain(&db, !keyed_before).await?;
    Ok((db, Sealer::from_key(&secret), applied))
}

/// Seeds the demo into an opened, empty database: every module's demo users and seed, in
/// module order. Returns the lines to print once.
pub async fn seed_demo(db: &Db, sealer: &Sealer, size: DemoSize) -> Result<Vec<String>> {
    let demo = Demo {
        db,
        sealer,
        now_ms: gongzhi_core::time::now_ms(),
        size,
    };
    module::seed_demo(&demo, &modules()).await
}

/// A server running in the background (tests and `demo` use it).
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served alone, with `[metrics] listen`.
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    task: tokio::task::JoinHandle<()>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub async fn wait(self) {
        let _ = self.task.await;
    }
    /// Stops serving and the background work (as a killed process would).
    pub fn stop(&self) {
        self.task.abort();
        for b in &self.background {
            b.abort();
        }
    }
}

/// Starts serving on `listener` with an opened database.
pub async fn start(
    config: Config,
    db: Db,
    sealer: Sealer,
    listener: TcpListener,
) -> Result<Running> {
    start_with_clock(
        config,
        db,
        sealer,
        listener,
        std::sync::Arc::new(gongzhi_core::time::SystemClock),
    )
    .await
}

/// As [`start`], with the clock that scheduled work runs on (tests move it).
pub async fn start_with_clock(
    config: Config,
    db: Db,
    sealer: Sealer,
    listener: TcpListener,
    clock: std::sync::Arc<dyn gongzhi_core::time::Clock>,
) -> Result<Running> {
    let metrics_listener = match &config.metrics_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    let state = AppState::with_clock(db, config, sealer, clock).await?;
    let mut background = vec![state.spawn_locate_watcher()];
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    if let Some(listener) = metrics_listener {
        let metrics = gongzhi_core::app::metrics_app(state.config.clone());
        background.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, metrics).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        }));
    }
    for m in modules() {
        background.extend(m.background(&state));
    }
    let (router, _) = app(state.clone(), &modules());
    let addr = listener
        .local_addr()
        .map_err(gongzhi_core::Error::internal)?;
    let task = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, service)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
        {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(Running {
        addr,
        metrics_addr,
        state,
        task,
        background,
    })
}

pub async fn bind(addr: &str) -> Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        gongzhi_core::Error::invalid("listen", format!("cannot listen on {addr}: {e}"))
    })
}
