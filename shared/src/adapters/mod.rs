//! One module per backend, each behind a cargo feature so a binary links only the
//! backend it uses.

#[cfg(feature = "sqlite")]
pub mod sqlite;
