//! Reading cases: one case as the caller may see it, and lists within scope.

use serde_json::json;

use chrono::TimeZone;

use crate::model::{known, Access, CaseFilter, CasePage, CaseView, Channel, Kind};
use crate::permissions::REPORTER_REVEAL;
use crate::rules::workflow::Status;
use crate::store::cases::{access, case_target, fetch_row, full_view};
use crate::store::list::ListQuery;
use gongzhi_core::calendar::shanghai;
use gongzhi_core::db::{opt_text, Db};
use gongzhi_core::http::params;
use gongzhi_core::identity::{authorize, Actor};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::{audit, Error, Result};

/// May the actor read the case `id` (id or number)? The check photos of a case go through.
pub async fn may_read(db: &Db, actor: &Actor, id: &str) -> Result<Access> {
    access(db, actor, &fetch_row(db, id).await?).await
}

/// What a reporter sees of their own case, as Open311 shows a request: each step and when,
/// their own words and outside systems' updates; not who on the staff took a step, not staff
/// notes, not the units' side of the work (which unit, summons, extension requests).
pub fn as_reporter_sees(mut v: CaseView, actor: &Actor) -> CaseView {
    let me = actor.label();
    for e in &mut v.timeline {
        let own = e.actor == me;
        if !own {
            e.actor = "staff".into();
            if e.step != "open311_update" {
                e.note = None;
            }
        }
        // Only the photos of a step: its other data (units, the case merged in) is internal.
        e.data = match e.data.get("photos") {
            Some(p) => json!({"photos": p}),
            None => json!({}),
        };
    }
    v.unit = None;
    v.lead_unit = None;
    v.summons.clear();
    v.extension_requested_until = None;
    v
}

/// One case with its timeline and summons. `reveal` shows the reporter unmasked (audited).
pub async fn get(
    db: &Db,
    sealer: &Sealer,
    actor: &Actor,
    id: &str,
    reveal: bool,
) -> Result<CaseView> {
    let r = fetch_row(db, id).await?;
    let access = access(db, actor, &r).await?;
    let case_id: String = r.try_get("id")?;
    if reveal {
        // Reporters see their own details; staff who took a call do not count as the reporter.
        let staff = actor
            .assignments
            .iter()
            .any(|a| REPORTER_REVEAL.roles.contains(&a.role));
        let mine =
            !staff && actor.user_id.is_some() && opt_text(&r, "created_by")? == actor.user_id;
        if !mine {
            authorize(actor, REPORTER_REVEAL, &case_target(&r, None)?)?;
            let mut tx = db.begin_write().await?;
            audit::append(
                &mut tx,
                actor,
                "personal.reveal",
                &format!("case:{case_id}"),
                &json!({"fields": ["reporter"]}),
                None,
            )
            .await?;
            tx.commit().await?;
        }
    }
    let view = full_view(db, sealer, &r, reveal).await?;
    Ok(match access {
        Access::Staff => view,
        Access::Reporter => as_reporter_sees(view, actor),
    })
}

/// Cases in the caller's scope, filtered, newest first, a page at a time; matches are counted
/// up to [`crate::model::LIST_COUNT_CAP`]. Every filter value is parsed here, before any SQL.
pub async fn list(db: &Db, sealer: &Sealer, actor: &Actor, f: &CaseFilter) -> Result<CasePage> {
    let given = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(String::from);
    let status = match given(&f.status) {
        Some(s) => Some(
            Status::parse(&s)
                .ok_or_else(|| Error::invalid("invalid_status", format!("unknown status {s:?}")))?,
        ),
        None => None,
    };
    let time = |v: &Option<String>| -> Result<Option<i64>> {
        given(v)
            .map(|s| {
                parse_day_or_time(&s).ok_or_else(|| {
                    Error::invalid(
                        "invalid_time",
                        format!("{s:?} is not RFC 3339 or YYYY-MM-DD"),
                    )
                })
            })
            .transpose()
    };
    let q = ListQuery {
        status,
        area: given(&f.area),
        unit: given(&f.unit),
        category: given(&f.category),
        kind: given(&f.kind)
            .map(|k| known::<Kind>(&k, "invalid_kind", "kind"))
            .transpose()?,
        channel: given(&f.channel)
            .map(|c| known::<Channel>(&c, "invalid_channel", "channel"))
            .transpose()?,
        from: time(&f.from)?,
        to: time(&f.to)?,
        overdue: f.overdue == Some(true),
        page: params::page(f.page.map(i64::from), i64::from(u32::MAX))? as u32,
        page_size: params::count("page_size", f.page_size.map(i64::from), 20, 200)? as u32,
        after: given(&f.after)
            .map(|c| {
                crate::store::list::parse_cursor(&c).ok_or_else(|| {
                    Error::invalid(
                        "invalid_cursor",
                        format!("{c:?} is not a list cursor (the `next` of a page)"),
                    )
                })
            })
            .transpose()?,
    };
    crate::store::list::page(db, sealer, actor, &q).await
}

fn parse_day_or_time(s: &str) -> Option<i64> {
    gongzhi_core::time::parse_rfc3339(s).or_else(|| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| {
                shanghai()
                    .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
                    .single()
            })
            .map(|t| t.timestamp_millis())
    })
}
