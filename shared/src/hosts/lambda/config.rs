use crate::auth::AuthSettings;
use crate::config::{ConfigError, Env, auth_settings};

/// A Lambda function's settings (see the README's per-function table).
#[derive(Clone, Debug)]
pub struct LambdaConfig {
    pub table: String,
    pub auth: AuthSettings,
    pub max_body_bytes: usize,
    /// Secrets Manager secret with the private signing keys (login function).
    pub signing_keys_secret: Option<String>,
    /// SSM parameter with the public JWKS (session function).
    pub jwks_parameter: Option<String>,
}

impl LambdaConfig {
    /// API Gateway HTTP APIs accept up to 10 MiB; the contract needs far less.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::process())
    }

    pub fn from<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        // On Lambda there is no bound address to fall back on: the issuer is the
        // API's public URL and must be configured.
        let issuer = env.required("SKIFF_ISSUER")?;
        Ok(Self {
            table: env.required("SKIFF_TABLE")?,
            auth: auth_settings(env, &issuer)?,
            max_body_bytes: env.parse_or("SKIFF_MAX_BODY_BYTES", Self::DEFAULT_MAX_BODY_BYTES)?,
            signing_keys_secret: env.raw("SKIFF_SIGNING_KEYS_SECRET"),
            jwks_parameter: env.raw("SKIFF_JWKS_PARAMETER"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<LambdaConfig, ConfigError> {
        LambdaConfig::from(&Env::from_pairs(pairs))
    }

    #[test]
    fn issuer_and_table_are_required() {
        assert_eq!(
            config(&[("SKIFF_TABLE", "t")]).unwrap_err().name,
            "SKIFF_ISSUER"
        );
        assert_eq!(
            config(&[("SKIFF_ISSUER", "https://api.example.com")])
                .unwrap_err()
                .name,
            "SKIFF_TABLE"
        );
        let c = config(&[
            ("SKIFF_ISSUER", "https://api.example.com/"),
            ("SKIFF_TABLE", "skiff"),
            ("SKIFF_JWKS_PARAMETER", "/skiff/jwks"),
        ])
        .unwrap();
        assert_eq!(
            (c.auth.issuer.as_str(), c.table.as_str()),
            ("https://api.example.com", "skiff")
        );
        assert_eq!(c.jwks_parameter.as_deref(), Some("/skiff/jwks"));
        assert_eq!(c.signing_keys_secret, None);
    }
}
