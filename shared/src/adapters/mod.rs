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
