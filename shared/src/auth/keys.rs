use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand_core::OsRng;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// RS256 keys below 2048 bits are not accepted (NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no signing key configured")]
    Empty,
    #[error("signing key {index} is not an RSA private key in PKCS#8 or PKCS#1 PEM")]
    NotRsaPem { index: usize },
    #[error("signing key {index} has {bits} bits; at least {MIN_RSA_BITS} are required")]
    TooSmall { index: usize, bits: usize },
    #[error("could not generate or encode an RSA key: {0}")]
    Generate(String),
}

/// One public key in JWKS form (RFC 7517).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: &'static str,
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub n: String,
    pub e: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

pub(crate) struct RingKey {
    pub(crate) jwk: Jwk,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
}

/// The signing keys, oldest first. The newest signs; all verify and are published,
/// so tokens signed before a rotation stay valid until they expire.
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl KeyRing {
    pub fn from_private_pems<S: AsRef<str>>(pems: &[S]) -> Result<Self, KeyError> {
        let keys = pems
            .iter()
            .enumerate()
            .map(|(index, pem)| ring_key(index, pem.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self { keys })
    }

    pub(crate) fn signing_key(&self) -> &RingKey {
        // `from_private_pems` refuses an empty list, so there is always a last key.
        &self.keys[self.keys.len() - 1]
    }

    pub(crate) fn keys(&self) -> &[RingKey] {
        &self.keys
    }

    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().rev().map(|k| k.jwk.clone()).collect(),
        }
    }
}

fn ring_key(index: usize, pem: &str) -> Result<RingKey, KeyError> {
    let private = RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|_| KeyError::NotRsaPem { index })?;
    let bits = private.size() * 8;
    if bits < MIN_RSA_BITS {
        return Err(KeyError::TooSmall { index, bits });
    }
    let n = base64url_uint(private.n());
    let e = base64url_uint(private.e());
    let encoding =
        EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| KeyError::NotRsaPem { index })?;
    let decoding =
        DecodingKey::from_rsa_components(&n, &e).map_err(|_| KeyError::NotRsaPem { index })?;
    Ok(RingKey {
        jwk: Jwk {
            kty: "RSA",
            kid: thumbprint(&n, &e),
            use_: "sig",
            alg: "RS256",
            n,
            e,
        },
        encoding,
        decoding,
    })
}

fn base64url_uint(value: &BigUint) -> String {
    URL_SAFE_NO_PAD.encode(value.to_bytes_be())
}

/// RFC 7638 JWK thumbprint: a `kid` derived from the key itself, so it is stable
/// across restarts and hosts without any extra configuration.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A new 2048-bit RSA key as PKCS#8 PEM, for development set-ups that have none.
pub fn generate_private_key_pem() -> Result<String, KeyError> {
    let key = RsaPrivateKey::new(&mut OsRng, MIN_RSA_BITS)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    key.to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| KeyError::Generate(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_key_signs_and_all_are_published() {
        let old = generate_private_key_pem().unwrap();
        let new = generate_private_key_pem().unwrap();
        let ring = KeyRing::from_private_pems(&[old.clone(), new.clone()]).unwrap();
        let new_only = KeyRing::from_private_pems(&[new]).unwrap();
        assert_eq!(ring.signing_key().jwk.kid, new_only.signing_key().jwk.kid);
        let jwks = ring.jwks();
        assert_eq!(jwks.keys.len(), 2);
        assert_ne!(jwks.keys[0].kid, jwks.keys[1].kid);
        assert_eq!(jwks.keys[0].e, "AQAB");
    }

    #[test]
    fn kid_is_stable_for_the_same_key() {
        let pem = generate_private_key_pem().unwrap();
        let a = KeyRing::from_private_pems(&[&pem]).unwrap();
        let b = KeyRing::from_private_pems(&[&pem]).unwrap();
        assert_eq!(a.signing_key().jwk.kid, b.signing_key().jwk.kid);
        assert_eq!(a.signing_key().jwk.kid.len(), 43);
    }

    #[test]
    fn rejects_empty_garbage_and_small_keys() {
        assert!(matches!(
            KeyRing::from_private_pems::<&str>(&[]),
            Err(KeyError::Empty)
        ));
        assert!(matches!(
            KeyRing::from_private_pems(&[
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            ]),
            Err(KeyError::NotRsaPem { index: 0 })
        ));
        let small = RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
        let pem = small.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        assert!(matches!(
            KeyRing::from_private_pems(&[pem]),
            Err(KeyError::TooSmall { bits: 1024, .. })
        ));
    }
}
