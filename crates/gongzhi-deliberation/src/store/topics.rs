//! Topics in storage: the topic row, its comments, meetings and attendance, voters and open
//! ballots, tasks and participants (portable SQL, both backends). Closed sets are stored as
//! their text.

use crate::model::topics::{
    Choice, Comment, Meeting, MeetingMode, ProposerKind, Stance, Tally, Task, TopicLevel,
    TopicStatus, TopicSummary, VoteRules,
};
use gongzhi_core::db::{like_prefix, opt_text, Db, WriteTx};
use gongzhi_core::db::{query, Row};
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

/// A stored topic, as the rules and the views need it.
#[derive(Debug, Clone)]
pub struct TopicRecord {
    pub id: String,
    pub number: String,
    pub title: String,
    pub body: String,
    pub level: TopicLevel,
    pub area: String,
    pub place: String,
    pub proposer: String,
    pub proposer_kind: ProposerKind,
    pub status: TopicStatus,
    pub merged_into: Option<String>,
    pub decline_reason: Option<String>,
    pub rules: Option<VoteRules>,
    pub closes_at: Option<i64>,
    pub eligible: Option<i64>,
    pub tally: Option<Tally>,
    pub resolution: Option<String>,
    pub objection_until: Option<i64>,
    pub hidden: bool,
    pub hidden_reason: Option<String>,
    pub version: i64,
    pub created_at: i64,
}

/// The topic with this id or number.
pub async fn find(db: &Db, id_or_number: &str) -> Result<TopicRecord> {
    let r = query("SELECT * FROM topics WHERE id = $1 OR number = $1")
        .bind(id_or_number)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("topic"))?;
    record(&r)
}

fn record(r: &Row) -> Result<TopicRecord> {
    let text = |col: &str| -> Result<String> { Ok(r.try_get::<String, _>(col)?) };
    Ok(TopicRecord {
        id: text("id")?,
        number: text("number")?,
        title: text("title")?,
        body: text("body")?,
        level: TopicLevel::from_stored(&text("level")?)?,
        area: text("area_code")?,
        place: text("place")?,
        proposer: text("proposer_id")?,
        proposer_kind: ProposerKind::from_stored(&text("proposer_kind")?)?,
        status: TopicStatus::from_stored(&text("status")?)?,
        merged_into: opt_text(r, "merged_into")?,
        decline_reason: opt_text(r, "decline_reason")?,
        rules: opt_text(r, "rules")?.and_then(|s| serde_json::from_str(&s).ok()),
        closes_at: r.try_get("closes_at")?,
        eligible: r.try_get("eligible_count")?,
        tally: opt_text(r, "tally")?.and_then(|s| serde_json::from_str(&s).ok()),
        resolution: opt_text(r, "resolution")?,
        objection_until: r.try_get("objection_until")?,
        hidden: r.try_get::<i64, _>("hidden")? != 0,
        hidden_reason: opt_text(r, "hidden_reason")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A topic as raised, before its number is known.
pub struct NewTopicRow<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub level: TopicLevel,
    pub area: &'a str,
    pub place: &'a str,
    pub proposer: &'a str,
    pub proposer_kind: ProposerKind,
    pub at: i64,
}

/// Stores a proposed topic with the next number of its year (YT2026000001…); returns it.
pub async fn insert(tx: &mut WriteTx, t: &NewTopicRow<'_>) -> Result<String> {
    let year = &format_ms(t.at)[..4];
    let n = tx.bump_counter(&format!("topics.number.{year}"), 1).await?;
    let number = format!("YT{year}{n:05}");
    query("INSERT INTO topics (id, number, title, body, level, area_code, place, proposer_id, proposer_kind, status, hidden, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 1, $11, $11)")
        .bind(t.id)
        .bind(&number)
        .bind(t.title)
        .bind(t.body)
        .bind(t.level.as_str())
        .bind(t.area)
        .bind(t.place)
        .bind(t.proposer)
        .bind(t.proposer_kind.as_str())
        .bind(TopicStatus::Proposed.as_str())
        .bind(t.at)
        .execute(tx.conn())
        .await?;
    Ok(number)
}

/// Moves the topic to `to` if it is still at `version`; false when another step came first.
pub async fn move_status(
    tx: &mut WriteTx,
    id: &str,
    version: i64,
    to: TopicStatus,
    now: i64,
) -> Result<bool> {
    let moved = query(
        "UPDATE topics SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(tx.conn())
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// Folds `id` into `into`: the link, and `id`'s participants become `into`'s.
pub async fn merge(tx: &mut WriteTx, id: &str, into: &str) -> Result<()> {
    query("UPDATE topics SET merged_into = $1 WHERE id = $2")
        .bind(into)
        .bind(id)
        .execute(tx.conn())
        .await?;
    query("INSERT INTO topic_participants (topic_id, user_id) SELECT $1, user_id FROM topic_participants WHERE topic_id = $2 ON CONFLICT DO NOTHING")
        .bind(into)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn set_decline_reason(tx: &mut WriteTx, id: &str, reason: &str) -> Result<()> {
    query("UPDATE topics SET decline_reason = $1 WHERE id = $2")
        .bind(reason)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Fixes a vote's rules and roll; a tally of an earlier vote is cleared.
pub async fn open_vote(
    tx: &mut WriteTx,
    id: &str,
    rules: &VoteRules,
    (opens, closes): (i64, i64),
    eligible: i64,
) -> Result<()> {
    query("UPDATE topics SET rules = $1, opens_at = $2, closes_at = $3, eligible_count = $4, tally = NULL WHERE id = $5")
        .bind(serde_json::to_string(rules).map_err(Error::internal)?)
        .bind(opens)
        .bind(closes)
        .bind(eligible)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn set_tally(tx: &mut WriteTx, id: &str, tally: &Tally) -> Result<()> {
    query("UPDATE topics SET tally = $1 WHERE id = $2")
        .bind(serde_json::to_string(tally).map_err(Error::internal)?)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn publish(
    tx: &mut WriteTx,
    id: &str,
    resolution: Option<&str>,
    objection_until: Option<i64>,
) -> Result<()> {
    query("UPDATE topics SET resolution = $1, objection_until = $2 WHERE id = $3")
        .bind(resolution)
        .bind(objection_until)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Everyone who took part hears the outcome; taking part twice is once.
pub async fn add_participant(tx: &mut WriteTx, topic: &str, user: &str) -> Result<()> {
    query(
        "INSERT INTO topic_participants (topic_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(topic)
    .bind(user)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn participants(db: &Db, topic: &str) -> Result<Vec<String>> {
    let rows = query("SELECT user_id FROM topic_participants WHERE topic_id = $1")
        .bind(topic)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
}

/// The topic's comments in order, with their bodies (the view hides what is hidden).
pub async fn comments(db: &Db, topic: &str) -> Result<Vec<Comment>> {
    query("SELECT * FROM topic_comments WHERE topic_id = $1 ORDER BY created_at, id")
        .bind(topic)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|c| {
            Ok(Comment {
                id: c.try_get("id")?,
                parent_id: opt_text(c, "parent_id")?,
                author: c.try_get("author_label")?,
                stance: Stance::from_stored(&c.try_get::<String, _>("stance")?)?,
                body: c.try_get("body")?,
                hidden: c.try_get::<i64, _>("hidden")? != 0,
                hidden_reason: opt_text(c, "hidden_reason")?,
                created_at: format_ms(c.try_get("created_at")?),
            })
        })
        .collect()
}

pub async fn comment_exists(db: &Db, topic: &str, comment: &str) -> Result<bool> {
    Ok(
        query("SELECT 1 FROM topic_comments WHERE id = $1 AND topic_id = $2")
            .bind(comment)
            .bind(topic)
            .fetch_optional(db.pool())
            .await?
            .is_some(),
    )
}

pub struct NewCommentRow<'a> {
    pub id: &'a str,
    pub topic: &'a str,
    pub parent: Option<&'a str>,
    pub author: &'a str,
    pub author_label: &'a str,
    pub stance: Stance,
    pub body: &'a str,
    pub at: i64,
}

pub async fn insert_comment(tx: &mut WriteTx, c: &NewCommentRow<'_>) -> Result<()> {
    query("INSERT INTO topic_comments (id, topic_id, parent_id, author_id, author_label, stance, body, hidden, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)")
        .bind(c.id)
        .bind(c.topic)
        .bind(c.parent)
        .bind(c.author)
        .bind(c.author_label)
        .bind(c.stance.as_str())
        .bind(c.body)
        .bind(c.at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn meetings(db: &Db, topic: &str) -> Result<Vec<Meeting>> {
    query("SELECT m.*, (SELECT COUNT(*) FROM meeting_attendance a WHERE a.meeting_id = m.id) AS attendees FROM topic_meetings m WHERE topic_id = $1 ORDER BY starts_at")
        .bind(topic)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|m| {
            Ok(Meeting {
                id: m.try_get("id")?,
                mode: MeetingMode::from_stored(&m.try_get::<String, _>("mode")?)?,
                starts_at: format_ms(m.try_get("starts_at")?),
                place: m.try_get("place")?,
                minutes: opt_text(m, "minutes")?,
                attendees: m.try_get("attendees")?,
            })
        })
        .collect()
}

pub struct NewMeetingRow<'a> {
    pub id: &'a str,
    pub topic: &'a str,
    pub mode: MeetingMode,
    pub starts_at: i64,
    pub place: &'a str,
    pub at: i64,
}

pub async fn insert_meeting(tx: &mut WriteTx, m: &NewMeetingRow<'_>) -> Result<()> {
    query("INSERT INTO topic_meetings (id, topic_id, mode, starts_at, place, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(m.id)
        .bind(m.topic)
        .bind(m.mode.as_str())
        .bind(m.starts_at)
        .bind(m.place)
        .bind(m.at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn meeting_exists(tx: &mut WriteTx, topic: &str, meeting: &str) -> Result<bool> {
    Ok(
        query("SELECT 1 FROM topic_meetings WHERE id = $1 AND topic_id = $2")
            .bind(meeting)
            .bind(topic)
            .fetch_optional(tx.conn())
            .await?
            .is_some(),
    )
}

/// Records a sign-in; a second one of the same person fails on the key (the caller says so).
pub async fn sign_in(tx: &mut WriteTx, meeting: &str, user: &str, at: i64) -> Result<()> {
    query("INSERT INTO meeting_attendance (meeting_id, user_id, signed_at) VALUES ($1, $2, $3)")
        .bind(meeting)
        .bind(user)
        .bind(at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn set_minutes(tx: &mut WriteTx, meeting: &str, minutes: &str) -> Result<()> {
    query("UPDATE topic_meetings SET minutes = $1 WHERE id = $2")
        .bind(minutes)
        .bind(meeting)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn tasks(db: &Db, topic: &str) -> Result<Vec<Task>> {
    query("SELECT * FROM topic_tasks WHERE topic_id = $1 ORDER BY updated_at, id")
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

pub struct NewTaskRow<'a> {
    pub id: &'a str,
    pub topic: &'a str,
    pub title: &'a str,
    pub owner: &'a str,
    pub case_id: Option<&'a str>,
    pub project_id: Option<&'a str>,
    pub at: i64,
}

pub async fn insert_task(tx: &mut WriteTx, k: &NewTaskRow<'_>) -> Result<()> {
    query("INSERT INTO topic_tasks (id, topic_id, title, owner, progress, case_id, project_id, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $7)")
        .bind(k.id)
        .bind(k.topic)
        .bind(k.title)
        .bind(k.owner)
        .bind(k.case_id)
        .bind(k.project_id)
        .bind(k.at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Sets a task's progress; false when the topic has no such task.
pub async fn set_task_progress(
    tx: &mut WriteTx,
    topic: &str,
    task: &str,
    progress: i64,
    note: Option<&str>,
    at: i64,
) -> Result<bool> {
    let done = query("UPDATE topic_tasks SET progress = $1, note = $2, updated_at = $3 WHERE id = $4 AND topic_id = $5")
        .bind(progress)
        .bind(note)
        .bind(at)
        .bind(task)
        .bind(topic)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that `user` voted on the topic; a second or racing ballot fails on the key (topic,
/// voter) before anything is counted (the caller says so).
pub async fn add_voter(tx: &mut WriteTx, topic: &str, user: &str) -> Result<()> {
    query("INSERT INTO topic_voters (topic_id, user_id) VALUES ($1, $2)")
        .bind(topic)
        .bind(user)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn has_voted(db: &Db, topic: &str, user: &str) -> Result<bool> {
    Ok(
        query("SELECT 1 FROM topic_voters WHERE topic_id = $1 AND user_id = $2")
            .bind(topic)
            .bind(user)
            .fetch_optional(db.pool())
            .await?
            .is_some(),
    )
}

/// An open ballot, stored with its voter (secret ones go through the ballot box).
pub async fn insert_open_ballot(
    tx: &mut WriteTx,
    topic: &str,
    choice: Choice,
    user: &str,
) -> Result<()> {
    query("INSERT INTO topic_ballots (topic_id, choice, voter_id) VALUES ($1, $2, $3)")
        .bind(topic)
        .bind(choice.as_str())
        .bind(user)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The counted ballots: yes, no, abstain.
pub async fn count_ballots(tx: &mut WriteTx, topic: &str) -> Result<[i64; 3]> {
    let mut counts = [0i64; 3];
    for r in
        query("SELECT choice, COUNT(*) AS n FROM topic_ballots WHERE topic_id = $1 GROUP BY choice")
            .bind(topic)
            .fetch_all(tx.conn())
            .await?
    {
        let n: i64 = r.try_get("n")?;
        match Choice::from_stored(&r.try_get::<String, _>("choice")?)? {
            Choice::Yes => counts[0] = n,
            Choice::No => counts[1] = n,
            Choice::Abstain => counts[2] = n,
        }
    }
    Ok(counts)
}

/// When the vote's roll was fixed: the moment the vote was opened (read from the timeline).
pub async fn roll_fixed_at(db: &Db, subject: &str) -> Result<Option<i64>> {
    let r =
        query("SELECT MAX(at) AS at FROM delib_events WHERE subject = $1 AND step = 'open_vote'")
            .bind(subject)
            .fetch_one(db.pool())
            .await?;
    Ok(r.try_get::<Option<i64>, _>("at")?)
}

/// Topics in an area's subtree, newest first, 50 a page.
pub async fn list(
    db: &Db,
    area: &str,
    status: Option<TopicStatus>,
    page: i64,
) -> Result<Vec<TopicSummary>> {
    let rows = query("SELECT id, number, title, level, area_code, place, status, created_at, closes_at FROM topics \
                            WHERE area_code LIKE $1 ESCAPE '\\' AND ($2 = '' OR status = $2) ORDER BY created_at DESC, id LIMIT 50 OFFSET $3")
        .bind(like_prefix(area))
        .bind(status.map_or("", TopicStatus::as_str))
        .bind((page - 1) * 50)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(TopicSummary {
                id: r.try_get("id")?,
                number: r.try_get("number")?,
                title: r.try_get("title")?,
                level: TopicLevel::from_stored(&r.try_get::<String, _>("level")?)?,
                area: r.try_get("area_code")?,
                place: r.try_get("place")?,
                status: TopicStatus::from_stored(&r.try_get::<String, _>("status")?)?,
                created_at: format_ms(r.try_get("created_at")?),
                closes_at: r.try_get::<Option<i64>, _>("closes_at")?.map(format_ms),
            })
        })
        .collect()
}
