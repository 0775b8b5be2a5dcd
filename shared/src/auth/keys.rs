use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use ring::rsa::PublicKeyComponents;
use ring::signature::RsaKeyPair;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// RS256 keys below 2048 bits are not accepted (NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;
/// The largest signing key ring signs with (verification takes up to 8192 bits).
const MAX_SIGNING_RSA_BITS: usize = 4096;

#[derive(Debug, thiserror::Error)]
/// Why signing or verification keys were refused; names the key's position.
pub enum KeyError {
    #[error("no signing key configured")]
    /// No key at all.
    Empty,
    #[error("signing key {index} is not an RSA private key in PKCS#8 or PKCS#1 PEM")]
    /// Not an RSA private key in PEM.
    NotRsaPem {
        /// Its position, from 0.
        index: usize,
    },
    #[error("key {index} has {bits} bits; at least {MIN_RSA_BITS} are required")]
    /// Under 2048 bits.
    TooSmall {
        /// Its position, from 0.
        index: usize,
        /// Its size.
        bits: usize,
    },
    #[error("signing key {index} has {bits} bits; at most {MAX_SIGNING_RSA_BITS} are supported")]
    /// Over 4096 bits.
    TooLarge {
        /// Its position, from 0.
        index: usize,
        /// Its size.
        bits: usize,
    },
    #[error("the JWKS is not valid JSON of the form {{\"keys\": [...]}}: {0}")]
    /// The JWKS does not parse.
    JwksJson(JsonErrorAt),
    #[error("JWKS key {index} is not a usable RS256 signing key: {reason}")]
    /// A JWKS entry that cannot verify RS256.
    BadJwk {
        /// Its position, from 0.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    #[error("could not generate or encode an RSA key: {0}")]
    /// Key generation failed.
    Generate(String),
    #[error("the signing keys are not one PEM or {{\"keys\": [pem, ...]}}: {0}")]
    /// The key list does not parse.
    KeyListJson(JsonErrorAt),
}

/// Where a JSON document failed to parse, and how, without the message serde_json
/// writes: that can quote the offending value, and in a secret the value is a key.
#[derive(Debug, PartialEq, Eq)]
pub struct JsonErrorAt {
    line: usize,
    column: usize,
    category: &'static str,
}

impl From<serde_json::Error> for JsonErrorAt {
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        Self {
            line: e.line(),
            column: e.column(),
            category: match e.classify() {
                Category::Io => "unreadable",
                Category::Syntax => "not JSON",
                Category::Data => "JSON of the wrong shape",
                Category::Eof => "cut short",
            },
        }
    }
}

impl std::fmt::Display for JsonErrorAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at line {}, column {}",
            self.category, self.line, self.column
        )
    }
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
    /// Always `RSA`.
    pub kty: String,
    /// The key's RFC 7638 thumbprint.
    pub kid: String,
    #[serde(rename = "use")]
    /// Always `sig`.
    pub use_: String,
    /// Always `RS256`.
    pub alg: String,
    /// The modulus, base64url.
    pub n: String,
    /// The exponent, base64url.
    pub e: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
/// A JSON Web Key Set, as `/.well-known/jwks.json` serves it.
pub struct Jwks {
    /// Oldest first.
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
        let jwks: Jwks = serde_json::from_str(json).map_err(|e| KeyError::JwksJson(e.into()))?;
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

    /// The public keys as a JWKS.
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
    /// Every private key, newest first, for `derived_secrets`.
    private: Vec<EncodingKey>,
}

impl KeyRing {
    /// Private keys, oldest first; the last signs.
    pub fn from_private_pems<S: AsRef<str>>(pems: &[S]) -> Result<Self, KeyError> {
        let mut public = Vec::with_capacity(pems.len());
        let mut private = Vec::with_capacity(pems.len());
        for (index, pem) in pems.iter().enumerate() {
            let (jwk, encoding) = parse_private(index, pem.as_ref())?;
            let decoding = DecodingKey::from_rsa_components(&jwk.n, &jwk.e)
                .map_err(|_| KeyError::NotRsaPem { index })?;
            private.push(encoding);
            public.push((jwk, decoding));
        }
        public.reverse();
        private.reverse();
        let signing_kid = public.first().ok_or(KeyError::Empty)?.0.kid.clone();
        let signing = private.first().ok_or(KeyError::Empty)?.clone();
        Ok(Self {
            signing_kid,
            signing,
            public: PublicKeys { keys: public },
            private,
        })
    }

    /// Keys as a secret store holds them (Secrets Manager, Key Vault through an
    /// app setting): one PEM, or `{"keys": [pem, …]}` oldest first.
    pub fn from_secret(secret: &str) -> Result<Self, KeyError> {
        let trimmed = secret.trim_start();
        if trimmed.starts_with('{') {
            let list: KeyList =
                serde_json::from_str(trimmed).map_err(|e| KeyError::KeyListJson(e.into()))?;
            Self::from_private_pems(&list.keys)
        } else {
            Self::from_private_pems(&[secret])
        }
    }

    pub(crate) fn signing_key(&self) -> (&str, &EncodingKey) {
        (&self.signing_kid, &self.signing)
    }

    /// The keys that verify, without the private parts.
    pub fn public_keys(&self) -> &PublicKeys {
        &self.public
    }

    /// 256-bit secrets derived from the private keys, newest first, for a purpose
    /// other than signing tokens (sealing queue messages): nothing else has to be
    /// configured or rotated, and `purpose` keeps each use's secrets apart.
    pub fn derived_secrets(&self, purpose: &str) -> Vec<[u8; 32]> {
        self.private
            .iter()
            .map(|key| {
                let mut hash = Sha256::new();
                hash.update((purpose.len() as u64).to_be_bytes());
                hash.update(purpose.as_bytes());
                hash.update(key.as_bytes());
                hash.finalize().into()
            })
            .collect()
    }
}

/// jsonwebtoken reads the PEM (PKCS#8 or PKCS#1) and hands back the PKCS#1 key;
/// ring checks it is a consistent RSA key and gives its public half.
fn parse_private(index: usize, pem: &str) -> Result<(Jwk, EncodingKey), KeyError> {
    let encoding =
        EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| KeyError::NotRsaPem { index })?;
    let pair = RsaKeyPair::from_der(encoding.as_bytes()).map_err(|rejected| {
        let bits = modulus_bits(encoding.as_bytes());
        match rejected.to_string().as_str() {
            "TooSmall" => KeyError::TooSmall { index, bits },
            "TooLarge" => KeyError::TooLarge { index, bits },
            _ => KeyError::NotRsaPem { index },
        }
    })?;
    let public = PublicKeyComponents::<Vec<u8>>::from(pair.public());
    let bits = public.n.len() * 8;
    if bits < MIN_RSA_BITS {
        return Err(KeyError::TooSmall { index, bits });
    }
    let n = URL_SAFE_NO_PAD.encode(&public.n);
    let e = URL_SAFE_NO_PAD.encode(&public.e);
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

/// The size of a PKCS#1 key ring refused as too small or too large, for the error message:
/// the length of its first INTEGER after the version (the modulus).
fn modulus_bits(pkcs1: &[u8]) -> usize {
    // SEQUENCE { INTEGER version, INTEGER n, ... }: skip the sequence header and
    // the version, then read n's length. Anything unexpected reports 0 bits.
    let read_len = |bytes: &[u8], at: usize| -> Option<(usize, usize)> {
        let first = *bytes.get(at)?;
        if first < 0x80 {
            return Some((usize::from(first), at + 1));
        }
        let count = usize::from(first & 0x7f);
        let mut len = 0usize;
        for i in 0..count {
            len = (len << 8) | usize::from(*bytes.get(at + 1 + i)?);
        }
        Some((len, at + 1 + count))
    };
    let parse = || -> Option<usize> {
        let (_, body) = read_len(pkcs1, 1)?;
        let (version_len, version_body) = read_len(pkcs1, body + 1)?;
        let n_at = version_body + version_len;
        let (n_len, n_body) = read_len(pkcs1, n_at + 1)?;
        let n = pkcs1.get(n_body..n_body + n_len)?;
        Some(n.iter().skip_while(|b| **b == 0).count() * 8)
    };
    parse().unwrap_or(0)
}

/// RFC 7638 JWK thumbprint: a `kid` derived from the key itself, so it is stable
/// across restarts and hosts without any extra configuration.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A new 2048-bit RSA key as PKCS#8 PEM, for development set-ups that have none
/// (feature `dev-keys`, which `sqlite` turns on). On aws-lc: ring cannot generate
/// RSA keys, and the deployed functions never need to, so only the local server
/// and the tests link it.
#[cfg(any(test, feature = "dev-keys"))]
pub fn generate_private_key_pem() -> Result<String, KeyError> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| KeyError::Generate("aws-lc could not generate a key".into()))?;
    let der = pair
        .as_der()
        .map_err(|_| KeyError::Generate("aws-lc could not encode the key".into()))?;
    Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1024-bit key made once with `openssl genpkey`: too small to accept, and
    /// no library here generates one.
    const SMALL_KEY: &str = include_str!("test_rsa_1024.pem");
    /// A 4608-bit key made the same way: larger than ring signs with.
    const LARGE_KEY: &str = include_str!("test_rsa_4608.pem");

    /// A malformed secret is reported by position, never quoted: the value of a
    /// signing-key secret is a private key.
    #[test]
    fn a_malformed_secret_is_never_echoed() {
        let pem = generate_private_key_pem().unwrap();
        let body_line = pem.lines().nth(5).unwrap().to_owned();
        for secret in [
            serde_json::json!({ "keys": pem }).to_string(),
            serde_json::json!({ "keys": { "pem": pem } }).to_string(),
            format!("{{\"keys\": [\"{}", pem.replace('\n', "\\n")),
        ] {
            let Err(error) = KeyRing::from_secret(&secret) else {
                panic!("a malformed secret was accepted");
            };
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains(&body_line), "{shown}");
            assert!(!shown.contains("BEGIN"), "{shown}");
        }
    }

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
        assert!(matches!(
            KeyRing::from_private_pems(&[SMALL_KEY]),
            Err(KeyError::TooSmall { bits: 1024, .. })
        ));
        let too_large = KeyRing::from_private_pems(&[LARGE_KEY]).err();
        assert!(
            matches!(
                too_large,
                Some(KeyError::TooLarge {
                    index: 0,
                    bits: 4608
                })
            ),
            "{too_large:?}"
        );
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
        let json = serde_json::json!({ "keys": [{
            "kty": "RSA", "kid": "k", "use": "sig", "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode([0xab; 128]), "e": "AQAB"
        }] })
        .to_string();
        assert!(matches!(
            PublicKeys::from_jwks_json(&json),
            Err(KeyError::TooSmall { .. })
        ));
    }
}
