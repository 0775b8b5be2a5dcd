//! One module per backend, each behind a cargo feature so a binary links only the
//! backend it uses.

#[cfg(any(feature = "dynamodb", feature = "aws-messaging"))]
pub mod aws_http;
#[cfg(feature = "aws-messaging")]
pub mod aws_messaging;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(any(feature = "dynamodb", feature = "azure", feature = "redis"))]
mod conflict_backoff;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// Amazon Trust Services' roots (Amazon Root CA 1–4 and the Starfield Services G2
/// cross-sign), copied from Debian's ca-certificates: every AWS endpoint chains to
/// one, so the AWS SDK clients and federated login's fetches from a Cognito user
/// pool need no certificate file.
pub(crate) const AMAZON_ROOTS_PEM: &str = include_str!("aws_roots.pem");
