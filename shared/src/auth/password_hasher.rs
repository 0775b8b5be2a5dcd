use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::OsRng;

use crate::domain::Password;
use crate::error::Error;

/// Argon2id at the OWASP minimum (m = 19 MiB, t = 2, p = 1).
///
/// Hashing is deliberately slow (tens of ms): call it from a blocking thread.
/// Verifying against `DUMMY_HASH` lets a login for an unknown account do the same
/// work as one for a known account, so response time does not reveal which emails
/// exist.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
}

/// An Argon2id hash with this hasher's parameters, of 32 random bytes that were
/// thrown away. It was computed once, when this line was written, instead of at
/// every start: hashing at init cost each cold start a full Argon2id run (and its
/// 19 MiB). Nothing verifies against it successfully: `verify` answers false for a
/// missing account whatever the password. A test keeps its parameters equal to the
/// hasher's, so an unknown account costs exactly what a known one does.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$hTKZhxUvW8Lzq+XEfwL6Pg$TdQoWwO8ZLFb4TBzZ6SoHMd5+B4CcLguhSlD8ZbUlB4";

impl PasswordHasher {
    pub const MEMORY_KIB: u32 = 19_456;
    pub const ITERATIONS: u32 = 2;
    pub const PARALLELISM: u32 = 1;

    pub fn new() -> Result<Self, Error> {
        let params = Params::new(Self::MEMORY_KIB, Self::ITERATIONS, Self::PARALLELISM, None)
            .map_err(|e| Error::internal(format!("argon2 parameters: {e}")))?;
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        })
    }

    pub fn hash(&self, password: &Password) -> Result<String, Error> {
        let salt = SaltString::generate(&mut OsRng);
        self.hash_with_salt(password.expose().as_bytes(), &salt)
    }

    fn hash_with_salt(&self, password: &[u8], salt: &SaltString) -> Result<String, Error> {
        self.argon2
            .hash_password(password, salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::internal(format!("argon2 hash: {e}")))
    }

    /// Verifies `candidate` against `stored`, or against the dummy hash when there is
    /// no stored hash (then the answer is always false, after the same work).
    pub fn verify(&self, candidate: &str, stored: Option<&str>) -> bool {
        let phc = stored.unwrap_or(DUMMY_HASH);
        let Ok(parsed) = PasswordHash::new(phc) else {
            tracing::error!("stored password hash is not a PHC string");
            return false;
        };
        let matched = self
            .argon2
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok();
        matched && stored.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_with_the_required_cost() {
        let hasher = PasswordHasher::new().unwrap();
        let password = Password::parse("correct horse battery".to_owned()).unwrap();
        let phc = hasher.hash(&password).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify("correct horse battery", Some(&phc)));
        assert!(!hasher.verify("correct horse batterz", Some(&phc)));
    }

    #[test]
    fn salts_differ_between_hashes() {
        let hasher = PasswordHasher::new().unwrap();
        let password = Password::parse("correct horse battery".to_owned()).unwrap();
        assert_ne!(
            hasher.hash(&password).unwrap(),
            hasher.hash(&password).unwrap()
        );
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_hash_costs() {
        let hasher = PasswordHasher::new().unwrap();
        let password = Password::parse("correct horse battery".to_owned()).unwrap();
        let real = PasswordHash::new(&hasher.hash(&password).unwrap())
            .unwrap()
            .to_string();
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let params = |phc: &PasswordHash| {
            (
                phc.algorithm.to_string(),
                phc.version,
                phc.params.to_string(),
                phc.hash.map(|h| h.len()),
            )
        };
        assert_eq!(params(&dummy), params(&PasswordHash::new(&real).unwrap()));
    }

    #[test]
    fn unknown_account_never_verifies() {
        let hasher = PasswordHasher::new().unwrap();
        assert!(!hasher.verify("skiff dummy password for timing", None));
        assert!(!hasher.verify("anything at all", Some("not a phc string")));
    }
}
