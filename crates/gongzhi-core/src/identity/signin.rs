//! Signing in with a user name and password, the one way for the API and the web pages alike:
//! every attempt is counted per account and per client address before the password is checked,
//! in the database (so every server on it sees the same counts), and after too many each
//! further attempt waits twice as long as the last (OWASP ASVS 2.2.1) — never a permanent lock.

use super::store::{count_attempt, forget_old_attempts, succeeded, waiting_until};
use super::IssuedToken;
use crate::db::Db;
use crate::state::AppState;
use crate::{Error, Result};

/// The attempt was not checked: wait this long before the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_secs: u64,
}

/// The name sign-in looks users up by: trimmed and in lower case (user names are ASCII letters,
/// digits, '.', '_' and '-', unique regardless of case).
pub fn canonical_username(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

/// The limits of one key: attempts before waiting starts, and the window and longest wait.
struct Limits {
    attempts: i64,
    window_ms: i64,
    max_delay_ms: i64,
}

/// Checks a user name and password and issues a token, unless the account or the client
/// address must wait (`Ok(Err(Throttled))`, the password unchecked). A success clears the
/// account's count and takes back its attempt from the address's.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
    client: &str,
    ttl_hours: i64,
) -> Result<std::result::Result<IssuedToken, Throttled>> {
    let name = canonical_username(username);
    let account = account_key(&name);
    let address = format!("addr:{client}");
    let config = &state.config;
    let window_ms = config.login_window_secs as i64 * 1000;
    let max_delay_ms = (config.login_max_delay_secs as i64 * 1000).max(1000);
    let per = |attempts: u32| Limits {
        attempts: attempts.max(1) as i64,
        window_ms,
        max_delay_ms,
    };
    let now = state.clock.now_ms();
    if let Err(t) = admit(
        &state.db,
        now,
        [
            (&account, per(config.login_failures)),
            (&address, per(config.login_address_failures)),
        ],
    )
    .await?
    {
        tracing::warn!(account = %account, client, "sign-in throttled");
        return Ok(Err(t));
    }
    match super::store::issue_token(&state.db, &name, password, ttl_hours).await {
        Ok(token) => {
            succeeded(&state.db, &account, &address).await?;
            Ok(Ok(token))
        }
        Err(e) => {
            if matches!(e, Error::Unauthenticated(_)) {
                tracing::warn!(account = %account, client, "sign-in failed");
            }
            Err(e)
        }
    }
}

/// Long names (no user has one) share one key per hash, so a flood of them stays small.
fn account_key(name: &str) -> String {
    if name.len() <= 64 {
        format!("user:{name}")
    } else {
        use sha2::Digest;
        format!(
            "user#{}",
            hex::encode(sha2::Sha256::digest(name.as_bytes()))
        )
    }
}

/// Counts one attempt under each key, all or none, in key order (account, then address, so
/// two sign-ins never wait on each other's rows in opposite orders). A key still waiting
/// refuses the attempt and nothing is counted.
async fn admit<const N: usize>(
    db: &Db,
    now: i64,
    keys: [(&String, Limits); N],
) -> Result<std::result::Result<(), Throttled>> {
    let mut tx = db.begin_counters().await?;
    for (key, l) in &keys {
        // The streak starts over after a quiet window beyond the last wait; from the
        // `attempts`-th attempt on each one sets a wait of 1 s, 2 s, 4 s … up to the longest.
        let counted = count_attempt(
            &mut tx,
            key,
            now,
            if l.attempts <= 1 { 1000 } else { 0 },
            (l.window_ms, l.attempts, l.max_delay_ms),
        )
        .await?;
        if !counted {
            let until = waiting_until(&mut tx, key).await?;
            tx.rollback().await?;
            let secs = (until - now + 999).div_euclid(1000).max(1) as u64;
            return Ok(Err(Throttled {
                retry_after_secs: secs,
            }));
        }
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Runs [`forget_old_attempts`] once a window for the life of the server.
pub fn spawn_attempts_sweeper(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    let every = std::time::Duration::from_secs(state.config.login_window_secs.max(60));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let now = state.clock.now_ms();
            if let Err(e) =
                forget_old_attempts(&state.db, now, state.config.login_window_secs).await
            {
                tracing::warn!(error = %e, "old sign-in attempts could not be forgotten");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_of_a_name_are_one_account() {
        for v in [" mod2", "mod2\t", "MOD2", "\u{3000}Mod2\n", "mod2"] {
            assert_eq!(account_key(&canonical_username(v)), "user:mod2", "{v:?}");
        }
        assert!(account_key(&"x".repeat(1000)).starts_with("user#"));
    }
}
