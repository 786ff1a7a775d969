//! Secrets the database must hold but a copy of the database must not reveal (the TOTP keys of
//! second factors) are sealed with XChaCha20-Poly1305 under `SECRET_KEY`. A sealed value names
//! the key it was sealed with, so keys can be rotated: put the new key in `SECRET_KEY` and the
//! old one in `SECRET_KEY_PREVIOUS`; at start every value under an old key (or still in clear
//! text, from before sealing) is sealed again under the new one.

use secrecy::{ExposeSecret, SecretString};
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::config::Config;

/// Random token for cookies, forms and links in e-mails: 32 bytes, URL-safe base64.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

const PREFIX: &str = "sealed1";

#[derive(Clone)]
struct Key {
    /// Short fingerprint stored with each value: which key opens it.
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn parse(text: &str) -> anyhow::Result<Key> {
        let bytes = STANDARD
            .decode(text.trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim()))
            .context("not base64")?;
        if bytes.len() != 32 {
            bail!("expected 32 bytes, base64-encoded (foerderportal secret-key makes one)");
        }
        let id = Sha256::digest(&bytes)[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Key {
            id,
            cipher: XChaCha20Poly1305::new_from_slice(&bytes).expect("32 bytes"),
        })
    }
}

/// Seals and opens secrets; cheap to clone.
#[derive(Clone)]
pub struct SecretBox {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBox(key {})", self.current.id)
    }
}

/// A new random key, as `SECRET_KEY` expects it.
pub fn new_key() -> String {
    STANDARD.encode(rand::random::<[u8; 32]>())
}

impl SecretBox {
    pub fn new(current: &str, previous: &[SecretString]) -> anyhow::Result<SecretBox> {
        Ok(SecretBox {
            current: Key::parse(current).context("SECRET_KEY")?,
            previous: previous
                .iter()
                .map(|k| Key::parse(k.expose_secret()).context("SECRET_KEY_PREVIOUS"))
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// The keys of the configuration. Without `SECRET_KEY` the local default setup keeps a key
    /// of its own in `$VAR_DIR/secret-key` (made on first start); anywhere else that is an error.
    pub fn from_config(config: &Config) -> anyhow::Result<SecretBox> {
        match &config.secret_key {
            Some(key) => SecretBox::new(key.expose_secret(), &config.secret_key_previous),
            None if config.is_local_default() => {
                let key = local_key(&config.var_dir.join("secret-key"))?;
                SecretBox::new(&key, &config.secret_key_previous)
            }
            None => bail!(
                "SECRET_KEY is not set. It seals the second-factor keys in the database; \
                 make one with `foerderportal secret-key` and keep it outside the database"
            ),
        }
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce: [u8; 24] = rand::random();
        let sealed = self
            .current
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plain.as_bytes())
            .expect("sealing cannot fail for short secrets");
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!(
            "{PREFIX}:{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(bytes)
        )
    }

    pub fn open(&self, sealed: &str) -> anyhow::Result<String> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(PREFIX), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            bail!("not a sealed value");
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .with_context(|| {
                format!(
                    "sealed under key {id}, which is neither SECRET_KEY nor in SECRET_KEY_PREVIOUS"
                )
            })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(data)
            .context("damaged sealed value")?;
        if bytes.len() < 24 {
            bail!("damaged sealed value");
        }
        let (nonce, sealed) = bytes.split_at(24);
        let plain = key
            .cipher
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| anyhow::anyhow!("a sealed value does not open with key {id}"))?;
        String::from_utf8(plain).context("sealed value is not text")
    }

    /// Values in clear text (from before sealing) or under an old key get sealed anew.
    pub fn needs_sealing(&self, stored: &str) -> bool {
        !stored.starts_with(&format!("{PREFIX}:{}:", self.current.id))
    }

    /// The clear value of what is stored: sealed, or still in clear text from before sealing.
    pub fn reveal(&self, stored: &str) -> anyhow::Result<String> {
        if stored.starts_with(&format!("{PREFIX}:")) {
            self.open(stored)
        } else {
            Ok(stored.to_string())
        }
    }
}

fn local_key(path: &Path) -> anyhow::Result<String> {
    if let Ok(key) = std::fs::read_to_string(path) {
        return Ok(key.trim().to_string());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let key = new_key();
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(key.as_bytes()));
    match written {
        Ok(()) => {
            tracing::info!(path = %path.display(), "made a secret key for the local setup");
            Ok(key)
        }
        // Another process made it meanwhile.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(path)?.trim().to_string())
        }
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_never_shows_in_clear() {
        let key = new_key();
        let secrets = SecretBox::new(&key, &[]).unwrap();
        let sealed = secrets.seal("JBSWY3DPEHPK3PXP");
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            sealed,
            secrets.seal("JBSWY3DPEHPK3PXP"),
            "a fresh nonce each time"
        );
        assert_eq!(secrets.open(&sealed).unwrap(), "JBSWY3DPEHPK3PXP");
        let other = SecretBox::new(&new_key(), &[]).unwrap();
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(secrets.open(&tampered).is_err());
    }

    #[test]
    fn after_a_rotation_old_values_still_open_and_are_marked_for_sealing_again() {
        let (old, new) = (new_key(), new_key());
        let before = SecretBox::new(&old, &[]).unwrap();
        let sealed = before.seal("JBSWY3DPEHPK3PXP");
        let after = SecretBox::new(&new, &[old.into()]).unwrap();
        assert_eq!(after.open(&sealed).unwrap(), "JBSWY3DPEHPK3PXP");
        assert!(after.needs_sealing(&sealed));
        assert!(!after.needs_sealing(&after.seal("x")));
        assert!(
            after.needs_sealing("JBSWY3DPEHPK3PXP"),
            "clear text from before"
        );
        assert_eq!(
            after.reveal("JBSWY3DPEHPK3PXP").unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
    }

    #[test]
    fn a_malformed_key_is_refused() {
        assert!(SecretBox::new("kurz", &[]).is_err());
        assert!(SecretBox::new(&STANDARD.encode([0u8; 16]), &[]).is_err());
    }
}
