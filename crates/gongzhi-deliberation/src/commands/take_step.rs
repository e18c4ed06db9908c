//! One step of the topic loop (`rules::topic_loop::next`): screening (accept, merge, decline),
//! deliberating (meetings, sign-in, minutes), deciding (open and close the vote, publish, take
//! objections), carrying out (execute, tasks, progress, complete). Each step is checked against
//! the rules, the caller's role and scope, and the topic's version: of two racing steps one
//! wins, the other is refused `lost_race`.

use serde_json::{json, Value};

use crate::ballot_box::BallotBox;
use crate::checks::require_eligible;
use crate::common::{add_event, notify_users};
use crate::model::input::{required, text, time};
use crate::model::topics::{subject, StepInput, Taker, TopicStatus, TopicStep};
use crate::permissions::DELIBERATION_MANAGE;
use crate::rules::topic_loop::{next, tally};
use crate::store::topics::{self, NewMeetingRow, NewTaskRow, TopicRecord};
use crate::store::{budgets, residents};
use gongzhi_core::audit;
use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

/// What a step records in the history and audit, and what it tells participants.
#[derive(Default)]
struct Outcome {
    data: Value,
    notice: Option<(String, String)>,
}

impl Outcome {
    fn data(data: Value) -> Outcome {
        Outcome { data, notice: None }
    }
    fn notice(data: Value, title: String, body: String) -> Outcome {
        Outcome {
            data,
            notice: Some((title, body)),
        }
    }
}

/// What every step reads.
struct Step<'a> {
    db: &'a Db,
    sealer: &'a Sealer,
    actor: &'a Actor,
    topic: &'a TopicRecord,
    step: TopicStep,
    input: &'a StepInput,
    note: Option<&'a str>,
    passed: bool,
    now: i64,
}

impl Step<'_> {
    fn need<'b>(&self, v: &'b Option<String>, field: &'static str) -> Result<&'b str> {
        required(v, field, self.step.as_str())
    }
}

/// Takes one step of the loop.
pub async fn take_step(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    step: TopicStep,
    input: &StepInput,
    now: i64,
) -> Result<()> {
    let t = topics::find(db, id).await?;
    match step.taker() {
        Taker::Council => authorize(actor, DELIBERATION_MANAGE, &Target::area(&t.area))?,
        Taker::Resident => {
            require_eligible(db, actor, &t.area, &t.place, None).await?;
        }
    }
    let passed = t.tally.as_ref().is_some_and(|x| x.passed);
    let to = next(t.status, step, passed).map_err(|m| Error::refused("wrong_state", m))?;
    let s = Step {
        db,
        sealer,
        actor,
        topic: &t,
        step,
        input,
        note: super::note(&input.note),
        passed,
        now,
    };
    let mut tx = db.begin_write().await?;
    // The version check makes this step the only one that moves the topic from this state.
    if !topics::move_status(&mut tx, &t.id, t.version, to, now).await? {
        return Err(Error::refused(
            "lost_race",
            "the topic changed while you were acting; reload and try again",
        ));
    }
    let done = match step {
        TopicStep::Accept => Ok(Outcome::notice(
            json!({}),
            format!("议题已受理：{}", t.title),
            "议事会已受理您的议题，进入议事协商。".into(),
        )),
        TopicStep::Merge => merge(&s, &mut tx).await,
        TopicStep::Decline => decline(&s, &mut tx).await,
        TopicStep::ScheduleMeeting => schedule_meeting(&s, &mut tx).await,
        TopicStep::SignIn => sign_in(&s, &mut tx).await,
        TopicStep::RecordMinutes => record_minutes(&s, &mut tx).await,
        TopicStep::OpenVote => open_vote(&s, &mut tx).await,
        TopicStep::CloseVote => close_vote(&s, &mut tx).await,
        TopicStep::Publish => publish(&s, &mut tx).await,
        TopicStep::Object => object(&s, &mut tx).await,
        TopicStep::Execute => execute(&s),
        TopicStep::AddTask => add_task(&s, &mut tx).await,
        TopicStep::Progress => progress(&s, &mut tx).await,
        TopicStep::Complete => complete(&s).await,
    }?;
    finish(&s, tx, done).await
}

/// The history step, the notice to those who took part, the audit entry; then commit.
async fn finish(s: &Step<'_>, mut tx: WriteTx, done: Outcome) -> Result<()> {
    let t = s.topic;
    let data = if done.data.is_null() {
        json!({})
    } else {
        done.data
    };
    add_event(
        &mut tx,
        &subject(&t.id),
        s.now,
        s.actor,
        s.step.as_str(),
        s.note,
        &data,
    )
    .await?;
    if let Some((title, body)) = done.notice {
        // Everyone who took part hears (the proposer at screening, all at vote and outcome).
        let who = match s.step {
            TopicStep::Accept | TopicStep::Merge | TopicStep::Decline => vec![t.proposer.clone()],
            _ => topics::participants(s.db, &t.id).await?,
        };
        notify_users(s.db, &mut tx, s.now, &who, "topic", &title, &body).await?;
    }
    audit::append(
        &mut tx,
        s.actor,
        &format!("topic.{}", s.step.as_str()),
        &subject(&t.id),
        &data,
        s.note,
    )
    .await?;
    tx.commit().await
}

async fn merge(s: &Step<'_>, tx: &mut WriteTx) -> Result<Outcome> {
    let t = s.topic;
    let into = s.need(&s.input.into, "into")?;
    let other = topics::find(s.db, into).await?;
    if other.id == t.id || other.area != t.area {
        return Err(Error::invalid(
            "invalid_merge",
            "a topic merges into another topic of the same area",
        ));
    }
    if matches!(
        other.status,
        TopicStatus::Merged | TopicStatus::Declined | TopicStatus::Done
    ) {
        return Err(Error::refused(
            "wrong_state",
            format!("the topic to merge into is {}", other.status),
        ));
    }
    topics::merge(tx, &t.id, &other.id).await?;
    Ok(Outcome::notice(
        json!({"into": other.id}),
        format!("议题已合并：{}", t.title),
        format!("您的议题已并入「{}」一并议事。", other.title),
    ))
}

async fn decline(s: &Step<'_>, tx: &mut WriteTx) -> Result<Outcome> {
    let reason = text("reason", s.need(&s.input.reason, "reason")?, 1000)?;
    topics::set_decline_reason(tx, &s.topic.id, &reason).await?;
    Ok(Outcome::notice(
        json!({}),
        format!("议题未予受理：{}", s.topic.title),
        format!("理由：{reason}"),
    ))
}

async fn schedule_meeting(s: &Step<'_>, tx: &mut WriteTx) -> Result<Outcome> {
    let mode = s.input.mode.ok_or_else(|| {
        Error::invalid_with(
            "missing_field",
            "schedule_meeting needs mode",
            json!({"field": "mode"}),
        )
    })?;
    let starts = time("starts_at", s.need(&s.input.starts_at, "starts_at")?)?;
    let place = text("place", s.need(&s.input.place, "place")?, 300)?;
    let id = uuid::Uuid::new_v4().to_string();
    topics::insert_meeting(
        tx,
        &NewMeetingRow {
            id: &id,
            topic: &s.topic.id,
            mode,
            starts_at: starts,
            place: &place,
            at: s.now,
        },
    )
    .await?;
    Ok(Outcome::data(
        json!({"meeting_id": id, "mode": mode, "starts_at": format_ms(starts), "place": place}),
    ))
}

/// The meeting, when it is one of the topic's.
async fn meeting<'a>(s: &Step<'a>, tx: &mut WriteTx) -> Result<&'a str> {
    let id = s.need(&s.input.meeting_id, "meeting_id")?;
    if topics::meeting_exists(tx, &s.topic.id, id).await? {
        Ok(id)
    } else {
        Err(Error::invalid(
            "unknown_meeting",
            "no such meeting on this topic",
        ))
    }
}

async fn sign_in(s: &Step<'_>, tx: &mut WriteTx) -> Result<Outcome> {
    let id = meeting(s, tx).await?;
    let user = s.actor.user_id.clone().unwrap_or_default();
    super::once(
        topics::sign_in(tx, id, &user, s.now).await,
        "already_signed_in",
        "you have already signed in to this meeting",
    )?;
    topics::add_participant(tx, &s.topic.id, &user).await?;
    Ok(Outcome::data(json!({"meeting_id": id})))
}

async fn record_minutes(s: &Step<'_>, tx: &mut WriteTx) -> Result<Outcome> {
    let id = meeting(s, tx).await?;
    let minutes = text("minutes", s.need(&s.input.minutes, "minutes")?, 20_000)?;
    topics::set_minutes(tx, id, &minutes).await?;
    Ok(Outcome::data(json!({"meeting_id": id})))
}

async fn open_vote(s: &Step<'_>, tx: &mut WriteTx) -> Result<Outcome> {
    let bad = |m: &str| Error::invalid("invalid_vote_rules", m.to_string());
    let r = s
        .input
        .rules
        .as_ref()
        .ok_or_else(|| bad("open_vote needs the vote's rules"))?;
    let (opens, closes) = r.check().map_err(|m| bad(&m))?;
    if closes <= s.now {
        return Err(bad("closes_at is already past"));
    }
    // The roll is fixed now: who is verified for the place at this moment.
    let eligible = residents::count_eligible(s.db, &s.topic.area, &s.topic.place).await?;
    topics::open_vote(tx, &s.topic.id, r, (opens, closes), eligible).await?;
    let body = format!(
        "投票时间：{} 至 {}；法定人数 {:.0}%，通过门槛 {:.0}%。",
        format_ms(opens),
        format_ms(closes),
        r.quorum * 100.0,
        r.pass_threshold * 100.0
    );
    Ok(Outcome::notice(
        json!({"rules": r, "eligible": eligible}),
        format!("议题开始表决：{}", s.topic.title),
        body,
    ))
}

async fn close_vote(s: &Step<'_>, tx: &mut WriteTx) -> Result<Outcome> {
    let t = s.topic;
    let closes = t.closes_at.unwrap_or(i64::MAX);
    if s.now < closes {
        return Err(Error::refused(
            "wrong_state",
            format!("the vote is open until {}", format_ms(closes)),
        ));
    }
    let rules = t
        .rules
        .clone()
        .ok_or_else(|| Error::internal("a voting topic without rules"))?;
    // Counting reads mixed ballots only: everything still pooled is mixed first, in this
    // transaction, which also closes the box to ballots in flight.
    BallotBox::topic(&t.id)
        .mix(s.db, tx, s.sealer, true, s.now)
        .await?;
    let [yes, no, abstain] = topics::count_ballots(tx, &t.id).await?;
    let tally = tally(&rules, t.eligible.unwrap_or(0), yes, no, abstain);
    topics::set_tally(tx, &t.id, &tally).await?;
    Ok(Outcome::data(json!({"tally": tally})))
}

async fn publish(s: &Step<'_>, tx: &mut WriteTx) -> Result<Outcome> {
    let t = s.topic;
    let days = s.input.objection_days.unwrap_or(7);
    if !(0..=30).contains(&days) {
        return Err(Error::invalid(
            "invalid_objection_days",
            "the objection period is 0–30 days",
        ));
    }
    let tally = t.tally.clone().unwrap_or_else(|| {
        tally(
            t.rules.as_ref().expect("decided topics have rules"),
            0,
            0,
            0,
            0,
        )
    });
    let resolution = if s.passed {
        Some(text(
            "resolution",
            s.need(&s.input.resolution, "resolution")?,
            5000,
        )?)
    } else {
        None
    };
    let until = s.now + days * 86_400_000;
    topics::publish(tx, &t.id, resolution.as_deref(), s.passed.then_some(until)).await?;
    let body = match &resolution {
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
    };
    Ok(Outcome::notice(
        json!({"resolution": resolution, "objection_until": s.passed.then(|| format_ms(until))}),
        format!("议题表决结果公示：{}", t.title),
        body,
    ))
}

async fn object(s: &Step<'_>, tx: &mut WriteTx) -> Result<Outcome> {
    if s.now >= s.topic.objection_until.unwrap_or(0) {
        return Err(Error::refused(
            "wrong_state",
            "the objection period is over",
        ));
    }
    let body = text("note", s.note.unwrap_or(""), 2000)?;
    if let Some(u) = &s.actor.user_id {
        topics::add_participant(tx, &s.topic.id, u).await?;
    }
    Ok(Outcome::data(json!({"objection": body})))
}

fn execute(s: &Step<'_>) -> Result<Outcome> {
    let until = s.topic.objection_until.unwrap_or(0);
    if s.now < until {
        return Err(Error::refused(
            "wrong_state",
            format!(
                "the resolution is published for objections until {}",
                format_ms(until)
            ),
        ));
    }
    Ok(Outcome::default())
}

async fn add_task(s: &Step<'_>, tx: &mut WriteTx) -> Result<Outcome> {
    let title = text("title", s.need(&s.input.title, "title")?, 200)?;
    let owner = text("owner", s.need(&s.input.owner, "owner")?, 100)?;
    let case = s.input.case_id.as_deref().filter(|c| !c.is_empty());
    let project = s.input.project_id.as_deref().filter(|p| !p.is_empty());
    if let Some(c) = case {
        // Through the cases module's declared lookup: deliberation does not read its tables.
        if gongzhi_core::module::find_subject(s.db, "case", c)
            .await?
            .is_none()
        {
            return Err(Error::invalid("unknown_case", "no such case"));
        }
    }
    if let Some(p) = project {
        if !budgets::project_exists_in(tx, p).await? {
            return Err(Error::invalid("unknown_project", "no such project"));
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    topics::insert_task(
        tx,
        &NewTaskRow {
            id: &id,
            topic: &s.topic.id,
            title: &title,
            owner: &owner,
            case_id: case,
            project_id: project,
            at: s.now,
        },
    )
    .await?;
    Ok(Outcome::data(
        json!({"task_id": id, "title": title, "owner": owner}),
    ))
}

async fn progress(s: &Step<'_>, tx: &mut WriteTx) -> Result<Outcome> {
    let task = s.need(&s.input.task_id, "task_id")?;
    let p = s
        .input
        .progress
        .filter(|p| (0..=100).contains(p))
        .ok_or_else(|| Error::invalid("invalid_progress", "progress is 0–100"))?;
    if !topics::set_task_progress(tx, &s.topic.id, task, p, s.note, s.now).await? {
        return Err(Error::invalid("unknown_task", "no such task on this topic"));
    }
    Ok(Outcome::data(json!({"task_id": task, "progress": p})))
}

async fn complete(s: &Step<'_>) -> Result<Outcome> {
    let tasks = topics::tasks(s.db, &s.topic.id).await?;
    if tasks.is_empty() || tasks.iter().any(|k| k.progress < 100) {
        return Err(Error::refused(
            "wrong_state",
            "a resolution is complete when it has tasks and every task is at 100%",
        ));
    }
    Ok(Outcome::notice(
        json!({}),
        format!("决议已落实：{}", s.topic.title),
        format!("决议的 {} 项任务已全部完成。感谢您的参与。", tasks.len()),
    ))
}
