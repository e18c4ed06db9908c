//! A panel drawn by lot: the published list and seed commitment, the draw, and anyone's re-run.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use gongzhi_core::state::AppState;
use gongzhi_web::form::checked_form;
use gongzhi_web::page;
use gongzhi_web::session::Session;

use super::{form, may_manage, refused};
use crate::panels;

pub(super) async fn panel_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Response {
    let lang = s.lang;
    let p = match panels::record(&state.db, &id).await {
        Ok(p) => p,
        Err(e) => return refused(&s, &e, "/deliberation"),
    };
    let verdict = match (&p.seed, &p.result) {
        (Some(seed), Some(result)) => Some(crate::sortition::verify(
            &p.candidates,
            &p.list_hash,
            &p.commitment,
            seed,
            p.k,
            result,
        )),
        _ => None,
    };
    let body = html! {
        p { (lang.t("抽签前公布候选名单的哈希值和随机种子的承诺值；抽签时公开种子，任何人都可以复算。", "Before the draw the list's hash and a commitment to the seed are published; the draw reveals the seed so anyone can re-run it.")) }
        dl {
            dt { (lang.t("名单哈希", "List hash")) } dd { code { (p.list_hash) } }
            dt { (lang.t("种子承诺", "Seed commitment")) } dd { code { (p.commitment) } }
            dt { (lang.t("种子", "Seed")) } dd { code { (p.seed.clone().unwrap_or_else(|| lang.t("尚未抽签", "not drawn yet").into())) } }
        }
        @if let Some(r) = &p.result { h2 { (lang.t("抽签结果", "Drawn")) } ol #drawn { @for c in r { li { (c) } } } }
        @else if may_manage(&s, &p.area) {
            (form(&s, &format!("/panels/{id}/do/draw"), html! { button #draw type="submit" { (lang.t("抽签（公开种子）", "Draw (reveal the seed)")) } }))
        }
        @match &verdict {
            Some(Ok(())) => p.ok #verdict { (lang.t("复算通过：结果与公布的名单和种子一致。", "Re-run: the result matches the published list and seed.")) },
            Some(Err(m)) => p.error #verdict { (m) },
            None => {},
        }
        p { a href={"/api/v1/panels/" (id)} { (lang.t("下载公布记录（gongzhi sortition verify 可复算）", "Download the record (gongzhi sortition verify re-runs it)")) } }
        details { summary { (lang.t("候选名单", "Candidates")) " (" (p.candidates.len()) ")" } ol { @for c in &p.candidates { li { (c) } } } }
    };
    page(Some(&s), lang, &p.title, body).into_response()
}

pub(super) async fn panel_draw(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    m: Multipart,
) -> Response {
    let back = format!("/panels/{id}");
    if let Err(r) = checked_form(&s, m).await {
        return r;
    }
    match panels::make_draw(&state.db, &state.sealer, &s.actor, &id).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => refused(&s, &e, &back),
    }
}
