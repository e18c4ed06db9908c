//! The state every request handler is given, and what the modules register into it beyond
//! their routes: menu entries, administration sections, who may see attached photos, their
//! own error format. One file, since each of these is handed the state back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::http::StatusCode;
use axum::response::Response;

use crate::areas::locate::LocateIndex;
use crate::cache::{cached, Policy};
use crate::config::Config;
use crate::db::Db;
use crate::identity::{Action, Actor};
use crate::privacy::Sealer;
use crate::ratelimit::Limiter;
use crate::Result;

/// The locate index follows the `areas` version, read on every refresh: the watcher's every
/// `areas_poll_secs`, and right after an area change through this server.
const LOCATE: Policy = Policy {
    versions: &["areas"],
    trust: Duration::ZERO,
    max_age: None,
    own_writes_at_once: true,
    keys: 1,
};

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub sealer: Sealer,
    pub locate: Arc<ArcSwap<LocateIndex>>,
    pub locate_limiter: Arc<Limiter>,
    /// What scheduled work (reminders, escalations) compares its due times with.
    pub clock: Arc<dyn crate::time::Clock>,
    /// What the modules registered beyond their routes; set once when the app is built.
    registered: Arc<std::sync::OnceLock<Registered>>,
}

/// What the modules registered with the app beyond their routes.
#[derive(Default)]
pub(crate) struct Registered {
    pub(crate) attachment_owners: Vec<OwnerKind>,
    pub(crate) error_shapes: Vec<ErrorShape>,
    pub(crate) menu: Vec<MenuEntry>,
    pub(crate) admin_sections: Vec<AdminSection>,
}

impl AppState {
    pub async fn new(db: Db, config: Config, sealer: Sealer) -> Result<AppState> {
        Self::with_clock(db, config, sealer, Arc::new(crate::time::SystemClock)).await
    }

    pub async fn with_clock(
        db: Db,
        config: Config,
        sealer: Sealer,
        clock: Arc<dyn crate::time::Clock>,
    ) -> Result<AppState> {
        let state = AppState {
            clock,
            locate_limiter: Arc::new(Limiter::new(
                "locate",
                config.locate_per_second,
                Duration::from_secs(1),
            )),
            db,
            config: Arc::new(config),
            sealer,
            locate: Arc::new(ArcSwap::from_pointee(LocateIndex::default())),
            registered: Arc::default(),
        };
        state.refresh_locate().await?;
        Ok(state)
    }

    /// Rebuilds the locate index when the stored areas changed since the last build (by this
    /// process or another one sharing the database); requests read the last one built.
    pub async fn refresh_locate(&self) -> Result<bool> {
        let index = cached(&self.db, "locate", &LOCATE, async {
            let started = Instant::now();
            let index = crate::areas::build_locate_index(&self.db).await?;
            metrics::gauge!("gongzhi_locate_grids").set(index.len() as f64);
            tracing::info!(
                grids = index.len(),
                ms = started.elapsed().as_millis() as u64,
                "locate index built"
            );
            Ok(Arc::new(index))
        })
        .await?;
        if Arc::ptr_eq(&self.locate.load(), &index) {
            return Ok(false);
        }
        self.locate.store(index);
        Ok(true)
    }

    /// Who may see photos linked to records of `kind` (see [`OwnerKind`]).
    pub fn owner_kind(&self, kind: &str) -> Option<&OwnerKind> {
        self.registered
            .get()?
            .attachment_owners
            .iter()
            .find(|k| k.kind == kind)
    }

    /// Every module's menu entries, in menu order (the page shell shows those a user may use).
    pub fn menu(&self) -> &[MenuEntry] {
        self.registered.get().map_or(&[], |r| r.menu.as_slice())
    }

    /// Every module's sections of the administration page, in page order.
    pub fn admin_sections(&self) -> &[AdminSection] {
        self.registered
            .get()
            .map_or(&[], |r| r.admin_sections.as_slice())
    }

    /// Keeps what the modules registered; a second app on the same state registers the same
    /// modules, so the first set stands.
    pub(crate) fn register(&self, registered: Registered) {
        let _ = self.registered.set(registered);
    }

    /// How the modules answer errors under their own paths.
    pub(crate) fn error_shapes(&self) -> &[ErrorShape] {
        self.registered
            .get()
            .map_or(&[], |r| r.error_shapes.as_slice())
    }

    /// Keeps the locate index in step with storage until the process ends.
    pub fn spawn_locate_watcher(&self) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        let every = Duration::from_secs(self.config.areas_poll_secs.max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = state.refresh_locate().await {
                    tracing::warn!(error = %e, "locate index refresh failed");
                }
            }
        })
    }
}

/// An entry of the main menu. It shows to a signed-in user when one of their roles is granted
/// `action` somewhere ([`crate::identity::may_somewhere`]): the action the page itself checks,
/// so the menu never offers what the page refuses. Entries with the same `href` collapse to the
/// first shown (several entries for one page give it a label per kind of user, in priority
/// order).
#[derive(Debug, Clone, Copy)]
pub struct MenuEntry {
    pub href: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub action: Action,
    /// Place in the menu, across every module: lower comes first.
    pub order: u16,
    /// Whether this page can be where a user lands after signing in: the shown entry with the
    /// lowest rank is.
    pub start: Option<u16>,
}

/// A part of the administration page that a module brings (the cases module: categories,
/// the working calendar, routing rules). Its forms post to the module's own pages, which
/// redirect back to `/admin?done=KEY` with a key of `done`.
#[derive(Clone, Copy)]
pub struct AdminSection {
    /// The section's element id and tab anchor.
    pub id: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// Place on the page, across every module (the platform's own: areas 10, units 50, users
    /// 60, audit 70).
    pub order: u16,
    /// The section's HTML for this user, or `None` when they may not see it (then neither the
    /// section nor its tab shows). Errors are shown inside it, with their reason.
    pub render: for<'a> fn(&'a AppState, &'a AdminView<'a>) -> AdminFuture<'a>,
    /// What the page says after a change, by the key the module's form redirects with:
    /// (key, zh-CN, English). Fixed texts: a link cannot make the page say anything else.
    pub done: &'static [(&'static str, &'static str, &'static str)],
}

/// Who asks for the administration page, and how.
pub struct AdminView<'a> {
    pub actor: &'a Actor,
    /// The page's language: `zh-CN` or `en`.
    pub lang: &'static str,
    /// The CSRF token every form of the page carries.
    pub csrf: &'a str,
    /// The page's query (e.g. `edit`: the record to edit).
    pub query: &'a HashMap<String, String>,
}

pub type AdminFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send + 'a>>;

/// Who may see the photos of one kind of record. A module registers one for each kind of owner
/// it links photos to (`case` for `case:ID`), and every route that serves a photo asks it: read
/// access to a photo is read access to its record.
#[derive(Clone, Copy)]
pub struct OwnerKind {
    /// The owner's prefix as linked: `case` for `case:ID`.
    pub kind: &'static str,
    /// Ok when `actor` may read the record `id`; any error reads as "no such photo".
    pub may_read: for<'a> fn(&'a AppState, &'a Actor, &'a str) -> OwnerFuture<'a>,
}

pub type OwnerFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;

/// How a module answers errors under its own paths (Open311 has its own error format).
#[derive(Clone, Copy)]
pub struct ErrorShape {
    /// Paths that start with this are the module's.
    pub prefix: &'static str,
    pub render: fn(path: &str, status: StatusCode, message: &str) -> Response,
}
