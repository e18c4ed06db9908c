//! Staff lists of the deliberation module: the residents verified for an area (with revoking),
//! and the reports of content waiting for a moderator.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use gongzhi_core::state::AppState;
use gongzhi_web::page;
use gongzhi_web::session::Session;

use super::{form, refused, staff_area};
use crate::{moderation, residents};

#[derive(serde::Deserialize)]
pub(super) struct AreaQuery {
    pub(super) area: Option<String>,
}

pub(super) async fn residents_page(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<AreaQuery>,
) -> Response {
    let lang = s.lang;
    let area = q.area.or_else(|| staff_area(&s)).unwrap_or_default();
    let list = match residents::list_in(&state.db, &state.sealer, &s.actor, &area).await {
        Ok(l) => l,
        Err(e) => return refused(&s, &e, "/deliberation"),
    };
    let body = html! {
        table #verified {
            thead { tr { th { (lang.t("居民", "Resident")) } th { (lang.t("社区", "Community")) } th { (lang.t("小区/楼栋", "Place")) } th { (lang.t("方式", "How")) } th { (lang.t("核验时间", "Verified")) } th {} } }
            tbody {
                @for v in &list {
                    tr {
                        td { (v.resident) } td { (v.area) } td { (v.place) }
                        td { (if v.method.as_str() == "code" { lang.t("认证码", "code") } else { lang.t("登记核验", "registry") }) }
                        td { (v.verified_at) }
                        td {
                            @if let Some(r) = &v.revoke_reason { (lang.t("已撤销：", "Revoked: ")) (r) }
                            @else {
                                (form(&s, "/deliberation/do/revoke", html! {
                                    input type="hidden" name="id" value=(v.id);
                                    input type="hidden" name="area" value=(area);
                                    input name="reason" required aria-label=(lang.t("撤销理由", "Reason")) placeholder=(lang.t("撤销理由", "Reason"));
                                    button type="submit" { (lang.t("撤销", "Revoke")) }
                                }))
                            }
                        }
                    }
                }
            }
        }
    };
    page(
        Some(&s),
        lang,
        lang.t("已核验居民", "Verified residents"),
        body,
    )
    .into_response()
}

pub(super) async fn moderation_page(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<AreaQuery>,
) -> Response {
    let lang = s.lang;
    let area = q.area.or_else(|| staff_area(&s)).unwrap_or_default();
    let items = match moderation::open_reports(&state.db, &s.actor, &area).await {
        Ok(l) => l,
        Err(e) => return refused(&s, &e, "/deliberation"),
    };
    let body = html! {
        @if items.is_empty() { p.empty { (lang.t("没有待审核的举报。", "No reports to review.")) } }
        table #reports {
            thead { tr { th { (lang.t("内容", "Content")) } th { (lang.t("举报数", "Reports")) } th { (lang.t("理由", "Reasons")) } th { (lang.t("状态", "State")) } th {} } }
            tbody {
                @for i in &items {
                    tr {
                        td { (i.target) } td { (i.open_reports) } td { (i.reasons.join("；")) }
                        td { (if i.hidden { lang.t("已自动隐藏", "hidden") } else { lang.t("显示中", "shown") }) }
                        td {
                            @for (action, zh, en) in [("hide", "隐藏", "Hide"), ("restore", "恢复（驳回举报）", "Restore (reject the reports)")] {
                                (form(&s, "/deliberation/do/moderate", html! {
                                    input type="hidden" name="target" value=(i.target);
                                    input type="hidden" name="action" value=(action);
                                    input type="hidden" name="area" value=(area);
                                    input name="reason" required aria-label=(lang.t("处理理由", "Reason")) placeholder=(lang.t("处理理由（将显示）", "Reason (shown)"));
                                    button type="submit" { (lang.t(zh, en)) }
                                }))
                            }
                        }
                    }
                }
            }
        }
    };
    page(
        Some(&s),
        lang,
        lang.t("举报审核", "Reports to review"),
        body,
    )
    .into_response()
}
