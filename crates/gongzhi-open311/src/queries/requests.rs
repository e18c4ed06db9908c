//! Requests as the public may see them: only public cases in public categories, and of them
//! only what the cases module's publicity makes public (`gongzhi_cases::queries::published`).

use serde_json::{json, Value};

use gongzhi_cases::model::published::PublicFilter;
use gongzhi_cases::queries::published;
use gongzhi_core::db::Db;
use gongzhi_core::state::AppState;
use gongzhi_core::time::now_ms;
use gongzhi_core::Result;

use super::services::names;
use crate::georeport::shapes;
use crate::model::form::{Params, RequestQuery};
use crate::rules::requests::TOKEN_EXTRA;

/// Public requests in public categories (only those are services), newest first.
pub async fn list(state: &AppState, p: &Params) -> Result<Vec<Value>> {
    let db = &state.db;
    let (names, public) = names(db).await?;
    let query = RequestQuery::parse(p, now_ms())?;
    let filter = filter_of(&query, public);
    let precision = state.config.open311_public_precision_m;
    let views = published::list(db, &filter, precision).await?;
    let mut timelines = if query.extensions {
        published::timelines(db, &views).await?
    } else {
        Default::default()
    };
    let mut out = Vec::with_capacity(views.len());
    for view in &views {
        let mut v = shapes::request(&view.case, &names, &view.shown);
        if query.extensions {
            // The public timeline of a case: steps and their times.
            let steps = timelines.remove(&view.case.id).unwrap_or_default();
            let notes: Vec<Value> = steps.iter().map(shapes::note).collect();
            v["extended_attributes"] = json!({ "notes": notes });
        }
        out.push(v);
    }
    Ok(out)
}

/// A GeoReport query as the cases module's filter, within the `public` categories.
fn filter_of(q: &RequestQuery, public: Vec<String>) -> PublicFilter {
    let categories = if q.service_codes.is_empty() || q.numbers.is_some() {
        public
    } else {
        public
            .into_iter()
            .filter(|c| q.service_codes.contains(c))
            .collect()
    };
    PublicFilter {
        numbers: q.numbers.clone(),
        categories,
        created_from: q.created_from,
        created_to: q.created_to,
        updated_after: q.updated_after,
        updated_before: q.updated_before,
        open: q.open,
        limit: q.limit,
        offset: q.offset,
    }
}

/// The number of the public request a token was given for.
pub async fn number_of_token(db: &Db, token: &str) -> Result<Option<String>> {
    published::number_by_extra(db, TOKEN_EXTRA, token).await
}

/// Is this case in a public category (a service)?
pub async fn in_a_service(db: &Db, case_id: &str) -> Result<bool> {
    let category = published::category_of(db, case_id).await?;
    let (_, public) = names(db).await?;
    Ok(category.is_some_and(|c| public.contains(&c)))
}
