//! The case page: timeline, deadlines counting down, map, photos, likely duplicates, the steps
//! this user may take now and, for the staff who may, what the public sees of it. Refusals come
//! from the same rules as the API.

use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

use gongzhi_core::identity::{self, may_somewhere, Unit};
use gongzhi_core::state::AppState;
use gongzhi_core::Error;
use gongzhi_web::form::{checked_form, upload_photos, Submitted};
use gongzhi_web::i18n::Lang;
use gongzhi_web::map::map_scripts;
use gongzhi_web::session::Session;
use gongzhi_web::{enc, error_box, error_response, notice, page, refusal};

use super::desks::short_time;
use crate::model::publicity::{Publication, PublicationInput};
use crate::model::{ActionInput, CaseView, DuplicateRef};
use crate::rules::workflow::{self, Facts, Status, Step, ALL_STEPS};
use crate::store;
use crate::{commands, queries};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/act/{step}", post(act))
        .route("/cases/{id}/photos/{photo}", get(photo))
        .route("/cases/{id}/publication", post(publish))
}

#[derive(Deserialize, Default)]
struct CaseQuery {
    created: Option<String>,
    done: Option<String>,
}

/// What the case is like now, for choosing which steps to offer; the server checks again.
fn facts_of(c: &CaseView) -> Facts {
    let last = |step: &str| c.timeline.iter().rev().find(|e| e.step == step);
    let dispatched = last("dispatch").map(|e| e.at.clone()).unwrap_or_default();
    Facts {
        contacted: last("contact").is_some_and(|e| e.at >= dispatched),
        extension_pending: c.extension_requested_until.is_some(),
        callback_unsatisfied: last("call_back").is_some_and(|e| {
            e.data["resolved"] == json!(false) || e.data["satisfaction"] == json!("dissatisfied")
        }),
        held_from: last("hold")
            .and_then(|e| e.data["from"].as_str())
            .and_then(Status::parse),
    }
}

/// The steps `s` may offer on `c`: allowed from its state and granted by one of the user's
/// roles (a reporter answers the callback of their own case).
fn offered(s: &Session, c: &CaseView) -> Vec<Step> {
    let facts = facts_of(c);
    let mine = reported_by(s, c);
    ALL_STEPS
        .into_iter()
        .filter(|step| {
            let granted =
                may_somewhere(&s.actor, step.permission().0) || (*step == Step::CallBack && mine);
            granted
                && workflow::next(c.status, *step, facts, Some(true)).is_ok()
                // Reporters answer callbacks; they do not verify or merge.
                && !(s.resident_only() && *step != Step::CallBack)
        })
        .collect()
}

fn reported_by(s: &Session, c: &CaseView) -> bool {
    c.timeline
        .first()
        .is_some_and(|e| e.actor == s.actor.label())
}

/// What the case page shows beside the case itself, each with its own failure.
struct Around {
    units: Result<Vec<Unit>, Error>,
    publication: Result<Publication, Error>,
    dupes: Result<Vec<DuplicateRef>, Error>,
}

async fn around(state: &AppState, c: &CaseView, steps: &[Step]) -> Around {
    let publication = store::publicity::of(&state.db, std::slice::from_ref(&c.id))
        .await
        .map(|mut m| m.remove(&c.id).unwrap_or_default());
    // Likely duplicates, for the desks that can merge: open, same category, nearby, recent.
    let dupes = match (c.lat, c.lng) {
        (Some(lat), Some(lng)) if c.status.is_open() && steps.contains(&Step::Merge) => {
            let created = gongzhi_core::time::parse_rfc3339(&c.created_at).unwrap_or(0);
            store::cases::duplicates(&state.db, &c.id, &c.category, lat, lng, created).await
        }
        _ => Ok(vec![]),
    };
    Around {
        units: identity::list_units(&state.db).await,
        publication,
        dupes,
    }
}

async fn case_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    Query(q): Query<CaseQuery>,
) -> Response {
    let lang = s.lang;
    let c = match queries::case::get(&state.db, &state.sealer, &s.actor, &id, false).await {
        Ok(c) => c,
        Err(e) => return refusal(&s, &e, lang.t("案件", "Case"), "/"),
    };
    let steps = offered(&s, &c);
    let around = around(&state, &c, &steps).await;
    let units: &[Unit] = around.units.as_deref().unwrap_or(&[]);
    let title = format!("{} {}", lang.t("案件", "Case"), c.number);
    let body = html! {
        @if q.created.is_some() {
            (notice(&format!("{}{}", lang.t("已提交，案件编号：", "Submitted. Case number: "), c.number)))
        }
        // Only a step's own name: the address cannot choose what the page says.
        @if let Some(step) = q.done.as_deref().and_then(Step::parse) { (notice(&format!("{}：{}", lang.t("已办理", "Done"), lang.word(step.as_str())))) }
        @for e in [&around.units.as_ref().err(), &around.publication.as_ref().err()].into_iter().flatten() { (error_box(lang, e)) }
        div.case-head {
            span class={"status big s-" (c.status.as_str())} #case-status { (lang.word(c.status.as_str())) }
            @if c.overdue { span.badge.overdue { (lang.t("已超期", "Overdue")) } }
            @if c.supervised { span.badge { (lang.t("督办", "Supervised")) } }
        }
        div.grid2 {
            (facts(lang, &c, units, around.publication.as_ref().ok()))
            (media(lang, &c))
        }
        (duplicates(lang, &around.dupes))
        @if !steps.is_empty() {
            section.card.actions aria-label=(lang.t("办理", "Actions")) {
                h2 { (lang.t("办理", "Actions")) }
                @for step in &steps { (step_form(&s, &c, *step, units)) }
            }
        }
        // Unknown publication settings are not offered for change: saving them would overwrite.
        @if let Ok(p) = &around.publication { (publication_part(&state, &s, &c, p)) }
        (timeline(lang, &c))
        (map_scripts(&state))
    };
    page(Some(&s), lang, &title, body).into_response()
}

/// The case's facts: what, where, who handles it, whether it is public, its deadlines.
fn facts(lang: Lang, c: &CaseView, units: &[Unit], publication: Option<&Publication>) -> Markup {
    let unit_name = |code: &Option<String>| match code {
        None => "—".to_string(),
        Some(u) => units
            .iter()
            .find(|x| &x.code == u)
            .map_or_else(|| u.clone(), |x| x.name.clone()),
    };
    html! {
        section.card {
            dl.facts {
                dt { (lang.t("类别", "Category")) } dd { (c.category_name) " (" (c.category) ")" }
                dt { (lang.t("诉求类型", "Kind")) } dd { (lang.word(&enum_text(&c.kind))) }
                dt { (lang.t("渠道", "Channel")) } dd { (lang.word(&enum_text(&c.channel))) }
                dt { (lang.t("描述", "Description")) } dd.desc { (c.description) }
                dt { (lang.t("位置", "Where")) } dd {
                    @for a in [&c.street, &c.community, &c.grid].into_iter().flatten() { (a.name) " " }
                    @if let Some(a) = &c.address { br; (a) }
                }
                dt { (lang.t("处置单位", "Unit")) } dd #case-unit { (unit_name(&c.unit)) }
                dt { (lang.t("首接单位", "Lead unit")) } dd { (unit_name(&c.lead_unit)) }
                dt { (lang.t("公开", "Public")) } dd #case-public {
                    @match publication {
                        Some(p) if p.public => (lang.t("是（Open311 可见）", "Yes (shown through Open311)")),
                        Some(_) => (lang.t("否", "No")),
                        None => "—",
                    }
                }
                dt { (lang.t("诉求人", "Reporter")) } dd {
                    @if c.anonymous { (lang.t("匿名", "Anonymous")) }
                    @else if let Some(r) = &c.reporter { (r.name.as_deref().unwrap_or("")) " " (r.phone.as_deref().unwrap_or("")) }
                }
                dt { (lang.t("响应时限", "Respond by")) } dd { (deadline(&c.deadlines.respond)) }
                dt { (lang.t("处置时限", "Handle by")) } dd { (deadline(&c.deadlines.handle)) }
                dt { (lang.t("结案时限", "Close by")) } dd { (deadline(&c.deadlines.close)) }
                @if let Some(u) = &c.extension_requested_until { dt { (lang.t("申请延期至", "Extension asked until")) } dd { (short_time(u)) } }
                @if let Some(m) = &c.merged_into { dt { (lang.t("并入", "Merged into")) } dd { a href={"/cases/" (m)} { (m) } } }
            }
            @if !c.summons.is_empty() {
                h3 { (lang.t("吹哨报到", "Summoned units")) }
                ul { @for t in &c.summons { li { (unit_name(&Some(t.unit.clone()))) " · " (short_time(&t.deadline)) " · "
                    @if t.reported_at.is_some() { (lang.t("已报到", "reported in")) } @else { (lang.t("未报到", "not yet")) } } } }
            }
        }
    }
}

/// The case on a map, and its photos.
fn media(lang: Lang, c: &CaseView) -> Markup {
    html! {
        section {
            @if let (Some(lat), Some(lng)) = (c.lat, c.lng) {
                div #case-map .map.small data-point={(lat) "," (lng)} {}
            }
            @if !c.photos.is_empty() {
                div.photos {
                    @for p in &c.photos {
                        figure {
                            a href={"/cases/" (c.id) "/photos/" (p.id)} { img src={"/cases/" (c.id) "/photos/" (p.id)} alt=(lang.t("案件照片", "Case photo")) loading="lazy"; }
                            figcaption { (lang.word(p.step.as_deref().unwrap_or(""))) }
                        }
                    }
                }
            }
        }
    }
}

fn duplicates(lang: Lang, dupes: &Result<Vec<DuplicateRef>, Error>) -> Markup {
    html! {
        @match dupes {
            Err(e) => section.card #duplicates { (error_box(lang, e)) },
            Ok(dupes) if !dupes.is_empty() => section.card #duplicates {
                h2 { (lang.t("可能重复", "Likely duplicates")) }
                ul { @for d in dupes { li { a href={"/cases/" (d.id)} { (d.number) } " · " (format!("{:.0}", d.distance_m)) (lang.t(" 米", " m")) } } }
                p.hint { (lang.t("确认重复后，用“合并”把本案并入主案件。", "If it is the same problem, merge this case into the primary one.")) }
            },
            Ok(_) => {},
        }
    }
}

/// The staff's publication form, or the reporter's way to take their consent back.
fn publication_part(state: &AppState, s: &Session, c: &CaseView, p: &Publication) -> Markup {
    let lang = s.lang;
    let may_publish =
        queries::publicity::may_publish(&s.actor, c.grid.as_ref().map(|g| g.code.as_str()));
    html! {
        @if may_publish { (publication_form(s, c, p, state.config.open311_public_precision_m)) }
        @else if p.public && reported_by(s, c) {
            // The reporter may take their consent back (the server checks it is theirs).
            section.card #withdraw {
                form method="post" action={"/cases/" (c.id) "/publication"} enctype="multipart/form-data" {
                    input type="hidden" name="_csrf" value=(s.csrf());
                    button type="submit" { (lang.t("取消公开", "Stop showing it publicly")) }
                }
            }
        }
    }
}

fn timeline(lang: Lang, c: &CaseView) -> Markup {
    html! {
        section.card {
            h2 { (lang.t("办理过程", "Timeline")) }
            ol.timeline {
                @for e in &c.timeline {
                    li {
                        time { (short_time(&e.at)) } " "
                        strong { (lang.word(&e.step)) } " · " span.actor { (e.actor) }
                        @if let Some(n) = &e.note { div.note { (n) } }
                    }
                }
            }
        }
    }
}

fn enum_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn deadline(d: &Option<String>) -> Markup {
    html! { @if let Some(d) = d { time.countdown datetime=(d) { (short_time(d)) } } @else { "—" } }
}

/// The form of one step, with the fields that step needs.
fn step_form(
    s: &Session,
    c: &CaseView,
    step: Step,
    units: &[gongzhi_core::identity::Unit],
) -> Markup {
    let lang = s.lang;
    let name = step.as_str();
    let field = |n: &str| format!("{name}-{n}");
    html! {
        details.step data-step=(name) {
            summary { (lang.word(name)) }
            form method="post" action={"/cases/" (c.id) "/act/" (name)} enctype="multipart/form-data" {
                input type="hidden" name="_csrf" value=(s.csrf());
                @match step {
                    Step::Dispatch => {
                        label for=(field("unit")) { (lang.t("派往单位", "Send to unit")) }
                        select id=(field("unit")) name="unit" {
                            @for u in units { option value=(u.code) selected[c.unit.as_deref() == Some(u.code.as_str())] { (u.name) } }
                        }
                    }
                    Step::Summon => {
                        label for=(field("units")) { (lang.t("吹哨单位（可多选）", "Units to summon (several)")) }
                        select id=(field("units")) name="units" multiple size="5" {
                            @for u in units { option value=(u.code) { (u.name) } }
                        }
                        label for=(field("minutes")) { (lang.t("报到时限（分钟）", "Report within (minutes)")) }
                        input id=(field("minutes")) name="report_within_minutes" type="number" min="5" value="30";
                    }
                    Step::ReportIn => {
                        label for=(field("unit")) { (lang.t("报到单位", "Unit reporting in")) }
                        select id=(field("unit")) name="unit" {
                            @for t in &c.summons { option value=(t.unit) { (t.unit) } }
                        }
                    }
                    Step::Verify => {
                        fieldset { legend { (lang.t("核查结果", "Result")) }
                            label.choice { input type="radio" name="passed" value="true" checked; (lang.t("通过", "Passed")) }
                            label.choice { input type="radio" name="passed" value="false"; (lang.t("未通过（返工）", "Failed (rework)")) }
                        }
                    }
                    Step::CallBack => {
                        fieldset { legend { (lang.t("是否联系到", "Reached the reporter")) }
                            label.choice { input type="radio" name="contacted" value="true" checked; (lang.t("是", "Yes")) }
                            label.choice { input type="radio" name="contacted" value="false"; (lang.t("否", "No")) }
                        }
                        fieldset { legend { (lang.t("问题是否解决", "Resolved")) }
                            label.choice { input type="radio" name="resolved" value="true" checked; (lang.t("已解决", "Resolved")) }
                            label.choice { input type="radio" name="resolved" value="false"; (lang.t("未解决", "Not resolved")) }
                        }
                        fieldset { legend { (lang.t("满意度", "Satisfaction")) }
                            @for v in ["satisfied", "basically_satisfied", "dissatisfied"] {
                                label.choice { input type="radio" name="satisfaction" value=(v) checked[v == "satisfied"]; (lang.word(v)) }
                            }
                        }
                    }
                    Step::Extend => {
                        label for=(field("until")) { (lang.t("延期至", "Until")) }
                        input id=(field("until")) name="until" type="datetime-local" required;
                    }
                    Step::Merge => {
                        label for=(field("into")) { (lang.t("并入案件（编号）", "Into case (number)")) }
                        input id=(field("into")) name="into" required;
                    }
                    _ => {}
                }
                @let needs_reason = matches!(step, Step::Cancel | Step::Return | Step::Hold | Step::Reopen | Step::Extend);
                @let needs_note = matches!(step, Step::ReportBack);
                label for=(field("note")) {
                    @if needs_reason { (lang.t("理由", "Reason")) } @else { (lang.t("说明", "Note")) }
                }
                textarea id=(field("note")) name=(if needs_reason { "reason" } else { "note" }) rows="2" required[needs_reason || needs_note] {}
                @if matches!(step, Step::ReportBack | Step::Verify | Step::Contact) {
                    label for=(field("photos")) { (lang.t("照片", "Photos")) }
                    input id=(field("photos")) name="photos" type="file" accept="image/*" capture="environment" multiple;
                }
                button type="submit" { (lang.word(name)) }
            }
        }
    }
}

async fn act(
    State(state): State<AppState>,
    s: Session,
    Path((id, step)): Path<(String, String)>,
    m: Multipart,
) -> Response {
    let lang = s.lang;
    let form = match checked_form(&s, m).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(step) = Step::parse(&step) else {
        return error_response(&Error::not_found("step"));
    };
    let result = async {
        let input = action_input(&form)?;
        let input = ActionInput {
            photos: upload_photos(&state, &s.actor, &form).await?,
            ..input
        };
        commands::act(&state.db, &state.sealer, &s.actor, &id, step, &input).await
    }
    .await;
    match result {
        Ok(c) => {
            Redirect::to(&format!("/cases/{}?done={}", c.id, enc(step.as_str()))).into_response()
        }
        Err(e) => refusal(
            &s,
            &e,
            &lang.word(step.as_str()),
            &format!("/cases/{}", enc(&id)),
        ),
    }
}

/// A step's form as the service's input (photos are stored once the rest has been read).
fn action_input(form: &Submitted) -> Result<ActionInput, Error> {
    let bool_of = |k: &str| match form.get(k) {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let until = form.opt("until").map(|u| {
        // datetime-local has no zone: it is Beijing time.
        if u.len() == 16 {
            format!("{u}:00+08:00")
        } else {
            u
        }
    });
    Ok(ActionInput {
        note: form.opt("note"),
        reason: form.opt("reason"),
        unit: form.opt("unit"),
        units: form.all("units"),
        report_within_minutes: form.opt_number("report_within_minutes")?,
        passed: bool_of("passed"),
        contacted: bool_of("contacted"),
        resolved: bool_of("resolved"),
        satisfaction: form.opt("satisfaction"),
        until,
        into: form.opt("into"),
        photos: vec![],
    })
}

/// Staff's review of what the public sees: publish or withdraw, the public text (a redaction of
/// the description, which stays as it is), the address, each photo.
fn publication_form(s: &Session, c: &CaseView, p: &Publication, metres: u32) -> Markup {
    let lang = s.lang;
    let text = p.public_description.as_deref().unwrap_or(&c.description);
    html! {
        section.card #publication aria-label=(lang.word("publication")) {
            h2 { (lang.word("publication")) }
            p.hint { (match lang {
                Lang::Zh => format!("公开后，Open311 显示下面的描述，位置只到约 {metres} 米；地址和照片逐项批准后才显示；诉求人信息从不公开。"),
                Lang::En => format!("Once public, Open311 shows the text below and the location only to within about {metres} m; the address and each photo only once approved here; the reporter never."),
            }) }
            form method="post" action={"/cases/" (c.id) "/publication"} enctype="multipart/form-data" {
                input type="hidden" name="_csrf" value=(s.csrf());
                label.choice { input #publication-public type="checkbox" name="public" value="1" checked[p.public]; (lang.t("公开此案件", "Make this case public")) }
                label for="publication-text" { (lang.t("公开的描述（可删去姓名、门牌等；原描述不变）", "Public text (remove names, door numbers…; the description itself is kept)")) }
                textarea #publication-text name="public_description" rows="3" maxlength="4000" { (text) }
                @if let Some(a) = &c.address {
                    label.choice { input #publication-address type="checkbox" name="address_public" value="1" checked[p.address_public]; (lang.t("公开地址：", "Show the address: ")) (a) }
                }
                @if !c.photos.is_empty() {
                    fieldset.photos {
                        legend { (lang.t("公开的照片", "Public photos")) }
                        @for ph in &c.photos {
                            label.choice {
                                input type="checkbox" name="photo" value=(ph.id) checked[p.photos_public.contains(&ph.id)];
                                img src={"/cases/" (c.id) "/photos/" (ph.id)} alt=(lang.t("案件照片", "Case photo")) loading="lazy";
                            }
                        }
                    }
                }
                button type="submit" { (lang.t("保存公开设置", "Save")) }
            }
        }
    }
}

async fn publish(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    m: Multipart,
) -> Response {
    let lang = s.lang;
    let form = match checked_form(&s, m).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let input = PublicationInput {
        public: form.get("public") == "1",
        public_description: form.opt("public_description"),
        address_public: form.get("address_public") == "1",
        photos_public: form.all("photo"),
    };
    match commands::set_publication(&state.db, &state.sealer, &s.actor, &id, &input).await {
        Ok(_) => Redirect::to(&format!("/cases/{}?done=publication", enc(&id))).into_response(),
        Err(e) => refusal(
            &s,
            &e,
            &lang.word("publication"),
            &format!("/cases/{}", enc(&id)),
        ),
    }
}

/// A case's photo, for whoever may see the case (residents see the photos of their own cases):
/// the one check every route that serves a photo makes.
async fn photo(
    State(state): State<AppState>,
    s: Session,
    Path((_case, photo)): Path<(String, String)>,
) -> Response {
    gongzhi_core::attachments::serve(&state, &s.actor, &photo)
        .await
        .unwrap_or_else(|e| error_response(&e))
}
