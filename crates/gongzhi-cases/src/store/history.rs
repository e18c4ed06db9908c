//! Past cases in storage: what an import checks against, and the rows it writes.

use std::collections::HashSet;

use serde_json::json;

use crate::rules::history::PastCase;
use crate::rules::workflow::Status;
use gongzhi_core::areas::locate::Located;
use gongzhi_core::db::query;
use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::timeline;
use gongzhi_core::Result;

/// Every unit's code.
pub async fn unit_codes(db: &Db) -> Result<HashSet<String>> {
    Ok(query("SELECT code FROM units")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?)
}

/// The numbers of `cases` that are already stored.
pub async fn stored_numbers(db: &Db, cases: &[PastCase]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in cases.chunks(gongzhi_core::db::rows_per_statement(1)) {
        let sql = format!(
            "SELECT number FROM cases WHERE number IN ({})",
            gongzhi_core::db::placeholders(1, chunk.len())
        );
        let mut q = query(&sql);
        for c in chunk {
            q = q.bind(&c.number);
        }
        for r in q.fetch_all(db.pool()).await? {
            out.push(r.try_get::<String, _>(0)?);
        }
    }
    Ok(out)
}

/// The deadlines of a past case: respond, handle, close.
pub type PastDeadlines = (Option<i64>, Option<i64>, Option<i64>);

/// A past case's row, with the status its times say and its deadlines.
pub async fn insert_case(
    tx: &mut WriteTx,
    id: &str,
    c: &PastCase,
    l: &Located,
    status: Status,
    (respond, handle, close): PastDeadlines,
) -> Result<()> {
    query(
            "INSERT INTO cases (id, number, kind, category_code, description, lat, lng, address, channel, reporter_name, reporter_phone, anonymous, \
             grid_code, community_code, street_code, district_code, unit_code, lead_unit, status, version, created_at, updated_at, \
             dispatched_at, signed_at, contacted_at, reported_back_at, verified_at, closed_at, callback_at, callback_contacted, callback_resolved, \
             callback_satisfaction, respond_deadline, handle_deadline, close_deadline, rework_count, supervised) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, NULL, NULL, 1, $9, $10, $11, $12, $13, $14, $15, 1, $16, $17, \
             $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, 0)",
        )
        .bind(id)
        .bind(&c.number)
        .bind(serde_json::to_value(c.kind).ok().and_then(|v| v.as_str().map(String::from)))
        .bind(&c.category)
        .bind(&c.description)
        .bind(c.lat)
        .bind(c.lng)
        .bind(serde_json::to_value(c.channel).ok().and_then(|v| v.as_str().map(String::from)))
        .bind(&l.grid.code)
        .bind(&l.community.code)
        .bind(&l.street.code)
        .bind(&l.district.code)
        .bind(&c.unit)
        .bind(&c.unit)
        .bind(status.as_str())
        .bind(c.created_at)
        .bind([Some(c.created_at), c.dispatched_at, c.signed_at, c.handled_at, c.verified_at, c.closed_at, c.callback_at].into_iter().flatten().max())
        .bind(c.dispatched_at)
        .bind(c.signed_at)
        .bind(c.contacted_at)
        .bind(c.handled_at)
        .bind(c.verified_at)
        .bind(c.closed_at)
        .bind(c.callback_at)
        .bind(c.callback_contacted.map(i64::from))
        .bind(c.callback_resolved.map(i64::from))
        .bind(&c.callback_satisfaction)
        .bind(respond)
        .bind(handle)
        .bind(close)
        .bind(c.rework_count)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// A past case's timeline: one event per step it went through, marked imported.
pub async fn insert_events(tx: &mut WriteTx, id: &str, c: &PastCase, importer: &str) -> Result<()> {
    let steps = [
        ("create", Some(c.created_at)),
        ("dispatch", c.dispatched_at),
        ("sign", c.signed_at),
        ("contact", c.contacted_at),
        ("report_back", c.handled_at),
        ("verify", c.verified_at),
        ("close", c.closed_at),
        ("call_back", c.callback_at),
    ];
    let data = json!({"imported": true});
    let steps: Vec<timeline::Step> = steps
        .into_iter()
        .filter_map(|(step, at)| {
            Some(timeline::Step {
                subject: id,
                at: at?,
                who: importer,
                step,
                note: None,
                data: data.clone(),
            })
        })
        .collect();
    timeline::record_many(tx, &crate::jobs::TIMELINE, &steps).await?;
    Ok(())
}
