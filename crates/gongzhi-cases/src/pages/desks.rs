//! The desks' case lists, each in the order of its user's day: the dispatch queue, a unit's
//! inbox, a grid worker's tasks, a resident's own requests, and every case in one's scope. Each
//! lists what `store::list` gives the same person, as the API does.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;

use gongzhi_core::state::AppState;
use gongzhi_web::i18n::Lang;
use gongzhi_web::session::Session;
use gongzhi_web::{error_box, page};

use crate::model::{CaseFilter, CasePage, CaseView};
use crate::queries;
use crate::rules::workflow::Status;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases", get(all_cases))
        .route("/queue", get(queue))
        .route("/inbox", get(inbox))
        .route("/tasks", get(tasks))
        .route("/my", get(mine))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    status: Option<String>,
    area: Option<String>,
    overdue: Option<String>,
    page: Option<u32>,
    /// The previous page's last case (keyset paging; `page` is then its number, for show).
    after: Option<String>,
}

/// A desk's list: its tabs (statuses), the chosen one, a page of cases.
async fn desk(
    state: &AppState,
    s: &Session,
    path: &str,
    title: &str,
    tabs: &[&str],
    q: ListQuery,
) -> Response {
    let lang = s.lang;
    let status = q
        .status
        .clone()
        .filter(|t| t.is_empty() || Status::parse(t).is_some())
        .unwrap_or_else(|| tabs.first().map(|t| t.to_string()).unwrap_or_default());
    let filter = CaseFilter {
        status: Some(status.clone()).filter(|s| !s.is_empty()),
        area: q.area.clone().filter(|a| !a.is_empty()),
        overdue: q.overdue.as_deref().map(|o| o == "1"),
        page: q.page,
        page_size: Some(PAGE),
        after: q.after.clone().filter(|a| !a.is_empty()),
        ..Default::default()
    };
    let listed = queries::case::list(&state.db, &state.sealer, &s.actor, &filter).await;
    let body = html! {
        nav.tabs aria-label=(lang.t("状态", "Status")) {
            @for t in tabs {
                a href={(path) "?status=" (t)} aria-current=[(status == *t).then_some("page")] {
                    @if t.is_empty() { (lang.t("全部", "All")) } @else { (lang.word(t)) }
                }
            }
            a href={(path) "?status=" (status) "&overdue=1"} aria-current=[(q.overdue.as_deref() == Some("1")).then_some("page")] { (lang.t("已超期", "Overdue")) }
        }
        @match &listed {
            Err(e) => (error_box(lang, e)),
            Ok(p) => {
                (case_table(lang, &p.items))
                (pager(lang, path, &status, p))
            }
        }
    };
    page(Some(s), lang, title, body).into_response()
}

const PAGE: u32 = 20;

fn case_table(lang: Lang, items: &[CaseView]) -> Markup {
    html! {
        @if items.is_empty() {
            p.empty { (lang.t("没有案件。", "No cases.")) }
        } @else {
            div.table-wrap {
                table.cases {
                    thead { tr {
                        th { (lang.t("编号", "Number")) }
                        th { (lang.t("类别", "Category")) }
                        th { (lang.t("描述", "Description")) }
                        th { (lang.t("位置", "Where")) }
                        th { (lang.t("状态", "Status")) }
                        th { (lang.t("处置单位", "Unit")) }
                        th { (lang.t("处置时限", "Handle by")) }
                    } }
                    tbody {
                        @for c in items {
                            tr.overdue[c.overdue] {
                                td { a href={"/cases/" (c.id)} { (c.number) } }
                                td { (c.category_name) }
                                td.desc { (truncate(&c.description, 40)) }
                                td { (c.community.as_ref().map(|a| a.name.as_str()).or(c.address.as_deref()).unwrap_or("—")) }
                                td { span class={"status s-" (c.status.as_str())} { (lang.word(c.status.as_str())) } }
                                td { (c.unit.as_deref().unwrap_or("—")) }
                                td { @if let Some(d) = &c.deadlines.handle { time.countdown datetime=(d) { (short_time(d)) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn pager(lang: Lang, path: &str, status: &str, p: &CasePage) -> Markup {
    let (page, size, total, capped) = (p.page, p.page_size, p.total, p.total_capped);
    let pages = ((total as f64) / f64::from(size.max(1))).ceil().max(1.0) as u32;
    html! {
        nav.pager aria-label=(lang.t("分页", "Pages")) {
            @if page > 1 { a rel="prev" href={(path) "?status=" (status) "&page=" (page - 1)} { (lang.t("上一页", "Previous")) } }
            span { (page) " / " (pages) @if capped { "+" } " · " (total) @if capped { "+" } (lang.t(" 件", " cases")) }
            @if let Some(next) = &p.next { a rel="next" href={(path) "?status=" (status) "&page=" (page + 1) "&after=" (gongzhi_web::enc(next))} { (lang.t("下一页", "Next")) } }
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}…", s.chars().take(n).collect::<String>())
    } else {
        s.to_string()
    }
}

pub(super) fn short_time(rfc3339: &str) -> String {
    // 2026-11-23T14:05:00+08:00 → 11-23 14:05
    rfc3339
        .get(5..16)
        .map(|t| t.replace('T', " "))
        .unwrap_or_default()
}

async fn all_cases(State(st): State<AppState>, s: Session, Query(q): Query<ListQuery>) -> Response {
    let tabs = [
        "",
        "reported",
        "filed",
        "dispatched",
        "signed",
        "reported_back",
        "verified",
        "closed",
        "called_back",
    ];
    let t = s.lang.t("案件", "Cases");
    desk(&st, &s, "/cases", t, &tabs, q).await
}

async fn queue(State(st): State<AppState>, s: Session, Query(q): Query<ListQuery>) -> Response {
    let tabs = ["reported", "accepted", "filed", "verified", "closed"];
    let t = s.lang.t("待派遣", "Dispatch queue");
    desk(&st, &s, "/queue", t, &tabs, q).await
}

async fn inbox(State(st): State<AppState>, s: Session, Query(q): Query<ListQuery>) -> Response {
    let tabs = ["dispatched", "signed", "reported_back"];
    let t = s.lang.t("待办", "Inbox");
    desk(&st, &s, "/inbox", t, &tabs, q).await
}

async fn tasks(State(st): State<AppState>, s: Session, Query(q): Query<ListQuery>) -> Response {
    let tabs = ["reported_back", "reported", ""];
    let t = s.lang.t("我的任务：核查", "My tasks: verify");
    desk(&st, &s, "/tasks", t, &tabs, q).await
}

async fn mine(State(st): State<AppState>, s: Session, Query(q): Query<ListQuery>) -> Response {
    let t = s.lang.t("我的诉求", "My requests");
    desk(&st, &s, "/my", t, &["", "closed"], q).await
}
