//! Publications in storage: which cases are public and which of their photos.

use std::collections::HashMap;

use crate::model::publicity::Publication;
use gongzhi_core::db::query;
use gongzhi_core::db::{opt_text, Db, Migration, WriteTx};
use gongzhi_core::time::format_ms;
use gongzhi_core::Result;

/// One row per case that was ever made public; photos approved one by one. Cases that came
/// through Open311 before this existed were published by their client (with the photo it sent);
/// every other existing case stays private.
pub(crate) const MIGRATION: Migration = Migration {
    id: "cases-0009-publication",
    sql: "CREATE TABLE case_publication (
    case_id TEXT PRIMARY KEY,
    public BIGINT NOT NULL,
    chosen_by TEXT NOT NULL,
    public_description TEXT,
    address_public BIGINT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT
);
CREATE TABLE case_public_photos (
    attachment_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at BIGINT
);
CREATE INDEX case_public_photos_case ON case_public_photos (case_id);
INSERT INTO case_publication (case_id, public, chosen_by, public_description, address_public, decided_by, decided_at)
    SELECT id, 1, 'open311', NULL, 0, NULL, NULL FROM cases WHERE channel = 'open311';
INSERT INTO case_public_photos (attachment_id, case_id, approved_by, approved_at)
    SELECT a.id, c.id, 'open311', NULL FROM attachments a JOIN cases c ON a.owner = 'case:' || c.id
    WHERE c.channel = 'open311' AND a.step = 'create'",
};

/// The ids of public cases, for a query that lists them (`id IN (…)`).
pub const PUBLIC_CASE_IDS: &str = "SELECT case_id FROM case_publication WHERE public = 1";

/// The publications of some cases (cases never published are absent).
pub async fn of(db: &Db, case_ids: &[String]) -> Result<HashMap<String, Publication>> {
    let mut out: HashMap<String, Publication> = HashMap::new();
    if case_ids.is_empty() {
        return Ok(out);
    }
    let marks = gongzhi_core::db::placeholders(1, case_ids.len());
    let sql = format!("SELECT case_id, public, chosen_by, public_description, address_public, decided_by, decided_at FROM case_publication WHERE case_id IN ({marks})");
    let mut q = query(&sql);
    for id in case_ids {
        q = q.bind(id);
    }
    for r in q.fetch_all(db.pool()).await? {
        out.insert(
            r.try_get("case_id")?,
            Publication {
                public: r.try_get::<i64, _>("public")? != 0,
                chosen_by: opt_text(&r, "chosen_by")?,
                public_description: opt_text(&r, "public_description")?,
                address_public: r.try_get::<i64, _>("address_public")? != 0,
                photos_public: vec![],
                decided_by: opt_text(&r, "decided_by")?,
                decided_at: r.try_get::<Option<i64>, _>("decided_at")?.map(format_ms),
            },
        );
    }
    // Approvals of photos still on their case, oldest photo first.
    let sql = format!(
        "SELECT pp.case_id, pp.attachment_id FROM case_public_photos pp \
         JOIN attachments a ON a.id = pp.attachment_id AND a.owner = 'case:' || pp.case_id \
         WHERE pp.case_id IN ({marks}) ORDER BY a.created_at, a.id"
    );
    let mut q = query(&sql);
    for id in case_ids {
        q = q.bind(id);
    }
    for r in q.fetch_all(db.pool()).await? {
        let case_id: String = r.try_get("case_id")?;
        if let Some(p) = out.get_mut(&case_id) {
            p.photos_public.push(r.try_get("attachment_id")?);
        }
    }
    Ok(out)
}

/// The case a photo belongs to, when the photo is approved and its case is public.
pub async fn public_photo_case(db: &Db, attachment_id: &str) -> Result<Option<String>> {
    let row = query(
        "SELECT pp.case_id FROM case_public_photos pp \
         JOIN case_publication p ON p.case_id = pp.case_id AND p.public = 1 \
         JOIN attachments a ON a.id = pp.attachment_id AND a.owner = 'case:' || pp.case_id \
         WHERE pp.attachment_id = $1",
    )
    .bind(attachment_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
}

/// A case made public at intake, written in the intake's own transaction.
pub(crate) struct AtIntake<'a> {
    pub case_id: &'a str,
    pub chosen_by: &'static str,
    /// Photos public from the start (those an Open311 client sent); others wait for staff.
    pub photos: &'a [String],
}

pub(crate) async fn record_intake(tx: &mut WriteTx, cases: &[AtIntake<'_>]) -> Result<()> {
    const COLS: usize = 2;
    for chunk in cases.chunks(gongzhi_core::db::rows_per_statement(COLS)) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, 1, ${}, NULL, 0, NULL, NULL)", i * 2 + 1, i * 2 + 2))
            .collect();
        let sql = format!("INSERT INTO case_publication (case_id, public, chosen_by, public_description, address_public, decided_by, decided_at) VALUES {}", values.join(", "));
        let mut q = query(&sql);
        for c in chunk {
            q = q.bind(c.case_id).bind(c.chosen_by);
        }
        q.execute(tx.conn()).await?;
    }
    for c in cases {
        for photo in c.photos {
            query("INSERT INTO case_public_photos (attachment_id, case_id, approved_by, approved_at) VALUES ($1, $2, $3, NULL)")
                .bind(photo)
                .bind(c.case_id)
                .bind(c.chosen_by)
                .execute(tx.conn())
                .await?;
        }
    }
    Ok(())
}

/// Who reported a case (none for a case without a signed-in reporter, or an unknown one).
pub async fn reporter_of(db: &Db, case_id: &str) -> Result<Option<String>> {
    let row = query("SELECT created_by FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => opt_text(&r, "created_by")?,
        None => None,
    })
}

/// A decision on review, replacing the last one whole.
pub struct Decision<'a> {
    pub case_id: &'a str,
    pub public: bool,
    pub chosen_by: &'a str,
    pub public_description: Option<&'a str>,
    pub address_public: bool,
    pub photos: &'a [String],
    pub by: &'a str,
    pub at: i64,
}

pub async fn decide(tx: &mut WriteTx, d: &Decision<'_>) -> Result<()> {
    query(
        "INSERT INTO case_publication (case_id, public, chosen_by, public_description, address_public, decided_by, decided_at) \
         VALUES ($1, $2, $7, $3, $4, $5, $6) ON CONFLICT (case_id) DO UPDATE SET public = excluded.public, \
         chosen_by = excluded.chosen_by, public_description = excluded.public_description, \
         address_public = excluded.address_public, decided_by = excluded.decided_by, decided_at = excluded.decided_at",
    )
    .bind(d.case_id)
    .bind(i64::from(d.public))
    .bind(d.public_description)
    .bind(i64::from(d.address_public))
    .bind(d.by)
    .bind(d.at)
    .bind(d.chosen_by)
    .execute(tx.conn())
    .await?;
    query("DELETE FROM case_public_photos WHERE case_id = $1")
        .bind(d.case_id)
        .execute(tx.conn())
        .await?;
    for p in d.photos {
        query("INSERT INTO case_public_photos (attachment_id, case_id, approved_by, approved_at) VALUES ($1, $2, $3, $4)")
            .bind(p)
            .bind(d.case_id)
            .bind(d.by)
            .bind(d.at)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}
