//! What anyone may read of cases, for another module's public face (Open311): only cases
//! published (`case_publication`), and of them only what `rules::publicity::shown` lets the
//! public see. No actor: publication is the permission.

use std::collections::HashMap;

use crate::model::publicity::Original;
use crate::model::published::{PublicFilter, PublicView, PublishedStep, PublishedStepOf};
use crate::rules::publicity::shown;
use crate::store;
use gongzhi_core::db::Db;
use gongzhi_core::Result;

/// Public cases the filter asks for, newest first, each as the public sees it (two queries
/// whatever the number of cases).
pub async fn list(db: &Db, filter: &PublicFilter, precision_m: u32) -> Result<Vec<PublicView>> {
    let cases = store::published::list(db, filter).await?;
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let publications = store::publicity::of(db, &ids).await?;
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        let Some(publication) = publications.get(&case.id) else {
            continue;
        };
        let original = Original {
            description: &case.description,
            lat: case.lat,
            lng: case.lng,
            address: case.address.as_deref(),
            photos: &publication.photos_public,
        };
        if let Some(shown) = shown(publication, &original, precision_m) {
            out.push(PublicView { case, shown });
        }
    }
    Ok(out)
}

/// The timelines of cases already read through `list`, by case id.
pub async fn timelines(
    db: &Db,
    views: &[PublicView],
) -> Result<HashMap<String, Vec<PublishedStep>>> {
    let ids: Vec<String> = views.iter().map(|v| v.case.id.clone()).collect();
    store::published::steps_of(db, &ids).await
}

/// Steps on public cases in `categories` within `[after, before]`, the first 1000.
pub async fn feed(
    db: &Db,
    categories: &[String],
    after: i64,
    before: i64,
) -> Result<Vec<PublishedStepOf>> {
    store::published::feed(db, categories, after, before).await
}

/// The number of the public case whose extra of `kind` holds `data` (a client's token).
pub async fn number_by_extra(db: &Db, kind: &str, data: &str) -> Result<Option<String>> {
    store::published::number_by_extra(db, kind, data).await
}

/// A public case by its number: (id, category).
pub async fn by_number(db: &Db, number: &str) -> Result<Option<(String, String)>> {
    store::published::by_number(db, number).await
}

/// The category of a case (for a case already found public, e.g. through an approved photo).
pub async fn category_of(db: &Db, case_id: &str) -> Result<Option<String>> {
    store::published::category_of(db, case_id).await
}
