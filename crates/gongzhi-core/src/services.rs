//! The platform services every module stands on, declared as one part of the product: the
//! working calendar, the job runner and notifications, with their tables and the mail job.

use crate::db::Migration;
use crate::identity::Action;
use crate::module::{JobKind, Module};
use crate::state::AppState;
use crate::{calendar, jobs, notify, ratelimit};

pub struct Services;

impl Module for Services {
    fn name(&self) -> &'static str {
        "services"
    }
    fn migrations(&self) -> &'static [Migration] {
        &[
            calendar::MIGRATION,
            jobs::MIGRATION,
            notify::MIGRATION,
            notify::SUBJECT_MIGRATION,
            ratelimit::MIGRATION,
        ]
    }
    fn actions(&self) -> &'static [Action] {
        &[calendar::CALENDAR_MANAGE]
    }
    fn job_kinds(&self) -> &'static [JobKind] {
        notify::JOB_KINDS
    }
    /// Mail is on when the relay is configured; the runner does every module's due jobs; the
    /// locate limiter shares its counts with the other servers.
    fn background(&self, state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
        notify::start_mailing(state);
        vec![
            jobs::spawn_runner(state.clone()),
            ratelimit::spawn_flusher(state.locate_limiter.clone(), state.db.clone()),
        ]
    }
}
