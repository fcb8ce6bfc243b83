//! Optional authentication for the metrics endpoint.

use base64::Engine;

/// Credentials a scrape must present.
#[derive(Clone)]
pub enum Auth {
    /// HTTP basic auth with this user and password.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { user, .. } => f.debug_struct("Basic").field("user", user).finish_non_exhaustive(),
            Self::Bearer(_) => f.write_str("Bearer(..)"),
        }
    }
}

impl Auth {
    /// Whether an `Authorization` header value satisfies these credentials.
    /// Secrets are compared in constant time.
    pub fn check(&self, header: Option<&[u8]>) -> bool {
        let Some(header) = header.and_then(|h| std::str::from_utf8(h).ok()) else {
            return false;
        };
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header, ""));
        match self {
            Self::Bearer(token) => {
                scheme.eq_ignore_ascii_case("bearer") && same(rest.trim().as_bytes(), token.as_bytes())
            }
            Self::Basic { user, password } => {
                if !scheme.eq_ignore_ascii_case("basic") {
                    return false;
                }
                let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest.trim()) else {
                    return false;
                };
                same(&decoded, format!("{user}:{password}").as_bytes())
            }
        }
    }

    /// The `WWW-Authenticate` challenge for a 401.
    pub fn challenge(&self) -> &'static str {
        match self {
            Self::Basic { .. } => "Basic realm=\"metrics\", charset=\"UTF-8\"",
            Self::Bearer(_) => "Bearer realm=\"metrics\"",
        }
    }
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_bearer() {
        let basic = Auth::Basic { user: "prom".into(), password: "s3cret".into() };
        let good = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("prom:s3cret"));
        assert!(basic.check(Some(good.as_bytes())));
        for bad in ["", "Basic", "Basic !!!", "Bearer s3cret", "Basic cHJvbTp3cm9uZw=="] {
            assert!(!basic.check(Some(bad.as_bytes())), "{bad}");
        }
        assert!(!basic.check(None));
        let bearer = Auth::Bearer("tok".into());
        assert!(bearer.check(Some(b"Bearer tok")));
        assert!(bearer.check(Some(b"bearer  tok ")));
        assert!(!bearer.check(Some(b"Bearer tok2")));
        assert!(!bearer.check(Some(&[0xff, 0xfe])));
    }
}
