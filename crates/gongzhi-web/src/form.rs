//! Forms as every page sends them (multipart, so any form can carry photos): read whole, checked
//! against the session's CSRF token, fields parsed with their reason when they are not what the
//! form asks for, and photos checked all before any is stored.

use std::collections::HashMap;
use std::str::FromStr;

use std::future::Future;
use std::pin::Pin;

use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{post, MethodRouter};
use maud::{html, Markup};

use gongzhi_core::identity::Actor;
use gongzhi_core::state::AppState;
use gongzhi_core::Error;

use crate::layout::{error_response, refusal};
use crate::session::Session;

/// A multipart form read whole: text fields (repeatable) and files with their declared type.
pub struct Submitted {
    pub fields: HashMap<String, Vec<String>>,
    pub files: Vec<(Option<String>, Bytes)>,
}

impl Submitted {
    pub fn empty() -> Submitted {
        Submitted {
            fields: HashMap::new(),
            files: Vec::new(),
        }
    }
    pub fn get(&self, k: &str) -> &str {
        self.fields
            .get(k)
            .and_then(|v| v.first())
            .map(|s| s.trim())
            .unwrap_or("")
    }
    pub fn opt(&self, k: &str) -> Option<String> {
        Some(self.get(k).to_string()).filter(|s| !s.is_empty())
    }
    pub fn all(&self, k: &str) -> Vec<String> {
        self.fields.get(k).cloned().unwrap_or_default()
    }
    /// A number the form must carry; refused, naming the field, when it is missing or is not one.
    pub fn number<T: FromStr>(&self, k: &str) -> Result<T, Error> {
        self.opt_number(k)?
            .ok_or_else(|| Error::invalid("invalid_form", format!("{k} is required")))
    }
    /// A number the form may leave empty; refused when it is there and is not one.
    pub fn opt_number<T: FromStr>(&self, k: &str) -> Result<Option<T>, Error> {
        match self.get(k) {
            "" => Ok(None),
            v => v
                .parse()
                .map(Some)
                .map_err(|_| Error::invalid("invalid_form", format!("{k} is not a number"))),
        }
    }
}

pub async fn read_multipart(mut m: Multipart) -> Result<Submitted, Error> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        let code = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "invalid_form"
        };
        Error::invalid(code, e.body_text())
    };
    let mut out = Submitted::empty();
    while let Some(f) = m.next_field().await.map_err(bad)? {
        let name = f.name().unwrap_or("").to_string();
        if let Some(file_name) = f.file_name() {
            let chosen = !file_name.is_empty();
            let ct = f.content_type().map(String::from);
            let bytes = f.bytes().await.map_err(bad)?;
            // An empty file input sends a nameless part with no bytes: not a photo. A chosen
            // file with no bytes is one, and is refused with the other bad photos.
            if chosen || !bytes.is_empty() {
                out.files.push((ct, bytes));
            }
        } else {
            // Not U+FFFD in place of what was sent: text that is not UTF-8 is refused.
            let text = String::from_utf8(f.bytes().await.map_err(bad)?.to_vec())
                .map_err(|_| Error::invalid("invalid_utf8", "form fields are UTF-8 text"))?;
            out.fields.entry(name).or_default().push(text);
        }
    }
    Ok(out)
}

/// A submitted form whose CSRF token is this session's; else the refusal to send back (a form
/// that cannot be read answers its status and reason, e.g. 413 for one too large).
pub async fn checked_form(s: &Session, m: Multipart) -> Result<Submitted, Response> {
    let f = read_multipart(m).await.map_err(|e| error_response(&e))?;
    s.check(f.get("_csrf"))?;
    Ok(f)
}

/// Stores the photos of a form for `actor`; their ids, or the first refusal.
pub async fn upload_photos(
    state: &AppState,
    actor: &Actor,
    form: &Submitted,
) -> Result<Vec<String>, Error> {
    if form.files.len() > gongzhi_core::attachments::MAX_PER_RECORD {
        return Err(Error::invalid("too_many_photos", "at most 9 photos"));
    }
    // Check every photo before storing any: a bad third photo must not leave two orphans.
    for (ct, bytes) in &form.files {
        gongzhi_core::attachments::check(ct.as_deref(), bytes)?;
    }
    let mut ids = Vec::new();
    for (ct, bytes) in &form.files {
        ids.push(
            gongzhi_core::attachments::upload(&state.db, actor, ct.as_deref(), bytes)
                .await?
                .id,
        );
    }
    Ok(ids)
}

/// The text of a form's uploaded file (an import).
pub fn uploaded_text(form: &Submitted) -> Result<String, Error> {
    let (_, bytes) = form
        .files
        .first()
        .ok_or_else(|| Error::invalid("empty_upload", "choose a file"))?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Error::invalid("invalid_encoding", "the file is not UTF-8"))
}

/// An import form: `fields` (if any), one file (`accept` names its types) and the button, sent
/// to `action` as multipart with the session's CSRF token.
pub fn import_form(
    csrf: &str,
    action: &str,
    id: &str,
    label: &str,
    accept: &str,
    fields: Markup,
    button: &str,
) -> Markup {
    html! {
        form method="post" action=(action) enctype="multipart/form-data" {
            input type="hidden" name="_csrf" value=(csrf);
            (fields)
            label for=(id) { (label) }
            input id=(id) name="file" type="file" accept=(accept) required;
            button type="submit" { (button) }
        }
    }
}

/// What an administration form's change did: an import's (created, updated), if it counts.
pub type ChangeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<(usize, usize)>, Error>> + Send + 'a>>;

/// Makes the change an administration form (`what`) asks for.
pub type Apply =
    for<'a> fn(&'a AppState, &'a Session, &'static str, &'a Submitted) -> ChangeFuture<'a>;

/// The route of an administration form, the platform's or a module's: the checked form, the
/// change, then back to `/admin` saying what was done (or the refusal with its reason).
pub fn change_route(what: &'static str, apply: Apply) -> MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>, s: Session, m: Multipart| async move {
            let form = match checked_form(&s, m).await {
                Ok(f) => f,
                Err(r) => return r,
            };
            match apply(&state, &s, what, &form).await {
                Ok(counts) => {
                    let counts = counts
                        .map(|(c, u)| format!("&created={c}&updated={u}"))
                        .unwrap_or_default();
                    Redirect::to(&format!("/admin?done={what}{counts}")).into_response()
                }
                Err(e) => refusal(&s, &e, s.lang.t("管理", "Administration"), "/admin"),
            }
        },
    )
}
