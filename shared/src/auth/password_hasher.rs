use std::sync::Arc;

use argon2::password_hash::{
    self, Output, ParamsString, PasswordHash, PasswordVerifier, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::OsRng;

use super::argon2_memory::Argon2Memory;
use crate::domain::Password;
use crate::error::Error;

/// Argon2id at the OWASP minimum (m = 19 MiB, t = 2, p = 1).
///
/// Hashing is deliberately slow (tens of ms): call it from a blocking thread.
/// Verifying against `DUMMY_HASH` lets a login for an unknown account do the same
/// work as one for a known account, so response time does not reveal which emails
/// exist. Hashes reuse their working memory (see `argon2_memory`).
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    memory: Arc<Argon2Memory>,
}

/// An Argon2id hash with this hasher's parameters, of 32 random bytes that were
/// thrown away. It was computed once, when this line was written, instead of at
/// every start: hashing at init cost each cold start a full Argon2id run (and its
/// 19 MiB). Nothing verifies against it successfully: `verify` answers false for a
/// missing account whatever the password. A test keeps its parameters equal to the
/// hasher's, so an unknown account costs exactly what a known one does.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$hTKZhxUvW8Lzq+XEfwL6Pg$TdQoWwO8ZLFb4TBzZ6SoHMd5+B4CcLguhSlD8ZbUlB4";

impl PasswordHasher {
    /// Argon2id memory per hash, KiB (OWASP's minimum).
    pub const MEMORY_KIB: u32 = 19_456;
    /// Argon2id passes.
    pub const ITERATIONS: u32 = 2;
    /// Argon2id lanes.
    pub const PARALLELISM: u32 = 1;

    /// The hasher; its Argon2 working memory is reused from one hash to the next.
    pub fn new() -> Result<Self, Error> {
        let params = Params::new(Self::MEMORY_KIB, Self::ITERATIONS, Self::PARALLELISM, None)
            .map_err(|e| Error::internal(format!("argon2 parameters: {e}")))?;
        Ok(Self {
            memory: Arc::new(Argon2Memory::new(params.block_count())),
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
        })
    }

    /// A PHC string with a fresh salt.
    pub fn hash(&self, password: &Password) -> Result<String, Error> {
        self.hash_raw(password.expose().as_bytes())
    }

    /// A hash of bytes already known to be a password (one that just verified).
    pub(super) fn hash_raw(&self, password: &[u8]) -> Result<String, Error> {
        let salt = SaltString::generate(&mut OsRng);
        self.hash_with_salt(password, salt.as_salt())
            .map_err(|e| Error::internal(format!("argon2 hash: {e}")))
    }

    /// Whether `stored` is weaker than what this hasher writes today (another
    /// algorithm or version, less memory, fewer passes or lanes, a shorter output),
    /// so a successful login should replace it.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        let current = self.argon2.params();
        parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13.into())
            || params.m_cost() < current.m_cost()
            || params.t_cost() < current.t_cost()
            || params.p_cost() < current.p_cost()
            || parsed
                .hash
                .is_none_or(|h| h.len() < Params::DEFAULT_OUTPUT_LEN)
    }

    /// What `argon2::PasswordHasher::hash_password` returns, computed in pooled
    /// memory.
    fn hash_with_salt(&self, password: &[u8], salt: Salt<'_>) -> password_hash::Result<String> {
        let output = self.compute(&self.argon2, password, salt, Params::DEFAULT_OUTPUT_LEN)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(self.argon2.params())?,
            salt: Some(salt),
            hash: Some(output),
        };
        Ok(phc.to_string())
    }

    /// `argon2`'s hash of `password` with `salt`, `len` bytes long, in a pooled
    /// buffer (`argon2`'s block count must fit in one: see `Argon2Memory::fits`).
    fn compute(
        &self,
        argon2: &Argon2<'_>,
        password: &[u8],
        salt: Salt<'_>,
        len: usize,
    ) -> password_hash::Result<Output> {
        let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        Output::init_with(len, |output| {
            self.memory.with(|blocks| {
                argon2.hash_password_into_with_memory(password, salt_bytes, output, blocks)
            })?;
            Ok(())
        })
    }

    /// An Argon2id hash of `password` under older, cheaper parameters (m = 4 MiB,
    /// t = 1), as a store may still hold one.
    #[cfg(test)]
    pub(crate) fn weaker_hash_for_tests(password: &str) -> String {
        use argon2::password_hash::PasswordHasher as _;
        Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4_096, 1, 1, None).unwrap(),
        )
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string()
    }

    /// Verifies `candidate` against `stored`, or against the dummy hash when there is
    /// no stored hash (then the answer is always false, after the same work).
    pub fn verify(&self, candidate: &str, stored: Option<&str>) -> bool {
        let phc = stored.unwrap_or(DUMMY_HASH);
        let Ok(parsed) = PasswordHash::new(phc) else {
            tracing::error!("stored password hash is not a PHC string");
            return false;
        };
        match self.matches(candidate.as_bytes(), &parsed) {
            Ok(matched) => matched && stored.is_some(),
            Err(e) => {
                tracing::error!(error = %e, "stored password hash cannot be verified");
                false
            }
        }
    }

    /// Recomputes the hash with the stored hash's own algorithm, version, parameters
    /// and salt, and compares in constant time (`Output`'s `==`). A hash stored with
    /// more memory than this hasher's buffers (older, stronger parameters) is checked
    /// by the crate, in memory of its own.
    fn matches(&self, candidate: &[u8], stored: &PasswordHash<'_>) -> password_hash::Result<bool> {
        let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
            return Err(password_hash::Error::PhcStringField);
        };
        let algorithm = Algorithm::try_from(stored.algorithm)?;
        let version = stored
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let params = Params::try_from(stored)?;
        let fits = self.memory.fits(params.block_count());
        let argon2 = Argon2::new(algorithm, version, params);
        if !fits {
            return Ok(argon2.verify_password(candidate, stored).is_ok());
        }
        // `Output`'s `==` compares in constant time.
        Ok(self.compute(&argon2, candidate, salt, expected.len())? == expected)
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
    fn only_weaker_hashes_need_a_rehash() {
        use argon2::password_hash::PasswordHasher as _;
        let hasher = PasswordHasher::new().unwrap();
        let password = Password::parse("correct horse battery".to_owned()).unwrap();
        assert!(!hasher.needs_rehash(&hasher.hash(&password).unwrap()));
        let salt = SaltString::generate(&mut OsRng);
        for (algorithm, m, t) in [
            (Algorithm::Argon2id, 4_096, 2),
            (Algorithm::Argon2id, 19_456, 1),
            (Algorithm::Argon2i, 19_456, 2),
        ] {
            let phc = Argon2::new(
                algorithm,
                Version::V0x13,
                Params::new(m, t, 1, None).unwrap(),
            )
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
            assert!(hasher.needs_rehash(&phc), "{phc}");
        }
        // Stronger than today is left alone.
        let strong = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32_768, 3, 1, None).unwrap(),
        )
        .hash_password(b"correct horse battery", &salt)
        .unwrap()
        .to_string();
        assert!(!hasher.needs_rehash(&strong));
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

    /// The pooled computation is the crate's own: same PHC string for the same salt.
    #[test]
    fn pooled_hashes_equal_the_crates_hashes() {
        use argon2::password_hash::PasswordHasher as _;
        let hasher = PasswordHasher::new().unwrap();
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let ours = hasher
            .hash_with_salt(b"correct horse battery", salt.as_salt())
            .unwrap();
        let theirs = hasher
            .argon2
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert_eq!(ours, theirs);
    }

    /// Hashes stored under other parameters (an older, cheaper or stronger setting)
    /// still verify: smaller ones in the pooled buffer, larger ones in the crate's.
    #[test]
    fn hashes_with_other_parameters_verify() {
        use argon2::password_hash::PasswordHasher as _;
        let hasher = PasswordHasher::new().unwrap();
        for (m_kib, t, output_len) in [(4_096, 3, 32), (32_768, 1, 32), (8_192, 2, 16)] {
            let params = Params::new(m_kib, t, 1, Some(output_len)).unwrap();
            let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
            let salt = SaltString::generate(&mut OsRng);
            let phc = other
                .hash_password(b"correct horse battery", &salt)
                .unwrap()
                .to_string();
            assert!(hasher.verify("correct horse battery", Some(&phc)), "{phc}");
            assert!(!hasher.verify("correct horse batterz", Some(&phc)), "{phc}");
        }
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(1_024, 2, 1, None).unwrap(),
        );
        let phc = argon2i
            .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(hasher.verify("correct horse battery", Some(&phc)), "{phc}");
        assert!(!hasher.verify("correct horse batterz", Some(&phc)), "{phc}");
    }

    /// One buffer serves hash after hash; hashes running at once each get their own
    /// and still verify.
    #[test]
    fn working_memory_is_kept_between_hashes() {
        let hasher = PasswordHasher::new().unwrap();
        let password = Password::parse("correct horse battery".to_owned()).unwrap();
        let phc = hasher.hash(&password).unwrap();
        assert_eq!(hasher.memory.idle_buffers(), 1);
        assert!(hasher.verify("correct horse battery", Some(&phc)));
        assert!(!hasher.verify("skiff", None));
        assert_eq!(hasher.memory.idle_buffers(), 1);

        let threads: Vec<_> = (0..3)
            .map(|i| {
                let hasher = hasher.clone();
                let phc = phc.clone();
                std::thread::spawn(move || {
                    let right = hasher.verify("correct horse battery", Some(&phc));
                    let wrong = hasher.verify(&format!("wrong {i}"), Some(&phc));
                    right && !wrong
                })
            })
            .collect();
        for thread in threads {
            assert!(thread.join().unwrap());
        }
        let idle = hasher.memory.idle_buffers();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert!((1..=cores).contains(&idle), "{idle} idle buffers");
    }
}
