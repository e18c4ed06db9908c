//! Administration: areas (imports, on the map), categories and time limits, routing rules, units,
//! users and roles, and the audit log. Every change goes through the same service functions as
//! the API, so it is validated, all or nothing, and audited.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{html, Markup};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;

use gongzhi_cases::calendar::DayKind;
use gongzhi_cases::catalog;
use gongzhi_core::http::AppState;
use gongzhi_core::identity::{self, authorize, Assignment, NewUser, Role, Target, Unit};
use gongzhi_core::{audit, Error};

use crate::report::read_multipart;
use crate::session::Session;
use crate::{error_box, messages, notice, page};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/admin", get(admin))
        .route("/admin/{what}", post(change))
}

#[derive(Deserialize, Default)]
struct AdminQuery {
    /// Which form's change was saved (a key of `messages`, never text to show).
    done: Option<String>,
    /// What an import created and updated.
    created: Option<String>,
    updated: Option<String>,
    /// A category to edit.
    edit: Option<String>,
}

const TABS: [(&str, &str, &str); 7] = [
    ("areas", "区域网格", "Areas"),
    ("categories", "类别时限", "Categories"),
    ("calendar", "工作日历", "Calendar"),
    ("rules", "派遣规则", "Routing rules"),
    ("units", "单位", "Units"),
    ("users", "用户角色", "Users"),
    ("audit", "审计日志", "Audit log"),
];

async fn admin(State(state): State<AppState>, s: Session, Query(q): Query<AdminQuery>) -> Response {
    let lang = s.lang;
    if !s.has(Role::ADMIN) {
        return (
            StatusCode::FORBIDDEN,
            page(Some(&s), lang, lang.t("管理", "Administration"), html! {
                div.error role="alert" { (lang.t("仅管理员可用。", "For administrators only.")) }
            }),
        )
            .into_response();
    }
    let csrf = s.csrf();
    let db = &state.db;
    let actor = &s.actor;
    // Each part through its module's function, with the same check as the API: a part the
    // user may not read is left out, not shown with someone else's scope.
    let since = chrono::Utc::now().date_naive() - chrono::Duration::days(30);
    let overrides = gongzhi_cases::calendar::overrides(db, since, 100)
        .await
        .unwrap_or_default();
    let area_counts = gongzhi_core::areas::count_by_level(db)
        .await
        .unwrap_or_default();
    let categories = catalog::list(db).await.unwrap_or_default();
    let rules = catalog::routing_rules(db, actor).await.ok();
    let units = identity::list_units(db).await.unwrap_or_default();
    let users = identity::list_users(db, &state.sealer, actor)
        .await
        .unwrap_or_default();
    let entries = audit::latest(db, actor, 50).await.ok();
    // The district's catalogue, calendar and routing are changed by unscoped administrators.
    let manages_catalog = authorize(actor, catalog::CATALOG_MANAGE, &Target::global()).is_ok();
    let shown = |id: &str| match id {
        "rules" => rules.is_some(),
        "audit" => entries.is_some(),
        _ => true,
    };
    let done = q
        .done
        .as_deref()
        .and_then(|k| messages::admin_done(lang, k));
    let counts: Vec<u32> = [&q.created, &q.updated]
        .iter()
        .filter_map(|v| v.as_deref()?.parse().ok())
        .collect();
    let body = html! {
        @if let Some(d) = done {
            (notice(&match counts.as_slice() {
                [c, u] => format!("{d}{}{c} {}{u}", lang.t("：新增 ", ": created "), lang.t("更新 ", "updated ")),
                _ => d.to_string(),
            }))
        }
        nav.tabs { @for (id, zh, en) in TABS { @if shown(id) { a href={"#" (id)} { (lang.t(zh, en)) } } } }

        section.card #areas {
            h2 { (lang.t("区域与网格", "Areas and grids")) }
            p { @for (level, n) in &area_counts { (lang.word(level)) " " strong { (n) } " · " } }
            div #admin-map .map.small data-grids="/dashboard/grids.json" {}
            div.grid2 {
                form method="post" action="/admin/divisions" enctype="multipart/form-data" {
                    input type="hidden" name="_csrf" value=(csrf);
                    label for="divisions-file" { (lang.t("导入区划 CSV（code,name,level,parent_code）", "Import divisions CSV (code,name,level,parent_code)")) }
                    input #divisions-file name="file" type="file" accept=".csv,text/csv" required;
                    button type="submit" { (lang.t("导入", "Import")) }
                }
                form method="post" action="/admin/geojson" enctype="multipart/form-data" {
                    input type="hidden" name="_csrf" value=(csrf);
                    label for="geojson-file" { (lang.t("导入网格 GeoJSON", "Import grid GeoJSON")) }
                    input #geojson-file name="file" type="file" accept=".geojson,.json" required;
                    button type="submit" { (lang.t("导入", "Import")) }
                }
            }
        }
        section.card #calendar {
            h2 { (lang.t("工作日历（节假日与调休）", "Working calendar (holidays and adjusted working days)")) }
            p.small { (lang.t("默认周一至周五工作；下表为日期例外，期限按 default 日历计算。", "Monday to Friday by default; below are the per-date overrides. Deadlines use the calendar named default.")) }
            div.table-wrap { table #calendar-days {
                thead { tr { th { (lang.t("日历", "Calendar")) } th { (lang.t("日期", "Date")) } th { (lang.t("类型", "Kind")) } th { (lang.t("说明", "Note")) } } }
                tbody { @for (cal, d) in &overrides { tr { td { (cal) } td { (d.date.format("%Y-%m-%d").to_string()) } td { (if d.kind == DayKind::Holiday { lang.t("休息", "holiday") } else { lang.t("调休上班", "working day") }) } td { (d.note) } } } }
            } }
            @if manages_catalog { form method="post" action="/admin/calendar" enctype="multipart/form-data" {
                input type="hidden" name="_csrf" value=(csrf);
                label for="calendar-name" { (lang.t("日历名称", "Calendar name")) }
                input #calendar-name name="name" value="default" required;
                label for="calendar-file" { (lang.t("导入日历 CSV（date,kind,note；kind 为 holiday 或 workday）", "Import calendar CSV (date,kind,note; kind holiday or workday)")) }
                input #calendar-file name="file" type="file" accept=".csv,text/csv" required;
                button type="submit" { (lang.t("导入", "Import")) }
            } }
        }
        section.card #categories {
            h2 { (lang.t("类别与时限", "Categories and time limits")) }
            div.table-wrap { table {
                thead { tr { th { (lang.t("代码", "Code")) } th { (lang.t("名称", "Name")) } th { (lang.t("响应", "Respond")) }
                    th { (lang.t("处置", "Handle")) } th { (lang.t("结案", "Close")) } th { (lang.t("紧急程度", "Urgency")) }
                    th { (lang.t("默认单位", "Default unit")) } th { (lang.t("对公众开放", "Public")) } } }
                tbody { @for c in &categories { tr {
                    td { a href={"/admin?edit=" (c.code) "#categories"} { (c.code) } } td { @if c.parent_code.is_some() { "　" } (c.name) }
                    td { (limit(&c.respond_limit)) } td { (limit(&c.handle_limit)) } td { (limit(&c.close_limit)) }
                    td { (c.urgency) } td { (c.default_unit.as_deref().unwrap_or("—")) }
                    td { @if c.public { "✓" } }
                } } }
            } }
            @if let Some(c) = q.edit.as_deref().filter(|_| manages_catalog).and_then(|code| categories.iter().find(|c| c.code == code)) {
                form #category-form method="post" action="/admin/category" enctype="multipart/form-data" {
                    input type="hidden" name="_csrf" value=(csrf);
                    input type="hidden" name="code" value=(c.code);
                    h3 { (lang.t("修改类别 ", "Edit category ")) (c.code) }
                    label for="cat-name" { (lang.t("名称", "Name")) } input #cat-name name="name" value=(c.name) required;
                    @for (field, zh, en, l) in [("respond", "响应时限", "Respond limit", &c.respond_limit), ("handle", "处置时限", "Handle limit", &c.handle_limit), ("close", "结案时限", "Close limit", &c.close_limit)] {
                        @let v = serde_json::to_value(l).unwrap_or_default();
                        label for={"cat-" (field)} { (lang.t(zh, en)) }
                        span.inline {
                            input id={"cat-" (field)} name={(field) "_amount"} type="number" min="1" value=(v["amount"]) required;
                            select name={(field) "_unit"} aria-label=(lang.t("单位", "Unit")) {
                                @for u in ["work_hours", "work_days", "hours", "days"] { option value=(u) selected[v["unit"] == u] { (u) } }
                            }
                        }
                    }
                    label for="cat-urgency" { (lang.t("紧急程度", "Urgency")) }
                    select #cat-urgency name="urgency" { @for u in ["normal", "urgent", "emergency"] { option value=(u) selected[c.urgency == u] { (u) } } }
                    label for="cat-unit" { (lang.t("默认单位", "Default unit")) }
                    select #cat-unit name="default_unit" { option value="" { "—" } @for u in &units { option value=(u.code) selected[c.default_unit.as_deref() == Some(u.code.as_str())] { (u.name) } } }
                    label for="cat-filing" { (lang.t("立案条件", "Filing condition")) } textarea #cat-filing name="filing_condition" { (c.filing_condition) }
                    label for="cat-closing" { (lang.t("结案条件", "Closing condition")) } textarea #cat-closing name="closing_condition" { (c.closing_condition) }
                    label { input type="checkbox" name="public" value="true" checked[c.public]; " " (lang.t("对公众开放", "Offered to the public")) }
                    button type="submit" { (lang.t("保存", "Save")) }
                }
            } @else if manages_catalog {
                p.small { (lang.t("点击类别代码可修改其时限、紧急程度、默认单位和条件。", "Click a category code to edit its limits, urgency, default unit and conditions.")) }
            }
        }
        @if let Some(rules) = &rules { section.card #rules {
            h2 { (lang.t("派遣规则（类别 × 区域 → 单位，最具体者优先）", "Routing rules (category × area → unit, most specific wins)")) }
            div.table-wrap { table {
                thead { tr { th { (lang.t("类别", "Category")) } th { (lang.t("区域", "Area")) } th { (lang.t("单位", "Unit")) } } }
                tbody { @for r in rules { tr {
                    td { (r.category.as_deref().unwrap_or("*")) }
                    td { (r.area.as_deref().unwrap_or("*")) }
                    td { (r.unit) }
                } } }
            } }
            form.inline-form method="post" action="/admin/rules" enctype="multipart/form-data" {
                input type="hidden" name="_csrf" value=(csrf);
                label for="rule-category" { (lang.t("类别", "Category")) } input #rule-category name="category" size="8";
                label for="rule-area" { (lang.t("区域代码", "Area code")) } input #rule-area name="area" size="12";
                label for="rule-unit" { (lang.t("单位", "Unit")) }
                select #rule-unit name="unit" { @for u in &units { option value=(u.code) { (u.name) } } }
                button type="submit" { (lang.t("添加", "Add")) }
            }
        } }
        section.card #units {
            h2 { (lang.t("单位", "Units")) }
            div.table-wrap { table {
                thead { tr { th { (lang.t("代码", "Code")) } th { (lang.t("名称", "Name")) } th { (lang.t("类型", "Kind")) } th { (lang.t("区域", "Area")) } } }
                tbody { @for u in &units { tr { td { (u.code) } td { (u.name) } td { (u.kind) } td { (u.area_code.as_deref().unwrap_or("—")) } } } }
            } }
            form.inline-form method="post" action="/admin/units" enctype="multipart/form-data" {
                input type="hidden" name="_csrf" value=(csrf);
                label for="unit-code" { (lang.t("代码", "Code")) } input #unit-code name="code" required size="14";
                label for="unit-name" { (lang.t("名称", "Name")) } input #unit-name name="name" required;
                label for="unit-kind" { (lang.t("类型", "Kind")) }
                select #unit-kind name="kind" { @for k in identity::UNIT_KINDS { option value=(k) { (k) } } }
                label for="unit-area" { (lang.t("区域代码", "Area code")) } input #unit-area name="area_code" size="12";
                button type="submit" { (lang.t("添加", "Add")) }
            }
        }
        section.card #users {
            h2 { (lang.t("用户与角色", "Users and roles")) }
            div.table-wrap { table {
                thead { tr { th { (lang.t("用户名", "User name")) } th { (lang.t("姓名", "Name")) } th { (lang.t("角色", "Roles")) } } }
                tbody { @for u in &users { tr {
                    td { (u.username) } td { (u.full_name.as_deref().unwrap_or("")) }
                    td { @for a in &u.assignments { span.badge { (lang.role(a.role)) @if let Some(x) = &a.area { " " (x) } @if let Some(x) = &a.unit { " " (x) } } " " } }
                } } }
            } }
            form.inline-form method="post" action="/admin/users" enctype="multipart/form-data" {
                input type="hidden" name="_csrf" value=(csrf);
                label for="user-name" { (lang.t("用户名", "User name")) } input #user-name name="username" required size="12";
                label for="user-password" { (lang.t("初始密码", "Password")) } input #user-password name="password" type="password" required minlength="8";
                label for="user-role" { (lang.t("角色", "Role")) }
                select #user-role name="role" { @for d in identity::registered() { option value=(d.role.as_str()) { (lang.t(d.zh, d.en)) } } }
                label for="user-area" { (lang.t("区域", "Area")) } input #user-area name="area" size="12";
                label for="user-unit" { (lang.t("单位", "Unit")) } input #user-unit name="unit" size="12";
                button type="submit" { (lang.t("添加", "Add")) }
            }
        }
        @if let Some(entries) = &entries { section.card #audit {
            h2 { (lang.t("审计日志（最近 50 条）", "Audit log (latest 50)")) }
            div.table-wrap { table.audit {
                thead { tr { th { "#" } th { (lang.t("时间", "At")) } th { (lang.t("操作人", "Actor")) } th { (lang.t("操作", "Action")) } th { (lang.t("对象", "Entity")) } th { (lang.t("哈希", "Hash")) } } }
                tbody { @for e in entries.iter().rev() { tr {
                    td { (e.seq) } td { (e.at.get(..19).unwrap_or(&e.at)) } td { (e.actor) } td { (e.action) } td { (e.entity) } td.hash { (e.hash.get(..12).unwrap_or("")) }
                } } }
            } }
        } }
        (crate::dashboard::map_scripts(&state))
    };
    page(Some(&s), lang, lang.t("管理", "Administration"), body).into_response()
}

fn limit(l: &gongzhi_cases::calendar::TimeLimit) -> String {
    serde_json::to_value(l)
        .ok()
        .map(|v| format!("{} {}", v["amount"], v["unit"].as_str().unwrap_or("")))
        .unwrap_or_default()
}

async fn change(
    State(state): State<AppState>,
    s: Session,
    Path(what): Path<String>,
    m: Multipart,
) -> Response {
    let form = match read_multipart(m).await {
        Ok(f) => f,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    if let Err(r) = s.check(form.get("_csrf")) {
        return r;
    }
    let db = &state.db;
    let actor = &s.actor;
    let file_text = || -> Result<String, Error> {
        let (_, bytes) = form
            .files
            .first()
            .ok_or_else(|| Error::invalid("empty_upload", "choose a file"))?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::invalid("invalid_encoding", "the file is not UTF-8"))
    };
    // What an import created and updated, for the message.
    let result: Result<Option<(usize, usize)>, Error> = async {
        match what.as_str() {
            "divisions" | "geojson" => {
                let text = file_text()?;
                let report = if what == "divisions" {
                    gongzhi_core::areas::import_divisions(db, actor, &text).await?
                } else {
                    gongzhi_core::areas::import_geojson(db, actor, &text).await?
                };
                let _ = state.refresh_locate().await;
                Ok(Some((report.created, report.updated)))
            }
            "calendar" => {
                let days = gongzhi_cases::calendar::parse_calendar_csv(&file_text()?).map_err(|problems| {
                    Error::invalid_with(
                        "invalid_calendar",
                        format!("{} bad lines; nothing was imported", problems.len()),
                        serde_json::json!({"problems": problems.iter().map(|(at, problem)| serde_json::json!({"at": at, "code": "invalid_calendar", "problem": problem})).collect::<Vec<_>>()}),
                    )
                })?;
                let n = gongzhi_cases::calendar::import(db, actor, form.get("name"), &days).await?;
                gongzhi_cases::intake::forget_reference(db).await;
                Ok(Some((n, 0)))
            }
            "rules" => {
                let unit = form.get("unit");
                gongzhi_cases::store::add_rule(db, actor, form.opt("category").as_deref(), form.opt("area").as_deref(), unit).await?;
                gongzhi_cases::intake::forget_reference(db).await;
                Ok(None)
            }
            "units" => {
                let u = Unit {
                    code: form.get("code").into(),
                    name: form.get("name").into(),
                    kind: form.get("kind").into(),
                    area_code: form.opt("area_code"),
                };
                identity::create_unit(db, actor, &u).await?;
                gongzhi_cases::intake::forget_reference(db).await;
                Ok(None)
            }
            "users" => {
                let role = Role::parse(form.get("role"))?;
                let u = NewUser {
                    username: form.get("username").into(),
                    password: form.get("password").into(),
                    assignments: vec![Assignment { role, area: form.opt("area"), unit: form.opt("unit") }],
                    full_name: None,
                    phone: None,
                    email: None,
                };
                identity::create_user(db, &state.sealer, actor, &u).await?;
                Ok(None)
            }
            "category" => {
                let mut c = catalog::get(db, form.get("code")).await?;
                let limit = |field: &str| -> Result<gongzhi_cases::calendar::TimeLimit, Error> {
                    let amount = form.get(&format!("{field}_amount")).parse::<u32>().map_err(|_| Error::invalid("invalid_limit", format!("the {field} limit is a whole number")))?;
                    serde_json::from_value(serde_json::json!({"amount": amount, "unit": form.get(&format!("{field}_unit"))})).map_err(|e| Error::invalid("invalid_limit", e.to_string()))
                };
                c.respond_limit = limit("respond")?;
                c.handle_limit = limit("handle")?;
                c.close_limit = limit("close")?;
                c.name = form.get("name").into();
                c.urgency = form.get("urgency").into();
                c.default_unit = form.opt("default_unit");
                c.filing_condition = form.get("filing_condition").into();
                c.closing_condition = form.get("closing_condition").into();
                c.public = form.get("public") == "true";
                catalog::save(db, actor, &c).await?;
                gongzhi_cases::intake::forget_reference(db).await;
                Ok(None)
            }
            _ => Err(Error::not_found("admin form")),
        }
    }
    .await;
    match result {
        Ok(counts) => {
            let counts = counts
                .map(|(c, u)| format!("&created={c}&updated={u}"))
                .unwrap_or_default();
            Redirect::to(&format!("/admin?done={what}{counts}")).into_response()
        }
        Err(e) => {
            let lang = s.lang;
            let status = match e {
                Error::Forbidden(_) => StatusCode::FORBIDDEN,
                Error::NotFound { .. } => StatusCode::NOT_FOUND,
                _ => StatusCode::BAD_REQUEST,
            };
            let body: Markup = html! { (error_box(lang, &e)) p { a href="/admin" { (lang.t("返回管理", "Back to administration")) } } };
            (
                status,
                page(Some(&s), lang, lang.t("管理", "Administration"), body),
            )
                .into_response()
        }
    }
}
