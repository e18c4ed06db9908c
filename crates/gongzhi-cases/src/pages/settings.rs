//! The cases module's parts of the administration page — the working calendar, categories with
//! their time limits, and routing rules — and the forms that change them. Each part shows what
//! the API shows the same person; the district's catalogue, calendar and routing are changed
//! by unscoped administrators (`catalog_manage`).

use axum::routing::MethodRouter;
use axum::Router;
use maud::{html, Markup};

use gongzhi_core::identity::{self, authorize, Target, Unit};
use gongzhi_core::state::AppState;
use gongzhi_core::state::{AdminFuture, AdminSection, AdminView};
use gongzhi_core::Error;
use gongzhi_web::error_box;
use gongzhi_web::form::{change_route, import_form, uploaded_text, Submitted};
use gongzhi_web::i18n::Lang;
use gongzhi_web::session::Session;

use crate::model::catalog;
use crate::permissions::CATALOG_MANAGE;
use gongzhi_core::calendar::{self, DayKind, LimitUnit, TimeLimit};

pub const SECTIONS: &[AdminSection] = &[
    AdminSection {
        id: "calendar",
        zh: "工作日历",
        en: "Calendar",
        order: 20,
        render: calendar_section,
        done: &[("calendar", "工作日历已导入", "Working calendar imported")],
    },
    AdminSection {
        id: "categories",
        zh: "类别时限",
        en: "Categories",
        order: 30,
        render: categories_section,
        done: &[("category", "类别已保存", "Category saved")],
    },
    AdminSection {
        id: "rules",
        zh: "派遣规则",
        en: "Routing rules",
        order: 40,
        render: rules_section,
        done: &[("rules", "派遣规则已添加", "Routing rule added")],
    },
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/calendar", change("calendar"))
        .route("/admin/rules", change("rules"))
        .route("/admin/category", change("category"))
}

fn manages_catalog(view: &AdminView) -> bool {
    authorize(view.actor, CATALOG_MANAGE, &Target::global()).is_ok()
}

fn calendar_section<'a>(state: &'a AppState, view: &'a AdminView<'a>) -> AdminFuture<'a> {
    Box::pin(async move {
        let lang = Lang::from_code(view.lang);
        let since = chrono::Utc::now().date_naive() - chrono::Duration::days(30);
        let overrides = calendar::overrides(&state.db, since, 100).await;
        Some(html! {
            section.card #calendar {
                h2 { (lang.t("工作日历（节假日与调休）", "Working calendar (holidays and adjusted working days)")) }
                p.small { (lang.t("默认周一至周五工作；下表为日期例外，期限按 default 日历计算。", "Monday to Friday by default; below are the per-date overrides. Deadlines use the calendar named default.")) }
                @match &overrides {
                    Ok(overrides) => div.table-wrap { table #calendar-days {
                        thead { tr { th { (lang.t("日历", "Calendar")) } th { (lang.t("日期", "Date")) } th { (lang.t("类型", "Kind")) } th { (lang.t("说明", "Note")) } } }
                        tbody { @for (cal, d) in overrides { tr { td { (cal) } td { (d.date.format("%Y-%m-%d").to_string()) } td { (if d.kind == DayKind::Holiday { lang.t("休息", "holiday") } else { lang.t("调休上班", "working day") }) } td { (d.note) } } } }
                    } },
                    Err(e) => (error_box(lang, e)),
                }
                @if manages_catalog(view) {
                    (import_form(view.csrf, "/admin/calendar", "calendar-file", lang.t("导入日历 CSV（date,kind,note；kind 为 holiday 或 workday）", "Import calendar CSV (date,kind,note; kind holiday or workday)"), ".csv,text/csv", html! {
                        label for="calendar-name" { (lang.t("日历名称", "Calendar name")) }
                        input #calendar-name name="name" value="default" required;
                    }, lang.t("导入", "Import")))
                }
            }
        }.into_string())
    })
}

fn limit(l: &TimeLimit) -> String {
    format!("{} {}", l.amount, l.unit.as_str())
}

fn categories_section<'a>(state: &'a AppState, view: &'a AdminView<'a>) -> AdminFuture<'a> {
    Box::pin(async move {
        let lang = Lang::from_code(view.lang);
        let (categories, units) = (
            crate::store::catalog::list(&state.db).await,
            identity::list_units(&state.db).await,
        );
        let editing = view
            .query
            .get("edit")
            .filter(|_| manages_catalog(view))
            .and_then(|code| categories.as_ref().ok()?.iter().find(|c| &c.code == code));
        Some(html! {
            section.card #categories {
                h2 { (lang.t("类别与时限", "Categories and time limits")) }
                @match &categories {
                    Ok(categories) => div.table-wrap { table {
                        thead { tr { th { (lang.t("代码", "Code")) } th { (lang.t("名称", "Name")) } th { (lang.t("响应", "Respond")) }
                            th { (lang.t("处置", "Handle")) } th { (lang.t("结案", "Close")) } th { (lang.t("紧急程度", "Urgency")) }
                            th { (lang.t("默认单位", "Default unit")) } th { (lang.t("对公众开放", "Public")) } } }
                        tbody { @for c in categories { tr {
                            td { a href={"/admin?edit=" (c.code) "#categories"} { (c.code) } } td { @if c.parent_code.is_some() { "　" } (c.name) }
                            td { (limit(&c.respond_limit)) } td { (limit(&c.handle_limit)) } td { (limit(&c.close_limit)) }
                            td { (c.urgency) } td { (c.default_unit.as_deref().unwrap_or("—")) }
                            td { @if c.public { "✓" } }
                        } } }
                    } },
                    Err(e) => (error_box(lang, e)),
                }
                @if let Err(e) = &units { (error_box(lang, e)) }
                @if let Some(c) = editing {
                    (category_form(lang, view.csrf, c, units.as_deref().unwrap_or(&[])))
                } @else if manages_catalog(view) {
                    p.small { (lang.t("点击类别代码可修改其时限、紧急程度、默认单位和条件。", "Click a category code to edit its limits, urgency, default unit and conditions.")) }
                }
            }
        }.into_string())
    })
}

fn category_form(lang: Lang, csrf: &str, c: &catalog::Category, units: &[Unit]) -> Markup {
    let limits = [
        ("respond", "响应时限", "Respond limit", &c.respond_limit),
        ("handle", "处置时限", "Handle limit", &c.handle_limit),
        ("close", "结案时限", "Close limit", &c.close_limit),
    ];
    html! {
        form #category-form method="post" action="/admin/category" enctype="multipart/form-data" {
            input type="hidden" name="_csrf" value=(csrf);
            input type="hidden" name="code" value=(c.code);
            h3 { (lang.t("修改类别 ", "Edit category ")) (c.code) }
            label for="cat-name" { (lang.t("名称", "Name")) } input #cat-name name="name" value=(c.name) required;
            @for (field, zh, en, l) in limits {
                label for={"cat-" (field)} { (lang.t(zh, en)) }
                span.inline {
                    input id={"cat-" (field)} name={(field) "_amount"} type="number" min="1" value=(l.amount) required;
                    select name={(field) "_unit"} aria-label=(lang.t("单位", "Unit")) {
                        @for u in ["work_hours", "work_days", "hours", "days"] { option value=(u) selected[l.unit.as_str() == u] { (u) } }
                    }
                }
            }
            label for="cat-urgency" { (lang.t("紧急程度", "Urgency")) }
            select #cat-urgency name="urgency" { @for u in ["normal", "urgent", "emergency"] { option value=(u) selected[c.urgency == u] { (u) } } }
            label for="cat-unit" { (lang.t("默认单位", "Default unit")) }
            select #cat-unit name="default_unit" { option value="" { "—" } @for u in units { option value=(u.code) selected[c.default_unit.as_deref() == Some(u.code.as_str())] { (u.name) } } }
            label for="cat-filing" { (lang.t("立案条件", "Filing condition")) } textarea #cat-filing name="filing_condition" { (c.filing_condition) }
            label for="cat-closing" { (lang.t("结案条件", "Closing condition")) } textarea #cat-closing name="closing_condition" { (c.closing_condition) }
            label { input type="checkbox" name="public" value="true" checked[c.public]; " " (lang.t("对公众开放", "Offered to the public")) }
            button type="submit" { (lang.t("保存", "Save")) }
        }
    }
}

/// Routing rules, for those the API shows them to (the whole district's routing); to others
/// the part is not there.
fn rules_section<'a>(state: &'a AppState, view: &'a AdminView<'a>) -> AdminFuture<'a> {
    Box::pin(async move {
        let lang = Lang::from_code(view.lang);
        let rules = match crate::queries::catalog::routing_rules(&state.db, view.actor).await {
            Err(Error::Forbidden(_)) => return None,
            rules => rules,
        };
        let units = identity::list_units(&state.db).await;
        Some(html! {
            section.card #rules {
                h2 { (lang.t("派遣规则（类别 × 区域 → 单位，最具体者优先）", "Routing rules (category × area → unit, most specific wins)")) }
                @match &rules {
                    Ok(rules) => div.table-wrap { table {
                        thead { tr { th { (lang.t("类别", "Category")) } th { (lang.t("区域", "Area")) } th { (lang.t("单位", "Unit")) } } }
                        tbody { @for r in rules { tr {
                            td { (r.category.as_deref().unwrap_or("*")) }
                            td { (r.area.as_deref().unwrap_or("*")) }
                            td { (r.unit) }
                        } } }
                    } },
                    Err(e) => (error_box(lang, e)),
                }
                @if let Err(e) = &units { (error_box(lang, e)) }
                form.inline-form method="post" action="/admin/rules" enctype="multipart/form-data" {
                    input type="hidden" name="_csrf" value=(view.csrf);
                    label for="rule-category" { (lang.t("类别", "Category")) } input #rule-category name="category" size="8";
                    label for="rule-area" { (lang.t("区域代码", "Area code")) } input #rule-area name="area" size="12";
                    label for="rule-unit" { (lang.t("单位", "Unit")) }
                    select #rule-unit name="unit" { @for u in units.as_deref().unwrap_or(&[]) { option value=(u.code) { (u.name) } } }
                    button type="submit" { (lang.t("添加", "Add")) }
                }
            }
        }.into_string())
    })
}

/// The route of one of this module's administration forms; back to `/admin` when done.
fn change(what: &'static str) -> MethodRouter<AppState> {
    change_route(what, |state, s, what, form| {
        Box::pin(async move { Ok(apply(state, s, what, form).await?.map(|days| (days, 0))) })
    })
}

/// Makes the change (each moves the version intake's reference data follows); how many days a
/// calendar import wrote.
async fn apply(
    state: &AppState,
    s: &Session,
    what: &str,
    form: &Submitted,
) -> Result<Option<usize>, Error> {
    let (db, actor) = (&state.db, &s.actor);
    let written = match what {
        "calendar" => {
            let days = calendar::parse_calendar_csv(&uploaded_text(form)?).map_err(|problems| {
                let listed: Vec<_> = problems
                    .iter()
                    .map(|(at, problem)| serde_json::json!({"at": at, "code": "invalid_calendar", "problem": problem}))
                    .collect();
                Error::invalid_with(
                    "invalid_calendar",
                    format!("{} bad lines; nothing was imported", problems.len()),
                    serde_json::json!({ "problems": listed }),
                )
            })?;
            Some(calendar::import(db, actor, form.get("name"), &days).await?)
        }
        "rules" => {
            let (category, area) = (form.opt("category"), form.opt("area"));
            crate::commands::add_rule(
                db,
                actor,
                category.as_deref(),
                area.as_deref(),
                form.get("unit"),
            )
            .await?;
            None
        }
        "category" => {
            let mut c = crate::store::catalog::get(db, form.get("code")).await?;
            c.respond_limit = limit_of(form, "respond")?;
            c.handle_limit = limit_of(form, "handle")?;
            c.close_limit = limit_of(form, "close")?;
            c.name = form.get("name").into();
            c.urgency = form.get("urgency").into();
            c.default_unit = form.opt("default_unit");
            c.filing_condition = form.get("filing_condition").into();
            c.closing_condition = form.get("closing_condition").into();
            c.public = form.get("public") == "true";
            crate::commands::save_category(db, actor, &c).await?;
            None
        }
        _ => return Err(Error::not_found("admin form")),
    };
    Ok(written)
}

/// A category's time limit from its two fields (`respond_amount`, `respond_unit`).
fn limit_of(form: &Submitted, field: &str) -> Result<TimeLimit, Error> {
    let amount = form
        .get(&format!("{field}_amount"))
        .parse::<u32>()
        .map_err(|_| {
            Error::invalid(
                "invalid_limit",
                format!("the {field} limit is a whole number"),
            )
        })?;
    let unit = form.get(&format!("{field}_unit"));
    let unit = LimitUnit::parse(unit).ok_or_else(|| {
        Error::invalid(
            "invalid_limit",
            format!("the {field} limit's unit is work_hours, work_days, hours or days"),
        )
    })?;
    Ok(TimeLimit { amount, unit })
}
