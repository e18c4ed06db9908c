//! Micro-project calls in storage: calls, projects, who voted and the mixed ballots (portable
//! SQL, both backends). A call's ballot, rule, completion and a project's status are stored as
//! their text; the phase is never stored (it follows from the dates).

use crate::model::budgets::{
    BallotKind, CallSummary, Completion, NewCall, ProjectStatus, ProjectView, WinnerRule,
};
use crate::rules::calls::phase_at;
use gongzhi_core::attachments;
use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::db::{query, Row};
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

/// A stored call with its phase at the time asked.
pub struct CallRecord {
    pub summary: CallSummary,
    pub description: String,
}

const CALL: &str = "SELECT c.*, (SELECT COUNT(*) FROM budget_voters b WHERE b.call_id = c.id) AS n_ballots FROM budget_calls c";

pub async fn find_call(db: &Db, id: &str, now: i64) -> Result<CallRecord> {
    let r = query(&format!("{CALL} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("call"))?;
    call_record(&r, now)
}

/// The newest 200 calls by the end of their voting.
pub async fn list_calls(db: &Db, now: i64) -> Result<Vec<CallSummary>> {
    let rows = query(&format!("{CALL} ORDER BY voting_until DESC, id LIMIT 200"))
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok(call_record(r, now)?.summary))
        .collect()
}

fn call_record(r: &Row, now: i64) -> Result<CallRecord> {
    let dates = [
        r.try_get("proposing_from")?,
        r.try_get("reviewing_from")?,
        r.try_get("voting_from")?,
        r.try_get("voting_until")?,
        r.try_get("implementing_from")?,
    ];
    let text = |col: &str| -> Result<String> { Ok(r.try_get::<String, _>(col)?) };
    Ok(CallRecord {
        summary: CallSummary {
            id: text("id")?,
            title: text("title")?,
            area: text("area_code")?,
            place: text("place")?,
            budget: r.try_get("budget")?,
            ballot: BallotKind::from_stored(&text("ballot")?)?,
            max_approvals: r.try_get("max_approvals")?,
            rule: WinnerRule::from_stored(&text("rule")?)?,
            completion: Completion::from_stored(&text("completion")?)?,
            phase: phase_at(dates, now),
            proposing_from: format_ms(dates[0]),
            reviewing_from: format_ms(dates[1]),
            voting_from: format_ms(dates[2]),
            voting_until: format_ms(dates[3]),
            implementing_from: format_ms(dates[4]),
            ballots: r.try_get("n_ballots")?,
        },
        description: text("description")?,
    })
}

/// A call as opened: checked input, the phases' dates in order.
pub struct NewCallRow<'a> {
    pub id: &'a str,
    pub call: &'a NewCall,
    pub title: &'a str,
    pub area: &'a str,
    pub place: &'a str,
    pub max_approvals: Option<i64>,
    pub dates: [i64; 5],
    pub created_by: &'a str,
    pub at: i64,
}

pub async fn insert_call(tx: &mut WriteTx, c: &NewCallRow<'_>) -> Result<()> {
    query("INSERT INTO budget_calls (id, title, description, area_code, place, budget, ballot, max_approvals, rule, completion, proposing_from, reviewing_from, voting_from, voting_until, implementing_from, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)")
        .bind(c.id)
        .bind(c.title)
        .bind(c.call.description.trim())
        .bind(c.area)
        .bind(c.place)
        .bind(c.call.budget)
        .bind(c.call.ballot.as_str())
        .bind(c.max_approvals)
        .bind(c.call.rule.as_str())
        .bind(c.call.completion().as_str())
        .bind(c.dates[0])
        .bind(c.dates[1])
        .bind(c.dates[2])
        .bind(c.dates[3])
        .bind(c.dates[4])
        .bind(c.created_by)
        .bind(c.at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Ok when the project `id` exists (of any call: calls and their projects are public).
pub async fn project_exists(db: &Db, id: &str) -> Result<()> {
    query("SELECT id FROM budget_projects WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .map(|_| ())
        .ok_or_else(|| Error::not_found("project"))
}

/// The same inside a transaction, as a yes or no (a topic's task may link a project).
pub async fn project_exists_in(tx: &mut WriteTx, id: &str) -> Result<bool> {
    Ok(query("SELECT 1 FROM budget_projects WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .is_some())
}

/// A call's projects by code, with their photos.
pub async fn projects(db: &Db, call: &str) -> Result<Vec<ProjectView>> {
    let rows = query("SELECT * FROM budget_projects WHERE call_id = $1 ORDER BY code")
        .bind(call)
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: String = r.try_get("id")?;
        out.push(ProjectView {
            photos: attachments::of(db, &format!("project:{id}")).await?,
            id,
            code: r.try_get("code")?,
            title: r.try_get("title")?,
            description: r.try_get("description")?,
            cost_estimate: r.try_get("cost_estimate")?,
            cost: r.try_get("cost")?,
            status: ProjectStatus::from_stored(&r.try_get::<String, _>("status")?)?,
            review_note: opt_text(&r, "review_note")?,
            progress: r.try_get("progress")?,
        });
    }
    Ok(out)
}

/// What a review needs of a project: its estimate, proposer and title.
pub struct ProjectForReview {
    pub cost_estimate: i64,
    pub proposer: String,
    pub title: String,
}

pub async fn project_for_review(db: &Db, call: &str, project: &str) -> Result<ProjectForReview> {
    let row = query("SELECT * FROM budget_projects WHERE id = $1 AND call_id = $2")
        .bind(project)
        .bind(call)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("project"))?;
    Ok(ProjectForReview {
        cost_estimate: row.try_get("cost_estimate")?,
        proposer: row.try_get("proposer_id")?,
        title: row.try_get("title")?,
    })
}

/// The project's code (P001…) when it belongs to the call.
pub async fn project_code(db: &Db, call: &str, project: &str) -> Result<String> {
    Ok(
        query("SELECT code FROM budget_projects WHERE id = $1 AND call_id = $2")
            .bind(project)
            .bind(call)
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| Error::not_found("project"))?
            .try_get("code")?,
    )
}

pub struct NewProjectRow<'a> {
    pub id: &'a str,
    pub call: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub cost_estimate: i64,
    pub proposer: &'a str,
    pub at: i64,
}

/// Stores a proposed project with the call's next code (P001…); returns the code.
pub async fn insert_project(tx: &mut WriteTx, p: &NewProjectRow<'_>) -> Result<String> {
    let n = tx
        .bump_counter(&format!("call.projects.{}", p.call), 1)
        .await?;
    let code = format!("P{n:03}");
    query("INSERT INTO budget_projects (id, call_id, code, title, description, cost_estimate, status, proposer_id, progress, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)")
        .bind(p.id)
        .bind(p.call)
        .bind(&code)
        .bind(p.title)
        .bind(p.description)
        .bind(p.cost_estimate)
        .bind(ProjectStatus::Proposed.as_str())
        .bind(p.proposer)
        .bind(p.at)
        .execute(tx.conn())
        .await?;
    Ok(code)
}

pub async fn review(
    tx: &mut WriteTx,
    project: &str,
    status: ProjectStatus,
    cost: Option<i64>,
    note: Option<&str>,
    reviewer: &str,
    at: i64,
) -> Result<()> {
    query("UPDATE budget_projects SET status = $1, cost = $2, review_note = $3, reviewed_by = $4, reviewed_at = $5 WHERE id = $6")
        .bind(status.as_str())
        .bind(cost)
        .bind(note)
        .bind(reviewer)
        .bind(at)
        .bind(project)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn set_progress(tx: &mut WriteTx, project: &str, progress: i64) -> Result<()> {
    query("UPDATE budget_projects SET progress = $1 WHERE id = $2")
        .bind(progress)
        .bind(project)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Records that `user` voted in the call; a second or racing ballot fails on the key (call,
/// voter) before anything is pooled (the caller says so).
pub async fn add_voter(tx: &mut WriteTx, call: &str, user: &str) -> Result<()> {
    query("INSERT INTO budget_voters (call_id, voter_id) VALUES ($1, $2)")
        .bind(call)
        .bind(user)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn has_voted(db: &Db, call: &str, user: &str) -> Result<bool> {
    Ok(
        query("SELECT 1 FROM budget_voters WHERE call_id = $1 AND voter_id = $2")
            .bind(call)
            .bind(user)
            .fetch_optional(db.pool())
            .await?
            .is_some(),
    )
}

/// The mixed ballots of a call, each the list of project ids it approves.
pub async fn ballots(db: &Db, call: &str) -> Result<Vec<Vec<String>>> {
    let rows = query("SELECT projects FROM budget_ballots WHERE call_id = $1")
        .bind(call)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(Error::internal))
        .collect()
}
