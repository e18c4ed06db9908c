//! Consultations (专项征询): surveys of single-choice, multiple-choice, scale and free-text
//! questions for the verified residents of a place, one response each between open and close
//! times. Who answered and what was answered are stored apart, and an answer is counted only
//! once mixed with others (`ballot_box`): neither the results, the export nor the stored order
//! links an answer to a person.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ballot_box::{self, BallotBox};
use crate::common::{check_area, check_place, require_eligible, text, time, MaybeAuthed};
use crate::DELIBERATION_MANAGE;
use gongzhi_core::audit;
use gongzhi_core::db::Db;
use gongzhi_core::http::{ApiJson, ApiResult, AppState, Authed};
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_consultation, list_consultations))
        .routes(routes!(get_consultation))
        .routes(routes!(respond))
        .routes(routes!(results))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Question {
    /// single, multiple, scale or text.
    pub kind: String,
    pub text: String,
    /// Choices for single and multiple.
    #[serde(default)]
    pub options: Vec<String>,
    /// Bounds for scale (default 1–5).
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewConsultation {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub area: String,
    #[serde(default)]
    pub place: String,
    pub opens_at: String,
    pub closes_at: String,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsultationView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub area: String,
    pub place: String,
    pub opens_at: String,
    pub closes_at: String,
    /// upcoming, open or closed.
    pub state: String,
    pub questions: Vec<Question>,
    /// How many residents have answered.
    pub responses: i64,
    pub answered: bool,
}

fn check_questions(qs: &[Question]) -> Result<()> {
    if qs.is_empty() || qs.len() > 50 {
        return Err(Error::invalid(
            "questions",
            "a consultation has 1–50 questions",
        ));
    }
    for (i, q) in qs.iter().enumerate() {
        let at = |m: &str| Error::invalid("questions", format!("question {}: {m}", i + 1));
        if q.text.trim().is_empty() {
            return Err(at("the text is empty"));
        }
        match q.kind.as_str() {
            "single" | "multiple" => {
                if q.options.len() < 2 || q.options.iter().any(|o| o.trim().is_empty()) {
                    return Err(at("a choice question has at least two non-empty options"));
                }
            }
            "scale" => {
                let (lo, hi) = (q.min.unwrap_or(1), q.max.unwrap_or(5));
                if lo >= hi || (hi as i128 - lo as i128) > 10 {
                    return Err(at("a scale runs from min to max, at most 10 steps"));
                }
            }
            "text" => {}
            other => {
                return Err(at(&format!(
                    "kind {other:?} is single, multiple, scale or text"
                )))
            }
        }
    }
    Ok(())
}

/// Checks one response against the questions: one answer per question, in the question's form.
pub fn check_answers(qs: &[Question], answers: &[Value]) -> Result<()> {
    if answers.len() != qs.len() {
        return Err(Error::invalid(
            "answers",
            format!("answer each of the {} questions (null to skip)", qs.len()),
        ));
    }
    for (i, (q, a)) in qs.iter().zip(answers).enumerate() {
        let bad = |m: &str| Error::invalid("answers", format!("answer {}: {m}", i + 1));
        if a.is_null() {
            continue;
        }
        match q.kind.as_str() {
            "single" => {
                let k = a.as_u64().ok_or_else(|| bad("the index of one option"))?;
                if k as usize >= q.options.len() {
                    return Err(bad("no such option"));
                }
            }
            "multiple" => {
                let ks = a
                    .as_array()
                    .ok_or_else(|| bad("a list of option indices"))?;
                let mut seen = std::collections::HashSet::new();
                for k in ks {
                    let k = k.as_u64().ok_or_else(|| bad("a list of option indices"))?;
                    if k as usize >= q.options.len() || !seen.insert(k) {
                        return Err(bad("an unknown or repeated option"));
                    }
                }
            }
            "scale" => {
                let v = a
                    .as_i64()
                    .ok_or_else(|| bad("a whole number on the scale"))?;
                if v < q.min.unwrap_or(1) || v > q.max.unwrap_or(5) {
                    return Err(bad("outside the scale"));
                }
            }
            _ => {
                let s = a.as_str().ok_or_else(|| bad("text"))?;
                if s.chars().count() > 2000 {
                    return Err(bad("longer than 2000 characters"));
                }
            }
        }
    }
    Ok(())
}

struct Stored {
    view: ConsultationView,
    opens: i64,
    closes: i64,
}

async fn load(db: &Db, actor: &Actor, id: &str, now: i64) -> Result<Stored> {
    let r = sqlx::query("SELECT c.*, (SELECT COUNT(*) FROM consultation_respondents x WHERE x.consultation_id = c.id) AS n FROM consultations c WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("consultation"))?;
    let (opens, closes): (i64, i64) = (r.try_get("opens_at")?, r.try_get("closes_at")?);
    let answered = match &actor.user_id {
        Some(u) => sqlx::query(
            "SELECT 1 FROM consultation_respondents WHERE consultation_id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(u)
        .fetch_optional(db.pool())
        .await?
        .is_some(),
        None => false,
    };
    Ok(Stored {
        view: ConsultationView {
            id: r.try_get("id")?,
            title: r.try_get("title")?,
            description: r.try_get("description")?,
            area: r.try_get("area_code")?,
            place: r.try_get("place")?,
            opens_at: format_ms(opens),
            closes_at: format_ms(closes),
            state: if now < opens {
                "upcoming"
            } else if now < closes {
                "open"
            } else {
                "closed"
            }
            .into(),
            questions: serde_json::from_str(&r.try_get::<String, _>("questions")?)
                .map_err(Error::internal)?,
            responses: r.try_get("n")?,
            answered,
        },
        opens,
        closes,
    })
}

pub async fn create(db: &Db, actor: &Actor, c: &NewConsultation) -> Result<String> {
    let area = check_area(db, c.area.trim()).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&area))?;
    let place = check_place(&c.place)?;
    let title = text("title", &c.title, 100)?;
    let (opens, closes) = (
        time("opens_at", &c.opens_at)?,
        time("closes_at", &c.closes_at)?,
    );
    if closes <= opens {
        return Err(Error::invalid(
            "closes_at",
            "closes_at must be after opens_at",
        ));
    }
    check_questions(&c.questions)?;
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO consultations (id, title, description, area_code, place, opens_at, closes_at, questions, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(&id)
        .bind(&title)
        .bind(c.description.trim())
        .bind(&area)
        .bind(&place)
        .bind(opens)
        .bind(closes)
        .bind(serde_json::to_string(&c.questions).map_err(Error::internal)?)
        .bind(actor.label())
        .bind(gongzhi_core::time::now_ms())
        .execute(tx.conn())
        .await?;
    audit::append(
        &mut tx,
        actor,
        "consultation.create",
        &format!("consultation:{id}"),
        &serde_json::to_value(c).map_err(Error::internal)?,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Records a verified resident's one response: who answered at once, the answers sealed in the
/// consultation's ballot box until they are mixed with others.
pub async fn answer(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    answers: &[Value],
    now: i64,
) -> Result<()> {
    let s = load(db, actor, id, now).await?;
    let user = require_eligible(db, actor, &s.view.area, &s.view.place, None).await?;
    if now < s.opens || now >= s.closes {
        return Err(Error::Conflict(format!(
            "the consultation is open from {} until {}",
            s.view.opens_at, s.view.closes_at
        )));
    }
    check_answers(&s.view.questions, answers)?;
    let mut tx = db.begin_write().await?;
    let first = sqlx::query(
        "INSERT INTO consultation_respondents (consultation_id, user_id) VALUES ($1, $2)",
    )
    .bind(id)
    .bind(&user)
    .execute(tx.conn())
    .await;
    if let Err(e) = first {
        let e = Error::from(e);
        return Err(if e.is_unique_violation() {
            Error::refused(
                "already_answered",
                "you have already answered this consultation",
            )
        } else {
            e
        });
    }
    let ballot_box = BallotBox::consultation(id);
    ballot_box
        .drop_in(
            db,
            &mut tx,
            sealer,
            &Value::Array(answers.to_vec()).to_string(),
        )
        .await?;
    audit::append(
        &mut tx,
        actor,
        "consultation.respond",
        &format!("consultation:{id}"),
        &json!({"respondent": user}),
        None,
    )
    .await?;
    tx.commit().await?;
    ballot_box.settle_after_vote(db, sealer, now).await;
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OptionCount {
    pub label: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionResult {
    pub text: String,
    pub kind: String,
    pub answered: i64,
    /// Per option (single, multiple) or per scale value (scale).
    pub counts: Vec<OptionCount>,
    /// Scale: the mean of the answers.
    pub mean: Option<f64>,
    /// Text: the answers, in an order that reveals nothing (sorted).
    pub texts: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsultationResults {
    pub id: String,
    pub title: String,
    /// The responses counted here: mixed ones only.
    pub responses: i64,
    /// Responses received but not yet mixed, so not counted yet (0 once closed).
    pub pending: i64,
    /// While open, responses are counted in mixed batches of at least this many.
    pub batch: i64,
    pub questions: Vec<QuestionResult>,
    /// Every response without who gave it, sorted (the anonymised export).
    #[schema(value_type = Vec<Object>)]
    pub export: Vec<Value>,
}

/// Aggregates the mixed responses (the council of the area any time; everyone after it
/// closes, when every response is mixed first). While open, the figures move only by whole
/// batches, so comparing them before and after someone answered tells nothing about them.
pub async fn aggregate(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    now: i64,
) -> Result<ConsultationResults> {
    let s = load(db, actor, id, now).await?;
    let ballot_box = BallotBox::consultation(id);
    if now < s.closes {
        authorize(actor, DELIBERATION_MANAGE, &Target::area(&s.view.area))?;
    } else {
        ballot_box.settle(db, sealer, true, now).await?;
    }
    let rows = sqlx::query("SELECT answers FROM consultation_responses WHERE consultation_id = $1")
        .bind(id)
        .fetch_all(db.pool())
        .await?;
    let mut all: Vec<Value> = Vec::with_capacity(rows.len());
    for r in rows {
        all.push(serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(Error::internal)?);
    }
    // Sorting by content removes the order of arrival, which could link answers to people.
    all.sort_by_key(|v| v.to_string());
    let mut out = Vec::new();
    for (i, q) in s.view.questions.iter().enumerate() {
        let answers: Vec<&Value> = all
            .iter()
            .filter_map(|a| a.get(i))
            .filter(|a| !a.is_null())
            .collect();
        let mut r = QuestionResult {
            text: q.text.clone(),
            kind: q.kind.clone(),
            answered: answers.len() as i64,
            counts: vec![],
            mean: None,
            texts: vec![],
        };
        match q.kind.as_str() {
            "single" | "multiple" => {
                let mut c = vec![0i64; q.options.len()];
                for a in &answers {
                    let picks: Vec<u64> = match a {
                        Value::Array(xs) => xs.iter().filter_map(Value::as_u64).collect(),
                        v => v.as_u64().into_iter().collect(),
                    };
                    for k in picks {
                        if let Some(n) = c.get_mut(k as usize) {
                            *n += 1;
                        }
                    }
                }
                r.counts = q
                    .options
                    .iter()
                    .cloned()
                    .zip(c)
                    .map(|(label, count)| OptionCount { label, count })
                    .collect();
            }
            "scale" => {
                let (lo, hi) = (q.min.unwrap_or(1), q.max.unwrap_or(5));
                let vals: Vec<i64> = answers.iter().filter_map(|a| a.as_i64()).collect();
                r.counts = (lo..=hi)
                    .map(|v| OptionCount {
                        label: v.to_string(),
                        count: vals.iter().filter(|x| **x == v).count() as i64,
                    })
                    .collect();
                r.mean =
                    (!vals.is_empty()).then(|| vals.iter().sum::<i64>() as f64 / vals.len() as f64);
            }
            _ => {
                r.texts = answers
                    .iter()
                    .filter_map(|a| a.as_str().map(String::from))
                    .collect();
                r.texts.sort();
            }
        }
        out.push(r);
    }
    Ok(ConsultationResults {
        id: s.view.id,
        title: s.view.title,
        responses: all.len() as i64,
        pending: ballot_box.pending(db).await?,
        batch: ballot_box::batch_size(db).await?,
        questions: out,
        export: all,
    })
}

/// One consultation as `actor` sees it (whether they have answered).
pub async fn get(db: &Db, actor: &Actor, id: &str, now: i64) -> Result<ConsultationView> {
    Ok(load(db, actor, id, now).await?.view)
}

pub async fn list(db: &Db, now: i64) -> Result<Vec<ConsultationView>> {
    let ids = sqlx::query("SELECT id FROM consultations ORDER BY closes_at DESC, id LIMIT 200")
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::new();
    for r in ids {
        out.push(
            load(db, &Actor::anonymous(), &r.try_get::<String, _>(0)?, now)
                .await?
                .view,
        );
    }
    Ok(out)
}

/// Opens a consultation for the verified residents of a place.
#[utoipa::path(post, path = "/api/v1/consultations", tag = "deliberation", security(("bearer" = [])), request_body = NewConsultation,
    responses((status = 201, body = ConsultationView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn create_consultation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(c): ApiJson<NewConsultation>,
) -> ApiResult<(StatusCode, Json<ConsultationView>)> {
    let id = create(&state.db, &actor, &c).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            load(&state.db, &actor, &id, state.clock.now_ms())
                .await?
                .view,
        ),
    ))
}

/// Consultations, newest first (public).
#[utoipa::path(get, path = "/api/v1/consultations", tag = "deliberation", responses((status = 200, body = Vec<ConsultationView>)))]
async fn list_consultations(
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<ConsultationView>>> {
    Ok(Json(list(&state.db, state.clock.now_ms()).await?))
}

/// One consultation with its questions.
#[utoipa::path(get, path = "/api/v1/consultations/{id}", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = ConsultationView), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn get_consultation(
    State(state): State<AppState>,
    MaybeAuthed(actor): MaybeAuthed,
    Path(id): Path<String>,
) -> ApiResult<Json<ConsultationView>> {
    Ok(Json(
        load(&state.db, &actor, &id, state.clock.now_ms())
            .await?
            .view,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResponseInput {
    /// One per question: an option index (single), a list of indices (multiple), a number
    /// (scale), a text (text), or null to skip.
    #[schema(value_type = Vec<Object>)]
    pub answers: Vec<Value>,
}

/// A verified resident's one response.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/responses", tag = "deliberation", security(("bearer" = [])), params(("id" = String, Path)), request_body = ResponseInput,
    responses((status = 201, description = "recorded"), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn respond(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<ResponseInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    answer(
        &state.db,
        &state.sealer,
        &actor,
        &id,
        &r.answers,
        state.clock.now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"recorded": true}))))
}

/// Aggregated results and the anonymised export (public once closed; the council any time).
#[utoipa::path(get, path = "/api/v1/consultations/{id}/results", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = ConsultationResults), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn results(
    State(state): State<AppState>,
    MaybeAuthed(actor): MaybeAuthed,
    Path(id): Path<String>,
) -> ApiResult<Json<ConsultationResults>> {
    Ok(Json(
        aggregate(&state.db, &state.sealer, &actor, &id, state.clock.now_ms()).await?,
    ))
}
