//! An outside system's update on a request (FixMyStreet's extension): a note on the case's
//! timeline; a repeated `update_id` is refused.

use serde_json::{json, Value};

use gongzhi_core::state::AppState;
use gongzhi_core::time::now_ms;
use gongzhi_core::{audit, Error, Result};

use crate::georeport::shapes;
use crate::model::form::{Params, UpdateForm};
use crate::model::records::NewUpdate;
use crate::queries::keys::client_of;
use crate::queries::services::names;
use crate::store;

pub async fn add_update(state: &AppState, p: &Params) -> Result<Value> {
    let actor = client_of(&state.db, p.get("api_key")).await?;
    let UpdateForm {
        service_request_id: number,
        update_id,
        status,
        updated_at: at,
        description,
        media_url,
    } = UpdateForm::parse(p)?;
    let (update_id, description) = (update_id.as_str(), description.as_str());
    let (_, public) = names(&state.db).await?;
    let (case_id, _) = gongzhi_cases::queries::published::by_number(&state.db, &number)
        .await?
        .filter(|(_, category)| public.contains(category))
        .ok_or_else(|| Error::not_found(format!("request {number}")))?;
    let mut tx = state.db.begin_write().await?;
    let client = actor.label();
    let update = NewUpdate {
        update_id,
        case_id: &case_id,
        status: &status,
        description,
        media_url: media_url.as_deref(),
        updated_at: at,
        client: &client,
    };
    if let Err(e) = store::updates::insert(&mut tx, &update).await {
        return Err(if e.is_unique_violation() {
            Error::invalid(
                "duplicate_update_id",
                format!("update_id {update_id} was already received"),
            )
        } else {
            e
        });
    }
    let now = now_ms();
    gongzhi_cases::store::cases::add_event(
        &mut tx,
        &case_id,
        now,
        &actor,
        "open311_update",
        Some(description),
        &json!({"update_id": update_id, "status": status}),
    )
    .await?;
    audit::append(
        &mut tx,
        &actor,
        "open311.update",
        &format!("case:{case_id}"),
        &json!({"update_id": update_id, "status": status}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(shapes::received(
        update_id,
        &number,
        &status,
        at,
        description,
        media_url.as_deref(),
    ))
}
