//! Requests as the public may see them: only public cases in public categories, and of them
//! only what `gongzhi_cases::rules::publicity` makes public.

use serde_json::{json, Value};

use gongzhi_cases::model::publicity::Original;
use gongzhi_cases::rules::publicity::shown;
use gongzhi_cases::store::publicity;
use gongzhi_core::db::Db;
use gongzhi_core::state::AppState;
use gongzhi_core::time::now_ms;
use gongzhi_core::Result;

use super::services::names;
use crate::georeport::shapes;
use crate::model::form::{Params, RequestQuery};
use crate::store;

/// Public requests in public categories (only those are services), newest first.
pub async fn list(state: &AppState, p: &Params) -> Result<Vec<Value>> {
    let db = &state.db;
    let (names, public) = names(db).await?;
    let query = RequestQuery::parse(p, now_ms())?;
    let records = store::requests::list(db, &public, &query).await?;
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let publications = publicity::of(db, &ids).await?;
    let precision = state.config.open311_public_precision_m;
    let mut out = Vec::with_capacity(records.len());
    for r in &records {
        let Some(publication) = publications.get(&r.id) else {
            continue;
        };
        let original = Original {
            description: &r.description,
            lat: r.lat,
            lng: r.lng,
            address: r.address.as_deref(),
            photos: &publication.photos_public,
        };
        let Some(shown) = shown(publication, &original, precision) else {
            continue;
        };
        let mut v = shapes::request(r, &names, &shown);
        if query.extensions {
            v["extended_attributes"] = json!({"notes": notes(db, &r.id).await?});
        }
        out.push(v);
    }
    Ok(out)
}

/// The public timeline of a case: steps and their times.
async fn notes(db: &Db, case_id: &str) -> Result<Vec<Value>> {
    let steps = store::requests::steps(db, case_id).await?;
    Ok(steps.iter().map(shapes::note).collect())
}

/// The number of the public request a token was given for.
pub async fn number_of_token(db: &Db, token: &str) -> Result<Option<String>> {
    store::requests::number_of_token(db, token).await
}

/// Is this case in a public category (a service)?
pub async fn in_a_service(db: &Db, case_id: &str) -> Result<bool> {
    let category = store::requests::category_of(db, case_id).await?;
    let (_, public) = names(db).await?;
    Ok(category.is_some_and(|c| public.contains(&c)))
}
