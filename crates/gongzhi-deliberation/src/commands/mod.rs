//! Deliberation's commands, one file per use case (as Decidim's commands): each takes the actor
//! and parsed input, checks who may act (the one permission check, or a resident's
//! eligibility), and writes its rows, its history step and its audit entry in one transaction.

mod answer_consultation;
mod cast_ballot;
mod cast_vote;
mod change_settings;
mod comment_on_topic;
mod draw_panel;
mod issue_codes;
mod moderate_content;
mod open_call;
mod open_consultation;
mod propose_project;
mod propose_topic;
mod publish_panel;
mod record_progress;
mod redeem_code;
mod report_content;
mod review_project;
mod revoke_verification;
mod take_step;
mod verify_resident;

pub use answer_consultation::answer_consultation;
pub use cast_ballot::cast_ballot;
pub use cast_vote::cast_vote;
pub use change_settings::{set_auto_hide, set_ballot_batch};
pub use comment_on_topic::comment_on_topic;
pub use draw_panel::draw_panel;
pub use issue_codes::issue_codes;
pub use moderate_content::moderate_content;
pub use open_call::open_call;
pub use open_consultation::open_consultation;
pub use propose_project::propose_project;
pub use propose_topic::propose_topic;
pub use publish_panel::publish_panel;
pub use record_progress::record_progress;
pub use redeem_code::redeem_code;
pub use report_content::report_content;
pub use review_project::review_project;
pub use revoke_verification::revoke_verification;
pub use take_step::take_step;
pub use verify_resident::{record_verification, verify_resident};

use gongzhi_core::{Error, Result};

/// A second row refused by a unique key (a second ballot, a racing one) as the refusal `code`.
fn once(written: Result<()>, code: &'static str, message: &str) -> Result<()> {
    written.map_err(|e| {
        if e.is_unique_violation() {
            Error::refused(code, message)
        } else {
            e
        }
    })
}

/// A trimmed, non-empty note.
fn note(n: &Option<String>) -> Option<&str> {
    n.as_deref().map(str::trim).filter(|s| !s.is_empty())
}
