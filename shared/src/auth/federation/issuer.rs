//! The issuers an operator trusts, as `SKIFF_FEDERATED_ISSUERS` lists them.

use serde::Deserialize;
use url::Url;

/// One trusted OpenID Connect issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedIssuer {
    /// The `iss` claim, exactly (OIDC compares it as a string).
    pub issuer: String,
    /// The accepted `aud` values: the app client ids.
    pub audiences: Vec<String>,
    /// Where its signing keys are.
    pub jwks: JwksSource,
}

impl FederatedIssuer {
    /// Cognito user pools mark their tokens with `token_use`, and their access
    /// tokens are signed by the same keys as ID tokens: for them the claim is
    /// required, not only checked when present.
    pub fn is_cognito(&self) -> bool {
        Url::parse(&self.issuer)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h.starts_with("cognito-idp.") && h.ends_with(".amazonaws.com"))
            })
            .unwrap_or(false)
    }
}

/// Where an issuer's JWKS comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksSource {
    /// The `jwks_uri` of `<issuer>/.well-known/openid-configuration`.
    Discovery,
    /// A configured location, used as is (`jwks_uri` in the setting).
    At(Url),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerSetting {
    issuer: String,
    audiences: Vec<String>,
    #[serde(default)]
    jwks_uri: Option<String>,
}

/// Keys are public, but a key served over plain HTTP could be swapped by anyone on
/// the path, so only loopback (tests, a local emulator) may use `http`.
pub(crate) fn secure_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!(
            "{text:?} must be an https URL (http only on loopback)"
        )),
    }
}

/// Parses the setting's JSON: an array of `{"issuer", "audiences", "jwks_uri"?}`.
/// Every mistake is named, so the process stops at start-up, not at a login.
pub fn parse_issuers(json: &str) -> Result<Vec<FederatedIssuer>, String> {
    let settings: Vec<IssuerSetting> = serde_json::from_str(json).map_err(|e| {
        format!(r#"expected a JSON array of {{"issuer", "audiences": [..], "jwks_uri"?}}: {e}"#)
    })?;
    if settings.is_empty() {
        return Err("lists no issuer (leave it unset to turn federated login off)".into());
    }
    let mut issuers: Vec<FederatedIssuer> = Vec::with_capacity(settings.len());
    for setting in settings {
        secure_url(&setting.issuer)?;
        if issuers.iter().any(|i| i.issuer == setting.issuer) {
            return Err(format!("lists {:?} twice", setting.issuer));
        }
        if setting.audiences.is_empty() || setting.audiences.iter().any(|a| a.trim().is_empty()) {
            return Err(format!(
                "{:?} needs at least one non-empty audience (the app client id)",
                setting.issuer
            ));
        }
        let jwks = match setting.jwks_uri {
            None => JwksSource::Discovery,
            Some(uri) => JwksSource::At(secure_url(&uri)?),
        };
        issuers.push(FederatedIssuer {
            issuer: setting.issuer,
            audiences: setting.audiences,
            jwks,
        });
    }
    Ok(issuers)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC";

    #[test]
    fn a_cognito_pool_and_an_override_parse() {
        let parsed = parse_issuers(&format!(
            r#"[{{"issuer":"{POOL}","audiences":["client-1"]}},
               {{"issuer":"https://login.example/v2.0","audiences":["a","b"],"jwks_uri":"http://127.0.0.1:5000/keys"}}]"#
        ))
        .unwrap();
        assert_eq!(parsed[0].jwks, JwksSource::Discovery);
        assert!(parsed[0].is_cognito());
        assert!(!parsed[1].is_cognito());
        assert_eq!(
            parsed[1].jwks,
            JwksSource::At(Url::parse("http://127.0.0.1:5000/keys").unwrap())
        );
    }

    #[test]
    fn mistakes_are_named() {
        for (json, says) in [
            ("{}", "JSON array"),
            ("[]", "no issuer"),
            (
                r#"[{"issuer":"http://issuer.example","audiences":["a"]}]"#,
                "https",
            ),
            (
                r#"[{"issuer":"https://i.example","audiences":[]}]"#,
                "audience",
            ),
            (
                r#"[{"issuer":"https://i.example","audiences":[" "]}]"#,
                "audience",
            ),
            (
                r#"[{"issuer":"https://i.example","audiences":["a"],"jwks_uri":"http://keys.example/k"}]"#,
                "https",
            ),
            (
                r#"[{"issuer":"https://i.example","audience":["a"]}]"#,
                "unknown field",
            ),
            (
                r#"[{"issuer":"https://i.example","audiences":["a"]},{"issuer":"https://i.example","audiences":["b"]}]"#,
                "twice",
            ),
        ] {
            let error = parse_issuers(json).unwrap_err();
            assert!(error.contains(says), "{json}: {error}");
        }
    }
}
