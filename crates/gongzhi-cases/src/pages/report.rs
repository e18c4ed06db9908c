//! One form for every way a problem comes in: a resident's request (web), a grid worker's
//! finding on patrol (phone, photo taken on the spot), a hotline operator's live call. It goes
//! through the same intake as the API: locate, route, deadlines, audit.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use gongzhi_core::identity::{may_somewhere, Action, Role};
use gongzhi_core::state::AppState;
use gongzhi_core::Error;
use gongzhi_web::form::{checked_form, upload_photos, Submitted};
use gongzhi_web::i18n::Lang;
use gongzhi_web::map::map_scripts;
use gongzhi_web::session::Session;
use gongzhi_web::{error_box, page};

use crate::model::catalog;
use crate::model::{Channel, Kind, Location, NewCase, Reporter};
use crate::rules::publicity;
use crate::store;

pub fn routes() -> Router<AppState> {
    Router::new().route("/report", get(form_page).post(submit))
}

/// Taking calls on the hotline: the form is the operator's intake, its channel the hotline.
pub const HOTLINE_INTAKE: Action = Action::unscoped(
    "case_intake_hotline",
    &[crate::roles::OPERATOR, crate::roles::DISPATCHER],
);
/// Reporting a finding on patrol: the channel is the patrol, the reporter the grid worker.
pub const PATROL_REPORT: Action = Action::unscoped("case_report_patrol", &[Role::GRID_WORKER]);

/// The channel a report from this user comes in by (the menu names the form the same way).
fn channel_of(s: &Session) -> Channel {
    if may_somewhere(&s.actor, HOTLINE_INTAKE) {
        Channel::Hotline
    } else if may_somewhere(&s.actor, PATROL_REPORT) {
        Channel::Patrol
    } else {
        Channel::Web
    }
}

const KINDS: [(&str, Kind); 5] = [
    ("complaint", Kind::Complaint),
    ("help", Kind::Help),
    ("report", Kind::Report),
    ("inquiry", Kind::Inquiry),
    ("suggestion", Kind::Suggestion),
];

async fn form_page(State(state): State<AppState>, s: Session) -> Response {
    render(&state, &s, &Submitted::empty(), None)
        .await
        .into_response()
}

async fn render(state: &AppState, s: &Session, v: &Submitted, error: Option<&Error>) -> Markup {
    let lang = s.lang;
    let public_only = s.resident_only();
    let categories = store::catalog::list(&state.db).await;
    let all: &[catalog::Category] = match &categories {
        Ok(c) => c,
        Err(_) => &[],
    };
    let channel = channel_of(s);
    let title = match channel {
        Channel::Hotline => lang.t("热线受理", "Hotline intake"),
        Channel::Patrol => lang.t("巡查上报", "Report a finding"),
        _ => lang.t("我要反映", "Report a problem"),
    };
    let groups: Vec<_> = all
        .iter()
        .filter(|c| c.parent_code.is_none())
        .map(|g| {
            let items: Vec<_> = all
                .iter()
                .filter(|c| c.parent_code.as_deref() == Some(&g.code))
                .filter(|c| c.public || !public_only)
                .collect();
            (g, items)
        })
        .filter(|(_, items)| !items.is_empty())
        .collect();
    let kind = if v.get("kind").is_empty() {
        "complaint"
    } else {
        v.get("kind")
    };
    page(
        Some(s),
        lang,
        title,
        html! {
            @if let Some(e) = error { (error_box(lang, e)) }
            @if let Err(e) = &categories { (error_box(lang, e)) }
            form.card.report method="post" action="/report" enctype="multipart/form-data" {
                input type="hidden" name="_csrf" value=(s.csrf());
                fieldset {
                    legend { (lang.t("诉求类型", "Kind of request")) }
                    div.choices {
                        @for (code, _) in KINDS {
                            label.choice {
                                input type="radio" name="kind" value=(code) checked[kind == code];
                                (lang.word(code))
                            }
                        }
                    }
                }
                label for="category-filter" { (lang.t("问题类别（可搜索）", "Category (type to search)")) }
                input #category-filter type="search" data-filters="category" placeholder=(lang.t("例如：井盖、噪音、停车", "e.g. manhole, noise, parking"));
                select #category name="category" required size="6" {
                    @for (g, items) in &groups {
                        optgroup label=(g.name) {
                            @for c in items {
                                option value=(c.code) selected[v.get("category") == c.code] { (c.name) " (" (c.code) ")" }
                            }
                        }
                    }
                }
                label for="description" { (lang.t("问题描述", "What is wrong")) }
                textarea #description name="description" rows="4" maxlength="4000" required { (v.get("description")) }
                fieldset {
                    legend { (lang.t("位置", "Location")) }
                    p.hint { (lang.t("在地图上点选位置，或使用本机定位，或填写地址。", "Pick the spot on the map, use this device's location, or type an address.")) }
                    div #pick-map .map.small data-pick="lat,lng" {}
                    div.row {
                        div { label for="lat" { (lang.t("纬度", "Latitude")) } input #lat name="lat" inputmode="decimal" value=(v.get("lat")); }
                        div { label for="lng" { (lang.t("经度", "Longitude")) } input #lng name="lng" inputmode="decimal" value=(v.get("lng")); }
                        div { button #locate-me type="button" data-target="lat,lng" { (lang.t("使用本机定位", "Use my location")) } }
                    }
                    label for="address" { (lang.t("地址（可选）", "Address (optional)")) }
                    input #address name="address" value=(v.get("address"));
                }
                label for="photos" { (lang.t("照片（最多 9 张）", "Photos (up to 9)")) }
                input #photos name="photos" type="file" accept="image/*" capture="environment" multiple;
                (publicity_choice(lang, v, kind, channel, state.config.open311_public_precision_m))
                @if channel != Channel::Patrol {
                    fieldset {
                        legend { (lang.t("诉求人", "Reporter")) }
                        label.choice { input #anonymous type="checkbox" name="anonymous" value="1" checked[v.get("anonymous") == "1"]; (lang.t("匿名反映", "Anonymous")) }
                        div.row {
                            div { label for="reporter_name" { (lang.t("姓名", "Name")) } input #reporter_name name="reporter_name" autocomplete="name" value=(v.get("reporter_name")); }
                            div { label for="reporter_phone" { (lang.t("电话", "Phone")) } input #reporter_phone name="reporter_phone" type="tel" autocomplete="tel" value=(v.get("reporter_phone")); }
                        }
                        p.hint { (lang.t("姓名和电话加密保存，仅经办人员可见。", "Name and phone are stored encrypted and shown only to the staff handling the case.")) }
                    }
                }
                button type="submit" { (lang.t("提交", "Submit")) }
            }
            (map_scripts(state))
        },
    )
}

/// Whether the request is shown publicly (Open311), ticked as the reporter left it or as the
/// kind's default, with what that means.
fn publicity_choice(
    lang: Lang,
    v: &Submitted,
    kind: &str,
    channel: Channel,
    metres: u32,
) -> Markup {
    // Ticked as the reporter left it, else as the kind's default (off for complaints, reports
    // and hotline calls); app.js follows the kind until the box is touched.
    let public = if v.fields.is_empty() {
        KINDS
            .iter()
            .find(|(c, _)| *c == kind)
            .is_some_and(|(_, k)| publicity::public_by_default(*k, channel))
    } else {
        v.get("public") == "1"
    };
    let public_kinds: Vec<&str> = KINDS
        .iter()
        .filter(|(_, k)| publicity::public_by_default(*k, channel))
        .map(|(c, _)| *c)
        .collect();
    html! {
        fieldset.publicity {
            legend { (lang.t("是否公开", "Public or not")) }
            label.choice {
                input #public type="checkbox" name="public" value="1" checked[public] aria-describedby="public-notice" data-public-kinds=(public_kinds.join(" "));
                (lang.t("公开此诉求", "Make this request public"))
            }
            p.hint #public-notice {
                (match lang {
                    Lang::Zh => format!("勾选后，问题描述和照片将通过开放接口（Open311）向所有人公开：照片经工作人员审核后才公开，位置只显示到约 {metres} 米范围，地址不公开；姓名和电话始终不公开。不勾选则只有经办人员可见。"),
                    Lang::En => format!("If ticked, the description and photos will be public to everyone through the open interface (Open311): photos only after staff review them, the location only to within about {metres} m, not the address; name and phone never. Unticked, only the staff handling it see it."),
                })
                @if channel == Channel::Hotline { " " (lang.t("勾选前请征得来电人同意。", "Ask the caller before ticking it.")) }
            }
        }
    }
}

fn parse_coord(v: &str, what: &str) -> Result<Option<f64>, Error> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<f64>()
        .map(Some)
        .map_err(|_| Error::invalid("invalid_coordinates", format!("{what} is not a number")))
}

async fn submit(State(state): State<AppState>, s: Session, m: Multipart) -> Response {
    let form = match checked_form(&s, m).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match create(&state, &s, &form).await {
        Ok(id) => Redirect::to(&format!("/cases/{id}?created=1")).into_response(),
        // The form comes back as it was typed, with the reason.
        Err(e) => (
            StatusCode::BAD_REQUEST,
            render(&state, &s, &form, Some(&e)).await,
        )
            .into_response(),
    }
}

async fn create(state: &AppState, s: &Session, f: &Submitted) -> Result<String, Error> {
    let kind = KINDS
        .iter()
        .find(|(c, _)| *c == f.get("kind"))
        .map(|(_, k)| *k)
        .ok_or_else(|| Error::invalid("invalid_kind", "choose the kind of request"))?;
    let location = match (
        parse_coord(f.get("lat"), "latitude")?,
        parse_coord(f.get("lng"), "longitude")?,
    ) {
        (Some(lat), Some(lng)) => Some(Location {
            lat,
            lng,
            crs: None,
        }),
        (None, None) => None,
        _ => {
            return Err(Error::invalid(
                "invalid_coordinates",
                "give both latitude and longitude",
            ))
        }
    };
    let reporter = if f.get("anonymous") == "1" || channel_of(s) == Channel::Patrol {
        None
    } else {
        Some(Reporter {
            name: f.opt("reporter_name"),
            phone: f.opt("reporter_phone"),
        })
    };
    // Photos are stored only after the rest of the form has passed the cheap checks.
    if f.get("description").is_empty() {
        return Err(Error::invalid(
            "invalid_description",
            "describe the problem",
        ));
    }
    let photos = upload_photos(state, &s.actor, f).await?;
    let input = NewCase {
        kind,
        category: f.get("category").to_string(),
        description: f.get("description").to_string(),
        location,
        address: f.opt("address"),
        channel: channel_of(s),
        reporter,
        photos,
        // An unticked box sends nothing: not public.
        public: Some(f.get("public") == "1"),
        photos_public: false,
        extras: vec![],
    };
    let index = state.locate.load();
    let (case, _) =
        crate::commands::create_case(&state.db, &state.sealer, &index, &s.actor, &input, None)
            .await?;
    Ok(case.id)
}
