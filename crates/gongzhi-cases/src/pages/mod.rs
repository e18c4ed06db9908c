//! The cases module's pages: the report form for every channel, the desks' case lists, the case
//! page with the steps this user may take, the leaders' dashboard, and the module's parts of
//! the administration page. Every page calls the module's functions, which check permissions
//! with the one check; none reads a table.

mod case;
mod dashboard;
mod desks;
mod report;
mod settings;

use axum::Router;

use gongzhi_core::identity::Action;
use gongzhi_core::state::AppState;
use gongzhi_core::state::{AdminSection, MenuEntry};

use crate::permissions::STATS_READ;
use crate::permissions::{CASE_CREATE, CASE_READ};
use crate::rules::workflow::Step;

pub use report::{HOTLINE_INTAKE, PATROL_REPORT};

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(report::routes())
        .merge(desks::routes())
        .merge(case::routes())
        .merge(dashboard::routes())
        .merge(settings::routes())
}

/// Each desk's list is gated by the step it is for: the verifiers' tasks, the dispatch queue,
/// a handling unit's inbox.
const VERIFY: Action = Step::Verify.permission().0;
const DISPATCH: Action = Step::Dispatch.permission().0;
const SIGN: Action = Step::Sign.permission().0;

/// The report form is one page with a name for each channel (first shown wins); start pages
/// rank a leader's dashboard before a desk, a desk before one's own requests.
pub const MENU: &[MenuEntry] = &[
    entry(
        "/report",
        "热线受理",
        "Hotline intake",
        HOTLINE_INTAKE,
        10,
        Some(40),
    ),
    entry(
        "/report",
        "巡查上报",
        "Report a finding",
        PATROL_REPORT,
        10,
        None,
    ),
    entry(
        "/report",
        "我要反映",
        "Report a problem",
        CASE_CREATE,
        10,
        None,
    ),
    entry("/my", "我的诉求", "My requests", CASE_CREATE, 20, Some(70)),
    entry("/tasks", "我的任务", "My tasks", VERIFY, 30, Some(60)),
    entry("/queue", "待派遣", "Dispatch queue", DISPATCH, 40, Some(20)),
    entry("/inbox", "待办", "Inbox", SIGN, 50, Some(50)),
    entry("/cases", "案件", "Cases", CASE_READ, 60, None),
    entry("/dashboard", "看板", "Dashboard", STATS_READ, 70, Some(30)),
];

pub const ADMIN_SECTIONS: &[AdminSection] = settings::SECTIONS;

const fn entry(
    href: &'static str,
    zh: &'static str,
    en: &'static str,
    action: Action,
    order: u16,
    start: Option<u16>,
) -> MenuEntry {
    MenuEntry {
        href,
        zh,
        en,
        action,
        order,
        start,
    }
}

#[cfg(test)]
mod tests {
    use gongzhi_web::i18n::Lang;

    #[test]
    fn every_status_and_step_has_both_labels() {
        for s in crate::rules::workflow::ALL_STATUSES {
            assert!(Lang::knows(s.as_str()), "{}", s.as_str());
        }
        for s in crate::rules::workflow::ALL_STEPS {
            assert!(Lang::knows(s.as_str()), "{}", s.as_str());
        }
    }
}
