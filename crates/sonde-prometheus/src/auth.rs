//! Optional authentication for the metrics endpoint (and the hub's routes).

use std::sync::{Arc, Mutex};

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Credentials a request must present in its `Authorization` header.
#[derive(Clone)]
pub enum Auth {
    /// HTTP basic auth with this user and password.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// HTTP basic auth with this user and a password hash: an argon2 PHC
    /// string (`$argon2id$...`) or a bcrypt hash (`$2b$...`), so that the
    /// configuration never holds the password itself. Verifying a hash is
    /// slow by design; a credential that verified once is remembered (as a
    /// SHA-256 digest) so later requests cost a hash and a comparison.
    BasicHash {
        /// The user name.
        user: String,
        /// The password's argon2 or bcrypt hash.
        hash: String,
        /// Digests of credentials that verified.
        verified: Arc<Mutex<Vec<[u8; 32]>>>,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { user, .. } => f.debug_struct("Basic").field("user", user).finish_non_exhaustive(),
            Self::BasicHash { user, .. } => f.debug_struct("BasicHash").field("user", user).finish_non_exhaustive(),
            Self::Bearer(_) => f.write_str("Bearer(..)"),
        }
    }
}

/// Why a password hash cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("password hash: {0} (use an argon2 PHC string such as $argon2id$..., or a bcrypt hash $2b$...)")]
pub struct BadHash(String);

/// Most remembered credentials of a [`Auth::BasicHash`].
const REMEMBERED: usize = 16;

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Equal, in time independent of where they differ (and of their lengths:
/// digests are compared, not the secrets).
fn same(a: &[u8], b: &[u8]) -> bool {
    bool::from(digest(a).ct_eq(&digest(b)))
}

fn verify_hash(hash: &str, password: &[u8]) -> bool {
    if hash.starts_with("$argon2") {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(hash).is_ok_and(|h| argon2::Argon2::default().verify_password(password, &h).is_ok())
    } else {
        bcrypt::verify(password, hash).unwrap_or(false)
    }
}

impl Auth {
    /// Basic auth against a password hash (argon2 or bcrypt).
    ///
    /// # Errors
    ///
    /// [`BadHash`] when `hash` is neither a valid argon2 PHC string nor a
    /// bcrypt hash.
    pub fn basic_hash(user: impl Into<String>, hash: impl Into<String>) -> Result<Self, BadHash> {
        let hash = hash.into().trim().to_owned();
        if hash.starts_with("$argon2") {
            let parsed = argon2::password_hash::PasswordHash::new(&hash).map_err(|e| BadHash(e.to_string()))?;
            if parsed.salt.is_none() || parsed.hash.is_none() {
                return Err(BadHash("an argon2 hash needs its salt and output".into()));
            }
        } else if hash.starts_with("$2") {
            // bcrypt::verify rejects a malformed hash; probe it once.
            bcrypt::verify("", &hash).map_err(|e| BadHash(e.to_string()))?;
        } else {
            return Err(BadHash("unknown format".into()));
        }
        Ok(Self::BasicHash { user: user.into(), hash, verified: Arc::default() })
    }

    /// Whether an `Authorization` header value satisfies these credentials.
    /// Secrets are compared in constant time.
    pub fn check(&self, header: Option<&[u8]>) -> bool {
        let Some(header) = header.and_then(|h| std::str::from_utf8(h).ok()) else {
            return false;
        };
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header, ""));
        let basic = || -> Option<Vec<u8>> {
            if !scheme.eq_ignore_ascii_case("basic") {
                return None;
            }
            base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()
        };
        match self {
            Self::Bearer(token) => {
                scheme.eq_ignore_ascii_case("bearer") && same(rest.trim().as_bytes(), token.as_bytes())
            }
            Self::Basic { user, password } => {
                basic().is_some_and(|decoded| same(&decoded, format!("{user}:{password}").as_bytes()))
            }
            Self::BasicHash { user, hash, verified } => {
                let Some(decoded) = basic() else { return false };
                let seen = digest(&decoded);
                let known = verified.lock().unwrap_or_else(|p| p.into_inner());
                if known.iter().fold(false, |hit, d| hit | bool::from(d.ct_eq(&seen))) {
                    return true;
                }
                drop(known);
                let Some((given_user, password)) =
                    decoded.iter().position(|b| *b == b':').map(|at| decoded.split_at(at))
                else {
                    return false;
                };
                let ok = same(given_user, user.as_bytes()) && verify_hash(hash, &password[1..]);
                if ok {
                    let mut known = verified.lock().unwrap_or_else(|p| p.into_inner());
                    if known.len() >= REMEMBERED {
                        known.remove(0);
                    }
                    known.push(seen);
                }
                ok
            }
        }
    }

    /// The `WWW-Authenticate` challenge for a 401.
    pub fn challenge(&self) -> &'static str {
        match self {
            Self::Basic { .. } | Self::BasicHash { .. } => "Basic realm=\"sonde\", charset=\"UTF-8\"",
            Self::Bearer(_) => "Bearer realm=\"sonde\"",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic_header(user: &str, password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
    }

    #[test]
    fn basic_and_bearer() {
        let basic = Auth::Basic { user: "prom".into(), password: "s3cret".into() };
        assert!(basic.check(Some(basic_header("prom", "s3cret").as_bytes())));
        for bad in ["", "Basic", "Basic !!!", "Bearer s3cret", "Basic cHJvbTp3cm9uZw=="] {
            assert!(!basic.check(Some(bad.as_bytes())), "{bad}");
        }
        assert!(!basic.check(None));
        let bearer = Auth::Bearer("tok".into());
        assert!(bearer.check(Some(b"Bearer tok")));
        assert!(bearer.check(Some(b"bearer  tok ")));
        assert!(!bearer.check(Some(b"Bearer tok2")));
        assert!(!bearer.check(Some(b"Bearer to")));
        assert!(!bearer.check(Some(&[0xff, 0xfe])));
    }

    #[test]
    fn hashed_passwords_in_argon2_and_bcrypt() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let argon = argon2::Argon2::default().hash_password(b"s3cret", &salt).unwrap().to_string();
        let bcrypt = bcrypt::hash("s3cret", 4).unwrap();
        for hash in [argon, bcrypt] {
            let auth = Auth::basic_hash("prom", &hash).unwrap();
            assert!(auth.check(Some(basic_header("prom", "s3cret").as_bytes())), "{hash}");
            assert!(auth.check(Some(basic_header("prom", "s3cret").as_bytes())), "remembered");
            assert!(!auth.check(Some(basic_header("prom", "wrong").as_bytes())));
            assert!(!auth.check(Some(basic_header("other", "s3cret").as_bytes())));
            assert!(!auth.check(Some(b"Basic bm9jb2xvbg==")), "no colon");
            assert!(!auth.check(Some(b"Bearer s3cret")));
            assert!(format!("{auth:?}").contains("prom") && !format!("{auth:?}").contains("$"));
        }
        assert!(Auth::basic_hash("u", "plaintext").is_err());
        assert!(Auth::basic_hash("u", "$argon2id$nonsense").is_err());
        assert!(Auth::basic_hash("u", "$2b$nonsense").is_err());
    }
}
