//! What `make bench` shares with the test suite: its Lambda Runtime API, which the
//! concurrency test of the Lambda host drives too.

pub mod runtime_api;
