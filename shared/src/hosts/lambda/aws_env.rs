//! The AWS SDK settings of a Lambda function, from the variables Lambda sets in every
//! execution environment: `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
//! and `AWS_SESSION_TOKEN` (the execution role's credentials, valid for the life of
//! the environment).
//!
//! aws-config's provider chains (profiles, SSO, IMDS, STS web identity) can never
//! apply on Lambda, yet linking them cost about 0.4 MiB per binary and a chain walk
//! at init. Reading the variables here also means a missing one stops init with the
//! variable's name instead of failing the first request. `AWS_ENDPOINT_URL` is
//! honoured as the SDKs document it, which is how the emulated-AWS mode reaches moto.

use crate::adapters::aws_http::{TlsRoots, https_client};
use std::fmt;
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_types::SdkConfig;
use aws_types::sdk_config::StalledStreamProtectionConfig;

use crate::config::{ConfigError, Env};

/// A TCP+TLS handshake to a regional endpoint takes milliseconds; a second here
/// means the network is down, and the retry does better than waiting longer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt of one call. DynamoDB answers in single-digit milliseconds; this
/// bounds a stuck connection well inside API Gateway's 29 s integration limit.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// All attempts of one call, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
/// The AWS settings a function reads from Lambda's variables.
pub struct AwsEnv {
    region: Region,
    credentials: Credentials,
    endpoint_url: Option<String>,
    tls_roots: TlsRoots,
}

impl fmt::Debug for AwsEnv {
    /// `Credentials`' own Debug redacts the secret; the key id is left out as well.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsEnv")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("tls_roots", &self.tls_roots)
            .finish_non_exhaustive()
    }
}

impl AwsEnv {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::process())
    }

    /// From `env`.
    pub fn from<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        const SET_BY_LAMBDA: &str = "is required (Lambda sets it in every execution environment)";
        let required = |name: &'static str| {
            env.raw(name)
                .ok_or_else(|| ConfigError::missing(name, SET_BY_LAMBDA))
        };
        let region = env
            .raw("AWS_REGION")
            .or_else(|| env.raw("AWS_DEFAULT_REGION"))
            .ok_or_else(|| ConfigError::missing("AWS_REGION", SET_BY_LAMBDA))?;
        let credentials = Credentials::new(
            required("AWS_ACCESS_KEY_ID")?,
            required("AWS_SECRET_ACCESS_KEY")?,
            env.raw("AWS_SESSION_TOKEN"),
            None,
            "lambda-environment",
        );
        let endpoint_url = env.raw("AWS_ENDPOINT_URL");
        if let Some(url) = &endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError {
                name: "AWS_ENDPOINT_URL",
                value: url.clone(),
                reason: "must start with http:// or https://".into(),
            });
        }
        Ok(Self {
            region: Region::new(region),
            credentials,
            endpoint_url,
            tls_roots: env.parse_or("SKIFF_TLS_ROOTS", TlsRoots::default())?,
        })
    }

    /// Settings shared by every SDK client of the function: one HTTPS client (so one
    /// connection pool), standard retries (3 attempts, jittered backoff) and timeouts.
    ///
    /// The SDK's stalled-stream protection is off: it times every body chunk of
    /// every call to catch a download that stops moving, and the attempt timeout
    /// already bounds each whole call (body included) to 3 s, on answers of a few
    /// hundred bytes.
    pub fn sdk_config(&self) -> SdkConfig {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let mut builder = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(self.region.clone())
            .credentials_provider(SharedCredentialsProvider::new(self.credentials.clone()))
            .http_client(https_client(self.tls_roots))
            .retry_config(RetryConfig::standard())
            .timeout_config(timeouts)
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
        if let Some(url) = &self.endpoint_url {
            builder = builder.endpoint_url(url);
        }
        builder.build()
    }
}

/// `AWS_LAMBDA_MAX_CONCURRENCY`: how many invocations Lambda Managed Instances
/// sends one execution environment at once. Unset on classic Lambda, which means 1.
/// lambda_runtime reads the same variable to start that many `/next` loops; reading
/// it here too picks the runtime's threads, and a value Lambda would never set
/// stops init naming it instead of silently running one at a time.
pub fn max_concurrency<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<u32, ConfigError> {
    env.at_least("AWS_LAMBDA_MAX_CONCURRENCY", 1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws_env(pairs: &[(&str, &str)]) -> Result<AwsEnv, ConfigError> {
        AwsEnv::from(&Env::from_pairs(pairs))
    }

    #[test]
    fn max_concurrency_is_one_unless_lambda_says_more() {
        assert_eq!(max_concurrency(&Env::from_pairs(&[])).unwrap(), 1);
        let set = Env::from_pairs(&[("AWS_LAMBDA_MAX_CONCURRENCY", "16")]);
        assert_eq!(max_concurrency(&set).unwrap(), 16);
        for bad in ["0", "many", "-2"] {
            let env = Env::from_pairs(&[("AWS_LAMBDA_MAX_CONCURRENCY", bad)]);
            assert_eq!(
                max_concurrency(&env).unwrap_err().name,
                "AWS_LAMBDA_MAX_CONCURRENCY"
            );
        }
    }

    const LAMBDA: [(&str, &str); 4] = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG"),
        ("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLE"),
    ];

    #[test]
    fn reads_what_lambda_sets() {
        let sdk = aws_env(&LAMBDA).unwrap().sdk_config();
        assert_eq!(sdk.region().map(Region::as_ref), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), None);
        let timeouts = sdk.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
        // What bounds a stalled answer, with stalled-stream protection off.
        assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        let stalled = sdk.stalled_stream_protection().map(|c| c.is_enabled());
        assert_eq!(stalled, Some(false));
    }

    #[test]
    fn each_missing_variable_is_named() {
        for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let rest: Vec<_> = LAMBDA.into_iter().filter(|(k, _)| *k != missing).collect();
            assert_eq!(aws_env(&rest).unwrap_err().name, missing);
        }
        // The session token is optional (long-lived keys in the emulated mode).
        let no_token: Vec<_> = LAMBDA[..3].to_vec();
        assert!(aws_env(&no_token).is_ok());
    }

    #[test]
    fn default_region_is_the_fallback_and_endpoint_must_be_a_url() {
        let mut pairs: Vec<_> = LAMBDA[1..].to_vec();
        pairs.push(("AWS_DEFAULT_REGION", "us-east-2"));
        pairs.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"));
        let sdk = aws_env(&pairs).unwrap().sdk_config();
        assert_eq!(sdk.region().map(Region::as_ref), Some("us-east-2"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));

        pairs.pop();
        pairs.push(("AWS_ENDPOINT_URL", "127.0.0.1:5000"));
        assert_eq!(aws_env(&pairs).unwrap_err().name, "AWS_ENDPOINT_URL");
    }

    #[test]
    fn secrets_never_reach_debug_output_or_errors() {
        let shown = format!("{:?}", aws_env(&LAMBDA).unwrap());
        for (_, secret) in &LAMBDA[1..] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let no_secret: Vec<_> = LAMBDA
            .into_iter()
            .filter(|(k, _)| *k != "AWS_SECRET_ACCESS_KEY")
            .collect();
        let error = aws_env(&no_secret).unwrap_err().to_string();
        assert!(
            !error.contains("AKIDEXAMPLE") && !error.contains("IQoJ"),
            "{error}"
        );
    }

    #[test]
    fn trusts_amazon_roots_unless_told_otherwise() {
        assert_eq!(aws_env(&LAMBDA).unwrap().tls_roots, TlsRoots::Amazon);
        let system = [
            LAMBDA[0],
            LAMBDA[1],
            LAMBDA[2],
            ("SKIFF_TLS_ROOTS", "system"),
        ];
        assert_eq!(aws_env(&system).unwrap().tls_roots, TlsRoots::System);
        let bad = [LAMBDA[0], LAMBDA[1], LAMBDA[2], ("SKIFF_TLS_ROOTS", "all")];
        assert_eq!(aws_env(&bad).unwrap_err().name, "SKIFF_TLS_ROOTS");
    }
}
