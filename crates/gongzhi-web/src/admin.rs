//! Administration of the platform: areas (imports, on the map), units, users and roles, and the
//! audit log; the modules add their own sections (the cases module: categories, the working
//! calendar, routing rules) through their manifest. Every change goes through the same service
//! functions as the API, so it is validated, all or nothing, and audited; every part shows only
//! what the API would show the same person.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use maud::{html, Markup, PreEscaped};

use gongzhi_core::identity::{self, may_somewhere, Action, Assignment, NewUser, Role, Unit};
use gongzhi_core::state::AppState;
use gongzhi_core::state::{AdminView, MenuEntry};
use gongzhi_core::{audit, Error};

use crate::form::{change_route, import_form, uploaded_text, Submitted};
use crate::i18n::Lang;
use crate::layout::{error_box, notice, page, refusal};
use crate::map::map_scripts;
use crate::messages;
use crate::session::Session;

/// Who may open the administration page: those who manage users (somewhere; each part then
/// shows only what their scope reaches).
pub const ADMINISTER: Action = Action::USER_MANAGE;

pub const MENU: &[MenuEntry] = &[MenuEntry {
    href: "/admin",
    zh: "管理",
    en: "Administration",
    action: ADMINISTER,
    order: 100,
    start: Some(10),
}];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin))
        .route("/admin/divisions", change("divisions"))
        .route("/admin/geojson", change("geojson"))
        .route("/admin/units", change("units"))
        .route("/admin/users", change("users"))
}

/// One part of the page, the platform's or a module's, with its place and tab.
struct Part {
    id: &'static str,
    zh: &'static str,
    en: &'static str,
    order: u16,
    html: Markup,
}

async fn admin(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = s.lang;
    if !may_somewhere(&s.actor, ADMINISTER) {
        let e = Error::Forbidden(lang.t("仅管理员可用。", "For administrators only.").into());
        return refusal(&s, &e, lang.t("管理", "Administration"), "/");
    }
    let csrf = s.csrf();
    let mut parts = platform_parts(&state, &s, &csrf).await;
    let view = AdminView {
        actor: &s.actor,
        lang: lang.code(),
        csrf: &csrf,
        query: &q,
    };
    for section in state.admin_sections() {
        if let Some(html) = (section.render)(&state, &view).await {
            parts.push(Part {
                id: section.id,
                zh: section.zh,
                en: section.en,
                order: section.order,
                html: PreEscaped(html),
            });
        }
    }
    parts.sort_by_key(|p| p.order);
    let body = html! {
        @if let Some(d) = done_message(&state, lang, &q) { (notice(&d)) }
        nav.tabs { @for p in &parts { a href={"#" (p.id)} { (lang.t(p.zh, p.en)) } } }
        @for p in &parts { (p.html) }
        (map_scripts(&state))
    };
    page(Some(&s), lang, lang.t("管理", "Administration"), body).into_response()
}

/// The fixed message for the change named in the address (a key, never text to show), with an
/// import's counts as numbers.
fn done_message(state: &AppState, lang: Lang, q: &HashMap<String, String>) -> Option<String> {
    let key = q.get("done")?;
    let d = messages::admin_done(lang, key).or_else(|| {
        state
            .admin_sections()
            .iter()
            .flat_map(|s| s.done.iter())
            .find(|(k, _, _)| k == key)
            .map(|(_, zh, en)| lang.t(zh, en))
    })?;
    let counts: Vec<u32> = ["created", "updated"]
        .iter()
        .filter_map(|k| q.get(*k)?.parse().ok())
        .collect();
    Some(match counts.as_slice() {
        [c, u] => format!(
            "{d}{}{c} {}{u}",
            lang.t("：新增 ", ": created "),
            lang.t("更新 ", "updated ")
        ),
        _ => d.to_string(),
    })
}

/// The platform's own parts: areas, units, users, and the audit log for those who may read it.
async fn platform_parts(state: &AppState, s: &Session, csrf: &str) -> Vec<Part> {
    let (db, actor, lang) = (&state.db, &s.actor, s.lang);
    let areas = gongzhi_core::areas::count_by_level(db).await;
    let units = identity::list_units(db).await;
    let users = identity::list_users(db, &state.sealer, actor).await;
    let mut parts = vec![
        Part {
            id: "areas",
            zh: "区域网格",
            en: "Areas",
            order: 10,
            html: areas_part(lang, csrf, &areas),
        },
        Part {
            id: "units",
            zh: "单位",
            en: "Units",
            order: 50,
            html: units_part(lang, csrf, &units),
        },
        Part {
            id: "users",
            zh: "用户角色",
            en: "Users",
            order: 60,
            html: users_part(lang, csrf, &users),
        },
    ];
    // The district's audit log is for those the API shows it to; to others it is not there.
    match audit::latest(db, actor, 50).await {
        Err(Error::Forbidden(_)) => {}
        entries => parts.push(Part {
            id: "audit",
            zh: "审计日志",
            en: "Audit log",
            order: 70,
            html: audit_part(lang, &entries),
        }),
    }
    parts
}

fn areas_part(lang: Lang, csrf: &str, counts: &Result<Vec<(String, i64)>, Error>) -> Markup {
    html! {
        section.card #areas {
            h2 { (lang.t("区域与网格", "Areas and grids")) }
            @match counts {
                Ok(counts) => p { @for (level, n) in counts { (lang.word(level)) " " strong { (n) } " · " } },
                Err(e) => (error_box(lang, e)),
            }
            div #admin-map .map.small data-grids="/dashboard/grids.json" {}
            div.grid2 {
                (import_form(csrf, "/admin/divisions", "divisions-file", lang.t("导入区划 CSV（code,name,level,parent_code）", "Import divisions CSV (code,name,level,parent_code)"), ".csv,text/csv", html! {}, lang.t("导入", "Import")))
                (import_form(csrf, "/admin/geojson", "geojson-file", lang.t("导入网格 GeoJSON", "Import grid GeoJSON"), ".geojson,.json", html! {}, lang.t("导入", "Import")))
            }
        }
    }
}

fn units_part(lang: Lang, csrf: &str, units: &Result<Vec<Unit>, Error>) -> Markup {
    html! {
        section.card #units {
            h2 { (lang.t("单位", "Units")) }
            @match units {
                Ok(units) => div.table-wrap { table {
                    thead { tr { th { (lang.t("代码", "Code")) } th { (lang.t("名称", "Name")) } th { (lang.t("类型", "Kind")) } th { (lang.t("区域", "Area")) } } }
                    tbody { @for u in units { tr { td { (u.code) } td { (u.name) } td { (u.kind) } td { (u.area_code.as_deref().unwrap_or("—")) } } } }
                } },
                Err(e) => (error_box(lang, e)),
            }
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
    }
}

fn users_part(lang: Lang, csrf: &str, users: &Result<Vec<identity::UserView>, Error>) -> Markup {
    html! {
        section.card #users {
            h2 { (lang.t("用户与角色", "Users and roles")) }
            @match users {
                Ok(users) => div.table-wrap { table {
                    thead { tr { th { (lang.t("用户名", "User name")) } th { (lang.t("姓名", "Name")) } th { (lang.t("角色", "Roles")) } } }
                    tbody { @for u in users { tr {
                        td { (u.username) } td { (u.full_name.as_deref().unwrap_or("")) }
                        td { @for a in &u.assignments { span.badge { (lang.role(a.role)) @if let Some(x) = &a.area { " " (x) } @if let Some(x) = &a.unit { " " (x) } } " " } }
                    } } }
                } },
                Err(e) => (error_box(lang, e)),
            }
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
    }
}

fn audit_part(lang: Lang, entries: &Result<Vec<audit::AuditEntry>, Error>) -> Markup {
    html! {
        section.card #audit {
            h2 { (lang.t("审计日志（最近 50 条）", "Audit log (latest 50)")) }
            @match entries {
                Ok(entries) => div.table-wrap { table.audit {
                    thead { tr { th { "#" } th { (lang.t("时间", "At")) } th { (lang.t("操作人", "Actor")) } th { (lang.t("操作", "Action")) } th { (lang.t("对象", "Entity")) } th { (lang.t("哈希", "Hash")) } } }
                    tbody { @for e in entries.iter().rev() { tr {
                        td { (e.seq) } td { (e.at.get(..19).unwrap_or(&e.at)) } td { (e.actor) } td { (e.action) } td { (e.entity) } td.hash { (e.hash.get(..12).unwrap_or("")) }
                    } } }
                } },
                Err(e) => (error_box(lang, e)),
            }
        }
    }
}

/// The route of one of the platform's forms.
fn change(what: &'static str) -> MethodRouter<AppState> {
    change_route(what, |state, s, what, form| {
        Box::pin(apply(state, s, what, form))
    })
}

/// Makes the change; what an import created and updated, for the message.
async fn apply(
    state: &AppState,
    s: &Session,
    what: &str,
    form: &Submitted,
) -> Result<Option<(usize, usize)>, Error> {
    let (db, actor) = (&state.db, &s.actor);
    match what {
        "divisions" | "geojson" => {
            let text = uploaded_text(form)?;
            let report = if what == "divisions" {
                gongzhi_core::areas::import_divisions(db, actor, &text).await?
            } else {
                gongzhi_core::areas::import_geojson(db, actor, &text).await?
            };
            // The import stands; the locate index catches up on its next poll if not now.
            if let Err(e) = state.refresh_locate().await {
                tracing::warn!(error = %e, "locate index not rebuilt after an import");
            }
            Ok(Some((report.created, report.updated)))
        }
        "units" => {
            let u = Unit {
                code: form.get("code").into(),
                name: form.get("name").into(),
                kind: form.get("kind").into(),
                area_code: form.opt("area_code"),
            };
            // Modules that cache units see the new version of `units` (as after the API's).
            identity::create_unit(db, actor, &u).await?;
            Ok(None)
        }
        "users" => {
            let role = Role::parse(form.get("role"))?;
            let u = NewUser {
                username: form.get("username").into(),
                password: form.get("password").into(),
                assignments: vec![Assignment {
                    role,
                    area: form.opt("area"),
                    unit: form.opt("unit"),
                }],
                full_name: None,
                phone: None,
                email: None,
            };
            identity::create_user(db, &state.sealer, actor, &u).await?;
            Ok(None)
        }
        _ => Err(Error::not_found("admin form")),
    }
}
