//! Moderation: anyone verified may report a topic or comment with a reason; moderators hide or
//! restore it with a reason that is shown; content is hidden automatically once it has a
//! configurable number of open reports, and restoring it rejects those reports.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::common::{text, verification_of};
use crate::MODERATE;
use gongzhi_core::audit;
use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::http::{ApiJson, ApiQuery, ApiResult, AppState, Authed};
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(hide))
        .routes(routes!(restore))
        .routes(routes!(queue))
        .routes(routes!(get_settings, put_settings))
}

/// What can be reported: `topic:ID` or `comment:ID`; its table and area.
struct Content {
    table: &'static str,
    id: String,
    area: String,
    hidden: bool,
}

async fn content(db: &Db, target: &str) -> Result<Content> {
    let (kind, id) = target
        .split_once(':')
        .ok_or_else(|| Error::invalid("target", "target is topic:ID or comment:ID"))?;
    let (table, sql) = match kind {
        "topic" => ("topics", "SELECT area_code, hidden FROM topics WHERE id = $1"),
        "comment" => ("topic_comments", "SELECT t.area_code, c.hidden FROM topic_comments c JOIN topics t ON t.id = c.topic_id WHERE c.id = $1"),
        _ => return Err(Error::invalid("target", "target is topic:ID or comment:ID")),
    };
    let r = sqlx::query(sql)
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found(kind.to_string()))?;
    Ok(Content {
        table,
        id: id.into(),
        area: r.try_get(0)?,
        hidden: r.try_get::<i64, _>(1)? != 0,
    })
}

async fn set_hidden(tx: &mut WriteTx, c: &Content, hidden: bool, reason: &str) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET hidden = $1, hidden_reason = $2 WHERE id = $3",
        c.table
    );
    sqlx::query(&sql)
        .bind(hidden as i64)
        .bind(hidden.then_some(reason))
        .bind(&c.id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn threshold(db: &Db) -> Result<i64> {
    let r = sqlx::query("SELECT value FROM deliberation_settings WHERE key = 'auto_hide_reports'")
        .fetch_optional(db.pool())
        .await?;
    Ok(match r {
        Some(r) => r.try_get::<String, _>(0)?.parse().unwrap_or(3),
        None => 3,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReportInput {
    /// topic:ID or comment:ID.
    pub target: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportOutcome {
    pub open_reports: i64,
    /// Whether the content is now hidden.
    pub hidden: bool,
}

pub async fn file_report(
    db: &Db,
    actor: &Actor,
    input: &ReportInput,
    now: i64,
) -> Result<ReportOutcome> {
    let user = actor
        .user_id
        .clone()
        .ok_or_else(|| Error::Unauthenticated("sign in to report".into()))?;
    if verification_of(db, &user).await?.is_none()
        && actor
            .assignments
            .iter()
            .all(|a| a.role == gongzhi_core::identity::Role::RESIDENT)
    {
        return Err(Error::Forbidden(
            "only verified residents and staff report content".into(),
        ));
    }
    let reason = text("reason", &input.reason, 500)?;
    let c = content(db, &input.target).await?;
    let limit = threshold(db).await?;
    let mut tx = db.begin_write().await?;
    let ok = sqlx::query("INSERT INTO content_reports (id, target, reporter_id, reason, state, created_at) VALUES ($1, $2, $3, $4, 'open', $5)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&input.target)
        .bind(&user)
        .bind(&reason)
        .bind(now)
        .execute(tx.conn())
        .await;
    if let Err(e) = ok {
        let e = Error::from(e);
        return Err(if e.is_unique_violation() {
            Error::Conflict("you have already reported this".into())
        } else {
            e
        });
    }
    let open: i64 =
        sqlx::query("SELECT COUNT(*) FROM content_reports WHERE target = $1 AND state = 'open'")
            .bind(&input.target)
            .fetch_one(tx.conn())
            .await?
            .try_get(0)?;
    let hide = !c.hidden && open >= limit;
    if hide {
        set_hidden(
            &mut tx,
            &c,
            true,
            &format!("被 {open} 位居民举报，待审核 (reported by {open} residents, under review)"),
        )
        .await?;
    }
    audit::append(
        &mut tx,
        actor,
        "content.report",
        &input.target,
        &json!({"open_reports": open, "auto_hidden": hide}),
        Some(&reason),
    )
    .await?;
    tx.commit().await?;
    Ok(ReportOutcome {
        open_reports: open,
        hidden: c.hidden || hide,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ModerateInput {
    pub target: String,
    /// Shown with the content.
    pub reason: String,
}

pub async fn moderate(db: &Db, actor: &Actor, input: &ModerateInput, hide: bool) -> Result<()> {
    let c = content(db, &input.target).await?;
    authorize(actor, MODERATE, &Target::area(&c.area))?;
    let reason = text("reason", &input.reason, 500)?;
    if c.hidden == hide {
        return Err(Error::Conflict(format!(
            "it is already {}",
            if hide { "hidden" } else { "shown" }
        )));
    }
    let mut tx = db.begin_write().await?;
    set_hidden(&mut tx, &c, hide, &reason).await?;
    sqlx::query("UPDATE content_reports SET state = $1 WHERE target = $2 AND state = 'open'")
        .bind(if hide { "upheld" } else { "rejected" })
        .bind(&input.target)
        .execute(tx.conn())
        .await?;
    audit::append(
        &mut tx,
        actor,
        if hide {
            "content.hide"
        } else {
            "content.restore"
        },
        &input.target,
        &json!({}),
        Some(&reason),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Reports a topic or comment. Enough open reports hide it until a moderator decides.
#[utoipa::path(post, path = "/api/v1/reports", tag = "deliberation", security(("bearer" = [])), request_body = ReportInput,
    responses((status = 200, body = ReportOutcome), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn report(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ReportInput>,
) -> ApiResult<Json<ReportOutcome>> {
    Ok(Json(
        file_report(&state.db, &actor, &input, state.clock.now_ms()).await?,
    ))
}

/// Hides content with a reason shown in its place (moderators); upholds its open reports.
#[utoipa::path(post, path = "/api/v1/moderation/hide", tag = "deliberation", security(("bearer" = [])), request_body = ModerateInput,
    responses((status = 200, description = "hidden"), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn hide(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ModerateInput>,
) -> ApiResult<Json<serde_json::Value>> {
    moderate(&state.db, &actor, &input, true).await?;
    Ok(Json(json!({"hidden": true})))
}

/// Restores content (moderators); its open reports are rejected.
#[utoipa::path(post, path = "/api/v1/moderation/restore", tag = "deliberation", security(("bearer" = [])), request_body = ModerateInput,
    responses((status = 200, description = "restored"), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn restore(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ModerateInput>,
) -> ApiResult<Json<serde_json::Value>> {
    moderate(&state.db, &actor, &input, false).await?;
    Ok(Json(json!({"hidden": false})))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct QueueQuery {
    /// Area code (the moderator's scope).
    area: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    pub target: String,
    pub open_reports: i64,
    pub reasons: Vec<String>,
    pub hidden: bool,
    pub last_report_at: String,
}

/// Content with open reports in an area (moderators).
#[utoipa::path(get, path = "/api/v1/moderation/queue", tag = "deliberation", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = Vec<QueueItem>), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn queue(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<Vec<QueueItem>>> {
    Ok(Json(open_reports(&state.db, &actor, &q.area).await?))
}

/// Content with open reports in an area's subtree, one item per target (moderators).
pub async fn open_reports(db: &Db, actor: &Actor, area: &str) -> Result<Vec<QueueItem>> {
    authorize(actor, MODERATE, &Target::area(area))?;
    let rows = sqlx::query("SELECT target, reason, created_at FROM content_reports WHERE state = 'open' ORDER BY target, created_at")
        .fetch_all(db.pool())
        .await?;
    let mut out: Vec<QueueItem> = Vec::new();
    let mut skipped: Option<String> = None;
    for r in rows {
        let target: String = r.try_get(0)?;
        let reason: String = r.try_get(1)?;
        let at: i64 = r.try_get(2)?;
        if skipped.as_deref() == Some(target.as_str()) {
            continue;
        }
        match out.last_mut() {
            Some(item) if item.target == target => {
                item.open_reports += 1;
                item.reasons.push(reason);
                item.last_report_at = format_ms(at);
            }
            _ => match content(db, &target).await {
                Ok(c) if c.area.starts_with(area) => out.push(QueueItem {
                    target,
                    open_reports: 1,
                    reasons: vec![reason],
                    hidden: c.hidden,
                    last_report_at: format_ms(at),
                }),
                _ => skipped = Some(target),
            },
        }
    }
    Ok(out)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModerationSettings {
    /// Open reports that hide content automatically (≥ 1).
    pub auto_hide_reports: i64,
}

/// The moderation settings.
#[utoipa::path(get, path = "/api/v1/moderation/settings", tag = "deliberation", security(("bearer" = [])), responses((status = 200, body = ModerationSettings)))]
async fn get_settings(
    State(state): State<AppState>,
    Authed(_actor): Authed,
) -> ApiResult<Json<ModerationSettings>> {
    Ok(Json(ModerationSettings {
        auto_hide_reports: threshold(&state.db).await?,
    }))
}

/// Changes the moderation settings (moderators and administrators without a scope).
#[utoipa::path(put, path = "/api/v1/moderation/settings", tag = "deliberation", security(("bearer" = [])), request_body = ModerationSettings,
    responses((status = 200, body = ModerationSettings), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(s): ApiJson<ModerationSettings>,
) -> ApiResult<Json<ModerationSettings>> {
    authorize(&actor, MODERATE, &Target::global())?;
    if !(1..=1000).contains(&s.auto_hide_reports) {
        return Err(Error::invalid("auto_hide_reports", "auto_hide_reports is 1–1000").into());
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("INSERT INTO deliberation_settings (key, value) VALUES ('auto_hide_reports', $1) ON CONFLICT (key) DO UPDATE SET value = $1")
        .bind(s.auto_hide_reports.to_string())
        .execute(tx.conn())
        .await
        .map_err(Error::from)?;
    audit::append(
        &mut tx,
        &actor,
        "moderation.settings",
        "deliberation_settings",
        &json!({"auto_hide_reports": s.auto_hide_reports}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(s))
}
