//! Cases' commands, one file per use case (as Decidim's commands): each takes the actor and
//! parsed input, checks who may act (the one permission check), and writes its rows, its
//! timeline step and its audit entry in one transaction. `act` is the frame of every workflow
//! step; the step families with rules of their own have their files beside it.

mod act;
mod add_rule;
mod call_back;
mod changes;
mod create;
mod dispatch;
mod extend;
mod follow_up;
mod import_history;
mod merge;
mod publish;
mod save_category;
mod save_settings;
mod steps;
mod summon;

pub use act::act;
pub use add_rule::add_rule;
pub use create::create_case;
pub use import_history::import_history;
pub use publish::set_publication;
pub use save_category::{save_category, seed_if_empty};
pub use save_settings::save_settings;
