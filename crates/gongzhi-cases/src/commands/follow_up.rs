//! What follows a step, in its transaction: inbox notices to units, progress to the reporter
//! (inbox and SMS), and the deadline reminders and escalations the job runner will run.

use serde_json::json;

use crate::rules::deadlines::street_escalation;
use crate::rules::workflow::Step;
use crate::store::reference::load_calendar;
use crate::store::steps;
use gongzhi_core::db::Row;
use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::time::format_ms;
use gongzhi_core::Result;

/// Follows `step` on the case as the step left it.
pub async fn follow_up(
    db: &Db,
    tx: &mut WriteTx,
    case_id: &str,
    step: Step,
    now: i64,
) -> Result<()> {
    let r = steps::reread(tx, case_id).await?;
    let number: String = r.try_get("number")?;
    let unit = opt_text(&r, "unit_code")?;
    let handle = r.try_get::<Option<i64>, _>("handle_deadline")?;
    let handling = unit.as_deref().zip(handle);
    let to_reporter = match step {
        Step::Dispatch | Step::Reopen => {
            if let Some((unit, deadline)) = handling {
                let what = if step == Step::Dispatch {
                    "新派遣案件"
                } else {
                    "案件重新办理"
                };
                gongzhi_core::notify::post(
                    db,
                    tx,
                    now,
                    &format!("unit:{unit}"),
                    Some(&format!("case:{case_id}")),
                    "dispatch",
                    &format!("{what} {number}"),
                    &format!("处置时限 {}", format_ms(deadline)),
                )
                .await?;
                schedule_handling(db, tx, &r, unit, now, deadline).await?;
            }
            (step == Step::Dispatch)
                .then(|| format!("您的诉求（编号 {number}）已派遣至承办单位办理。"))
        }
        Step::ApproveExtension => {
            if let Some((unit, deadline)) = handling {
                schedule_handling(db, tx, &r, unit, now, deadline).await?;
                gongzhi_core::notify::post(
                    db,
                    tx,
                    now,
                    &format!("unit:{unit}"),
                    Some(&format!("case:{case_id}")),
                    "extension",
                    &format!("案件 {number} 延期已批准"),
                    &format!("新的处置时限 {}", format_ms(deadline)),
                )
                .await?;
            }
            None
        }
        Step::Summon => {
            summons_checks(db, tx, case_id, &number, now).await?;
            None
        }
        Step::Close => Some(format!(
            "您的诉求（编号 {number}）已办结，稍后将有工作人员回访。"
        )),
        Step::CallBack => Some(format!("感谢您对诉求（编号 {number}）办理情况的评价。")),
        _ => None,
    };
    if let Some(text) = to_reporter {
        tell_reporter(db, tx, &r, case_id, &number, now, &text).await?;
    }
    Ok(())
}

/// The reminders and escalations of a handling deadline (after dispatch, reopening or an
/// approved extension): the unit is reminded, then the street is told one working day late.
async fn schedule_handling(
    db: &Db,
    tx: &mut WriteTx,
    r: &Row,
    unit: &str,
    now: i64,
    deadline: i64,
) -> Result<()> {
    let case_id: String = r.try_get("id")?;
    let street = opt_text(r, "street_code")?;
    let street_after = street_escalation(&load_calendar(db).await?, deadline);
    crate::jobs::schedule_deadline(
        tx,
        &case_id,
        unit,
        street.as_deref(),
        now,
        deadline,
        street_after,
    )
    .await
}

/// Each newly summoned unit is told, and its report-in is checked at its deadline.
async fn summons_checks(
    db: &Db,
    tx: &mut WriteTx,
    case_id: &str,
    number: &str,
    now: i64,
) -> Result<()> {
    for (u, d) in steps::open_summons(tx, case_id).await? {
        if steps::summons_check_scheduled(tx, case_id, &u).await? {
            continue;
        }
        crate::jobs::schedule(tx, "summon_overdue", Some(case_id), d, &json!({"unit": u})).await?;
        gongzhi_core::notify::post(
            db,
            tx,
            now,
            &format!("unit:{u}"),
            Some(&format!("case:{case_id}")),
            "summons",
            &format!("吹哨报到：案件 {number}"),
            &format!("请于 {} 前报到。", format_ms(d)),
        )
        .await?;
    }
    Ok(())
}

/// Progress to the reporter: in their inbox when they reported on the web or on patrol, by SMS
/// when they left a phone number.
async fn tell_reporter(
    db: &Db,
    tx: &mut WriteTx,
    r: &Row,
    case_id: &str,
    number: &str,
    now: i64,
    text: &str,
) -> Result<()> {
    let channel: String = r.try_get("channel").unwrap_or_default();
    let user = opt_text(r, "created_by")
        .ok()
        .flatten()
        .filter(|_| matches!(channel.as_str(), "web" | "patrol"));
    if let Some(user) = user {
        gongzhi_core::notify::post(
            db,
            tx,
            now,
            &format!("user:{user}"),
            Some(&format!("case:{case_id}")),
            "progress",
            &format!("诉求 {number} 办理进展"),
            text,
        )
        .await?;
    }
    if opt_text(r, "reporter_phone").ok().flatten().is_some() {
        crate::jobs::queue_sms(tx, now, case_id, text).await?;
    }
    Ok(())
}
