use crate::auth::AuthSettings;
use crate::config::{
    ConfigError, Env, SessionStoreSetting, WorkSettings, auth_settings, session_store,
    work_settings,
};

/// A Lambda function's settings (see the per-function table in docs/aws.md).
#[derive(Clone, Debug)]
pub struct LambdaConfig {
    /// `SKIFF_TABLE`.
    pub table: String,
    /// Token, session and password settings.
    pub auth: AuthSettings,
    /// `SKIFF_MAX_BODY_BYTES` and `SKIFF_CORS_ORIGINS`.
    pub http: crate::api::HttpSettings,
    /// Secrets Manager secret with the private signing keys (login function).
    pub signing_keys_secret: Option<String>,
    /// The public JWKS itself (session function).
    pub jwks: Option<String>,
    /// Open the DynamoDB connection during init (see `warm_up`).
    pub warm_up: bool,
    /// Where `POST /jobs` sends jobs (jobs function).
    pub jobs_queue_url: Option<String>,
    /// Where events are published (worker and workflow functions).
    pub events_topic_arn: Option<String>,
    /// The deletion workflow (account function).
    pub deletion_state_machine_arn: Option<String>,
    /// Jobs and deletion settings.
    pub work: WorkSettings,
    /// `SKIFF_SESSION_STORE`: sessions and throttles in DynamoDB, or on
    /// ElastiCache (Redis / Valkey).
    pub session_store: SessionStoreSetting,
    /// `SKIFF_SESSION_STORE_AUTH_SECRET`: the Secrets Manager secret whose string is
    /// the cache's password (AUTH token), read once at init.
    pub session_store_auth_secret: Option<String>,
    /// `SKIFF_METRICS`, `SKIFF_METRICS_NAMESPACE`, `SKIFF_SERVICE_NAME`.
    pub metrics: crate::telemetry::MetricsSettings,
    /// `AWS_LAMBDA_FUNCTION_NAME`, which Lambda sets: the `function_name` of the
    /// metric documents.
    pub function_name: String,
}

impl LambdaConfig {
    /// API Gateway HTTP APIs accept up to 10 MiB; the contract needs far less.
    pub const DEFAULT_MAX_BODY_BYTES: usize = crate::config::DEFAULT_MAX_BODY_BYTES;

    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::process())
    }

    /// From `env`.
    pub fn from<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        // On Lambda there is no bound address to fall back on: the issuer is the
        // API's public URL and must be configured.
        let issuer = env.required("SKIFF_ISSUER")?;
        let session_store = session_store(env)?;
        let session_store_auth_secret = env.raw("SKIFF_SESSION_STORE_AUTH_SECRET");
        if session_store_auth_secret.is_some() && matches!(session_store, SessionStoreSetting::Main)
        {
            return Err(ConfigError::missing(
                crate::config::SESSION_STORE,
                "is required when SKIFF_SESSION_STORE_AUTH_SECRET is set",
            ));
        }
        Ok(Self {
            table: env.required("SKIFF_TABLE")?,
            auth: auth_settings(env, &issuer)?,
            http: crate::config::http_settings(env)?,
            signing_keys_secret: env.raw("SKIFF_SIGNING_KEYS_SECRET"),
            jwks: env.raw("SKIFF_JWKS"),
            warm_up: env.parse_or("SKIFF_WARM_UP", true)?,
            jobs_queue_url: env.raw("SKIFF_JOBS_QUEUE_URL"),
            events_topic_arn: env.raw("SKIFF_EVENTS_TOPIC_ARN"),
            deletion_state_machine_arn: env.raw("SKIFF_DELETION_STATE_MACHINE_ARN"),
            work: work_settings(env)?,
            session_store,
            session_store_auth_secret,
            metrics: crate::telemetry::MetricsSettings::from(env)?,
            function_name: env.raw("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<LambdaConfig, ConfigError> {
        LambdaConfig::from(&Env::from_pairs(pairs))
    }

    /// The same rule as every other host: a zero limit would refuse every body.
    #[test]
    fn a_body_limit_below_one_kib_is_refused() {
        let base = [
            ("SKIFF_ISSUER", "https://api.example.com"),
            ("SKIFF_TABLE", "t"),
        ];
        for bad in ["0", "1023"] {
            let mut pairs = base.to_vec();
            pairs.push(("SKIFF_MAX_BODY_BYTES", bad));
            assert_eq!(config(&pairs).unwrap_err().name, "SKIFF_MAX_BODY_BYTES");
        }
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
            ("SKIFF_JWKS", "{\"keys\": []}"),
        ])
        .unwrap();
        assert_eq!(
            (c.auth.issuer.as_str(), c.table.as_str()),
            ("https://api.example.com", "skiff")
        );
        assert_eq!(c.jwks.as_deref(), Some("{\"keys\": []}"));
        assert!(c.warm_up, "warming up is the default");
        assert_eq!(c.signing_keys_secret, None);
    }

    #[test]
    fn warm_up_is_a_boolean() {
        let base = [("SKIFF_ISSUER", "https://a.example"), ("SKIFF_TABLE", "t")];
        let off = [base[0], base[1], ("SKIFF_WARM_UP", "false")];
        assert!(!config(&off).unwrap().warm_up);
        let bad = [base[0], base[1], ("SKIFF_WARM_UP", "sometimes")];
        assert_eq!(config(&bad).unwrap_err().name, "SKIFF_WARM_UP");
    }
}
