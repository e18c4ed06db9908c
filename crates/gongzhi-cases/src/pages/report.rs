//! One form for every way a problem comes in: a resident's request (web), a grid worker's
//! finding on patrol (phone, photo taken on the spot), a hotline operator's live call. It goes
//! through the same intake as the API: locate, route, deadlines, audit.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{html, Markup};
use utoipa_axum::router::OpenApiRouter;

use gongzhi_cases::store::{Channel, Kind, Location, NewCase, Reporter};
use gongzhi_cases::{catalog, publicity};
use gongzhi_core::http::AppState;
use gongzhi_core::identity::Role;
use gongzhi_core::Error;

use crate::i18n::Lang;
use crate::session::Session;
use crate::{error_box, page};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().route("/report", get(form_page).post(submit))
}

/// A multipart form read whole: text fields (repeatable) and files with their declared type.
pub struct Submitted {
    pub fields: HashMap<String, Vec<String>>,
    pub files: Vec<(Option<String>, Bytes)>,
}

impl Submitted {
    pub fn get(&self, k: &str) -> &str {
        self.fields
            .get(k)
            .and_then(|v| v.first())
            .map(|s| s.trim())
            .unwrap_or("")
    }
    pub fn opt(&self, k: &str) -> Option<String> {
        Some(self.get(k).to_string()).filter(|s| !s.is_empty())
    }
    pub fn all(&self, k: &str) -> Vec<String> {
        self.fields.get(k).cloned().unwrap_or_default()
    }
}

pub async fn read_multipart(mut m: Multipart) -> Result<Submitted, Error> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        let code = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "invalid_form"
        };
        Error::invalid(code, e.body_text())
    };
    let mut out = Submitted {
        fields: HashMap::new(),
        files: Vec::new(),
    };
    while let Some(f) = m.next_field().await.map_err(bad)? {
        let name = f.name().unwrap_or("").to_string();
        if let Some(file_name) = f.file_name() {
            let chosen = !file_name.is_empty();
            let ct = f.content_type().map(String::from);
            let bytes = f.bytes().await.map_err(bad)?;
            // An empty file input sends a nameless part with no bytes: not a photo. A chosen
            // file with no bytes is one, and is refused with the other bad photos.
            if chosen || !bytes.is_empty() {
                out.files.push((ct, bytes));
            }
        } else {
            // Not U+FFFD in place of what was sent: text that is not UTF-8 is refused.
            let text = String::from_utf8(f.bytes().await.map_err(bad)?.to_vec())
                .map_err(|_| Error::invalid("invalid_utf8", "form fields are UTF-8 text"))?;
            out.fields.entry(name).or_default().push(text);
        }
    }
    Ok(out)
}

/// Stores the photos of a form for `s`; their ids, or the first refusal.
pub async fn upload_photos(
    state: &AppState,
    s: &Session,
    form: &Submitted,
) -> Result<Vec<String>, Error> {
    if form.files.len() > gongzhi_core::attachments::MAX_PER_RECORD {
        return Err(Error::invalid("too_many_photos", "at most 9 photos"));
    }
    // Check every photo before storing any: a bad third photo must not leave two orphans.
    for (ct, bytes) in &form.files {
        gongzhi_core::attachments::check(ct.as_deref(), bytes)?;
    }
    let mut ids = Vec::new();
    for (ct, bytes) in &form.files {
        ids.push(
            gongzhi_core::attachments::upload(&state.db, &s.actor, ct.as_deref(), bytes)
                .await?
                .id,
        );
    }
    Ok(ids)
}

fn channel_of(s: &Session) -> Channel {
    if s.has(Role::Operator) || s.has(Role::Dispatcher) {
        Channel::Hotline
    } else if s.has(Role::GridWorker) {
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
    let empty = Submitted {
        fields: HashMap::new(),
        files: vec![],
    };
    render(&state, &s, &empty, None).await.into_response()
}

async fn render(state: &AppState, s: &Session, v: &Submitted, error: Option<&Error>) -> Markup {
    let lang = s.lang;
    let public_only = s.resident_only();
    let all = catalog::list(&state.db).await.unwrap_or_default();
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
    let metres = state.config.open311_public_precision_m;
    page(
        Some(s),
        lang,
        title,
        html! {
            @if let Some(e) = error { (error_box(lang, e)) }
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
            (crate::dashboard::map_scripts(state))
        },
    )
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
    let form = match read_multipart(m).await {
        Ok(f) => f,
        Err(e) => return gongzhi_core::http::ApiError::from(e).status.into_response(),
    };
    if let Err(r) = s.check(form.get("_csrf")) {
        return r;
    }
    match create(&state, &s, &form).await {
        Ok(id) => Redirect::to(&format!("/cases/{id}?created=1")).into_response(),
        Err(e) => (
            axum::http::StatusCode::BAD_REQUEST,
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
    let photos = upload_photos(state, s, f).await?;
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
        gongzhi_cases::intake::create(&state.db, &state.sealer, &index, &s.actor, &input, None)
            .await?;
    Ok(case.id)
}
