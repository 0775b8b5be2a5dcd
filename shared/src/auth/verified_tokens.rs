use std::sync::Mutex;

use hashlink::LruCache;

use super::AccessClaims;

/// Access tokens this process has already verified, by their exact text.
///
/// A client sends the same token with every request until it expires, and the
/// RS256 signature check of that token was the largest single cost of an
/// authenticated request under load (about 14 µs of CPU, more than the session
/// read). A hit costs a hash lookup instead. Only a byte-identical token is a hit,
/// so nothing a verifier would refuse can be served from here; the expiry is
/// checked again on every hit, and the session behind the token is still read on
/// every request, so a logout or revocation takes effect at once.
pub(super) struct VerifiedTokens {
    entries: Mutex<LruCache<Box<str>, AccessClaims>>,
}

impl VerifiedTokens {
    /// Enough for the clients one process serves at once (an entry is about a
    /// kilobyte: the token and its claims); the least recently used goes first.
    const CAPACITY: usize = 2048;

    pub(super) fn new() -> Self {
        Self {
            entries: Mutex::new(LruCache::new(Self::CAPACITY)),
        }
    }

    /// The claims of `token` if it was verified before and has not expired at
    /// `now` (Unix seconds, with `leeway` seconds of clock skew allowed, the rule
    /// the full verification applies).
    pub(super) fn get(&self, token: &str, now: u64, leeway: u64) -> Option<AccessClaims> {
        // A poisoned lock only means another thread panicked mid-lookup: the
        // cache is then skipped, and every token is verified in full.
        let mut entries = self.entries.lock().ok()?;
        let claims = entries.get(token)?;
        let unexpired =
            u64::try_from(claims.exp).is_ok_and(|exp| exp >= now.saturating_sub(leeway));
        if unexpired {
            Some(claims.clone())
        } else {
            entries.remove(token);
            None
        }
    }

    /// Remembers a token that passed full verification.
    pub(super) fn insert(&self, token: &str, claims: &AccessClaims) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(token.into(), claims.clone());
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SessionId, UserId};

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "iss".into(),
            aud: "aud".into(),
            sub: UserId::new_random(),
            sid: SessionId::new_random(),
            iat: exp - 900,
            exp,
            jti: "j".into(),
        }
    }

    #[test]
    fn a_hit_is_the_exact_token_until_it_expires() {
        let cache = VerifiedTokens::new();
        let remembered = claims(1_000);
        cache.insert("a.b.c", &remembered);
        assert_eq!(cache.get("a.b.c", 1_000, 5), Some(remembered.clone()));
        assert_eq!(cache.get("a.b.c", 1_005, 5), Some(remembered));
        assert_eq!(cache.get("a.b.C", 1_000, 5), None, "another text");
        assert_eq!(
            cache.get("a.b.c", 1_006, 5),
            None,
            "expired past the leeway"
        );
        assert_eq!(cache.len(), 0, "an expired entry is dropped");
    }

    #[test]
    fn it_keeps_at_most_its_capacity() {
        let cache = VerifiedTokens::new();
        for n in 0..VerifiedTokens::CAPACITY + 10 {
            cache.insert(&format!("token-{n}"), &claims(1_000));
        }
        assert_eq!(cache.len(), VerifiedTokens::CAPACITY);
        assert_eq!(cache.get("token-0", 0, 5), None, "the oldest went first");
        assert!(
            cache
                .get(&format!("token-{}", VerifiedTokens::CAPACITY + 9), 0, 5)
                .is_some()
        );
    }
}
