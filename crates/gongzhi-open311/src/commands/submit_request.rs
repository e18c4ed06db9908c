//! A new service request from an Open311 client: through the same intake as every channel
//! (locate, route, deadlines, audit), with its token, the client's media URL, its attribute
//! values and its photo.

use axum::body::Bytes;

use gongzhi_cases::model::{Channel, Kind, NewCase};
use gongzhi_core::state::AppState;
use gongzhi_core::{Error, Result};

use crate::model::form::{Params, RequestForm};
use crate::queries::keys::client_of;
use crate::queries::services;
use crate::rules::attributes::{check_values, values_json};
use crate::rules::requests::TOKEN_EXTRA;

/// A photo sent with a request: its declared type and bytes.
pub type Media = (Option<String>, Bytes);

/// The new request's number and the token the client follows it by.
pub async fn create(
    state: &AppState,
    p: &Params,
    media: Option<Media>,
) -> Result<(String, String)> {
    let actor = client_of(&state.db, p.get("api_key")).await?;
    let form = RequestForm::parse(p)?;
    let category = services::get(&state.db, &form.service_code)
        .await
        .map_err(|_| {
            Error::invalid(
                "unknown_service",
                format!("no service {}", form.service_code),
            )
        })?;
    let attribute_values = check_values(
        &services::attributes(&state.db, &category.code).await?,
        &p.0,
    )?;
    // The photo is checked before anything is stored, and stored before the case that uses it.
    if let Some((ct, bytes)) = &media {
        gongzhi_core::attachments::check(ct.as_deref(), bytes)?;
    }
    let input = NewCase {
        kind: Kind::Report,
        category: category.code.clone(),
        description: if form.description.is_empty() {
            category.name.clone()
        } else {
            form.description
        },
        location: form.location,
        address: form.address,
        channel: Channel::Open311,
        reporter: Some(form.reporter),
        photos: vec![],
        // GeoReport v2 has no private request: whatever a client posts, every client reads
        // back. Posting is publishing, the photo included (see `publicity`).
        public: Some(true),
        photos_public: true,
        extras: vec![],
    };
    let mut input = input;
    if let Some((ct, bytes)) = &media {
        input.photos = vec![
            gongzhi_core::attachments::upload(&state.db, &actor, ct.as_deref(), bytes)
                .await?
                .id,
        ];
    }
    // The token, the client's media URL and the attribute values are written in the case's own
    // transaction: a request is whole or absent.
    let token = uuid::Uuid::new_v4().to_string();
    input.extras.push((TOKEN_EXTRA.into(), token.clone()));
    if let Some(u) = &form.media_url {
        input.extras.push(("open311_media_url".into(), u.clone()));
    }
    if !attribute_values.is_empty() {
        input
            .extras
            .push(("open311_attributes".into(), values_json(&attribute_values)));
    }
    let index = state.locate.load();
    let (case, _) = gongzhi_cases::commands::create_case(
        &state.db,
        &state.sealer,
        &index,
        &actor,
        &input,
        None,
    )
    .await?;
    Ok((case.number, token))
}
