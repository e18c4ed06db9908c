//! The topic loop (议题): proposed → screened by the council → deliberated (comments, meetings
//! with sign-in and minutes) → decided by a vote whose rules are fixed before it opens →
//! published (公示, with a period for objections) → executed (tasks) → everyone who took part is
//! told the outcome. Each step is checked against `rules::next`, the caller's role and scope,
//! and the topic's version (of two racing steps one wins, the other gets a 409).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ballot_box::BallotBox;
use crate::common::{
    add_event, check_area, check_place, display_name, events, notify_users, require_eligible, text,
    time, Event, MaybeAuthed,
};
use crate::rules::{self, Tally, TopicStatus, TopicStep, VoteRules};
use crate::{DELIBERATION_MANAGE, MODERATE, TOPIC_PROPOSE};
use gongzhi_core::audit;
use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::http::{ApiError, ApiJson, ApiQuery, ApiResult, AppState, Authed};
use gongzhi_core::identity::{authorize, Actor, Role, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_topic, list_topics))
        .routes(routes!(get_topic))
        .routes(routes!(act))
        .routes(routes!(add_comment))
        .routes(routes!(cast_vote))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopicLevel {
    /// 社区议事: the whole community (place empty).
    Community,
    /// 小区议事: one compound (place `小区`).
    Compound,
    /// 楼栋议事: one building (place `小区/楼栋`).
    Building,
}

impl TopicLevel {
    fn as_str(self) -> &'static str {
        match self {
            TopicLevel::Community => "community",
            TopicLevel::Compound => "compound",
            TopicLevel::Building => "building",
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTopic {
    pub title: String,
    pub body: String,
    pub level: TopicLevel,
    /// Community code.
    pub area: String,
    /// `小区` for a compound, `小区/楼栋` for a building; empty for the community.
    #[serde(default)]
    pub place: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comment {
    pub id: String,
    pub parent_id: Option<String>,
    pub author: String,
    /// for, against or neutral.
    pub stance: String,
    /// Empty when hidden.
    pub body: String,
    pub hidden: bool,
    pub hidden_reason: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Meeting {
    pub id: String,
    /// offline or online.
    pub mode: String,
    pub starts_at: String,
    /// Where (an address, or a meeting link).
    pub place: String,
    pub minutes: Option<String>,
    pub attendees: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub owner: String,
    pub progress: i64,
    pub case_id: Option<String>,
    pub project_id: Option<String>,
    pub note: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TopicView {
    pub id: String,
    pub number: String,
    pub title: String,
    /// Empty when hidden by moderators.
    pub body: String,
    pub level: String,
    pub area: String,
    pub place: String,
    pub proposer: String,
    /// resident, grid_worker, organization or council.
    pub proposer_kind: String,
    pub status: TopicStatus,
    pub merged_into: Option<String>,
    pub decline_reason: Option<String>,
    pub rules: Option<VoteRules>,
    /// The roll fixed when the vote opened.
    pub eligible: Option<i64>,
    pub tally: Option<Tally>,
    pub resolution: Option<String>,
    pub objection_until: Option<String>,
    pub hidden: bool,
    pub hidden_reason: Option<String>,
    pub version: i64,
    pub created_at: String,
    /// Whether the caller has voted (never what they chose).
    pub voted: bool,
    pub comments: Vec<Comment>,
    pub meetings: Vec<Meeting>,
    pub tasks: Vec<Task>,
    pub history: Vec<Event>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TopicSummary {
    pub id: String,
    pub number: String,
    pub title: String,
    pub level: String,
    pub area: String,
    pub place: String,
    pub status: TopicStatus,
    pub created_at: String,
    pub closes_at: Option<String>,
}

/// The stored row, as the rules need it.
struct Row0 {
    id: String,
    area: String,
    place: String,
    status: TopicStatus,
    version: i64,
    rules: Option<VoteRules>,
    closes_at: Option<i64>,
    eligible: Option<i64>,
    tally: Option<Tally>,
    objection_until: Option<i64>,
    title: String,
    hidden: bool,
    proposer: String,
}

async fn row(db: &Db, id_or_number: &str) -> Result<AnyRow> {
    sqlx::query("SELECT * FROM topics WHERE id = $1 OR number = $1")
        .bind(id_or_number)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("topic"))
}

fn parse_row(r: &AnyRow) -> Result<Row0> {
    let status: String = r.try_get("status")?;
    Ok(Row0 {
        id: r.try_get("id")?,
        area: r.try_get("area_code")?,
        place: r.try_get("place")?,
        status: TopicStatus::parse(&status)
            .ok_or_else(|| Error::internal(format!("unknown topic status {status}")))?,
        version: r.try_get("version")?,
        rules: opt_text(r, "rules")?.and_then(|s| serde_json::from_str(&s).ok()),
        closes_at: r.try_get("closes_at")?,
        eligible: r.try_get("eligible_count")?,
        tally: opt_text(r, "tally")?.and_then(|s| serde_json::from_str(&s).ok()),
        objection_until: r.try_get("objection_until")?,
        title: r.try_get("title")?,
        hidden: r.try_get::<i64, _>("hidden")? != 0,
        proposer: r.try_get("proposer_id")?,
    })
}

fn is_steward(actor: &Actor, area: &str) -> bool {
    authorize(actor, DELIBERATION_MANAGE, &Target::area(area)).is_ok()
}

/// Raises a topic: a verified resident for their own place, or staff (grid workers,
/// organizations, the council) in their scope.
pub async fn create(
    db: &Db,
    actor: &Actor,
    input: &NewTopic,
    now: i64,
) -> Result<(String, String)> {
    let title = text("title", &input.title, 100)?;
    let body = text("body", &input.body, 5000)?;
    let area = check_area(db, input.area.trim()).await?;
    let place = check_place(&input.place)?;
    let depth = if place.is_empty() {
        0
    } else {
        place.split('/').count()
    };
    let level_ok = match input.level {
        TopicLevel::Community => depth == 0,
        TopicLevel::Compound => depth == 1,
        TopicLevel::Building => depth >= 2,
    };
    if !level_ok {
        return Err(Error::invalid(
            "invalid_place",
            "a community topic has no place, a compound topic names the compound, a building topic names 小区/楼栋",
        ));
    }
    let user = actor
        .user_id
        .clone()
        .ok_or_else(|| Error::Unauthenticated("sign in to raise a topic".into()))?;
    let kind = if authorize(actor, TOPIC_PROPOSE, &Target::area(&area)).is_ok() {
        if actor.has_role(Role::GRID_WORKER) {
            "grid_worker"
        } else if actor.has_role(crate::roles::ORGANIZATION) {
            "organization"
        } else {
            "council"
        }
    } else {
        require_eligible(db, actor, &area, &place, None).await?;
        "resident"
    };
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    let year = &format_ms(now)[..4];
    let n = tx.bump_counter(&format!("topics.number.{year}"), 1).await?;
    let number = format!("YT{year}{n:05}");
    sqlx::query("INSERT INTO topics (id, number, title, body, level, area_code, place, proposer_id, proposer_kind, status, hidden, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'proposed', 0, 1, $10, $10)")
        .bind(&id)
        .bind(&number)
        .bind(&title)
        .bind(&body)
        .bind(input.level.as_str())
        .bind(&area)
        .bind(&place)
        .bind(&user)
        .bind(kind)
        .bind(now)
        .execute(tx.conn())
        .await?;
    participant(&mut tx, &id, &user).await?;
    add_event(
        &mut tx,
        &subject(&id),
        now,
        actor,
        "propose",
        None,
        &json!({"kind": kind}),
    )
    .await?;
    audit::append(
        &mut tx,
        actor,
        "topic.propose",
        &format!("topic:{id}"),
        &json!({"title": title, "area": area, "place": place, "level": input.level.as_str()}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok((id, number))
}

fn subject(id: &str) -> String {
    format!("topic:{id}")
}

async fn participant(tx: &mut WriteTx, topic: &str, user: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO topic_participants (topic_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(topic)
    .bind(user)
    .execute(tx.conn())
    .await?;
    Ok(())
}

async fn participants(db: &Db, topic: &str) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT user_id FROM topic_participants WHERE topic_id = $1")
        .bind(topic)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
}

pub async fn view(db: &Db, sealer: &Sealer, actor: &Actor, id: &str) -> Result<TopicView> {
    let r = row(db, id).await?;
    let t = parse_row(&r)?;
    let moderator = authorize(actor, MODERATE, &Target::area(&t.area)).is_ok();
    let show_hidden = moderator || is_steward(actor, &t.area);
    let comments =
        sqlx::query("SELECT * FROM topic_comments WHERE topic_id = $1 ORDER BY created_at, id")
            .bind(&t.id)
            .fetch_all(db.pool())
            .await?
            .iter()
            .map(|c| {
                let hidden = c.try_get::<i64, _>("hidden")? != 0;
                Ok(Comment {
                    id: c.try_get("id")?,
                    parent_id: opt_text(c, "parent_id")?,
                    author: c.try_get("author_label")?,
                    stance: c.try_get("stance")?,
                    body: if hidden && !show_hidden {
                        String::new()
                    } else {
                        c.try_get("body")?
                    },
                    hidden,
                    hidden_reason: opt_text(c, "hidden_reason")?,
                    created_at: format_ms(c.try_get("created_at")?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
    let meetings = sqlx::query("SELECT m.*, (SELECT COUNT(*) FROM meeting_attendance a WHERE a.meeting_id = m.id) AS attendees FROM topic_meetings m WHERE topic_id = $1 ORDER BY starts_at")
        .bind(&t.id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|m| {
            Ok(Meeting {
                id: m.try_get("id")?,
                mode: m.try_get("mode")?,
                starts_at: format_ms(m.try_get("starts_at")?),
                place: m.try_get("place")?,
                minutes: opt_text(m, "minutes")?,
                attendees: m.try_get("attendees")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let tasks = load_tasks(db, &t.id).await?;
    let voted = match &actor.user_id {
        Some(u) => sqlx::query("SELECT 1 FROM topic_voters WHERE topic_id = $1 AND user_id = $2")
            .bind(&t.id)
            .bind(u)
            .fetch_optional(db.pool())
            .await?
            .is_some(),
        None => false,
    };
    let proposer: String = r.try_get("proposer_id")?;
    Ok(TopicView {
        number: r.try_get("number")?,
        title: t.title.clone(),
        body: if t.hidden && !show_hidden {
            String::new()
        } else {
            r.try_get("body")?
        },
        level: r.try_get("level")?,
        proposer: display_name(db, sealer, &proposer).await?,
        proposer_kind: r.try_get("proposer_kind")?,
        merged_into: opt_text(&r, "merged_into")?,
        decline_reason: opt_text(&r, "decline_reason")?,
        resolution: opt_text(&r, "resolution")?,
        objection_until: t.objection_until.map(format_ms),
        hidden_reason: opt_text(&r, "hidden_reason")?,
        created_at: format_ms(r.try_get("created_at")?),
        history: events(db, &subject(&t.id)).await?,
        id: t.id,
        area: t.area,
        place: t.place,
        status: t.status,
        rules: t.rules,
        eligible: t.eligible,
        tally: t.tally,
        hidden: t.hidden,
        version: t.version,
        voted,
        comments,
        meetings,
        tasks,
    })
}

async fn load_tasks(db: &Db, topic: &str) -> Result<Vec<Task>> {
    sqlx::query("SELECT * FROM topic_tasks WHERE topic_id = $1 ORDER BY updated_at, id")
        .bind(topic)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|k| {
            Ok(Task {
                id: k.try_get("id")?,
                title: k.try_get("title")?,
                owner: k.try_get("owner")?,
                progress: k.try_get("progress")?,
                case_id: opt_text(k, "case_id")?,
                project_id: opt_text(k, "project_id")?,
                note: opt_text(k, "note")?,
                updated_at: format_ms(k.try_get("updated_at")?),
            })
        })
        .collect()
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StepInput {
    /// A note for the history (any step).
    pub note: Option<String>,
    /// merge: the topic (id or number) this one joins.
    pub into: Option<String>,
    /// decline: the published reason.
    pub reason: Option<String>,
    /// schedule_meeting: offline or online; when (RFC 3339); where (address or link).
    pub mode: Option<String>,
    pub starts_at: Option<String>,
    pub place: Option<String>,
    /// sign_in, record_minutes: the meeting.
    pub meeting_id: Option<String>,
    pub minutes: Option<String>,
    /// open_vote: the rules, fixed from now on.
    pub rules: Option<VoteRules>,
    /// publish: the resolution (required when the vote passed) and the objection period.
    pub resolution: Option<String>,
    pub objection_days: Option<i64>,
    /// add_task: title, owner (a unit, organization or person's role), optional links.
    pub title: Option<String>,
    pub owner: Option<String>,
    pub case_id: Option<String>,
    pub project_id: Option<String>,
    /// progress: the task and its progress (0–100).
    pub task_id: Option<String>,
    pub progress: Option<i64>,
}

fn need<'a>(v: &'a Option<String>, field: &'static str, step: TopicStep) -> Result<&'a str> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::invalid(field, format!("{} needs {field}", step.as_str())))
}

/// Takes one step of the loop.
pub async fn step(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    step: TopicStep,
    input: &StepInput,
    now: i64,
) -> Result<()> {
    let t = parse_row(&row(db, id).await?)?;
    match step.taker() {
        rules::Taker::Council => authorize(actor, DELIBERATION_MANAGE, &Target::area(&t.area))?,
        rules::Taker::Resident => {
            require_eligible(db, actor, &t.area, &t.place, None).await?;
        }
    }
    let passed = t.tally.as_ref().is_some_and(|x| x.passed);
    let to = rules::next(t.status, step, passed).map_err(|m| Error::refused("wrong_state", m))?;
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let mut data = json!({});
    let mut notice: Option<(String, String)> = None;
    let mut tx = db.begin_write().await?;
    // The version check makes this step the only one that moves the topic from this state.
    let moved = sqlx::query(
        "UPDATE topics SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(&t.id)
    .bind(t.version)
    .execute(tx.conn())
    .await?;
    if moved.rows_affected() != 1 {
        return Err(Error::Conflict(
            "the topic changed while you were acting; reload and try again".into(),
        ));
    }
    match step {
        TopicStep::Accept => {
            notice = Some((
                format!("议题已受理：{}", t.title),
                "议事会已受理您的议题，进入议事协商。".into(),
            ))
        }
        TopicStep::Merge => {
            let into = need(&input.into, "into", step)?;
            let other = parse_row(&row(db, into).await?)?;
            if other.id == t.id || other.area != t.area {
                return Err(Error::invalid(
                    "into",
                    "a topic merges into another topic of the same area",
                ));
            }
            if matches!(
                other.status,
                TopicStatus::Merged | TopicStatus::Declined | TopicStatus::Done
            ) {
                return Err(Error::Conflict(format!(
                    "the topic to merge into is {}",
                    other.status.as_str()
                )));
            }
            sqlx::query("UPDATE topics SET merged_into = $1 WHERE id = $2")
                .bind(&other.id)
                .bind(&t.id)
                .execute(tx.conn())
                .await?;
            sqlx::query("INSERT INTO topic_participants (topic_id, user_id) SELECT $1, user_id FROM topic_participants WHERE topic_id = $2 ON CONFLICT DO NOTHING")
                .bind(&other.id)
                .bind(&t.id)
                .execute(tx.conn())
                .await?;
            data = json!({"into": other.id});
            notice = Some((
                format!("议题已合并：{}", t.title),
                format!("您的议题已并入「{}」一并议事。", other.title),
            ));
        }
        TopicStep::Decline => {
            let reason = text("reason", need(&input.reason, "reason", step)?, 1000)?;
            sqlx::query("UPDATE topics SET decline_reason = $1 WHERE id = $2")
                .bind(&reason)
                .bind(&t.id)
                .execute(tx.conn())
                .await?;
            notice = Some((
                format!("议题未予受理：{}", t.title),
                format!("理由：{reason}"),
            ));
        }
        TopicStep::ScheduleMeeting => {
            let mode = need(&input.mode, "mode", step)?;
            if mode != "offline" && mode != "online" {
                return Err(Error::invalid("mode", "mode is offline or online"));
            }
            let starts = time("starts_at", need(&input.starts_at, "starts_at", step)?)?;
            let place = text("place", need(&input.place, "place", step)?, 300)?;
            let mid = uuid::Uuid::new_v4().to_string();
            sqlx::query("INSERT INTO topic_meetings (id, topic_id, mode, starts_at, place, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&mid)
                .bind(&t.id)
                .bind(mode)
                .bind(starts)
                .bind(&place)
                .bind(now)
                .execute(tx.conn())
                .await?;
            data = json!({"meeting_id": mid, "mode": mode, "starts_at": format_ms(starts), "place": place});
        }
        TopicStep::SignIn => {
            let mid = need(&input.meeting_id, "meeting_id", step)?;
            meeting_of(&mut tx, &t.id, mid).await?;
            let user = actor.user_id.clone().unwrap_or_default();
            let ok = sqlx::query("INSERT INTO meeting_attendance (meeting_id, user_id, signed_at) VALUES ($1, $2, $3)")
                .bind(mid)
                .bind(&user)
                .bind(now)
                .execute(tx.conn())
                .await;
            if let Err(e) = ok {
                let e = Error::from(e);
                return Err(if e.is_unique_violation() {
                    Error::Conflict("you have already signed in to this meeting".into())
                } else {
                    e
                });
            }
            participant(&mut tx, &t.id, &user).await?;
            data = json!({"meeting_id": mid});
        }
        TopicStep::RecordMinutes => {
            let mid = need(&input.meeting_id, "meeting_id", step)?;
            meeting_of(&mut tx, &t.id, mid).await?;
            let minutes = text("minutes", need(&input.minutes, "minutes", step)?, 20_000)?;
            sqlx::query("UPDATE topic_meetings SET minutes = $1 WHERE id = $2")
                .bind(&minutes)
                .bind(mid)
                .execute(tx.conn())
                .await?;
            data = json!({"meeting_id": mid});
        }
        TopicStep::OpenVote => {
            let r = input
                .rules
                .as_ref()
                .ok_or_else(|| Error::invalid("rules", "open_vote needs the vote's rules"))?;
            let (opens, closes) = r.check().map_err(|m| Error::invalid("rules", m))?;
            if closes <= now {
                return Err(Error::invalid("rules", "closes_at is already past"));
            }
            // The roll is fixed now: who is verified for the place at this moment.
            let eligible = crate::common::count_eligible(db, &t.area, &t.place).await?;
            sqlx::query("UPDATE topics SET rules = $1, opens_at = $2, closes_at = $3, eligible_count = $4, tally = NULL WHERE id = $5")
                .bind(serde_json::to_string(r).map_err(Error::internal)?)
                .bind(opens)
                .bind(closes)
                .bind(eligible)
                .bind(&t.id)
                .execute(tx.conn())
                .await?;
            data = json!({"rules": r, "eligible": eligible});
            let body = format!(
                "投票时间：{} 至 {}；法定人数 {:.0}%，通过门槛 {:.0}%。",
                format_ms(opens),
                format_ms(closes),
                r.quorum * 100.0,
                r.pass_threshold * 100.0
            );
            notice = Some((format!("议题开始表决：{}", t.title), body));
        }
        TopicStep::CloseVote => {
            let closes = t.closes_at.unwrap_or(i64::MAX);
            if now < closes {
                return Err(Error::Conflict(format!(
                    "the vote is open until {}",
                    format_ms(closes)
                )));
            }
            let rules = t
                .rules
                .clone()
                .ok_or_else(|| Error::internal("a voting topic without rules"))?;
            // Counting reads mixed ballots only: everything still pooled is mixed first, in
            // this transaction, which also closes the box to ballots in flight.
            BallotBox::topic(&t.id)
                .mix(db, &mut tx, sealer, true, now)
                .await?;
            let mut counts = [0i64; 3];
            for r in sqlx::query("SELECT choice, COUNT(*) AS n FROM topic_ballots WHERE topic_id = $1 GROUP BY choice")
                .bind(&t.id)
                .fetch_all(tx.conn())
                .await?
            {
                let choice: String = r.try_get("choice")?;
                let n: i64 = r.try_get("n")?;
                match choice.as_str() {
                    "yes" => counts[0] = n,
                    "no" => counts[1] = n,
                    _ => counts[2] = n,
                }
            }
            let tally = rules::tally(
                &rules,
                t.eligible.unwrap_or(0),
                counts[0],
                counts[1],
                counts[2],
            );
            sqlx::query("UPDATE topics SET tally = $1 WHERE id = $2")
                .bind(serde_json::to_string(&tally).map_err(Error::internal)?)
                .bind(&t.id)
                .execute(tx.conn())
                .await?;
            data = json!({"tally": tally});
        }
        TopicStep::Publish => {
            let days = input.objection_days.unwrap_or(7);
            if !(0..=30).contains(&days) {
                return Err(Error::invalid(
                    "objection_days",
                    "the objection period is 0–30 days",
                ));
            }
            let tally = t.tally.clone().unwrap_or_else(|| {
                rules::tally(
                    t.rules.as_ref().expect("decided topics have rules"),
                    0,
                    0,
                    0,
                    0,
                )
            });
            let resolution = if passed {
                Some(text(
                    "resolution",
                    need(&input.resolution, "resolution", step)?,
                    5000,
                )?)
            } else {
                None
            };
            let until = now + days * 86_400_000;
            sqlx::query("UPDATE topics SET resolution = $1, objection_until = $2 WHERE id = $3")
                .bind(&resolution)
                .bind(passed.then_some(until))
                .bind(&t.id)
                .execute(tx.conn())
                .await?;
            data = json!({"resolution": resolution, "objection_until": passed.then(|| format_ms(until))});
            notice = Some((
                format!("议题表决结果公示：{}", t.title),
                match &resolution {
                    Some(res) => format!(
                        "表决通过（赞成 {}，反对 {}，弃权 {}）。决议：{res}。公示至 {}，如有异议请提出。",
                        tally.yes,
                        tally.no,
                        tally.abstain,
                        format_ms(until)
                    ),
                    None => format!(
                        "表决未通过（赞成 {}，反对 {}，弃权 {}；应参与 {}）。{}",
                        tally.yes, tally.no, tally.abstain, tally.eligible, tally.reason
                    ),
                },
            ));
        }
        TopicStep::Object => {
            let until = t.objection_until.unwrap_or(0);
            if now >= until {
                return Err(Error::Conflict("the objection period is over".into()));
            }
            let body = text("note", note.unwrap_or(""), 2000)?;
            if let Some(u) = &actor.user_id {
                participant(&mut tx, &t.id, u).await?;
            }
            data = json!({"objection": body});
        }
        TopicStep::Execute => {
            let until = t.objection_until.unwrap_or(0);
            if now < until {
                return Err(Error::Conflict(format!(
                    "the resolution is published for objections until {}",
                    format_ms(until)
                )));
            }
        }
        TopicStep::AddTask => {
            let title = text("title", need(&input.title, "title", step)?, 200)?;
            let owner = text("owner", need(&input.owner, "owner", step)?, 100)?;
            if let Some(case) = input.case_id.as_deref().filter(|s| !s.is_empty()) {
                let found = sqlx::query("SELECT 1 FROM cases WHERE id = $1 OR number = $1")
                    .bind(case)
                    .fetch_optional(tx.conn())
                    .await?;
                if found.is_none() {
                    return Err(Error::invalid("case_id", "no such case"));
                }
            }
            if let Some(p) = input.project_id.as_deref().filter(|s| !s.is_empty()) {
                let found = sqlx::query("SELECT 1 FROM budget_projects WHERE id = $1")
                    .bind(p)
                    .fetch_optional(tx.conn())
                    .await?;
                if found.is_none() {
                    return Err(Error::invalid("project_id", "no such project"));
                }
            }
            let tid = uuid::Uuid::new_v4().to_string();
            sqlx::query("INSERT INTO topic_tasks (id, topic_id, title, owner, progress, case_id, project_id, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $7)")
                .bind(&tid)
                .bind(&t.id)
                .bind(&title)
                .bind(&owner)
                .bind(input.case_id.as_deref().filter(|s| !s.is_empty()))
                .bind(input.project_id.as_deref().filter(|s| !s.is_empty()))
                .bind(now)
                .execute(tx.conn())
                .await?;
            data = json!({"task_id": tid, "title": title, "owner": owner});
        }
        TopicStep::Progress => {
            let tid = need(&input.task_id, "task_id", step)?;
            let p = input
                .progress
                .filter(|p| (0..=100).contains(p))
                .ok_or_else(|| Error::invalid("progress", "progress is 0–100"))?;
            let done = sqlx::query("UPDATE topic_tasks SET progress = $1, note = $2, updated_at = $3 WHERE id = $4 AND topic_id = $5")
                .bind(p)
                .bind(note)
                .bind(now)
                .bind(tid)
                .bind(&t.id)
                .execute(tx.conn())
                .await?;
            if done.rows_affected() != 1 {
                return Err(Error::invalid("task_id", "no such task on this topic"));
            }
            data = json!({"task_id": tid, "progress": p});
        }
        TopicStep::Complete => {
            let tasks = load_tasks(db, &t.id).await?;
            if tasks.is_empty() || tasks.iter().any(|k| k.progress < 100) {
                return Err(Error::Conflict(
                    "a resolution is complete when it has tasks and every task is at 100%".into(),
                ));
            }
            notice = Some((
                format!("决议已落实：{}", t.title),
                format!("决议的 {} 项任务已全部完成。感谢您的参与。", tasks.len()),
            ));
        }
    }
    add_event(
        &mut tx,
        &subject(&t.id),
        now,
        actor,
        step.as_str(),
        note,
        &data,
    )
    .await?;
    if let Some((title, body)) = notice {
        // Everyone who took part hears (the proposer at screening, all at vote and outcome).
        let who = match step {
            TopicStep::Accept | TopicStep::Merge | TopicStep::Decline => vec![t.proposer.clone()],
            _ => participants(db, &t.id).await?,
        };
        notify_users(db, &mut tx, now, &who, "topic", &title, &body).await?;
    }
    audit::append(
        &mut tx,
        actor,
        &format!("topic.{}", step.as_str()),
        &format!("topic:{}", t.id),
        &data,
        note,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn meeting_of(tx: &mut WriteTx, topic: &str, meeting: &str) -> Result<()> {
    let found = sqlx::query("SELECT 1 FROM topic_meetings WHERE id = $1 AND topic_id = $2")
        .bind(meeting)
        .bind(topic)
        .fetch_optional(tx.conn())
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| Error::invalid("meeting_id", "no such meeting on this topic"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Yes,
    No,
    Abstain,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VoteInput {
    pub choice: Choice,
}

/// Casts the caller's ballot: only while the vote is open, only for residents on its roll, once.
/// A secret ballot goes into the topic's ballot box (`ballot_box`), counted once mixed; an open
/// ballot is stored with its voter.
pub async fn vote(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    choice: Choice,
    now: i64,
) -> Result<()> {
    let t = parse_row(&row(db, id).await?)?;
    // Who may vote comes first: the state of a vote is for those on its roll.
    let roll = roll_fixed_at(db, &t.id).await?;
    let user = require_eligible(db, actor, &t.area, &t.place, roll).await?;
    if t.status != TopicStatus::Voting {
        return Err(Error::Conflict(format!(
            "votes are taken while the topic is voting; it is {}",
            t.status.as_str()
        )));
    }
    let rules = t
        .rules
        .as_ref()
        .ok_or_else(|| Error::internal("a voting topic without rules"))?;
    let (opens, closes) = rules.check().map_err(Error::internal)?;
    if now < opens || now >= t.closes_at.unwrap_or(closes) {
        return Err(Error::Conflict(format!(
            "the vote is open from {} until {}",
            format_ms(opens),
            format_ms(closes)
        )));
    }
    let mut tx = db.begin_write().await?;
    // The primary key (topic, voter) makes a second or racing ballot fail here, before counting.
    let first = sqlx::query("INSERT INTO topic_voters (topic_id, user_id) VALUES ($1, $2)")
        .bind(&t.id)
        .bind(&user)
        .execute(tx.conn())
        .await;
    if let Err(e) = first {
        let e = Error::from(e);
        return Err(if e.is_unique_violation() {
            Error::refused("already_voted", "you have already voted on this topic")
        } else {
            e
        });
    }
    let choice_s = match choice {
        Choice::Yes => "yes",
        Choice::No => "no",
        Choice::Abstain => "abstain",
    };
    let ballot_box = BallotBox::topic(&t.id);
    if rules.secret {
        ballot_box.drop_in(db, &mut tx, sealer, choice_s).await?;
    } else {
        ballot_box.hold_open(db, &mut tx).await?;
        sqlx::query("INSERT INTO topic_ballots (topic_id, choice, voter_id) VALUES ($1, $2, $3)")
            .bind(&t.id)
            .bind(choice_s)
            .bind(&user)
            .execute(tx.conn())
            .await?;
    }
    participant(&mut tx, &t.id, &user).await?;
    // The audit entry records that a ballot was cast, never its choice.
    audit::append(
        &mut tx,
        actor,
        "topic.vote",
        &format!("topic:{}", t.id),
        &json!({"voter": user}),
        None,
    )
    .await?;
    // Mixed once, at the close: no result is shown before it, so nothing is gained by
    // mixing earlier and every ballot hides among all the others.
    tx.commit().await?;
    Ok(())
}

/// When the vote's roll was fixed: the moment the vote was opened (residents verified later
/// are not on it).
async fn roll_fixed_at(db: &Db, topic: &str) -> Result<Option<i64>> {
    let r = sqlx::query(
        "SELECT MAX(at) AS at FROM delib_events WHERE subject = $1 AND step = 'open_vote'",
    )
    .bind(subject(topic))
    .fetch_one(db.pool())
    .await?;
    Ok(r.try_get::<Option<i64>, _>("at")?)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewComment {
    /// for, against or neutral.
    pub stance: String,
    pub body: String,
    /// A reply to this comment.
    pub parent_id: Option<String>,
}

pub async fn comment(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    input: &NewComment,
    now: i64,
) -> Result<String> {
    let t = parse_row(&row(db, id).await?)?;
    let user = if is_steward(actor, &t.area)
        || authorize(actor, TOPIC_PROPOSE, &Target::area(&t.area)).is_ok()
    {
        actor
            .user_id
            .clone()
            .ok_or_else(|| Error::Unauthenticated("sign in to comment".into()))?
    } else {
        require_eligible(db, actor, &t.area, &t.place, None).await?
    };
    if !matches!(t.status, TopicStatus::Deliberating | TopicStatus::Voting) {
        return Err(Error::Conflict(format!(
            "comments are taken while the topic is deliberated or voted; it is {}",
            t.status.as_str()
        )));
    }
    if !["for", "against", "neutral"].contains(&input.stance.as_str()) {
        return Err(Error::invalid(
            "stance",
            "stance is for, against or neutral",
        ));
    }
    let body = text("body", &input.body, 2000)?;
    if let Some(p) = &input.parent_id {
        let found = sqlx::query("SELECT 1 FROM topic_comments WHERE id = $1 AND topic_id = $2")
            .bind(p)
            .bind(&t.id)
            .fetch_optional(db.pool())
            .await?;
        if found.is_none() {
            return Err(Error::invalid("parent_id", "no such comment on this topic"));
        }
    }
    let label = display_name(db, sealer, &user).await?;
    let cid = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin_write().await?;
    sqlx::query("INSERT INTO topic_comments (id, topic_id, parent_id, author_id, author_label, stance, body, hidden, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)")
        .bind(&cid)
        .bind(&t.id)
        .bind(&input.parent_id)
        .bind(&user)
        .bind(&label)
        .bind(&input.stance)
        .bind(&body)
        .bind(now)
        .execute(tx.conn())
        .await?;
    participant(&mut tx, &t.id, &user).await?;
    audit::append(
        &mut tx,
        actor,
        "topic.comment",
        &format!("comment:{cid}"),
        &json!({"topic": t.id, "stance": input.stance}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(cid)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopicFilter {
    /// Area code; topics in its subtree.
    pub area: Option<String>,
    pub status: Option<String>,
    /// 1-based, 50 a page.
    pub page: Option<i64>,
}

pub async fn list(db: &Db, f: &TopicFilter) -> Result<Vec<TopicSummary>> {
    let page = f.page.unwrap_or(1);
    if !(1..=100_000).contains(&page) {
        return Err(Error::invalid("page", "page is 1–100000"));
    }
    if let Some(s) = &f.status {
        TopicStatus::parse(s)
            .ok_or_else(|| Error::invalid("status", format!("unknown status {s:?}")))?;
    }
    let rows = sqlx::query("SELECT id, number, title, level, area_code, place, status, created_at, closes_at FROM topics \
                            WHERE area_code LIKE $1 ESCAPE '\\' AND ($2 = '' OR status = $2) ORDER BY created_at DESC, id LIMIT 50 OFFSET $3")
        .bind(gongzhi_core::db::like_prefix(f.area.as_deref().unwrap_or("")))
        .bind(f.status.as_deref().unwrap_or(""))
        .bind((page - 1) * 50)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get("status")?;
            Ok(TopicSummary {
                id: r.try_get("id")?,
                number: r.try_get("number")?,
                title: r.try_get("title")?,
                level: r.try_get("level")?,
                area: r.try_get("area_code")?,
                place: r.try_get("place")?,
                status: TopicStatus::parse(&status).unwrap_or(TopicStatus::Proposed),
                created_at: format_ms(r.try_get("created_at")?),
                closes_at: r.try_get::<Option<i64>, _>("closes_at")?.map(format_ms),
            })
        })
        .collect()
}

/// Raises a topic (verified residents for their place; grid workers, organizations and the
/// council in their scope).
#[utoipa::path(post, path = "/api/v1/topics", tag = "deliberation", security(("bearer" = [])), request_body = NewTopic,
    responses((status = 201, body = TopicView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn create_topic(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<NewTopic>,
) -> ApiResult<(StatusCode, Json<TopicView>)> {
    let (id, _) = create(&state.db, &actor, &input, state.clock.now_ms()).await?;
    Ok((
        StatusCode::CREATED,
        Json(view(&state.db, &state.sealer, &actor, &id).await?),
    ))
}

/// Topics, newest first (public: 公开).
#[utoipa::path(get, path = "/api/v1/topics", tag = "deliberation", params(TopicFilter),
    responses((status = 200, body = Vec<TopicSummary>), (status = 400, body = gongzhi_core::http::ErrorBody)))]
async fn list_topics(
    State(state): State<AppState>,
    ApiQuery(f): ApiQuery<TopicFilter>,
) -> ApiResult<Json<Vec<TopicSummary>>> {
    Ok(Json(list(&state.db, &f).await?))
}

/// One topic with its comments, meetings, vote rules and tally, tasks and whole history.
#[utoipa::path(get, path = "/api/v1/topics/{id}", tag = "deliberation", params(("id" = String, Path, description = "id or number")),
    responses((status = 200, body = TopicView), (status = 404, body = gongzhi_core::http::ErrorBody)))]
async fn get_topic(
    State(state): State<AppState>,
    MaybeAuthed(actor): MaybeAuthed,
    Path(id): Path<String>,
) -> ApiResult<Json<TopicView>> {
    Ok(Json(view(&state.db, &state.sealer, &actor, &id).await?))
}

/// One step: accept, merge, decline, schedule_meeting, sign_in, record_minutes, open_vote,
/// close_vote, publish, object, execute, add_task, progress, complete. Wrong state or a lost
/// race → 409; wrong role or scope → 403.
#[utoipa::path(post, path = "/api/v1/topics/{id}/actions/{action}", tag = "deliberation", security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path)), request_body = StepInput,
    responses((status = 200, body = TopicView), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn act(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<TopicView>> {
    let s = TopicStep::parse(&action).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_action",
            format!("unknown action {action:?}"),
        )
    })?;
    let input: StepInput = if body.iter().all(u8::is_ascii_whitespace) {
        StepInput::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?
    };
    step(
        &state.db,
        &state.sealer,
        &actor,
        &id,
        s,
        &input,
        state.clock.now_ms(),
    )
    .await?;
    Ok(Json(view(&state.db, &state.sealer, &actor, &id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentCreated {
    pub id: String,
}

/// A comment (for / against / neutral), or a reply to one.
#[utoipa::path(post, path = "/api/v1/topics/{id}/comments", tag = "deliberation", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = NewComment,
    responses((status = 201, body = CommentCreated), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn add_comment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NewComment>,
) -> ApiResult<(StatusCode, Json<CommentCreated>)> {
    let cid = comment(
        &state.db,
        &state.sealer,
        &actor,
        &id,
        &input,
        state.clock.now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CommentCreated { id: cid })))
}

/// Casts a ballot. A second ballot by the same resident → 409; ineligible → 403.
#[utoipa::path(post, path = "/api/v1/topics/{id}/votes", tag = "deliberation", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = VoteInput,
    responses((status = 201, description = "counted"), (status = 403, body = gongzhi_core::http::ErrorBody), (status = 409, body = gongzhi_core::http::ErrorBody)))]
async fn cast_vote(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VoteInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    vote(
        &state.db,
        &state.sealer,
        &actor,
        &id,
        input.choice,
        state.clock.now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"counted": true}))))
}
