//! One module per backend, each behind a cargo feature so a binary links only the
//! backend it uses.

#[cfg(feature = "dynamodb")]
pub mod aws_http;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "sqlite")]
pub mod sqlite;
