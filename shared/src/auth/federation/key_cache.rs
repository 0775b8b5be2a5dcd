//! One issuer's signing keys: fetched once, kept, and fetched again only when a
//! token names a key id not seen yet (a rotation), at most once a minute, so a
//! stream of tokens with made-up `kid`s cannot turn into a stream of fetches.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use super::fetch::get_json;
use super::issuer::{FederatedIssuer, JwksSource, secure_url};
use crate::ports::StoreError;

/// The shortest time between two fetches of one issuer's keys.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// The members of an RSA signing key that matter here; others are ignored.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    usage: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

/// RSA keys meant for signatures with RS256 (or not saying): anything else in
/// the set (encryption keys, EC keys) can never verify an accepted token.
fn rs256_keys(set: JwkSet) -> HashMap<String, Arc<DecodingKey>> {
    set.keys
        .into_iter()
        .filter(|k| k.kty == "RSA")
        .filter(|k| k.usage.as_deref().is_none_or(|u| u == "sig"))
        .filter(|k| k.alg.as_deref().is_none_or(|a| a == "RS256"))
        .filter_map(|k| {
            let key = DecodingKey::from_rsa_components(k.n.as_deref()?, k.e.as_deref()?).ok()?;
            Some((k.kid?, Arc::new(key)))
        })
        .collect()
}

/// What a key lookup found.
pub enum KeyLookup {
    /// The key.
    Found(Arc<DecodingKey>),
    /// Not in the set, even after a refetch (or too soon for one).
    Unknown,
}

/// The keys of one issuer.
pub struct IssuerKeys {
    source: JwksSource,
    issuer: String,
    keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
    refetch_interval: Duration,
    /// Held while fetching, so concurrent misses cause one fetch; holds the time
    /// of the last successful fetch.
    last_fetch: Mutex<Option<Instant>>,
}

impl IssuerKeys {
    /// Nothing is fetched until the first token of this issuer; an unknown key id
    /// fetches again once `refetch_interval` has passed since the last fetch.
    pub fn new(issuer: &FederatedIssuer, refetch_interval: Duration) -> Self {
        Self {
            source: issuer.jwks.clone(),
            issuer: issuer.issuer.clone(),
            keys: RwLock::new(HashMap::new()),
            refetch_interval,
            last_fetch: Mutex::new(None),
        }
    }

    fn cached(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        // A poisoned lock only means a panic elsewhere mid-insert of a whole map;
        // the map it holds is still a valid one.
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.get(kid).cloned()
    }

    /// The key `kid`, fetching the set first if it is not known yet.
    pub async fn key(&self, kid: &str) -> Result<KeyLookup, StoreError> {
        if let Some(key) = self.cached(kid) {
            return Ok(KeyLookup::Found(key));
        }
        let mut last_fetch = self.last_fetch.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(KeyLookup::Found(key));
        }
        if last_fetch.is_some_and(|at| at.elapsed() < self.refetch_interval) {
            return Ok(KeyLookup::Unknown);
        }
        // Only a successful fetch starts the interval: while the issuer is down,
        // each login (already throttled) tries again and answers 503, not 401.
        let fetched = self.fetch().await?;
        *last_fetch = Some(Instant::now());
        tracing::info!(issuer = %self.issuer, keys = fetched.len(), "fetched the issuer's signing keys");
        let found = fetched.get(kid).cloned();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = fetched;
        Ok(found.map_or(KeyLookup::Unknown, KeyLookup::Found))
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, StoreError> {
        let url = match &self.source {
            JwksSource::At(url) => url.clone(),
            JwksSource::Discovery => {
                let discovery_url = Url::parse(&format!(
                    "{}/.well-known/openid-configuration",
                    self.issuer.trim_end_matches('/')
                ))
                .map_err(|e| StoreError::new("locate the issuer's discovery document", e))?;
                let discovery: Discovery =
                    get_json(&discovery_url, "fetch the issuer's discovery document").await?;
                secure_url(&discovery.jwks_uri)
                    .map_err(|e| StoreError::new("read the issuer's jwks_uri", e))?
            }
        };
        let set: JwkSet = get_json(&url, "fetch the issuer's JWKS").await?;
        Ok(rs256_keys(set))
    }
}
