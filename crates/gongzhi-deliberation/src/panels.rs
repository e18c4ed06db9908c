//! Resident panels drawn by verifiable sortition (docs/sortition.md). Creating a panel publishes
//! its candidate list, the list's hash and a commitment to a random seed the server keeps sealed;
//! the draw reveals the seed and the result, and anyone re-runs it from the published record
//! (`gongzhi sortition verify`, or `GET …/verify`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::common::{check_area, text};
use crate::sortition;
use crate::DELIBERATION_MANAGE;
use gongzhi_core::audit;
use gongzhi_core::db::{opt_text, Db};
use gongzhi_core::http::{ApiJson, ApiResult, AppState, Authed};
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_panel))
        .routes(routes!(get_panel))
        .routes(routes!(draw))
        .routes(routes!(verify))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPanel {
    pub title: String,
    pub area: String,
    /// How many to draw.
    pub seats: usize,
    /// The published candidate list (labels residents recognise, e.g. 张*明 3号楼), no repeats.
    pub candidates: Vec<String>,
}

/// The published record: exactly what `gongzhi sortition verify` reads once drawn.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PanelRecord {
    pub id: String,
    pub title: String,
    pub area: String,
    pub k: usize,
    pub candidates: Vec<String>,
    pub list_hash: String,
    pub commitment: String,
    /// Revealed at the draw.
    pub seed: Option<String>,
    pub result: Option<Vec<String>>,
    pub created_at: String,
    pub drawn_at: Option<String>,
}

pub async fn create(db: &Db, sealer: &Sealer, actor: &Actor, p: &NewPanel) -> Result<String> {
    let area = check_area(db, p.area.trim()).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&area))?;
    let title = text("title", &p.title, 100)?;
    let candidates: Vec<String> = p.candidates.iter().map(|c| c.trim().to_string()).collect();
    let mut seen = std::collections::HashSet::new();
    if candidates.is_empty() || candidates.len() > 100_000 {
        return Err(Error::invalid(
            "candidates",
            "a panel has 1–100,000 candidates",
        ));
    }
    if let Some(c) = candidates
        .iter()
        .find(|c| c.is_empty() || c.contains('\n') || !seen.insert(c.as_str()))
    {
        return Err(Error::invalid(
            "candidates",
            format!("candidate {c:?} is empty, has a line break or is listed twice"),
        ));
    }
    if p.seats == 0 || p.seats > candidates.len() {
        return Err(Error::invalid(
            "seats",
            "seats must be between 1 and the number of candidates",
        ));
    }
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let seed = hex::encode(raw);
    let id = uuid::Uuid::new_v4().to_string();
    let list_hash = sortition::list_hash(&candidates);
    let commitment = sortition::commitment(&seed);
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO panels (id, title, area_code, seats, candidates, list_hash, commitment, sealed_seed, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(&id)
        .bind(&title)
        .bind(&area)
        .bind(p.seats as i64)
        .bind(serde_json::to_string(&candidates).map_err(Error::internal)?)
        .bind(&list_hash)
        .bind(&commitment)
        // Sealed so that nobody reading the database can know the draw before it is made.
        .bind(sealer.seal(&seed))
        .bind(actor.label())
        .bind(gongzhi_core::time::now_ms())
        .execute(tx.conn())
        .await?;
    audit::append(
        &mut tx,
        actor,
        "panel.publish",
        &format!("panel:{id}"),
        &json!({"list_hash": list_hash, "commitment": commitment, "seats": p.seats}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A panel as the hub lists it (panels are public, as their draws are).
pub struct PanelSummary {
    pub id: String,
    pub title: String,
}

/// The newest `n` panels.
pub async fn recent(db: &Db, n: i64) -> Result<Vec<PanelSummary>> {
    let rows = sqlx::query("SELECT id, title FROM panels ORDER BY created_at DESC LIMIT $1")
        .bind(n)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PanelSummary {
                id: r.try_get("id")?,
                title: r.try_get("title")?,
            })
        })
        .collect()
}

pub async fn record(db: &Db, id: &str) -> Result<PanelRecord> {
    let r = sqlx::query("SELECT * FROM panels WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("panel"))?;
    Ok(PanelRecord {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        area: r.try_get("area_code")?,
        k: r.try_get::<i64, _>("seats")? as usize,
        candidates: serde_json::from_str(&r.try_get::<String, _>("candidates")?)
            .map_err(Error::internal)?,
        list_hash: r.try_get("list_hash")?,
        commitment: r.try_get("commitment")?,
        seed: opt_text(&r, "seed")?,
        result: opt_text(&r, "result")?
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(Error::internal)?,
        created_at: format_ms(r.try_get("created_at")?),
        drawn_at: r.try_get::<Option<i64>, _>("drawn_at")?.map(format_ms),
    })
}

pub async fn make_draw(db: &Db, sealer: &Sealer, actor: &Actor, id: &str) -> Result<PanelRecord> {
    let p = record(db, id).await?;
    authorize(actor, DELIBERATION_MANAGE, &Target::area(&p.area))?;
    let sealed: String = sqlx::query("SELECT sealed_seed FROM panels WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let seed = sealer.open(&sealed)?;
    let result = sortition::draw(&p.candidates, &seed, p.k);
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "UPDATE panels SET seed = $1, result = $2, drawn_at = $3 WHERE id = $4 AND seed IS NULL",
    )
    .bind(&seed)
    .bind(serde_json::to_string(&result).map_err(Error::internal)?)
    .bind(gongzhi_core::time::now_ms())
    .bind(id)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() != 1 {
        return Err(Error::Conflict("this panel has already been drawn".into()));
    }
    audit::append(
        &mut tx,
        actor,
        "panel.draw",
        &format!("panel:{id}"),
        &json!({"seed": seed, "result": result}),
        None,
    )
    .await?;
    tx.commit().await?;
    record(db, id).await
}

/// Publishes a panel's candidates, list hash and seed commitment (before the draw).
#[utoipa::path(post, path = "/api/v1/panels", tag = "deliberation", security(("bearer" = [])), request_body = NewPanel,
    responses((status = 201, body = PanelRecord), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn create_panel(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(p): ApiJson<NewPanel>,
) -> ApiResult<(StatusCode, Json<PanelRecord>)> {
    let id = create(&state.db, &state.sealer, &actor, &p).await?;
    Ok((StatusCode::CREATED, Json(record(&state.db, &id).await?)))
}

/// The published record (public). Once drawn it carries the seed and result to re-run.
#[utoipa::path(get, path = "/api/v1/panels/{id}", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = PanelRecord), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn get_panel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<PanelRecord>> {
    Ok(Json(record(&state.db, &id).await?))
}

/// Makes the draw: reveals the seed and the result (once).
#[utoipa::path(post, path = "/api/v1/panels/{id}/draw", tag = "deliberation", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PanelRecord), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn draw(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<PanelRecord>> {
    Ok(Json(
        make_draw(&state.db, &state.sealer, &actor, &id).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Verdict {
    pub verified: bool,
    pub message: String,
}

/// Re-runs the draw from the published record and says whether it holds (public).
#[utoipa::path(get, path = "/api/v1/panels/{id}/verify", tag = "deliberation", params(("id" = String, Path)),
    responses((status = 200, body = Verdict), (status = 404, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn verify(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Verdict>> {
    let p = record(&state.db, &id).await?;
    let (Some(seed), Some(result)) = (&p.seed, &p.result) else {
        return Err(Error::Conflict("the panel has not been drawn yet".into()).into());
    };
    Ok(Json(
        match sortition::verify(
            &p.candidates,
            &p.list_hash,
            &p.commitment,
            seed,
            p.k,
            result,
        ) {
            Ok(()) => Verdict {
                verified: true,
                message: format!(
                    "the draw verifies: {} of {} candidates, seed matches its commitment",
                    result.len(),
                    p.candidates.len()
                ),
            },
            Err(m) => Verdict {
                verified: false,
                message: m,
            },
        },
    ))
}
