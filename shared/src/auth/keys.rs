use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand_core::OsRng;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// RS256 keys below 2048 bits are not accepted (NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no signing key configured")]
    Empty,
    #[error("signing key {index} is not an RSA private key in PKCS#8 or PKCS#1 PEM")]
    NotRsaPem { index: usize },
    #[error("key {index} has {bits} bits; at least {MIN_RSA_BITS} are required")]
    TooSmall { index: usize, bits: usize },
    #[error("the JWKS is not valid JSON of the form {{\"keys\": [...]}}: {0}")]
    JwksJson(String),
    #[error("JWKS key {index} is not a usable RS256 signing key: {reason}")]
    BadJwk { index: usize, reason: &'static str },
    #[error("could not generate or encode an RSA key: {0}")]
    Generate(String),
    #[error("the signing keys are not one PEM or {{\"keys\": [pem, ...]}}: {0}")]
    KeyListJson(String),
}

/// A secret or setting holding signing keys: one PEM, or `{"keys": [pem, …]}`
/// oldest first (the last signs).
#[derive(Deserialize)]
struct KeyList {
    keys: Vec<String>,
}

/// One public key in JWKS form (RFC 7517).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
    pub n: String,
    pub e: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// The keys that verify access tokens, newest first. Hosts that only verify (the
/// session function) build this from a published JWKS and never see a private key.
#[derive(Clone)]
pub struct PublicKeys {
    keys: Vec<(Jwk, DecodingKey)>,
}

impl PublicKeys {
    /// Parses a JWKS document (as published at `/.well-known/jwks.json`).
    pub fn from_jwks_json(json: &str) -> Result<Self, KeyError> {
        let jwks: Jwks =
            serde_json::from_str(json).map_err(|e| KeyError::JwksJson(e.to_string()))?;
        let keys = jwks
            .keys
            .into_iter()
            .enumerate()
            .map(|(index, jwk)| {
                let bad = |reason| KeyError::BadJwk { index, reason };
                if jwk.kty != "RSA" || jwk.alg != "RS256" || jwk.use_ != "sig" {
                    return Err(bad("kty must be RSA, alg RS256 and use sig"));
                }
                if jwk.kid.is_empty() {
                    return Err(bad("kid is empty"));
                }
                let modulus = URL_SAFE_NO_PAD
                    .decode(&jwk.n)
                    .map_err(|_| bad("n is not base64url"))?;
                let bits = modulus.iter().skip_while(|b| **b == 0).count() * 8;
                if bits < MIN_RSA_BITS {
                    return Err(KeyError::TooSmall { index, bits });
                }
                let decoding = DecodingKey::from_rsa_components(&jwk.n, &jwk.e)
                    .map_err(|_| bad("n and e do not form an RSA key"))?;
                Ok((jwk, decoding))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self { keys })
    }

    pub(crate) fn decoding_keys(&self) -> impl Iterator<Item = (&str, &DecodingKey)> {
        self.keys.iter().map(|(jwk, key)| (jwk.kid.as_str(), key))
    }

    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().map(|(jwk, _)| jwk.clone()).collect(),
        }
    }
}

/// The signing keys, oldest first as configured. The newest signs; all verify and are
/// published, so tokens signed before a rotation stay valid until they expire.
pub struct KeyRing {
    signing_kid: String,
    signing: EncodingKey,
    public: PublicKeys,
}

impl KeyRing {
    pub fn from_private_pems<S: AsRef<str>>(pems: &[S]) -> Result<Self, KeyError> {
        let mut public = Vec::with_capacity(pems.len());
        let mut signing = None;
        for (index, pem) in pems.iter().enumerate() {
            let (jwk, encoding) = parse_private(index, pem.as_ref())?;
            let decoding = DecodingKey::from_rsa_components(&jwk.n, &jwk.e)
                .map_err(|_| KeyError::NotRsaPem { index })?;
            signing = Some((jwk.kid.clone(), encoding));
            public.push((jwk, decoding));
        }
        let (signing_kid, signing) = signing.ok_or(KeyError::Empty)?;
        public.reverse();
        Ok(Self {
            signing_kid,
            signing,
            public: PublicKeys { keys: public },
        })
    }

    /// Keys as a secret store holds them (Secrets Manager, Key Vault through an
    /// app setting): one PEM, or `{"keys": [pem, …]}` oldest first.
    pub fn from_secret(secret: &str) -> Result<Self, KeyError> {
        let trimmed = secret.trim_start();
        if trimmed.starts_with('{') {
            let list: KeyList =
                serde_json::from_str(trimmed).map_err(|e| KeyError::KeyListJson(e.to_string()))?;
            Self::from_private_pems(&list.keys)
        } else {
            Self::from_private_pems(&[secret])
        }
    }

    pub(crate) fn signing_key(&self) -> (&str, &EncodingKey) {
        (&self.signing_kid, &self.signing)
    }

    pub fn public_keys(&self) -> &PublicKeys {
        &self.public
    }
}

fn parse_private(index: usize, pem: &str) -> Result<(Jwk, EncodingKey), KeyError> {
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
    let jwk = Jwk {
        kty: "RSA".into(),
        kid: thumbprint(&n, &e),
        use_: "sig".into(),
        alg: "RS256".into(),
        n,
        e,
    };
    Ok((jwk, encoding))
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
        let ring = KeyRing::from_private_pems(&[old, new.clone()]).unwrap();
        let new_only = KeyRing::from_private_pems(&[new]).unwrap();
        assert_eq!(ring.signing_key().0, new_only.signing_key().0);
        let jwks = ring.public_keys().jwks();
        assert_eq!(jwks.keys.len(), 2);
        assert_eq!(jwks.keys[0].kid, ring.signing_key().0, "newest first");
        assert_ne!(jwks.keys[0].kid, jwks.keys[1].kid);
        assert_eq!(jwks.keys[0].e, "AQAB");
    }

    #[test]
    fn kid_is_stable_for_the_same_key() {
        let pem = generate_private_key_pem().unwrap();
        let a = KeyRing::from_private_pems(&[&pem]).unwrap();
        let b = KeyRing::from_private_pems(&[&pem]).unwrap();
        assert_eq!(a.signing_key().0, b.signing_key().0);
        assert_eq!(a.signing_key().0.len(), 43);
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

    #[test]
    fn public_keys_round_trip_through_their_jwks() {
        let ring = KeyRing::from_private_pems(&[generate_private_key_pem().unwrap()]).unwrap();
        let json = serde_json::to_string(&ring.public_keys().jwks()).unwrap();
        let parsed = PublicKeys::from_jwks_json(&json).unwrap();
        assert_eq!(parsed.jwks().keys, ring.public_keys().jwks().keys);
    }

    #[test]
    fn refuses_unusable_jwks() {
        assert!(matches!(
            PublicKeys::from_jwks_json("{}"),
            Err(KeyError::JwksJson(_))
        ));
        assert!(matches!(
            PublicKeys::from_jwks_json(r#"{"keys": []}"#),
            Err(KeyError::Empty)
        ));
        let ring = KeyRing::from_private_pems(&[generate_private_key_pem().unwrap()]).unwrap();
        let mut jwk = ring.public_keys().jwks().keys[0].clone();
        jwk.alg = "HS256".into();
        let json = serde_json::json!({ "keys": [jwk] }).to_string();
        assert!(matches!(
            PublicKeys::from_jwks_json(&json),
            Err(KeyError::BadJwk { index: 0, .. })
        ));
        let small = RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
        let json = serde_json::json!({ "keys": [{
            "kty": "RSA", "kid": "k", "use": "sig", "alg": "RS256",
            "n": base64url_uint(small.n()), "e": "AQAB"
        }] })
        .to_string();
        assert!(matches!(
            PublicKeys::from_jwks_json(&json),
            Err(KeyError::TooSmall { .. })
        ));
    }
}
