//! Deliberation (议事协商, 民生微实事; DESIGN.md §3.4): residents verified for a place raise
//! topics, talk them through, decide by votes with rules fixed in advance and see them carried
//! out; micro-project calls whose winners are computed (greedy or the Method of Equal Shares);
//! consultations; panels drawn by verifiable sortition; moderation of what people write.
//!
//! The rooms, as in every module: `model` (types, parsed at the edge), `rules` (pure),
//! `store` (the only SQL, with the migrations), `commands` (one file per use case), `queries`
//! (what is read), `api` (JSON handlers), `permissions`; this file is the manifest.

pub mod api;
pub mod ballot_box;
pub mod checks;
pub mod commands;
mod common;
pub mod demo;
pub mod model;
pub mod pages;
pub mod permissions;
pub mod queries;
pub mod roles;
pub mod rules;
pub mod store;

use gongzhi_core::db::Migration;
use gongzhi_core::identity::{Action, Actor, RoleDef};
use gongzhi_core::module::{DemoFuture, Module};
use gongzhi_core::state::AppState;
use gongzhi_core::state::MenuEntry;
use gongzhi_core::state::{OwnerFuture, OwnerKind};
use utoipa_axum::router::OpenApiRouter;

pub use permissions::{DELIBERATION_MANAGE, MODERATE, RESIDENT_VERIFY, TOPIC_PROPOSE};
pub use rules::{pabulib, pb, sortition};
pub use store::migrations::MIGRATIONS;

pub struct Deliberation;

impl Module for Deliberation {
    fn name(&self) -> &'static str {
        "deliberation"
    }
    fn migrations(&self) -> &'static [Migration] {
        MIGRATIONS
    }
    fn roles(&self) -> &'static [RoleDef] {
        roles::ROLES
    }
    fn actions(&self) -> &'static [Action] {
        &[
            RESIDENT_VERIFY,
            DELIBERATION_MANAGE,
            TOPIC_PROPOSE,
            MODERATE,
        ]
    }
    fn attachment_owners(&self) -> &'static [OwnerKind] {
        &[OwnerKind {
            kind: "project",
            may_read: project_photos,
        }]
    }
    fn api(&self) -> OpenApiRouter<AppState> {
        api::router()
    }
    fn pages(&self) -> axum::Router<AppState> {
        pages::routes()
    }
    fn menu(&self) -> &'static [MenuEntry] {
        pages::MENU
    }
    fn demo_users(&self) -> &'static [gongzhi_core::demo::DemoUser] {
        demo::USERS
    }
    fn demo<'a>(&'a self, demo: &'a gongzhi_core::demo::Demo<'a>) -> DemoFuture<'a> {
        Box::pin(demo::seed(demo))
    }
}

/// A micro-project's progress photos are public, as its call is (三公开).
fn project_photos<'a>(state: &'a AppState, _: &'a Actor, id: &'a str) -> OwnerFuture<'a> {
    Box::pin(async move { store::budgets::project_exists(&state.db, id).await })
}

// The paths other crates call (pages, demo, bench), kept while they move into this crate
// (issue 14); each names where the thing lives now. To go once the callers use those.

/// Old path: topics (`model::topics`, `commands`, `queries::topics`).
pub mod topics {
    pub use crate::commands::{
        cast_vote as vote, comment_on_topic as comment, propose_topic as create, take_step as step,
    };
    pub use crate::model::topics::*;
    pub use crate::queries::topics::{list, view};
}

/// Old path: micro-project calls (`model::budgets`, `commands`, `queries::budgets`).
pub mod budgets {
    pub use crate::commands::{
        cast_ballot as cast, open_call as create, propose_project as add_project, record_progress,
        review_project,
    };
    pub use crate::model::budgets::*;
    pub use crate::queries::budgets::{compute, export, list, view};
    pub use crate::rules::calls::phase_at;
    pub use crate::store::budgets::project_exists;
}

/// Old path: consultations (`model::consultations`, `commands`, `queries::consultations`).
pub mod consultations {
    pub use crate::commands::{answer_consultation as answer, open_consultation as create};
    pub use crate::model::consultations::*;
    pub use crate::queries::consultations::{aggregate, get, list};
    pub use crate::rules::questions::check_answers;
}

/// Old path: panels (`model::panels`, `commands`, `queries::panels`).
pub mod panels {
    pub use crate::commands::{draw_panel as make_draw, publish_panel as create};
    pub use crate::model::panels::*;
    pub use crate::queries::panels::{recent, record};
}

/// Old path: verified residents (`model::residents`, `commands`, `queries::residents`).
pub mod residents {
    pub use crate::commands::{
        issue_codes as issue, record_verification as record, redeem_code, revoke_verification,
        verify_resident,
    };
    pub use crate::model::residents::*;
    pub use crate::queries::residents::{current, list_in};
}

/// Old path: moderation (`model::moderation`, `commands`, `queries::moderation`).
pub mod moderation {
    pub use crate::commands::{moderate_content as moderate, report_content as file_report};
    pub use crate::model::moderation::*;
    pub use crate::queries::moderation::{open_reports, threshold};
}
