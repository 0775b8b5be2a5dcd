//! Signing keys on AWS: private keys from Secrets Manager for the function that
//! signs, read once at init; the public JWKS, which is not secret, straight from
//! the environment of the functions that only verify.

use super::LambdaError;
use crate::auth::{KeyRing, PublicKeys};

pub(super) fn parse_private_key_secret(secret: &str) -> Result<KeyRing, LambdaError> {
    KeyRing::from_secret(secret).map_err(|e| LambdaError::Keys(e.to_string()))
}

pub(super) async fn load_private_keys(
    sdk: &aws_types::SdkConfig,
    secret_id: &str,
) -> Result<KeyRing, LambdaError> {
    parse_private_key_secret(&read_secret(sdk, secret_id).await?)
}

/// A Secrets Manager secret's string. Errors name the secret, never its value.
pub(super) async fn read_secret(
    sdk: &aws_types::SdkConfig,
    secret_id: &str,
) -> Result<String, LambdaError> {
    let output = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            LambdaError::Aws(format!(
                "read secret {secret_id}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            ))
        })?;
    output
        .secret_string()
        .map(str::to_owned)
        .ok_or_else(|| LambdaError::Aws(format!("secret {secret_id} has no string value")))
}

/// `SKIFF_JWKS`: a parse error names the variable, never a key.
pub(super) fn parse_public_keys(jwks: &str) -> Result<PublicKeys, LambdaError> {
    PublicKeys::from_jwks_json(jwks).map_err(|e| LambdaError::Keys(format!("SKIFF_JWKS: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::generate_private_key_pem;

    #[test]
    fn accepts_one_pem_or_a_list_oldest_first() {
        let old = generate_private_key_pem().unwrap();
        let new = generate_private_key_pem().unwrap();
        let single = parse_private_key_secret(&new).unwrap();
        let list = serde_json::json!({ "keys": [old, new] }).to_string();
        let ring = parse_private_key_secret(&list).unwrap();
        assert_eq!(ring.public_keys().jwks().keys.len(), 2);
        assert_eq!(
            ring.public_keys().jwks().keys[0].kid,
            single.public_keys().jwks().keys[0].kid,
            "the last key of the list signs"
        );
    }

    #[test]
    fn public_keys_come_from_the_jwks_the_signer_publishes() {
        let ring = parse_private_key_secret(&generate_private_key_pem().unwrap()).unwrap();
        let published = serde_json::to_string(&ring.public_keys().jwks()).unwrap();
        let keys = parse_public_keys(&published).unwrap();
        assert_eq!(
            keys.jwks().keys[0].kid,
            ring.public_keys().jwks().keys[0].kid
        );
        let Err(error) = parse_public_keys("{\"keys\": 3}") else {
            panic!("a malformed JWKS was accepted");
        };
        let error = error.to_string();
        assert!(error.contains("SKIFF_JWKS"), "{error}");
    }

    #[test]
    fn refuses_malformed_secrets() {
        assert!(parse_private_key_secret("{\"keys\": 3}").is_err());
        assert!(parse_private_key_secret("{\"keys\": []}").is_err());
        assert!(parse_private_key_secret("not a pem").is_err());
    }
}
