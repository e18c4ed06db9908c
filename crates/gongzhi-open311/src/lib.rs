//! Open311 GeoReport v2 over the cases module: any Open311 client can list services (the public
//! categories), submit requests (through the same intake as every channel: locate, route,
//! deadlines, audit) and follow them. JSON as bare arrays, XML with the specification's element
//! names, errors as `errors/error{code,description}`. Only public cases are listed or served, and
//! of them only what `gongzhi_cases::rules::publicity` makes public: the location rounded to a grid,
//! the description or staff's redaction of it, approved photos (without their metadata); the
//! address only when staff approved it, reporters' personal data never.
//!
//! The rooms, as in every module: `model` (types, parsed at the edge), `rules` (pure), `store`
//! (the only SQL, with the migrations), `commands` (one file per use case), `queries` (what is
//! read), `georeport` (the specification's JSON and XML shapes), `api` (the handlers), `demo`;
//! this file is the manifest.

pub mod api;
pub mod commands;
pub mod demo;
pub mod georeport;
pub mod model;
pub mod queries;
pub mod rules;
pub mod store;

use gongzhi_core::db::Migration;
use gongzhi_core::module::{DemoFuture, Module};
use gongzhi_core::state::{AppState, ErrorShape};
use utoipa_axum::router::OpenApiRouter;

use georeport::format::{error, Format};

pub struct Open311;

impl Module for Open311 {
    fn name(&self) -> &'static str {
        "open311"
    }
    fn migrations(&self) -> &'static [Migration] {
        store::migrations::MIGRATIONS
    }
    fn demo<'a>(&'a self, demo: &'a gongzhi_core::demo::Demo<'a>) -> DemoFuture<'a> {
        Box::pin(demo::seed(demo))
    }
    fn error_shape(&self) -> Option<ErrorShape> {
        // What the router answers by itself (405, 413, a bad path) in GeoReport's error format.
        Some(ErrorShape {
            prefix: "/open311/",
            render: |path, status, message| {
                error(Format::of_path(path), status, status.as_str(), message)
            },
        })
    }
    fn api(&self) -> OpenApiRouter<AppState> {
        api::router()
    }
}
