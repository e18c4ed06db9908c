//! Identity over HTTP: tokens, the caller's own record, users and units.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{authorize, Action, Assignment, IssuedToken, NewUser, Role, Target, Unit, UserView};
use crate::http::{ApiJson, ApiQuery, ApiResult, Authed, BearerToken, ClientAddr};
use crate::state::AppState;
use crate::Error;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token, sign_out))
        .routes(routes!(me))
        .routes(routes!(list_units, create_unit))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user))
        .routes(routes!(grant_role))
        .routes(routes!(revoke_role))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(list_roles))
}

/// A registered role: who may be assigned what, in both languages.
#[derive(Serialize, ToSchema)]
struct RoleView {
    role: super::Role,
    zh: &'static str,
    en: &'static str,
    /// Every action the role is granted (wherever its scope reaches).
    actions: Vec<&'static str>,
}

/// Lists the roles the platform and its modules declare, with the actions each grants.
#[utoipa::path(get, path = "/api/v1/roles", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = [RoleView]), (status = 401, body = crate::http::ErrorBody),
        (status = 403, body = crate::http::ErrorBody)))]
async fn list_roles(Authed(actor): Authed) -> ApiResult<Json<Vec<RoleView>>> {
    super::authorize_somewhere(&actor, Action::USER_READ)?;
    let actions = super::registered_actions();
    Ok(Json(
        super::registered()
            .into_iter()
            .map(|d| RoleView {
                role: d.role,
                zh: d.zh,
                en: d.en,
                actions: actions
                    .iter()
                    .filter(|a| super::roles::grants(d.role, **a))
                    .map(|a| a.name)
                    .collect(),
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
struct Credentials {
    username: String,
    password: String,
}

/// Exchanges a user name and password for a bearer token. Attempts are counted per account and
/// per client address before the password is checked; past the limits each further attempt
/// must wait (429 with `Retry-After`, doubling up to `login_max_delay_secs`).
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = Credentials,
    responses((status = 200, body = IssuedToken), (status = 401, body = crate::http::ErrorBody),
        (status = 429, body = crate::http::ErrorBody, headers(("Retry-After" = u64, description = "seconds to wait")))))]
async fn token(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(c): ApiJson<Credentials>,
) -> ApiResult<Response> {
    let ttl = state.config.token_ttl_hours;
    match super::sign_in(&state, &c.username, &c.password, &addr, ttl).await? {
        Ok(t) => Ok(Json(t).into_response()),
        Err(t) => Ok(throttled(t)),
    }
}

/// 429 with `Retry-After`, in the API's error shape.
fn throttled(t: super::Throttled) -> Response {
    let err = crate::http::ApiError::from(Error::RateLimited(format!(
        "too many sign-in attempts; try again in {} s",
        t.retry_after_secs
    )));
    ([(header::RETRY_AFTER, t.retry_after_secs.to_string())], err).into_response()
}

/// Signs out: the caller's bearer token stops working at once (on every server sharing the
/// database within two seconds).
#[utoipa::path(delete, path = "/api/v1/auth/token", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "revoked"), (status = 401, body = crate::http::ErrorBody)))]
async fn sign_out(
    State(state): State<AppState>,
    Authed(actor): Authed,
    BearerToken(token): BearerToken,
) -> ApiResult<StatusCode> {
    super::revoke_token(&state.db, &actor, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own record, personal fields unmasked (it is their own data).
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = UserView)))]
async fn me(State(state): State<AppState>, Authed(actor): Authed) -> ApiResult<Json<UserView>> {
    let id = actor
        .user_id
        .clone()
        .ok_or_else(|| Error::not_found("user"))?;
    Ok(Json(
        super::get_user(&state.db, &state.sealer, &actor, &id, true, None).await?,
    ))
}

/// Every unit (departments, street offices, community committees, organizations).
#[utoipa::path(get, path = "/api/v1/units", tag = "units", security(("bearer" = [])), responses((status = 200, body = Vec<Unit>)))]
async fn list_units(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Vec<Unit>>> {
    authorize(&actor, Action::UNIT_READ, &Target::global())?;
    Ok(Json(super::list_units(&state.db).await?))
}

/// Creates a unit.
#[utoipa::path(post, path = "/api/v1/units", tag = "units", security(("bearer" = [])), request_body = Unit,
    responses((status = 201, body = Unit), (status = 400, body = crate::http::ErrorBody), (status = 409, body = crate::http::ErrorBody)))]
async fn create_unit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(u): ApiJson<Unit>,
) -> ApiResult<(StatusCode, Json<Unit>)> {
    super::create_unit(&state.db, &actor, &u).await?;
    Ok((StatusCode::CREATED, Json(u)))
}

/// Users within the caller's scope, personal fields masked.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), responses((status = 200, body = Vec<UserView>)))]
async fn list_users(
    State(state): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<Vec<UserView>>> {
    Ok(Json(
        super::list_users(&state.db, &state.sealer, &actor).await?,
    ))
}

#[derive(Serialize, ToSchema)]
struct Created {
    id: String,
}

/// Creates a user with roles and scopes.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = NewUser,
    responses((status = 201, body = Created), (status = 400, body = crate::http::ErrorBody), (status = 409, body = crate::http::ErrorBody)))]
async fn create_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(u): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = super::create_user(&state.db, &state.sealer, &actor, &u).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RevealQuery {
    /// `true` to see personal fields unmasked (needs the right role; audited).
    reveal: Option<bool>,
    /// Why the fields are revealed; kept in the audit log.
    reason: Option<String>,
}

/// One user; masked unless `reveal=true` and the caller may reveal.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path), RevealQuery),
    responses((status = 200, body = UserView), (status = 403, body = crate::http::ErrorBody), (status = 404, body = crate::http::ErrorBody)))]
async fn get_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RevealQuery>,
) -> ApiResult<Json<UserView>> {
    let reveal = q.reveal.unwrap_or(false);
    Ok(Json(
        super::get_user(
            &state.db,
            &state.sealer,
            &actor,
            &id,
            reveal,
            q.reason.as_deref(),
        )
        .await?,
    ))
}

/// Grants a role within a scope (an area subtree and/or a unit; none means everywhere) to a
/// user. Administrators only, within their scope: the user must be in reach (else 404) and the
/// new scope too (else 403). A role already held with exactly this scope is refused (409
/// `already_assigned`), not granted twice. Audited as `role.grant`; every server honours it
/// within two seconds. Answers the user, masked.
#[utoipa::path(post, path = "/api/v1/users/{id}/roles", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = Assignment,
    responses((status = 200, body = UserView), (status = 400, body = crate::http::ErrorBody),
        (status = 401, body = crate::http::ErrorBody), (status = 403, body = crate::http::ErrorBody),
        (status = 404, body = crate::http::ErrorBody), (status = 409, body = crate::http::ErrorBody),
        (status = 422, body = crate::http::ErrorBody)))]
async fn grant_role(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    ApiJson(a): ApiJson<Assignment>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(
        super::grant_role(&state.db, &state.sealer, &actor, &id, &a).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ScopeQuery {
    /// The area code of the assignment's scope; omitted for none.
    area: Option<String>,
    /// The unit code of the assignment's scope; omitted for none.
    unit: Option<String>,
}

/// Revokes the user's assignment of `role` with exactly this scope (`area` and `unit` as
/// granted; omitted means none). 409 `not_assigned` when the user does not hold it, 409
/// `last_admin_role` when administrators would take away their own administration of that
/// scope. Audited as `role.revoke`; every server honours it within two seconds.
#[utoipa::path(delete, path = "/api/v1/users/{id}/roles/{role}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path), ("role" = String, Path, description = "a registered role"), ScopeQuery),
    responses((status = 200, body = UserView), (status = 400, body = crate::http::ErrorBody),
        (status = 401, body = crate::http::ErrorBody), (status = 403, body = crate::http::ErrorBody),
        (status = 404, body = crate::http::ErrorBody), (status = 409, body = crate::http::ErrorBody)))]
async fn revoke_role(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, role)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<ScopeQuery>,
) -> ApiResult<Json<UserView>> {
    // Who may manage users before what the path names, so a refusal says nothing about roles.
    super::authorize_somewhere(&actor, Action::USER_MANAGE)?;
    let a = Assignment {
        role: Role::parse(&role)?,
        area: q.area.filter(|s| !s.is_empty()),
        unit: q.unit.filter(|s| !s.is_empty()),
    };
    Ok(Json(
        super::revoke_role(&state.db, &state.sealer, &actor, &id, &a).await?,
    ))
}

/// Disables a user: they can no longer sign in, and their tokens and web sessions end at once
/// (on every server within two seconds); enabling them again does not revive those. Refused
/// for oneself (409 `cannot_disable_self`) and for a user already disabled (409
/// `already_disabled`). Audited as `user.disable`.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 401, body = crate::http::ErrorBody),
        (status = 403, body = crate::http::ErrorBody), (status = 404, body = crate::http::ErrorBody),
        (status = 409, body = crate::http::ErrorBody)))]
async fn disable_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(
        super::disable_user(&state.db, &state.sealer, &actor, &id).await?,
    ))
}

/// Lets a disabled user sign in again (with a new sign-in; old tokens stay ended). 409
/// `not_disabled` for a user who is not disabled. Audited as `user.enable`.
#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 401, body = crate::http::ErrorBody),
        (status = 403, body = crate::http::ErrorBody), (status = 404, body = crate::http::ErrorBody),
        (status = 409, body = crate::http::ErrorBody)))]
async fn enable_user(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(
        super::enable_user(&state.db, &state.sealer, &actor, &id).await?,
    ))
}
