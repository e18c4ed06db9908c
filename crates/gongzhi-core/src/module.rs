//! How a part of the product plugs into gongzhi: its migrations, API routes, pages, menu entries
//! and administration sections, declared in one place (like a Decidim component manifest). The
//! binary lists the modules it serves.

use utoipa_axum::router::OpenApiRouter;

use crate::db::Migration;
use crate::demo::{Demo, DemoUser};
use crate::identity::{Action, Actor, RoleDef};
use crate::state::{AdminSection, AppState, ErrorShape, MenuEntry, OwnerKind};

pub trait Module: Send + Sync {
    /// Short identifier, e.g. `areas`.
    fn name(&self) -> &'static str;
    fn migrations(&self) -> &'static [Migration] {
        &[]
    }
    /// Routes under `/api/v1`, documented for `/api/openapi.json`.
    fn api(&self) -> OpenApiRouter<AppState> {
        OpenApiRouter::new()
    }
    /// Server-rendered pages: plain routes, not in the OpenAPI document, with the pages' body
    /// limit (forms carry photos).
    fn pages(&self) -> axum::Router<AppState> {
        axum::Router::new()
    }
    /// What the module adds to the main menu; each entry shows to those who may use it.
    fn menu(&self) -> &'static [MenuEntry] {
        &[]
    }
    /// What the module adds to the administration page (its settings).
    fn admin_sections(&self) -> &'static [AdminSection] {
        &[]
    }
    /// The roles this module introduces, with their labels and the earlier modules' actions
    /// they are granted.
    fn roles(&self) -> &'static [RoleDef] {
        &[]
    }
    /// The actions (permissions) this module checks, each naming the roles it is granted to.
    fn actions(&self) -> &'static [Action] {
        &[]
    }
    /// Reference data every deployment starts with (e.g. the category catalog); runs after
    /// migrations and must do nothing when the data is already there.
    fn seed<'a>(&'a self, _db: &'a crate::db::Db) -> SeedFuture<'a> {
        Box::pin(async { Ok(()) })
    }
    /// Who may see the photos linked to this module's records, per kind of record.
    fn attachment_owners(&self) -> &'static [OwnerKind] {
        &[]
    }
    /// The module's own error format under its paths (else the API's JSON or an error page).
    fn error_shape(&self) -> Option<ErrorShape> {
        None
    }
    /// The figures this module publishes for later modules (evaluation, insight) to read
    /// through the manifest, never through its tables.
    fn measures(&self) -> &'static [Measure] {
        &[]
    }
    /// Background work for the life of a server (e.g. the job runner).
    fn background(&self, _state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
        vec![]
    }
    /// The kinds of durable job the module schedules, each with its handler.
    fn job_kinds(&self) -> &'static [JobKind] {
        &[]
    }
    /// The kinds of record its jobs and notices are about, and how a person knows each.
    fn subjects(&self) -> &'static [SubjectKind] {
        &[]
    }
    /// One demo user for each role the module brings, with fixed passwords (`gongzhi demo`
    /// creates them before the module's [`Module::demo`] and prints them at every start).
    fn demo_users(&self) -> &'static [DemoUser] {
        &[]
    }
    /// The module's part of the demo (`gongzhi demo`), through its own commands; runs after the
    /// demos of the modules listed before it. Returns lines to print once (e.g. a new key).
    fn demo<'a>(&'a self, _demo: &'a Demo<'a>) -> DemoFuture<'a> {
        Box::pin(async { Ok(vec![]) })
    }
}

/// A figure a module publishes: named `module.figure`, with labels, read per area or unit for a
/// period, within what the reading actor may see (the module's own permission check).
pub struct Measure {
    pub name: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// What it counts and how, in a line.
    pub about: &'static str,
    pub read: for<'a> fn(&'a crate::db::Db, &'a Actor, &'a MeasureQuery) -> MeasureFuture<'a>,
}

/// Which figures: a period (`YYYY-MM`, the module's own cycle) and a level (`street`,
/// `community`, `grid`, or `unit`).
#[derive(Debug, Clone)]
pub struct MeasureQuery {
    pub period: String,
    pub level: String,
}

/// One area's or unit's value; None when there is nothing to measure (no cases, no callbacks).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MeasureValue {
    pub code: String,
    pub name: String,
    pub value: Option<f64>,
}

pub type MeasureFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = crate::Result<Vec<MeasureValue>>> + Send + 'a>,
>;

/// The measure named `module.figure` among the modules' declarations.
pub fn measure(modules: &[&dyn Module], name: &str) -> Option<&'static Measure> {
    modules
        .iter()
        .flat_map(|m| m.measures().iter())
        .find(|m| m.name == name)
}

pub type SeedFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<()>> + Send + 'a>>;

pub type DemoFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<Vec<String>>> + Send + 'a>>;

/// The platform itself: audit chain, users, units, roles, tokens.
pub struct Platform;

impl Module for Platform {
    fn name(&self) -> &'static str {
        "platform"
    }
    fn migrations(&self) -> &'static [Migration] {
        crate::db::CORE_MIGRATIONS
    }
    fn roles(&self) -> &'static [RoleDef] {
        crate::identity::PLATFORM_ROLES
    }
    fn actions(&self) -> &'static [Action] {
        &crate::identity::ALL_ACTIONS
    }
    fn api(&self) -> OpenApiRouter<AppState> {
        crate::identity::api()
            .merge(crate::audit::api())
            .merge(crate::attachments::api())
    }
    fn background(&self, state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = vec![crate::identity::spawn_attempts_sweeper(state)];
        if let Some(path) = &state.config.audit_anchor_file {
            tasks.push(crate::audit::spawn_anchor_writer(
                state.db.clone(),
                path.clone(),
                std::time::Duration::from_secs(state.config.audit_anchor_every_secs.max(1)),
            ));
        }
        tasks
    }
    fn demo_users(&self) -> &'static [DemoUser] {
        crate::demo::PLATFORM_USERS
    }
    fn demo<'a>(&'a self, demo: &'a Demo<'a>) -> DemoFuture<'a> {
        Box::pin(crate::demo::seed_platform(demo))
    }
}

/// Areas and grids.
pub struct Areas;

impl Module for Areas {
    fn name(&self) -> &'static str {
        "areas"
    }
    fn migrations(&self) -> &'static [Migration] {
        crate::areas::MIGRATIONS
    }
    fn api(&self) -> OpenApiRouter<AppState> {
        crate::areas::api()
    }
}

/// Registers the modules' roles and actions with identity (done when the server is wired;
/// repeating it is harmless).
pub fn register(modules: &[&dyn Module]) {
    register_scheduled(modules);
    for m in modules {
        crate::identity::register(m.roles(), m.actions());
        // The actions gating menu entries are permissions too, listed with the rest.
        let gates: Vec<Action> = m.menu().iter().map(|e| e.action).collect();
        crate::identity::register(&[], &gates);
    }
}

/// Applies every module's migrations in module order, then their seeds.
pub async fn migrate(db: &crate::db::Db, modules: &[&dyn Module]) -> crate::Result<usize> {
    register(modules);
    let all: Vec<&Migration> = modules.iter().flat_map(|m| m.migrations().iter()).collect();
    let applied = db.migrate(&all).await?;
    for m in modules {
        m.seed(db).await?;
    }
    Ok(applied)
}

/// Seeds the demo, module by module in order: its demo users, then its seed. Returns the
/// seeds' lines to print once.
pub async fn seed_demo(demo: &Demo<'_>, modules: &[&dyn Module]) -> crate::Result<Vec<String>> {
    let mut notes = Vec::new();
    for m in modules {
        crate::demo::add_users(demo, m.demo_users()).await?;
        notes.extend(m.demo(demo).await?);
    }
    Ok(notes)
}

/// A kind of durable job a module does (a reminder, an escalation, a delivery): the runner
/// (`jobs`) hands every due job of this kind to `handler`, which claims it (`jobs::claim`) in
/// the transaction that does it and says whether it was done.
pub struct JobKind {
    pub kind: &'static str,
    pub handler: for<'a> fn(&'a AppState, &'a Job) -> JobFuture<'a>,
}

/// One due job as the runner read it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub kind: String,
    /// What the job is about, as `kind:ID` (e.g. `case:…`), if anything.
    pub subject: Option<String>,
    pub payload: serde_json::Value,
    /// Failed attempts so far (deliveries are retried).
    pub attempts: i64,
    /// The runner's clock when it read the job.
    pub now: i64,
}

pub type JobFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<bool>> + Send + 'a>>;

/// How a module names one of its records to a person outside the platform (the case number
/// for `case:ID`), for the footer of a mailed notice.
pub struct SubjectKind {
    /// The subject's prefix, before `:`.
    pub prefix: &'static str,
    /// What the reference is called, e.g. 案件编号.
    pub label: &'static str,
    pub reference: for<'a> fn(&'a crate::db::Db, &'a str) -> ReferenceFuture<'a>,
    /// The ID of the record a person names by its ID or its reference, if there is one: how
    /// another module checks a link to it without reading its tables.
    pub find: for<'a> fn(&'a crate::db::Db, &'a str) -> ReferenceFuture<'a>,
}

pub type ReferenceFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<Option<String>>> + Send + 'a>>;

/// The job kinds and subject kinds of every module registered (by [`register`]).
static SCHEDULED: std::sync::RwLock<(Vec<&'static JobKind>, Vec<&'static SubjectKind>)> =
    std::sync::RwLock::new((Vec::new(), Vec::new()));

fn register_scheduled(modules: &[&dyn Module]) {
    let mut s = SCHEDULED.write().unwrap_or_else(|e| e.into_inner());
    for m in modules {
        for k in m.job_kinds() {
            if !s.0.iter().any(|known| known.kind == k.kind) {
                s.0.push(k);
            }
        }
        for k in m.subjects() {
            if !s.1.iter().any(|known| known.prefix == k.prefix) {
                s.1.push(k);
            }
        }
    }
}

/// The registered handler of job kind `kind`.
pub fn job_kind(kind: &str) -> Option<&'static JobKind> {
    let s = SCHEDULED.read().unwrap_or_else(|e| e.into_inner());
    s.0.iter().find(|k| k.kind == kind).copied()
}

/// The ID of the `prefix` record named `named` (its ID or its reference), through the module
/// that declares the kind; `None` also when no module declares it.
pub async fn find_subject(
    db: &crate::db::Db,
    prefix: &str,
    named: &str,
) -> crate::Result<Option<String>> {
    let kind = {
        let s = SCHEDULED.read().unwrap_or_else(|e| e.into_inner());
        s.1.iter().find(|k| k.prefix == prefix).copied()
    };
    match kind {
        Some(k) => (k.find)(db, named).await,
        None => Ok(None),
    }
}

/// The registered subject kind of `subject` (`prefix:ID`), with the ID.
pub fn subject_kind(subject: &str) -> Option<(&'static SubjectKind, &str)> {
    let (prefix, id) = subject.split_once(':')?;
    let s = SCHEDULED.read().unwrap_or_else(|e| e.into_inner());
    s.1.iter().find(|k| k.prefix == prefix).map(|k| (*k, id))
}
