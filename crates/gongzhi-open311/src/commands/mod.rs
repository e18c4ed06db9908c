//! Open311's commands, one file per use case: an actor and parsed input, the permission check,
//! the change, and its audit entry in the same transaction.

pub mod keys;
pub mod post_update;
pub mod set_attributes;
pub mod submit_request;
