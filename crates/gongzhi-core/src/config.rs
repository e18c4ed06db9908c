//! Configuration: defaults that just work, then `gongzhi.toml`, then `GONGZHI_*` environment
//! variables, then command-line flags — each later source overrides the earlier ones.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means the SQLite file in the data dir.
    pub database_url: String,
    pub listen: String,
    /// Hex (64 chars) or base64 (32 bytes) key for personal fields; otherwise a key file in the
    /// data dir is used (created on first run, mode 0600).
    pub secret_key: Option<String>,
    pub token_ttl_hours: i64,
    /// Public locate requests allowed per client address per second.
    pub locate_per_second: u32,
    /// Sign-in attempts per account before each further one must wait (1 s, then doubling).
    pub login_failures: u32,
    /// The same per client address: higher, so one busy address (an office behind NAT) is not
    /// slowed down by a few people mistyping.
    pub login_address_failures: u32,
    /// A quiet spell this long after the last wait forgets an account's or address's failures.
    pub login_window_secs: u64,
    /// The longest wait between attempts; never a permanent lock.
    pub login_max_delay_secs: u64,
    /// The header a reverse proxy puts the client's address in (`X-Forwarded-For`,
    /// `X-Real-IP`); read only on connections from `trusted_proxies`. Unset: the peer address.
    pub trusted_proxy_header: Option<String>,
    /// The proxies (addresses or CIDR ranges) whose `trusted_proxy_header` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// An append-only file the server adds a signed statement of the audit head to, every
    /// `audit_anchor_every_secs` (see `gongzhi audit anchor`).
    pub audit_anchor_file: Option<PathBuf>,
    pub audit_anchor_every_secs: u64,
    /// With a token, `/metrics` on the main listener answers `Authorization: Bearer TOKEN`;
    /// without one it is not served there (404).
    pub metrics_token: Option<String>,
    /// An address of its own that serves `/metrics` alone (e.g. `127.0.0.1:9090`).
    pub metrics_listen: Option<String>,
    /// JSON or text; unset means JSON for `serve` and text for everything else.
    pub log_format: Option<LogFormat>,
    /// How often a server checks whether another process changed the areas (seconds).
    pub areas_poll_secs: u64,
    /// How often the job runner looks for due reminders, escalations and deliveries (ms).
    pub jobs_poll_ms: u64,
    /// Where SMS notifications are POSTed as JSON (an SMS gateway's webhook), if anywhere.
    pub notify_webhook_url: Option<String>,
    /// The mail relay: with it (and `notify_smtp_from`) notifications to people with an email on
    /// record are also mailed. `smtps://host[:465]` (TLS), `smtp://host:587?tls=required`
    /// (STARTTLS), or plain `smtp://host[:25]` for a relay on this host or a trusted network.
    pub notify_smtp_url: Option<String>,
    /// The sender, `noreply@example.org` or `共治平台 <noreply@example.org>`.
    pub notify_smtp_from: Option<String>,
    /// Credentials for the relay, if it asks for them (AUTH PLAIN/LOGIN).
    pub notify_smtp_username: Option<String>,
    pub notify_smtp_password: Option<String>,
    /// A basemap tile URL template (`https://…/{z}/{x}/{y}.png`) drawn under the grids; without
    /// one the maps show the grids alone and need no tile server.
    pub basemap_url: Option<String>,
    /// Mark session cookies `Secure` (set when served over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// How long a web session lasts without signing in again (hours).
    pub session_hours: i64,
    /// The grid (metres) public locations are rounded to before Open311 shows them.
    pub open311_public_precision_m: u32,
    /// Requests handled at once; one more is answered 503 `overloaded` with `Retry-After` at
    /// once instead of waiting in a queue without bound (health and metrics are never shed).
    /// Unset: derived from the database's connections ([`default_max_in_flight`]).
    pub max_in_flight: Option<usize>,
}

/// The default in-flight limit for a database with `connections` connections (reads and
/// writes): 4 requests per connection, and never fewer than 32 per core. A request that has to
/// wait for a connection only adds latency, but intakes waiting in a group commit cost no CPU
/// and must not be turned away: 64 hotline seats sending at once are one batch, not an
/// overload (a tighter 16 per core shed them, and was not shown to help the other requests'
/// p99 in docs/benchmarks.md).
pub fn default_max_in_flight(connections: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (connections * 4).max(cores * 32)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./gongzhi-data"),
            database_url: String::new(),
            listen: "127.0.0.1:8080".into(),
            secret_key: None,
            token_ttl_hours: 12,
            locate_per_second: 200,
            login_failures: 10,
            login_address_failures: 100,
            login_window_secs: 300,
            login_max_delay_secs: 900,
            trusted_proxy_header: None,
            trusted_proxies: Vec::new(),
            audit_anchor_file: None,
            audit_anchor_every_secs: 3600,
            metrics_token: None,
            metrics_listen: None,
            log_format: None,
            areas_poll_secs: 5,
            jobs_poll_ms: 1000,
            notify_webhook_url: None,
            notify_smtp_url: None,
            notify_smtp_from: None,
            notify_smtp_username: None,
            notify_smtp_password: None,
            basemap_url: None,
            secure_cookies: false,
            session_hours: 12,
            open311_public_precision_m: 100,
            max_in_flight: None,
        }
    }
}

/// The shape of `gongzhi.toml`; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    #[serde(default)]
    database: FileDatabase,
    #[serde(default)]
    security: FileSecurity,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    log: FileLog,
    #[serde(default)]
    notify: FileNotify,
    #[serde(default)]
    web: FileWeb,
    #[serde(default)]
    open311: FileOpen311,
    #[serde(default)]
    audit: FileAudit,
    #[serde(default)]
    metrics: FileMetrics,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAudit {
    anchor_file: Option<PathBuf>,
    anchor_every_secs: Option<u64>,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMetrics {
    token: Option<String>,
    listen: Option<String>,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOpen311 {
    public_precision_m: Option<u32>,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNotify {
    webhook_url: Option<String>,
    smtp_url: Option<String>,
    smtp_from: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWeb {
    basemap_url: Option<String>,
    secure_cookies: Option<bool>,
    session_hours: Option<i64>,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDatabase {
    url: Option<String>,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSecurity {
    secret_key: Option<String>,
    token_ttl_hours: Option<i64>,
    trusted_proxy_header: Option<String>,
    trusted_proxies: Option<Vec<String>>,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    locate_per_second: Option<u32>,
    login_failures: Option<u32>,
    login_address_failures: Option<u32>,
    login_window_secs: Option<u64>,
    login_max_delay_secs: Option<u64>,
    areas_poll_secs: Option<u64>,
    jobs_poll_ms: Option<u64>,
    max_in_flight: Option<usize>,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLog {
    format: Option<LogFormat>,
}

/// What the command line says; `None` leaves the earlier sources in force.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
}

impl Config {
    /// Loads defaults → file → environment → flags. The file is `--config`, else
    /// `GONGZHI_CONFIG`, else `./gongzhi.toml` when it exists.
    pub fn load(flags: &Overrides) -> Result<Config> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let file = flags
            .config_file
            .clone()
            .or_else(|| env("GONGZHI_CONFIG").map(PathBuf::from))
            .or_else(|| {
                let p = PathBuf::from("gongzhi.toml");
                p.exists().then_some(p)
            });
        let mut cfg = Config::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Error::invalid("config", format!("cannot read {}: {e}", path.display()))
            })?;
            cfg.apply_file(&text)
                .map_err(|e| Error::invalid("config", format!("{}: {e}", path.display())))?;
        }
        cfg.apply_env(env)?;
        cfg.apply_flags(flags);
        cfg.smtp()?;
        // Below ten metres a "rounded" location is the doorstep.
        if !(10..=100_000).contains(&cfg.open311_public_precision_m) {
            return Err(Error::invalid(
                "config",
                "open311.public_precision_m is 10–100000 (metres)",
            ));
        }
        cfg.check()?;
        Ok(cfg)
    }

    /// Settings that only make sense together.
    fn check(&self) -> Result<()> {
        if let Some(h) = &self.trusted_proxy_header {
            if axum::http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                return Err(Error::invalid(
                    "config",
                    format!("security.trusted_proxy_header: not a header name: {h}"),
                ));
            }
            if self.trusted_proxies.is_empty() {
                return Err(Error::invalid(
                    "config",
                    "security.trusted_proxy_header needs security.trusted_proxies (the proxies' addresses)",
                ));
            }
        }
        if self.login_failures == 0 || self.login_address_failures < self.login_failures {
            return Err(Error::invalid(
                "config",
                "limits.login_failures must be at least 1 and limits.login_address_failures at least as high",
            ));
        }
        if self.max_in_flight == Some(0) {
            return Err(Error::invalid(
                "config",
                "limits.max_in_flight must be at least 1",
            ));
        }
        if self.metrics_token.as_deref().is_some_and(|t| t.len() < 16) {
            return Err(Error::invalid(
                "config",
                "metrics.token: at least 16 characters",
            ));
        }
        Ok(())
    }

    /// The mail relay, when one is configured; a half-made or malformed setting is an error
    /// (checked by `load`, so a server does not start with mail it cannot send).
    pub fn smtp(&self) -> Result<Option<Smtp>> {
        let bad = |why: String| Error::invalid("config", format!("notify.smtp_url: {why}"));
        let Some(url) = self.notify_smtp_url.as_deref() else {
            if self.notify_smtp_from.is_some() {
                return Err(Error::invalid(
                    "config",
                    "notify.smtp_from is set but notify.smtp_url is not",
                ));
            }
            return Ok(None);
        };
        let (tls, rest) = match url.split_once("://") {
            Some(("smtp", rest)) => (SmtpTls::None, rest),
            Some(("smtps", rest)) => (SmtpTls::Wrapper, rest),
            _ => {
                return Err(bad(format!(
                    "{url}: want smtp://HOST[:PORT][?tls=required|opportunistic] or smtps://HOST[:PORT]"
                )))
            }
        };
        // lettre's URL conventions: `?tls=required` (STARTTLS or fail) or `?tls=opportunistic`.
        let (rest, tls) = match rest.split_once('?') {
            None => (rest, tls),
            Some((rest, query)) => {
                let tls = match (tls, query) {
                    (SmtpTls::None, "tls=required") => SmtpTls::StartTls,
                    (SmtpTls::None, "tls=opportunistic") => SmtpTls::Opportunistic,
                    (SmtpTls::None, _) => {
                        return Err(bad(format!(
                            "{url}: the only options are ?tls=required and ?tls=opportunistic"
                        )))
                    }
                    _ => {
                        return Err(bad(format!(
                            "{url}: smtps:// is TLS from the first byte and takes no options"
                        )))
                    }
                };
                (rest, tls)
            }
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('@') {
            return Err(bad(
                "put credentials in notify.smtp_username and notify.smtp_password, not in the URL"
                    .into(),
            ));
        }
        if rest.contains(['/', '?', '#']) {
            return Err(bad(format!(
                "{url}: want smtp://HOST[:PORT] and nothing more"
            )));
        }
        let default_port = if tls == SmtpTls::Wrapper { 465 } else { 25 };
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !rest.ends_with(']') => (
                h,
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad(format!("{url}: bad port {p}")))?,
            ),
            _ => (rest, default_port),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad(format!("{url}: no host")));
        }
        let from = self.notify_smtp_from.clone().ok_or_else(|| {
            Error::invalid(
                "config",
                "notify.smtp_url needs notify.smtp_from (the sender address)",
            )
        })?;
        let address = from
            .rsplit_once('<')
            .map(|(_, a)| a.trim_end().trim_end_matches('>'))
            .unwrap_or(from.trim());
        match address.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.is_empty()
                    && !address.contains(char::is_whitespace) => {}
            _ => {
                return Err(Error::invalid(
                    "config",
                    format!("notify.smtp_from: not an email address: {from}"),
                ))
            }
        }
        let credentials = match (&self.notify_smtp_username, &self.notify_smtp_password) {
            (Some(u), Some(p)) => Some((u.clone(), p.clone())),
            (None, None) => None,
            _ => {
                return Err(Error::invalid(
                    "config",
                    "notify.smtp_username and notify.smtp_password go together",
                ))
            }
        };
        Ok(Some(Smtp {
            host: host.to_string(),
            port,
            tls,
            from,
            credentials,
        }))
    }

    fn apply_file(&mut self, text: &str) -> std::result::Result<(), String> {
        let f: FileConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(v) = f.data_dir {
            self.data_dir = v;
        }
        if let Some(v) = f.listen {
            self.listen = v;
        }
        if let Some(v) = f.database.url {
            self.database_url = v;
        }
        if let Some(v) = f.security.secret_key {
            self.secret_key = Some(v);
        }
        if let Some(v) = f.security.token_ttl_hours {
            self.token_ttl_hours = v;
        }
        if let Some(v) = f.security.trusted_proxy_header {
            self.trusted_proxy_header = Some(v);
        }
        if let Some(v) = f.security.trusted_proxies {
            self.trusted_proxies = parse_proxies(v.iter().map(String::as_str))?;
        }
        if let Some(v) = f.limits.locate_per_second {
            self.locate_per_second = v;
        }
        if let Some(v) = f.limits.login_failures {
            self.login_failures = v;
        }
        if let Some(v) = f.limits.login_address_failures {
            self.login_address_failures = v;
        }
        if let Some(v) = f.limits.login_window_secs {
            self.login_window_secs = v;
        }
        if let Some(v) = f.limits.login_max_delay_secs {
            self.login_max_delay_secs = v;
        }
        if let Some(v) = f.limits.areas_poll_secs {
            self.areas_poll_secs = v;
        }
        if let Some(v) = f.limits.jobs_poll_ms {
            self.jobs_poll_ms = v;
        }
        if let Some(v) = f.limits.max_in_flight {
            self.max_in_flight = Some(v);
        }
        if let Some(v) = f.notify.webhook_url {
            self.notify_webhook_url = Some(v);
        }
        if let Some(v) = f.notify.smtp_url {
            self.notify_smtp_url = Some(v);
        }
        if let Some(v) = f.notify.smtp_from {
            self.notify_smtp_from = Some(v);
        }
        if let Some(v) = f.notify.smtp_username {
            self.notify_smtp_username = Some(v);
        }
        if let Some(v) = f.notify.smtp_password {
            self.notify_smtp_password = Some(v);
        }
        if let Some(v) = f.web.basemap_url {
            self.basemap_url = Some(v);
        }
        if let Some(v) = f.web.secure_cookies {
            self.secure_cookies = v;
        }
        if let Some(v) = f.web.session_hours {
            self.session_hours = v;
        }
        if let Some(v) = f.log.format {
            self.log_format = Some(v);
        }
        if let Some(v) = f.open311.public_precision_m {
            self.open311_public_precision_m = v;
        }
        if let Some(v) = f.audit.anchor_file {
            self.audit_anchor_file = Some(v);
        }
        if let Some(v) = f.audit.anchor_every_secs {
            self.audit_anchor_every_secs = v.max(1);
        }
        if let Some(v) = f.metrics.token {
            self.metrics_token = Some(v);
        }
        if let Some(v) = f.metrics.listen {
            self.metrics_listen = Some(v);
        }
        Ok(())
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<()> {
        fn num<T: std::str::FromStr>(key: &str, v: String) -> Result<T> {
            v.parse()
                .map_err(|_| Error::invalid("config", format!("{key}: not a number: {v}")))
        }
        if let Some(v) = env("GONGZHI_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = env("GONGZHI_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = env("GONGZHI_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = env("GONGZHI_SECRET_KEY") {
            self.secret_key = Some(v);
        }
        if let Some(v) = env("GONGZHI_TOKEN_TTL_HOURS") {
            self.token_ttl_hours = num("GONGZHI_TOKEN_TTL_HOURS", v)?;
        }
        if let Some(v) = env("GONGZHI_LOCATE_PER_SECOND") {
            self.locate_per_second = num("GONGZHI_LOCATE_PER_SECOND", v)?;
        }
        if let Some(v) = env("GONGZHI_LOGIN_FAILURES") {
            self.login_failures = num("GONGZHI_LOGIN_FAILURES", v)?;
        }
        if let Some(v) = env("GONGZHI_MAX_IN_FLIGHT") {
            self.max_in_flight = Some(num("GONGZHI_MAX_IN_FLIGHT", v)?);
        }
        if let Some(v) = env("GONGZHI_TRUSTED_PROXY_HEADER") {
            self.trusted_proxy_header = Some(v);
        }
        if let Some(v) = env("GONGZHI_TRUSTED_PROXIES") {
            self.trusted_proxies = parse_proxies(v.split(','))
                .map_err(|e| Error::invalid("config", format!("GONGZHI_TRUSTED_PROXIES: {e}")))?;
        }
        if let Some(v) = env("GONGZHI_METRICS_TOKEN") {
            self.metrics_token = Some(v);
        }
        if let Some(v) = env("GONGZHI_METRICS_LISTEN") {
            self.metrics_listen = Some(v);
        }
        if let Some(v) = env("GONGZHI_NOTIFY_WEBHOOK_URL") {
            self.notify_webhook_url = Some(v);
        }
        if let Some(v) = env("GONGZHI_NOTIFY_SMTP_URL") {
            self.notify_smtp_url = Some(v);
        }
        if let Some(v) = env("GONGZHI_NOTIFY_SMTP_FROM") {
            self.notify_smtp_from = Some(v);
        }
        if let Some(v) = env("GONGZHI_NOTIFY_SMTP_USERNAME") {
            self.notify_smtp_username = Some(v);
        }
        if let Some(v) = env("GONGZHI_NOTIFY_SMTP_PASSWORD") {
            self.notify_smtp_password = Some(v);
        }
        if let Some(v) = env("GONGZHI_BASEMAP_URL") {
            self.basemap_url = Some(v);
        }
        if let Some(v) = env("GONGZHI_SECURE_COOKIES") {
            self.secure_cookies = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = env("GONGZHI_OPEN311_PUBLIC_PRECISION_M") {
            self.open311_public_precision_m = num("GONGZHI_OPEN311_PUBLIC_PRECISION_M", v)?;
        }
        if let Some(v) = env("GONGZHI_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "json" => Some(LogFormat::Json),
                "text" => Some(LogFormat::Text),
                _ => return Err(Error::invalid("config", "GONGZHI_LOG_FORMAT: json or text")),
            };
        }
        Ok(())
    }

    fn apply_flags(&mut self, flags: &Overrides) {
        if let Some(v) = &flags.data_dir {
            self.data_dir = v.clone();
        }
        if let Some(v) = &flags.database_url {
            self.database_url = v.clone();
        }
        if let Some(v) = &flags.listen {
            self.listen = v.clone();
        }
    }

    /// The database to open: the configured URL, or `gongzhi.db` in the data dir.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            sqlite_url(&self.data_dir.join("gongzhi.db"))
        } else {
            self.database_url.clone()
        }
    }
}

/// How the connection to the relay is protected (certificates checked against the Mozilla roots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtp://`: plain text; for a relay on this host or a trusted network.
    None,
    /// `smtp://…?tls=opportunistic`: STARTTLS when the relay offers it, else plain text.
    Opportunistic,
    /// `smtp://…?tls=required`: STARTTLS, or no mail at all.
    StartTls,
    /// `smtps://`: TLS from the first byte (port 465 by default).
    Wrapper,
}

/// A mail relay, parsed from the `notify.smtp_*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub from: String,
    pub credentials: Option<(String, String)>,
}

/// `10.0.0.0/8`, `127.0.0.1` or `::1` → the network; a bare address is a network of one.
fn parse_proxies<'a>(
    items: impl Iterator<Item = &'a str>,
) -> std::result::Result<Vec<ipnet::IpNet>, String> {
    items
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("not an address or CIDR range: {s}"))
        })
        .collect()
}

pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env_then_flags() {
        let mut cfg = Config::default();
        assert_eq!(cfg.data_dir, PathBuf::from("./gongzhi-data"));
        cfg.apply_file(
            "data_dir = \"/from/file\"\nlisten = \"127.0.0.1:1\"\n[database]\nurl = \"postgres://file\"\n[limits]\nlocate_per_second = 7\n",
        )
        .unwrap();
        assert_eq!(cfg.database_url, "postgres://file");
        assert_eq!(cfg.locate_per_second, 7);
        cfg.apply_env(|k| match k {
            "GONGZHI_DATA_DIR" => Some("/from/env".into()),
            "GONGZHI_LISTEN" => Some("127.0.0.1:2".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("/from/env"));
        assert_eq!(cfg.listen, "127.0.0.1:2");
        cfg.apply_flags(&Overrides {
            data_dir: Some("/from/flag".into()),
            ..Default::default()
        });
        assert_eq!(cfg.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(cfg.listen, "127.0.0.1:2");
        assert_eq!(cfg.database_url(), "postgres://file");
    }

    #[test]
    fn unknown_keys_and_bad_numbers_are_errors() {
        let mut cfg = Config::default();
        assert!(cfg.apply_file("nonsense = 1").is_err());
        assert!(cfg
            .apply_env(|k| (k == "GONGZHI_LOCATE_PER_SECOND").then(|| "many".to_string()))
            .is_err());
    }

    #[test]
    fn smtp_settings_are_checked() {
        let mut cfg = Config::default();
        assert_eq!(cfg.smtp().unwrap(), None);
        cfg.apply_file("[notify]\nsmtp_url = \"smtp://127.0.0.1:2525\"\nsmtp_from = \"共治平台 <noreply@example.org>\"\n")
            .unwrap();
        let smtp = cfg.smtp().unwrap().unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("127.0.0.1", 2525));
        assert_eq!(smtp.credentials, None);
        cfg.apply_env(|k| match k {
            "GONGZHI_NOTIFY_SMTP_URL" => Some("smtp://mail.internal".into()),
            "GONGZHI_NOTIFY_SMTP_USERNAME" => Some("gz".into()),
            "GONGZHI_NOTIFY_SMTP_PASSWORD" => Some("pw".into()),
            _ => None,
        })
        .unwrap();
        let smtp = cfg.smtp().unwrap().unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("mail.internal", 25));
        assert_eq!(smtp.credentials, Some(("gz".into(), "pw".into())));
        for (url, port, tls) in [
            ("smtps://mail.example.org", 465, SmtpTls::Wrapper),
            ("smtps://mail.example.org:2465", 2465, SmtpTls::Wrapper),
            (
                "smtp://mail.example.org:587?tls=required",
                587,
                SmtpTls::StartTls,
            ),
            (
                "smtp://mail.example.org?tls=opportunistic",
                25,
                SmtpTls::Opportunistic,
            ),
            ("smtp://[::1]:2525", 2525, SmtpTls::None),
        ] {
            let cfg = Config {
                notify_smtp_url: Some(url.into()),
                notify_smtp_from: Some("a@b.c".into()),
                ..Config::default()
            };
            let smtp = cfg.smtp().unwrap().unwrap();
            assert_eq!((smtp.port, smtp.tls), (port, tls), "{url}");
        }
        for (url, from) in [
            ("smtps://mail.internal?tls=required", "a@b.c"),
            ("smtp://mail.internal?tls=maybe", "a@b.c"),
            ("http://mail.internal", "a@b.c"),
            ("smtp://u:p@mail.internal", "a@b.c"),
            ("smtp://mail.internal:99999", "a@b.c"),
            ("smtp://:25", "a@b.c"),
            ("smtp://mail.internal", "nobody"),
        ] {
            let cfg = Config {
                notify_smtp_url: Some(url.into()),
                notify_smtp_from: Some(from.into()),
                ..Config::default()
            };
            assert!(cfg.smtp().is_err(), "{url} {from}");
        }
        let no_from = Config {
            notify_smtp_url: Some("smtp://127.0.0.1".into()),
            ..Config::default()
        };
        assert!(no_from
            .smtp()
            .unwrap_err()
            .to_string()
            .contains("smtp_from"));
    }

    #[test]
    fn open311_precision_from_file_and_env() {
        let mut cfg = Config::default();
        assert_eq!(cfg.open311_public_precision_m, 100);
        cfg.apply_file("[open311]\npublic_precision_m = 250\n")
            .unwrap();
        assert_eq!(cfg.open311_public_precision_m, 250);
        cfg.apply_env(|k| (k == "GONGZHI_OPEN311_PUBLIC_PRECISION_M").then(|| "500".into()))
            .unwrap();
        assert_eq!(cfg.open311_public_precision_m, 500);
        assert!(cfg
            .apply_env(|k| (k == "GONGZHI_OPEN311_PUBLIC_PRECISION_M").then(|| "-1".into()))
            .is_err());
    }

    #[test]
    fn default_database_is_sqlite_in_data_dir() {
        let cfg = Config::default();
        assert_eq!(
            cfg.database_url(),
            "sqlite://./gongzhi-data/gongzhi.db?mode=rwc"
        );
    }
}
