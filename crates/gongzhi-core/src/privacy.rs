//! Personal data (个人信息保护法): fields are encrypted at rest with AES-256-GCM and masked by
//! default (张*明, 138****1234). Revealing a field is a permission and is audited by the caller.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

use crate::{Error, Result};

const PREFIX: &str = "v1:";

#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Sealer {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// The key from `configured` or the data dir (see [`load_secret`]).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Self> {
        Ok(Self::from_key(&load_secret(configured, data_dir)?))
    }

    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("AES-GCM encryption cannot fail for in-memory input");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("{PREFIX}{}", B64.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String> {
        let bad = || Error::internal("a personal field cannot be decrypted (wrong secret key?)");
        let raw = B64
            .decode(sealed.strip_prefix(PREFIX).ok_or_else(bad)?)
            .map_err(|_| bad())?;
        if raw.len() < 12 {
            return Err(bad());
        }
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(&raw[..12]), &raw[12..])
            .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }
}

/// The secret key, kept outside the database: `configured` (hex or base64 of 32 bytes) or else
/// `secret.key` in the data dir, which the first run creates with mode 0600. Personal fields are
/// encrypted with it; the audit chain's keys are derived from it (`audit::ChainKeys`).
pub fn load_secret(configured: Option<&str>, data_dir: &Path) -> Result<[u8; 32]> {
    if let Some(text) = configured {
        return parse_key(text);
    }
    let path = data_dir.join("secret.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::internal(format!("cannot read {}: {e}", path.display())))?;
        return parse_key(text.trim());
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", data_dir.display())))?;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    write_private(&path, &hex::encode(key))?;
    Ok(key)
}

fn parse_key(text: &str) -> Result<[u8; 32]> {
    let bytes = if text.len() == 64 {
        hex::decode(text).ok()
    } else {
        B64.decode(text).ok()
    };
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            Error::invalid(
                "secret_key",
                "the secret key must be 32 bytes as 64 hex characters or base64",
            )
        })
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))
}

/// 张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明; one character stays as it is masked: *.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// 13812341234 → 138****1234; shorter numbers keep at most their last two digits.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    let n = chars.len();
    if n >= 11 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[n - 4..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(n - 7))
    } else {
        let keep = n.min(2).min(n / 3);
        let tail: String = chars[n - keep..].iter().collect();
        format!("{}{tail}", "*".repeat(n - keep))
    }
}

/// a.b@example.org → a***@example.org.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => mask_name(email),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_as_people_expect() {
        assert_eq!(mask_name("张小明"), "张*明");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳小明"), "欧**明");
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_email("wang.li@example.org"), "w***@example.org");
    }

    proptest! {
        #[test]
        fn masked_name_hides_the_middle(name in "\\PC{1,12}") {
            let m = mask_name(&name);
            let n = name.chars().count();
            prop_assert_eq!(m.chars().count(), n);
            prop_assert!(m.contains('*'));
            if n >= 3 { prop_assert!(m.chars().skip(1).take(n - 2).all(|c| c == '*')); }
        }

        #[test]
        fn masked_phone_shows_at_most_seven_digits(phone in "[0-9]{3,15}") {
            let m = mask_phone(&phone);
            prop_assert_eq!(m.chars().count(), phone.chars().count());
            prop_assert!(m.chars().filter(|c| *c != '*').count() <= 7);
            prop_assert!(m.contains('*'));
        }

        #[test]
        fn seal_then_open_round_trips(text in "\\PC{0,64}", key in proptest::array::uniform32(any::<u8>())) {
            let s = Sealer::from_key(&key);
            let sealed = s.seal(&text);
            prop_assert!(text.is_empty() || !sealed.contains(&text) || text.len() < 4);
            prop_assert_eq!(s.open(&sealed).unwrap(), text);
        }
    }

    #[test]
    fn a_different_key_cannot_open() {
        let a = Sealer::from_key(&[1; 32]);
        let b = Sealer::from_key(&[2; 32]);
        assert!(b.open(&a.seal("13812341234")).is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("gz-key-{}", uuid::Uuid::new_v4()));
        let a = Sealer::load(None, &dir).unwrap();
        let b = Sealer::load(None, &dir).unwrap();
        assert_eq!(b.open(&a.seal("x")).unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
