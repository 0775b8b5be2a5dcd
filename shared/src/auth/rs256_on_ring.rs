//! RS256 for `jsonwebtoken`, on ring.
//!
//! jsonwebtoken signs and verifies through a process-wide `CryptoProvider`, and
//! ships two: aws-lc, whose C library is about 1.3 MB of every Lambda binary next to
//! the ring that rustls already links there, and RustCrypto's `rsa`, which has an
//! open timing advisory (RUSTSEC-2023-0071). ring's RSA is BoringSSL's
//! constant-time code and is in every binary anyway. No maintained crate offers a
//! ring provider for jsonwebtoken 10 or later, so this one is written here, and it
//! covers only what Skiff uses: RS256 (RSASSA-PKCS1-v1_5 with SHA-256), the one
//! algorithm Skiff signs with and the only one it accepts, on its own tokens and on
//! a federated identity provider's.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature::{Error as SignatureError, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::rsa::PublicKeyComponents;
use ring::signature::{self as ring_signature, RsaKeyPair, UnparsedPublicKey};

/// The provider: RS256 only; every other algorithm is refused as invalid.
pub(crate) static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components_of_private_key,
        rsa_pub_components_from_public_key: rsa_components_of_public_key,
        ec_pub_components_from_private_key: |_, _| Err(ErrorKind::InvalidAlgorithm.into()),
        ed_pub_components_from_private_key: no_ed_components,
        compute_digest: digest,
    },
};

/// Makes the provider the process default, before Skiff's first signature or
/// verification (every signer and verifier calls it when it is made). If the
/// application installed a provider of its own first, that one stays: any
/// provider that implements RS256 gives the same answers.
pub(crate) fn install() {
    // `Err` only says a provider is installed already.
    let _ = PROVIDER.install_default();
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::RS256 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    if key.family() != AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    // The PKCS#1 key jsonwebtoken decoded from the PEM; ring checks it is consistent.
    let pair = RsaKeyPair::from_der(key.as_bytes())
        .map_err(|rejected| ErrorKind::InvalidRsaKey(rejected.to_string()))?;
    Ok(Box::new(Rs256Signer(pair)))
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::RS256 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    if key.family() != AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Box::new(Rs256Verifier(key.clone())))
}

struct Rs256Signer(RsaKeyPair);

impl Signer<Vec<u8>> for Rs256Signer {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, SignatureError> {
        let mut signature = vec![0; self.0.public().modulus_len()];
        self.0
            .sign(
                &ring_signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            // ring says only that it failed (`Unspecified`): there is nothing to add.
            .map_err(|_| SignatureError::new())?;
        Ok(signature)
    }
}

impl JwtSigner for Rs256Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

struct Rs256Verifier(DecodingKey);

impl Verifier<Vec<u8>> for Rs256Verifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), SignatureError> {
        // Moduli of 2048 to 8192 bits, as NIST SP 800-131A and every identity
        // provider's keys allow.
        let parameters = &ring_signature::RSA_PKCS1_2048_8192_SHA256;
        match self.0.kind() {
            DecodingKeyKind::RsaModulusExponent { n, e } => {
                ring_signature::RsaPublicKeyComponents { n, e }
                    .verify(parameters, message, signature)
            }
            // A PKCS#1 RSAPublicKey, as `DecodingKey::from_rsa_pem` and `from_rsa_der` hold it.
            DecodingKeyKind::SecretOrDer(der) => {
                UnparsedPublicKey::new(parameters, der).verify(message, signature)
            }
        }
        .map_err(|_| SignatureError::new())
    }
}

impl JwtVerifier for Rs256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

fn rsa_components_of_private_key(pkcs1: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let pair = RsaKeyPair::from_der(pkcs1)
        .map_err(|rejected| ErrorKind::InvalidRsaKey(rejected.to_string()))?;
    let components = PublicKeyComponents::<Vec<u8>>::from(pair.public());
    Ok((components.n, components.e))
}

/// The modulus and exponent of a PKCS#1 RSAPublicKey: SEQUENCE { INTEGER n, INTEGER e }.
fn rsa_components_of_public_key(pkcs1: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let invalid = || ErrorKind::InvalidRsaKey("not a PKCS#1 RSA public key".into());
    let (body, rest) = der_element(pkcs1, 0x30).ok_or_else(invalid)?;
    let (n, after_n) = der_element(body, 0x02).ok_or_else(invalid)?;
    let (e, after_e) = der_element(after_n, 0x02).ok_or_else(invalid)?;
    if !rest.is_empty() || !after_e.is_empty() {
        return Err(invalid().into());
    }
    let positive = |integer: &[u8]| integer.iter().skip_while(|b| **b == 0).copied().collect();
    Ok((positive(n), positive(e)))
}

/// One DER element of type `tag` at the start of `input`: its contents and what
/// follows it. Written by hand because ring keeps its DER reader private and this
/// is the only structure read; long-form lengths up to four bytes.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    if found != tag {
        return None;
    }
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || input.len() < count {
            return None;
        }
        let (bytes, rest) = input.split_at(count);
        input = rest;
        bytes
            .iter()
            .fold(0usize, |length, byte| (length << 8) | usize::from(*byte))
    };
    (input.len() >= length).then(|| input.split_at(length))
}

fn no_ed_components(_: &[u8], _: &EllipticCurve) -> Result<Vec<u8>> {
    Err(ErrorKind::InvalidAlgorithm.into())
}

fn digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &ring::digest::SHA256,
        ThumbprintHash::SHA384 => &ring::digest::SHA384,
        ThumbprintHash::SHA512 => &ring::digest::SHA512,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(ring::digest::digest(algorithm, data).as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::generate_private_key_pem;
    use aws_lc_rs::signature::{self as aws_signature, KeyPair as _};

    fn key_pair() -> (EncodingKey, Vec<u8>, Vec<u8>) {
        let pem = generate_private_key_pem().unwrap();
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let (n, e) = rsa_components_of_private_key(key.as_bytes()).unwrap();
        (key, n, e)
    }

    /// A signature from here verifies with aws-lc (an independent RS256), and one
    /// from aws-lc verifies here: the tokens are interoperable, which a test that
    /// only round-trips through this provider could not show.
    #[test]
    fn signatures_interoperate_with_aws_lc() {
        let (key, n, e) = key_pair();
        let message = b"header.claims";
        let ours = signer(&Algorithm::RS256, &key)
            .unwrap()
            .try_sign(message)
            .unwrap();
        aws_signature::RsaPublicKeyComponents { n: &n, e: &e }
            .verify(&aws_signature::RSA_PKCS1_2048_8192_SHA256, message, &ours)
            .unwrap();

        let theirs_key = aws_signature::RsaKeyPair::from_der(key.as_bytes()).unwrap();
        let mut theirs = vec![0; theirs_key.public_modulus_len()];
        theirs_key
            .sign(
                &aws_signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut theirs,
            )
            .unwrap();
        let decoding = DecodingKey::from_rsa_raw_components(&n, &e);
        verifier(&Algorithm::RS256, &decoding)
            .unwrap()
            .verify(message, &theirs)
            .unwrap();
    }

    #[test]
    fn a_changed_message_or_signature_is_refused() {
        let (key, n, e) = key_pair();
        let signature = signer(&Algorithm::RS256, &key)
            .unwrap()
            .try_sign(b"header.claims")
            .unwrap();
        let verify = verifier(
            &Algorithm::RS256,
            &DecodingKey::from_rsa_raw_components(&n, &e),
        )
        .unwrap();
        assert!(verify.verify(b"header.claimz", &signature).is_err());
        let mut flipped = signature.clone();
        flipped[10] ^= 1;
        assert!(verify.verify(b"header.claims", &flipped).is_err());
        assert!(verify.verify(b"header.claims", &signature).is_ok());
    }

    /// Only RS256: an HS256 or PS256 request gets an error, never a signature or
    /// a verifier that accepts.
    #[test]
    fn other_algorithms_are_refused() {
        let (key, n, e) = key_pair();
        let decoding = DecodingKey::from_rsa_raw_components(&n, &e);
        for algorithm in [Algorithm::HS256, Algorithm::PS256, Algorithm::RS512] {
            assert!(signer(&algorithm, &key).is_err(), "{algorithm:?}");
            assert!(verifier(&algorithm, &decoding).is_err(), "{algorithm:?}");
        }
        let secret = DecodingKey::from_secret(b"a shared secret");
        assert!(verifier(&Algorithm::RS256, &secret).is_err());
    }

    /// A PKCS#1 public key (what `DecodingKey::from_rsa_der` holds) gives the same
    /// components as the private key, and verifies the same signatures.
    #[test]
    fn pkcs1_public_keys_are_read() {
        let (key, n, e) = key_pair();
        let pair = aws_signature::RsaKeyPair::from_der(key.as_bytes()).unwrap();
        let public_der = pair.public_key().as_ref().to_vec();
        assert_eq!(
            rsa_components_of_public_key(&public_der).unwrap(),
            (n.clone(), e.clone())
        );
        let signature = signer(&Algorithm::RS256, &key)
            .unwrap()
            .try_sign(b"m")
            .unwrap();
        verifier(&Algorithm::RS256, &DecodingKey::from_rsa_der(&public_der))
            .unwrap()
            .verify(b"m", &signature)
            .unwrap();
        let mut trailing = public_der.clone();
        trailing.push(0);
        assert!(rsa_components_of_public_key(&trailing).is_err());
        assert!(rsa_components_of_public_key(&public_der[..public_der.len() - 1]).is_err());
    }
}
