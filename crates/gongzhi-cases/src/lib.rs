//! Cases (诉求/案件): one door for every request — hotline, web, patrol, Open311, API, import —
//! and the closed loop from intake to callback on working-time deadlines (DESIGN.md §3.3).
//!
//! The rooms, as in every module: `model` (types, parsed at the edge), `rules` (pure), `store`
//! (the only SQL), `commands` (one file per use case), `queries` (what is read), `api` (JSON
//! handlers), `pages`, `permissions`, `demo`; this file is the manifest.

mod api;
pub mod commands;
pub mod demo;
pub mod jobs;
pub mod measures;
pub mod model;
pub mod pages;
pub mod permissions;
pub mod queries;
pub mod roles;
pub mod rules;

pub mod store;

use gongzhi_core::db::{Db, Migration};
use gongzhi_core::demo::{Demo, DemoUser};
use gongzhi_core::identity::{Action, Actor, RoleDef};
use gongzhi_core::module::{DemoFuture, JobKind, Measure, Module, SeedFuture, SubjectKind};
use gongzhi_core::state::AppState;
use gongzhi_core::state::{AdminSection, MenuEntry};
use gongzhi_core::state::{OwnerFuture, OwnerKind};
use utoipa_axum::router::OpenApiRouter;

pub struct Cases;

/// Every permission the module checks: its own actions and one per workflow step.
static ACTIONS: std::sync::LazyLock<Vec<Action>> = std::sync::LazyLock::new(|| {
    let mut v = vec![
        permissions::CASE_CREATE,
        permissions::CASE_READ,
        permissions::REPORTER_REVEAL,
        permissions::STATS_READ,
        permissions::SETTINGS_MANAGE,
        permissions::CASE_PUBLISH,
        permissions::CATALOG_MANAGE,
    ];
    v.extend(rules::workflow::ALL_STEPS.iter().map(|s| s.permission().0));
    v
});

impl Module for Cases {
    fn name(&self) -> &'static str {
        "cases"
    }
    fn migrations(&self) -> &'static [Migration] {
        store::migrations::MIGRATIONS
    }
    fn api(&self) -> OpenApiRouter<AppState> {
        api::api()
    }
    fn roles(&self) -> &'static [RoleDef] {
        roles::ROLES
    }
    fn actions(&self) -> &'static [Action] {
        &ACTIONS
    }
    fn measures(&self) -> &'static [Measure] {
        measures::MEASURES
    }
    fn pages(&self) -> axum::Router<AppState> {
        pages::routes()
    }
    fn menu(&self) -> &'static [MenuEntry] {
        pages::MENU
    }
    fn admin_sections(&self) -> &'static [AdminSection] {
        pages::ADMIN_SECTIONS
    }
    fn attachment_owners(&self) -> &'static [OwnerKind] {
        &[OwnerKind {
            kind: "case",
            may_read: case_photos,
        }]
    }
    fn seed<'a>(&'a self, db: &'a Db) -> SeedFuture<'a> {
        Box::pin(commands::seed_if_empty(db))
    }
    fn job_kinds(&self) -> &'static [JobKind] {
        jobs::JOB_KINDS
    }
    fn subjects(&self) -> &'static [SubjectKind] {
        jobs::SUBJECTS
    }
    fn demo_users(&self) -> &'static [DemoUser] {
        demo::USERS
    }
    fn demo<'a>(&'a self, demo: &'a Demo<'a>) -> DemoFuture<'a> {
        Box::pin(demo::seed(demo))
    }
}

/// A case's photos are seen by whoever may read the case (its reporter included).
fn case_photos<'a>(state: &'a AppState, actor: &'a Actor, id: &'a str) -> OwnerFuture<'a> {
    Box::pin(async move {
        queries::case::may_read(&state.db, actor, id)
            .await
            .map(|_| ())
    })
}
