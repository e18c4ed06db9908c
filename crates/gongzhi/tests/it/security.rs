//! The standing attack suite (issue 13): every hole a tester found, reproduced against the real
//! server on both backends, and a generated matrix of roles × scopes × `{id}` routes against
//! records outside the caller's scope. Each test would fail if its hole came back.

mod cases;
mod deliberation;
mod matrix;
mod open311;
mod platform;
mod web;
