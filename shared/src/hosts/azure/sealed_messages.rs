//! Queue messages sealed with an HMAC, so the queue-triggered functions tell the
//! host's invocations apart from client requests.
//!
//! With `enableForwardingHttpRequest` the host forwards a client's request at its
//! own path, and invokes the queue functions at `/{FunctionName}`: a client's
//! `POST /worker` and the host's invocation of `worker` arrive at the handler
//! alike. Every message the handler writes (jobs, events, deletion steps) is
//! sealed with a key only the handler knows (derived from its signing keys), and a
//! queue route acts only on a message whose seal verifies. Anything else gets the
//! contract's 404 problem+json, with no `Outputs` and no `Logs`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::auth::KeyRing;
use crate::hosts::chained::MessageSink;
use crate::ports::StoreError;

const PURPOSE: &str = "skiff azure queue messages v1";

/// A message as it sits in the queue: the body, and its MAC.
#[derive(Serialize, Deserialize)]
struct Sealed {
    body: String,
    mac: String,
}

/// Seals with the newest signing key's secret; opens with any key still in the
/// ring, so messages written before a rotation are still accepted.
#[derive(Clone)]
pub struct MessageSeal {
    secrets: Arc<[[u8; 32]]>,
}

impl MessageSeal {
    /// A seal keyed from `keys` (every instance of one app derives the same key).
    pub fn new(keys: &KeyRing) -> Self {
        Self {
            secrets: keys.derived_secrets(PURPOSE).into(),
        }
    }

    fn mac(secret: &[u8; 32], body: &str) -> Hmac<Sha256> {
        // An HMAC takes a key of any length: `new_from_slice` cannot fail here.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(body.as_bytes());
        mac
    }

    /// `body` with its seal.
    pub fn seal(&self, body: &str) -> String {
        let tag = self
            .secrets
            .first()
            .map(|secret| Self::mac(secret, body).finalize().into_bytes().to_vec())
            .unwrap_or_default();
        let sealed = Sealed {
            body: body.to_owned(),
            mac: URL_SAFE_NO_PAD.encode(tag),
        };
        // A struct of two strings always serialises.
        serde_json::to_string(&sealed).unwrap_or_default()
    }

    /// The body of a message this handler sealed, or `None` for anything else.
    pub fn open(&self, text: &str) -> Option<String> {
        let sealed: Sealed = serde_json::from_str(text).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(&sealed.mac).ok()?;
        // `verify_slice` compares in constant time.
        self.secrets
            .iter()
            .any(|secret| Self::mac(secret, &sealed.body).verify_slice(&tag).is_ok())
            .then_some(sealed.body)
    }
}

/// A sink that seals every message before it sends it.
pub struct SealedSink {
    pub inner: Arc<dyn MessageSink>,
    pub seal: MessageSeal,
}

#[async_trait]
impl MessageSink for SealedSink {
    async fn send(&self, body: String, delay: Duration) -> Result<(), StoreError> {
        self.inner.send(self.seal.seal(&body), delay).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::generate_private_key_pem;

    fn ring(pems: &[String]) -> KeyRing {
        KeyRing::from_private_pems(pems).unwrap()
    }

    #[test]
    fn only_sealed_messages_open() {
        let (old, new) = (
            generate_private_key_pem().unwrap(),
            generate_private_key_pem().unwrap(),
        );
        let seal = MessageSeal::new(&ring(std::slice::from_ref(&old)));
        let sealed = seal.seal(r#"{"job_id":"x"}"#);
        assert_eq!(seal.open(&sealed).as_deref(), Some(r#"{"job_id":"x"}"#));

        // After a rotation the old seal still opens; a stranger's never does.
        let rotated = MessageSeal::new(&ring(&[old, new.clone()]));
        assert!(rotated.open(&sealed).is_some());
        assert!(MessageSeal::new(&ring(&[new])).open(&sealed).is_none());

        // A forged body, a missing seal, plain text: refused.
        let mut forged: serde_json::Value = serde_json::from_str(&sealed).unwrap();
        forged["body"] = r#"{"job_id":"y"}"#.into();
        assert!(seal.open(&forged.to_string()).is_none());
        assert!(seal.open(r#"{"job_id":"x"}"#).is_none());
        assert!(seal.open("not json").is_none());
    }
}
