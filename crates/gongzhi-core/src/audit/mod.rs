//! The audit chain: every write appends an entry in its own transaction, and each entry's hash
//! covers the previous entry's hash, so editing, deleting or reordering history is detectable.
//! The hashes are keyed (HMAC-SHA256 with a key derived from the secret key, which lives outside
//! the database), so someone who can write the database cannot recompute them; anchors — signed
//! statements of the head kept elsewhere — catch history cut off at the end.

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

mod store;

pub use store::list;

use crate::db::{Db, WriteTx};
use crate::identity::Actor;
use crate::{Error, Result};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The keys of the chain, derived from the secret key with HKDF-SHA256 under their own labels:
/// the encryption key is never used for anything else.
pub struct ChainKeys {
    mac: [u8; 32],
    signing: SigningKey,
}

impl ChainKeys {
    pub fn derive(secret: &[u8; 32]) -> ChainKeys {
        let hk = hkdf::Hkdf::<Sha256>::new(None, secret);
        let mut mac = [0u8; 32];
        let mut seed = [0u8; 32];
        hk.expand(b"gongzhi audit chain v1", &mut mac)
            .expect("32 bytes is a valid HKDF length");
        hk.expand(b"gongzhi audit anchor v1", &mut seed)
            .expect("32 bytes is a valid HKDF length");
        ChainKeys {
            mac,
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// The anchors' public key (hex), to publish beside them.
    pub fn public_key(&self) -> String {
        hex::encode(self.signing.verifying_key().as_bytes())
    }
}

/// Loads the chain's keys into `db`; every later write and verification uses them.
pub fn use_keys(db: &Db, keys: ChainKeys) {
    // A second load in the same process derives the same keys from the same secret.
    let _ = db.audit_keys.set(std::sync::Arc::new(keys));
}

fn keys_of(slot: &crate::db::AuditKeySlot) -> Result<&ChainKeys> {
    slot.get()
        .and_then(|k| k.downcast_ref::<ChainKeys>())
        .ok_or_else(|| Error::internal("the audit chain's key is not loaded"))
}

/// The public key of the loaded keys (hex).
pub fn public_key(db: &Db) -> Result<String> {
    Ok(keys_of(&db.audit_keys)?.public_key())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    /// RFC 3339, Asia/Shanghai.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    /// SHA-256 of the canonical JSON of what changed.
    pub digest: String,
    pub reason: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// SHA-256 (hex) of a JSON value as serialized (serde_json keeps object keys sorted).
pub fn digest_of(change: &Value) -> String {
    hex::encode(Sha256::digest(change.to_string().as_bytes()))
}

/// What an entry's hash covers: each field length-prefixed so no two field lists encode alike.
#[allow(clippy::too_many_arguments)]
fn entry_bytes(
    prev_hash: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    entity: &str,
    digest: &str,
    reason: Option<&str>,
) -> Vec<u8> {
    let seq = seq.to_string();
    let at = at.to_string();
    let fields: [&str; 8] = [
        prev_hash,
        &seq,
        &at,
        actor,
        action,
        entity,
        digest,
        reason.unwrap_or("\u{0}none"),
    ];
    let mut out = Vec::with_capacity(256);
    for f in fields {
        out.extend((f.len() as u64).to_be_bytes());
        out.extend(f.as_bytes());
    }
    out
}

/// The hash of entries written before the chain was keyed: plain SHA-256.
#[allow(clippy::too_many_arguments)]
pub fn legacy_entry_hash(
    prev_hash: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    entity: &str,
    digest: &str,
    reason: Option<&str>,
) -> String {
    hex::encode(Sha256::digest(entry_bytes(
        prev_hash, seq, at, actor, action, entity, digest, reason,
    )))
}

/// The keyed hash of an entry: HMAC-SHA256 under the chain key.
#[allow(clippy::too_many_arguments)]
fn entry_hash(
    keys: &ChainKeys,
    prev_hash: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    entity: &str,
    digest: &str,
    reason: Option<&str>,
) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&keys.mac).expect("HMAC takes any key length");
    mac.update(&entry_bytes(
        prev_hash, seq, at, actor, action, entity, digest, reason,
    ));
    hex::encode(mac.finalize().into_bytes())
}

/// Appends one entry to the chain inside `tx`. The head row is updated first, which serializes
/// concurrent writers on PostgreSQL (row lock) exactly where the chain needs an order.
pub async fn append(
    tx: &mut WriteTx,
    actor: &Actor,
    action: &str,
    entity: &str,
    change: &Value,
    reason: Option<&str>,
) -> Result<i64> {
    let (seq, prev_hash) = store::advance_head(tx, 1).await?;
    let at = crate::time::now_ms();
    let digest = digest_of(change);
    let actor = actor.label();
    let keys = tx.audit_keys.clone();
    let hash = entry_hash(
        keys_of(&keys)?,
        &prev_hash,
        seq,
        at,
        &actor,
        action,
        entity,
        &digest,
        reason,
    );
    let entry = NewEntry {
        actor,
        action: action.to_string(),
        entity: entity.to_string(),
        change: Value::Null,
        reason: reason.map(String::from),
    };
    store::insert_entries(tx, at, &[entry], &[(seq, digest, prev_hash, hash.clone())]).await?;
    store::set_head_hash(tx, &hash).await?;
    tx.audited = true;
    Ok(seq)
}

/// One entry for [`append_many`].
pub struct NewEntry {
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub change: Value,
    pub reason: Option<String>,
}

/// Appends several entries in order with one head update and one insert: the chain is the same
/// as appending them one by one, at a fraction of the round trips (group commit).
pub async fn append_many(tx: &mut WriteTx, entries: &[NewEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let n = entries.len() as i64;
    let (last, mut prev) = store::advance_head(tx, n).await?;
    let at = crate::time::now_ms();
    let slot = tx.audit_keys.clone();
    let keys = keys_of(&slot)?;
    let mut rows = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let seq = last - n + 1 + i as i64;
        let digest = digest_of(&e.change);
        let hash = entry_hash(
            keys,
            &prev,
            seq,
            at,
            &e.actor,
            &e.action,
            &e.entity,
            &digest,
            e.reason.as_deref(),
        );
        rows.push((seq, digest, prev.clone(), hash.clone()));
        prev = hash;
    }
    store::insert_entries(tx, at, entries, &rows).await?;
    store::set_head_hash(tx, &prev).await?;
    tx.audited = true;
    Ok(())
}

/// The latest `n` entries, oldest first, for those who may read the log (what `/admin` shows).
pub async fn latest(db: &Db, actor: &Actor, n: i64) -> Result<Vec<AuditEntry>> {
    use crate::identity::{authorize, Action, Target};
    authorize(actor, Action::AUDIT_READ, &Target::global())?;
    let head = store::head_seq(db).await?;
    list(db, (head - n).max(0), n).await
}

/// The action of the keyed entry that vouches for the unkeyed entries before it.
pub const CHAIN_KEYED: &str = "audit.chain_keyed";

/// Right after the migration that keys the chain: entries written before it were hashed
/// without a key, so one keyed entry is appended at once to link to the last of them and vouch
/// for them (its HMAC covers that link). Verify accepts unkeyed entries only before a keyed one;
/// a chain rewritten without the key (all unkeyed, or unkeyed after keyed) is refused. Runs only when that migration was applied by this very start
/// (`just_migrated`), so a database rewritten later is not vouched for by a restart.
pub async fn key_legacy_chain(db: &Db, just_migrated: bool) -> Result<()> {
    if !just_migrated {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    // Takes the head row's lock first, as every append does (PostgreSQL: one writer at a time).
    store::lock_head(&mut tx).await?;
    let legacy = store::count_entries(&mut tx, false).await?;
    let keyed = store::count_entries(&mut tx, true).await?;
    if legacy == 0 || keyed > 0 {
        return Ok(());
    }
    append(
        &mut tx,
        &Actor::system("migrate"),
        CHAIN_KEYED,
        "audit",
        &json!({"unkeyed_entries": legacy}),
        None,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        unkeyed = legacy,
        "audit chain keyed; earlier entries are vouched for"
    );
    Ok(())
}

/// Why the chain is broken, naming the first bad entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: i64,
    pub problem: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "audit entry {}: {}", self.seq, self.problem)
    }
}

/// Walks the whole chain. `Ok(Ok(n))` when intact with `n` entries.
pub async fn verify(db: &Db) -> Result<std::result::Result<i64, ChainBreak>> {
    verify_with_anchors(db, &[]).await
}

/// Walks the whole chain and checks that it extends every anchor: the anchored entry is still
/// there with the anchored hash. `Ok(Ok(n))` when intact with `n` entries.
pub async fn verify_with_anchors(
    db: &Db,
    anchors: &[Anchor],
) -> Result<std::result::Result<i64, ChainBreak>> {
    const PAGE: i64 = 10_000;
    let keys = keys_of(&db.audit_keys)?;
    let public = keys.signing.verifying_key();
    for a in anchors {
        if let Err(why) = a.check(&public) {
            return Ok(Err(ChainBreak {
                seq: a.seq,
                problem: format!("the anchor of this entry is not ours: {why}"),
            }));
        }
    }
    // The head is read first: a write that lands during the walk moves the head and appends
    // entries together, so the chain read afterwards always reaches the head read here.
    let (head_seq, head_hash) = store::head(db).await?;
    let mut walk = Walk::new(keys, anchors, head_seq);
    loop {
        let page = store::entries_from(db, walk.expected_seq, PAGE).await?;
        let n = page.len() as i64;
        for (e, at, is_keyed) in page {
            if let Err(b) = walk.step(e, at, is_keyed) {
                return Ok(Err(b));
            }
        }
        if n < PAGE {
            break;
        }
    }
    Ok(walk.finish(&head_hash))
}

/// Where a walk along the chain stands, entry by entry.
struct Walk<'a> {
    keys: &'a ChainKeys,
    anchors: &'a [Anchor],
    head_seq: i64,
    expected_seq: i64,
    prev_hash: String,
    unkeyed: i64,
    seen_keyed: bool,
    /// The hashes found at the anchors' entries.
    anchored: std::collections::HashMap<i64, String>,
    hash_at_head: Option<String>,
}

impl<'a> Walk<'a> {
    fn new(keys: &'a ChainKeys, anchors: &'a [Anchor], head_seq: i64) -> Walk<'a> {
        Walk {
            keys,
            anchors,
            head_seq,
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
            unkeyed: 0,
            seen_keyed: false,
            anchored: std::collections::HashMap::new(),
            hash_at_head: (head_seq == 0).then(|| GENESIS_HASH.to_string()),
        }
    }

    /// Takes the next stored entry, or names why the chain breaks there.
    fn step(
        &mut self,
        e: AuditEntry,
        at: i64,
        is_keyed: bool,
    ) -> std::result::Result<(), ChainBreak> {
        let broken = |problem: &str| {
            Err(ChainBreak {
                seq: e.seq,
                problem: problem.to_string(),
            })
        };
        if e.seq != self.expected_seq {
            return Err(ChainBreak {
                seq: self.expected_seq,
                problem: format!("missing (next stored entry is {})", e.seq),
            });
        }
        if e.prev_hash != self.prev_hash {
            return broken("does not link to the entry before it (deleted or reordered history)");
        }
        let (p, d, re) = (e.prev_hash.as_str(), e.digest.as_str(), e.reason.as_deref());
        let hash = if is_keyed {
            entry_hash(
                self.keys, p, e.seq, at, &e.actor, &e.action, &e.entity, d, re,
            )
        } else if self.seen_keyed {
            return broken(
                "is not keyed but follows keyed entries (history rewritten without the key)",
            );
        } else {
            self.unkeyed += 1;
            legacy_entry_hash(p, e.seq, at, &e.actor, &e.action, &e.entity, d, re)
        };
        if hash != e.hash {
            return broken("content does not match its hash (altered)");
        }
        self.seen_keyed |= is_keyed;
        if self.anchors.iter().any(|a| a.seq == e.seq) {
            self.anchored.insert(e.seq, e.hash.clone());
        }
        if e.seq == self.head_seq {
            self.hash_at_head = Some(e.hash.clone());
        }
        self.prev_hash = e.hash;
        self.expected_seq += 1;
        Ok(())
    }

    /// After the last entry: the chain was keyed, reaches the head as read with its hash, and
    /// extends every anchor. The number of entries when it does.
    fn finish(self, head_hash: &str) -> std::result::Result<i64, ChainBreak> {
        let count = self.expected_seq - 1;
        let head_seq = self.head_seq;
        if self.unkeyed > 0 && !self.seen_keyed {
            return Err(ChainBreak {
                seq: 1,
                problem: format!(
                    "none of the {count} entries is keyed (history rewritten without the key)"
                ),
            });
        }
        // Entries past the head were appended by writes that committed during the walk; the
        // head as read must sit on the chain, with its hash.
        if count < head_seq {
            return Err(ChainBreak {
                seq: count + 1,
                problem: format!(
                    "the chain ends at entry {count} but its head records entry {head_seq} (history deleted at the end)"
                ),
            });
        }
        if self.hash_at_head.as_deref() != Some(head_hash) {
            return Err(ChainBreak {
                seq: head_seq,
                problem: "differs from the hash its head records (history rewritten)".to_string(),
            });
        }
        for a in self.anchors {
            let found = if a.seq == 0 {
                Some(GENESIS_HASH)
            } else {
                self.anchored.get(&a.seq).map(String::as_str)
            };
            match found {
                None => {
                    return Err(ChainBreak {
                        seq: a.seq,
                        problem: format!(
                            "anchored at {} but the chain ends at entry {count} (history deleted)",
                            a.at
                        ),
                    })
                }
                Some(h) if h != a.hash => {
                    return Err(ChainBreak {
                        seq: a.seq,
                        problem: format!(
                            "differs from the entry anchored at {} (history rewritten)",
                            a.at
                        ),
                    })
                }
                Some(_) => {}
            }
        }
        Ok(count)
    }
}

/// A signed statement of the chain's head at a moment, kept outside the database (a public
/// notice, another system, an append-only file). Anyone can check the signature with the
/// public key alone; `verify_with_anchors` checks that the chain still extends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
    /// RFC 3339, Asia/Shanghai.
    pub at: String,
    /// Ed25519, hex.
    pub public_key: String,
    /// Ed25519 over [`Anchor::message`], hex.
    pub signature: String,
}

impl Anchor {
    /// What is signed: four lines, the same for anyone who checks.
    pub fn message(seq: i64, hash: &str, at: &str) -> String {
        format!("gongzhi audit anchor v1\nseq {seq}\nhash {hash}\nat {at}\n")
    }

    /// One anchor per line of `text` (an anchor file, or one pasted statement).
    pub fn parse_all(text: &str) -> std::result::Result<Vec<Anchor>, String> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str::<Anchor>(l)
                    .map_err(|e| format!("anchor {}: not an anchor statement ({e})", i + 1))
            })
            .collect()
    }

    /// The signature is right and made with `public`.
    pub fn check(&self, public: &VerifyingKey) -> std::result::Result<(), String> {
        if self.public_key != hex::encode(public.as_bytes()) {
            return Err("signed with another key".into());
        }
        let sig = hex::decode(&self.signature)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .map(|b| ed25519_dalek::Signature::from_bytes(&b))
            .ok_or("the signature is malformed")?;
        public
            .verify(
                Self::message(self.seq, &self.hash, &self.at).as_bytes(),
                &sig,
            )
            .map_err(|_| "the signature does not match".to_string())
    }

    /// Checks the signature against the public key the anchor names (for a third party, who
    /// compares that key with the published one).
    pub fn check_self_signed(&self) -> std::result::Result<(), String> {
        let key = hex::decode(&self.public_key)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| VerifyingKey::from_bytes(&b).ok())
            .ok_or("the public key is malformed")?;
        self.check(&key)
    }
}

/// A signed statement of the current head.
pub async fn anchor(db: &Db) -> Result<Anchor> {
    let keys = keys_of(&db.audit_keys)?;
    let (seq, hash) = store::head(db).await?;
    let at = crate::time::format_ms(crate::time::now_ms());
    let signature = keys
        .signing
        .sign(Anchor::message(seq, &hash, &at).as_bytes());
    Ok(Anchor {
        seq,
        public_key: keys.public_key(),
        signature: hex::encode(signature.to_bytes()),
        hash,
        at,
    })
}

/// Appends a statement of the head to `path` every `every` while it moves (`[audit] anchor_file`).
pub fn spawn_anchor_writer(
    db: Db,
    path: std::path::PathBuf,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_seq = None;
        loop {
            match anchor(&db).await {
                Ok(a) if last_seq != Some(a.seq) => {
                    let line = serde_json::to_string(&a).expect("an anchor serializes") + "\n";
                    let written = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
                    match written {
                        Ok(()) => last_seq = Some(a.seq),
                        Err(e) => {
                            tracing::warn!(error = %e, path = %path.display(), "cannot write the audit anchor")
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot anchor the audit head"),
            }
            tokio::time::sleep(every).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_field_and_the_key() {
        let k = ChainKeys::derive(&[7; 32]);
        let h = |p, q, t, a, b, c, d, r| entry_hash(&k, p, q, t, a, b, c, d, r);
        let base = h("p", 1, 2, "a", "b", "c", "d", Some("r"));
        assert_ne!(base, h("q", 1, 2, "a", "b", "c", "d", Some("r")));
        assert_ne!(base, h("p", 2, 2, "a", "b", "c", "d", Some("r")));
        assert_ne!(base, h("p", 1, 3, "a", "b", "c", "d", Some("r")));
        assert_ne!(base, h("p", 1, 2, "ab", "", "c", "d", Some("r")));
        assert_ne!(base, h("p", 1, 2, "a", "b", "c", "d", None));
        assert_ne!(base, h("p", 1, 2, "a", "b", "c", "d", Some("")));
        assert_eq!(base, h("p", 1, 2, "a", "b", "c", "d", Some("r")));
        let other = ChainKeys::derive(&[8; 32]);
        assert_ne!(
            base,
            entry_hash(&other, "p", 1, 2, "a", "b", "c", "d", Some("r"))
        );
        assert_ne!(
            base,
            legacy_entry_hash("p", 1, 2, "a", "b", "c", "d", Some("r"))
        );
    }

    #[test]
    fn anchors_are_checked_with_the_public_key_alone() {
        let k = ChainKeys::derive(&[7; 32]);
        let at = "2026-12-01T09:00:00+08:00";
        let sig = k.signing.sign(Anchor::message(5, "ab", at).as_bytes());
        let a = Anchor {
            seq: 5,
            hash: "ab".into(),
            at: at.into(),
            public_key: k.public_key(),
            signature: hex::encode(sig.to_bytes()),
        };
        assert_eq!(a.check_self_signed(), Ok(()));
        let line = serde_json::to_string(&a).unwrap();
        assert_eq!(
            Anchor::parse_all(&format!("{line}\n\n{line}\n"))
                .unwrap()
                .len(),
            2
        );
        let moved = Anchor {
            seq: 6,
            ..a.clone()
        };
        assert!(moved.check_self_signed().is_err());
        let other = ChainKeys::derive(&[8; 32]);
        assert!(a.check(&other.signing.verifying_key()).is_err());
        assert_ne!(k.public_key(), other.public_key());
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Entries after this sequence number (default 0).
    after: Option<i64>,
    /// At most this many (default 100, 1–1000).
    limit: Option<i64>,
}

/// The audit log, oldest first, for administrators.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = crate::http::ErrorBody)))]
async fn list_entries(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    crate::http::Authed(actor): crate::http::Authed,
    crate::http::ApiQuery(q): crate::http::ApiQuery<ListQuery>,
) -> crate::http::ApiResult<axum::Json<Vec<AuditEntry>>> {
    use crate::identity::{authorize, Action, Target};
    authorize(&actor, Action::AUDIT_READ, &Target::global())?;
    let limit = crate::http::params::count("limit", q.limit, 100, 1000)?;
    let after = crate::http::params::position("after", q.after)?;
    Ok(axum::Json(list(&state.db, after, limit).await?))
}

pub fn api() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(list_entries))
}
