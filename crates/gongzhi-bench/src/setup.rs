//! What a benchmark starts from: a configuration on a scratch store, and the demo users'
//! sign-ins (a page session, an API token).

use std::path::Path;

use gongzhi_core::config::Config;
use gongzhi_core::{Error, Result};
use serde_json::json;

/// A configuration on `url` with its data (the secret key) in `dir`.
pub fn config_for(url: &str, dir: &Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        database_url: url.to_string(),
        ..Default::default()
    }
}

/// Signs in on the login page as the demo user `user`; returns the session cookie.
pub async fn sign_in(client: &reqwest::Client, base: &str, user: &str) -> Result<String> {
    let err = |e: reqwest::Error| Error::internal(e);
    let resp = client
        .get(format!("{base}/login"))
        .send()
        .await
        .map_err(err)?;
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .to_string();
    let page = resp.text().await.map_err(err)?;
    let csrf = page
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("")
        .to_string();
    let resp = client
        .post(format!("{base}/login"))
        .header("cookie", cookie)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", user),
            ("password", &format!("{user}-demo")),
            ("next", ""),
        ])
        .send()
        .await
        .map_err(err)?;
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("gz_session="))
        .and_then(|v| v.split(';').next())
        .map(String::from)
        .ok_or_else(|| Error::internal(format!("{user} could not sign in")))
}

/// An API token for the demo user `user`.
pub async fn api_token(client: &reqwest::Client, base: &str, user: &str) -> Result<String> {
    let resp = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": user, "password": format!("{user}-demo")}))
        .send()
        .await
        .map_err(Error::internal)?;
    let body: serde_json::Value = resp.json().await.map_err(Error::internal)?;
    body["token"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| Error::internal(format!("{user} could not get a token: {body}")))
}
