//! A consultation: its questions, one answer per verified resident, and the anonymous results.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde_json::Value;

use gongzhi_core::state::AppState;
use gongzhi_core::Error;
use gongzhi_web::form::{checked_form, Submitted};
use gongzhi_web::session::Session;
use gongzhi_web::{error_box, page};

use super::{form, now, refused, state_name};
use crate::consultations;

pub(super) async fn consultation_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
) -> Response {
    let lang = s.lang;
    let at = now(&state);
    let c = match consultations::get(&state.db, &s.actor, &id, at).await {
        Ok(c) => c,
        Err(e) => return refused(&s, &e, "/deliberation"),
    };
    // Before it closes the results are the council's; to others there are none yet.
    let (results, results_error) =
        match consultations::aggregate(&state.db, &state.sealer, &s.actor, &id, at).await {
            Ok(r) => (Some(r), None),
            Err(Error::Forbidden(_)) => (None, None),
            Err(e) => (None, Some(e)),
        };
    let answered = c.answered;
    let body = html! {
        p.meta { (state_name(lang, c.state.as_str())) " · " (c.opens_at) " – " (c.closes_at) " · " (c.area) " " (c.place) " · " (lang.t("已收到 ", "responses ")) (c.responses) }
        p { (c.description) }
        @if answered { p.ok #answered { (lang.t("您已提交意见，感谢参与。", "Thank you: your response is recorded.")) } }
        @else if c.state.as_str() == "open" {
            (form(&s, &format!("/consultations/{id}/do/answer"), html! {
                @for (i, q) in c.questions.iter().enumerate() {
                    fieldset {
                        legend { (i + 1) ". " (q.text) }
                        @match q.kind.as_str() {
                            "single" => { @for (k, o) in q.options.iter().enumerate() { label { input type="radio" name={"q" (i)} value=(k); " " (o) } } }
                            "multiple" => { @for (k, o) in q.options.iter().enumerate() { label { input type="checkbox" name={"q" (i)} value=(k); " " (o) } } }
                            "scale" => { input type="number" name={"q" (i)} min=(q.min.unwrap_or(1)) max=(q.max.unwrap_or(5)) aria-label=(q.text); }
                            _ => { textarea name={"q" (i)} aria-label=(q.text) {} }
                        }
                    }
                }
                button #answer type="submit" { (lang.t("提交", "Submit")) }
            }))
        }
        @if let Some(e) = &results_error { (error_box(lang, e)) }
        @if let Some(r) = &results {
            section #consultation-results { h2 { (lang.t("征询结果（匿名汇总）", "Results (anonymous)")) }
                @for q in &r.questions {
                    h3 { (q.text) }
                    ul { @for o in &q.counts { li { (o.label) ": " (o.count) } } }
                    @if let Some(mean) = q.mean { p { (lang.t("平均 ", "Mean ")) (format!("{mean:.2}")) } }
                    @if !q.texts.is_empty() { ul { @for t in &q.texts { li { (t) } } } }
                }
            }
        }
    };
    page(Some(&s), lang, &c.title, body).into_response()
}

pub(super) async fn consultation_do(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    m: Multipart,
) -> Response {
    let back = format!("/consultations/{id}");
    let f = match checked_form(&s, m).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let at = now(&state);
    let qs = match consultations::get(&state.db, &s.actor, &id, at).await {
        Ok(c) => c.questions,
        Err(e) => return refused(&s, &e, "/deliberation"),
    };
    let answers = match answers_of(&qs, &f) {
        Ok(a) => a,
        Err(e) => return refused(&s, &e, &back),
    };
    match consultations::answer(&state.db, &state.sealer, &s.actor, &id, &answers, at).await {
        Ok(()) => Redirect::to(&back).into_response(),
        Err(e) => refused(&s, &e, &back),
    }
}

/// Form fields as the API's answers: an index, a list of indices, a number or a text; an
/// unanswered question is null, a value that is none of these is refused.
fn answers_of(qs: &[consultations::Question], f: &Submitted) -> Result<Vec<Value>, Error> {
    qs.iter()
        .enumerate()
        .map(|(i, q)| {
            let k = format!("q{i}");
            Ok(match q.kind.as_str() {
                "multiple" => Value::Array(
                    f.all(&k)
                        .iter()
                        .map(|v| {
                            v.trim().parse::<u64>().map(Value::from).map_err(|_| {
                                Error::invalid("invalid_form", format!("{k} is not a choice"))
                            })
                        })
                        .collect::<Result<_, _>>()?,
                ),
                "single" | "scale" => f.opt_number::<i64>(&k)?.map_or(Value::Null, Value::from),
                _ => f.opt(&k).map_or(Value::Null, Value::from),
            })
        })
        .collect()
}
