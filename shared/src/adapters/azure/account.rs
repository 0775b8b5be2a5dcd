//! A storage account as a connection string names it: where its Table and Queue
//! endpoints are and how requests to them are authorised (SharedKey, or a SAS
//! token appended to every URL).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The well-known Azurite development account (documented by Microsoft; not a secret).
const DEV_ACCOUNT: &str = "devstoreaccount1";
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
/// Why `AzureWebJobsStorage` was refused (the message never holds the key).
pub enum ConnectionStringError {
    #[error("`{0}` is not a Key=Value pair")]
    /// A part that is not `Name=value`.
    NotAPair(String),
    #[error("no AccountName, and no endpoints to find the account by")]
    /// No account name.
    NoAccount,
    #[error("AccountKey is not base64")]
    /// An account key that is not base64.
    BadKey,
    #[error("neither AccountKey nor SharedAccessSignature: requests could not be authorised")]
    /// Neither an account key nor a SAS token.
    NoCredential,
    #[error("{0} is not an http(s) URL")]
    /// An endpoint that is not an http(s) URL.
    BadEndpoint(&'static str),
    /// A key or SAS sent in the clear: only a loopback emulator may take plain HTTP.
    #[error("{0} is plain http:// on a host that is not loopback; use https://")]
    PlainHttp(&'static str),
}

/// How requests are authorised.
#[derive(Clone)]
pub enum Credential {
    /// The account key: every request is signed (SharedKey).
    SharedKey(Vec<u8>),
    /// A SAS token (without the leading `?`), appended to every request URL.
    Sas(String),
}

impl std::fmt::Debug for Credential {
    /// Never prints the key or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::SharedKey(_) => f.write_str("SharedKey(..)"),
            Credential::Sas(_) => f.write_str("Sas(..)"),
        }
    }
}

/// A parsed connection string.
#[derive(Clone, Debug)]
pub struct StorageAccount {
    /// The account name.
    pub name: String,
    /// How requests are signed.
    pub credential: Credential,
    /// Without a trailing slash; path-style (Azurite) endpoints keep their
    /// `/devstoreaccount1` path.
    pub table_endpoint: String,
    /// The Queue service's base URL.
    pub queue_endpoint: String,
}

impl StorageAccount {
    /// Parses `AzureWebJobsStorage`-style connection strings: account name and key
    /// (optionally with explicit endpoints, as Azurite needs), a SAS with endpoints,
    /// or `UseDevelopmentStorage=true`.
    pub fn parse(connection_string: &str) -> Result<Self, ConnectionStringError> {
        let mut pairs = std::collections::HashMap::new();
        for part in connection_string
            .split(';')
            .filter(|p| !p.trim().is_empty())
        {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| ConnectionStringError::NotAPair(redacted(part)))?;
            pairs.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
        let get = |name: &str| pairs.get(&name.to_ascii_lowercase()).cloned();
        if get("UseDevelopmentStorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(Self::development("127.0.0.1", 10002, 10001));
        }
        let protocol = get("DefaultEndpointsProtocol").unwrap_or_else(|| "https".into());
        let suffix = get("EndpointSuffix").unwrap_or_else(|| "core.windows.net".into());
        let name = match get("AccountName") {
            Some(name) => name,
            None => get("TableEndpoint")
                .as_deref()
                .and_then(account_from_host)
                .ok_or(ConnectionStringError::NoAccount)?,
        };
        let endpoint = |key: &'static str, service: &str| -> Result<String, _> {
            let url = get(key).unwrap_or_else(|| format!("{protocol}://{name}.{service}.{suffix}"));
            let parsed =
                url::Url::parse(&url).map_err(|_| ConnectionStringError::BadEndpoint(key))?;
            match parsed.scheme() {
                "https" => {}
                "http" if is_loopback(&parsed) => {}
                "http" => return Err(ConnectionStringError::PlainHttp(key)),
                _ => return Err(ConnectionStringError::BadEndpoint(key)),
            }
            Ok(url.trim_end_matches('/').to_owned())
        };
        let credential = match (get("AccountKey"), get("SharedAccessSignature")) {
            (Some(key), _) => Credential::SharedKey(
                STANDARD
                    .decode(key)
                    .map_err(|_| ConnectionStringError::BadKey)?,
            ),
            (None, Some(sas)) => Credential::Sas(sas.trim_start_matches('?').to_owned()),
            (None, None) => return Err(ConnectionStringError::NoCredential),
        };
        Ok(Self {
            table_endpoint: endpoint("TableEndpoint", "table")?,
            queue_endpoint: endpoint("QueueEndpoint", "queue")?,
            name,
            credential,
        })
    }

    /// The Azurite development account on the given loopback ports.
    pub fn development(host: &str, table_port: u16, queue_port: u16) -> Self {
        Self {
            name: DEV_ACCOUNT.into(),
            // The documented development key is valid base64, so this cannot fail.
            credential: Credential::SharedKey(STANDARD.decode(DEV_KEY).unwrap_or_default()),
            table_endpoint: format!("http://{host}:{table_port}/{DEV_ACCOUNT}"),
            queue_endpoint: format!("http://{host}:{queue_port}/{DEV_ACCOUNT}"),
        }
    }

    /// The connection string for the Azurite account on these ports (for tests and
    /// `make azure-local`).
    pub fn development_connection_string(host: &str, table_port: u16, queue_port: u16) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};\
             TableEndpoint=http://{host}:{table_port}/{DEV_ACCOUNT};\
             QueueEndpoint=http://{host}:{queue_port}/{DEV_ACCOUNT};"
        )
    }
}

/// Plain HTTP is for an emulator on this machine (Azurite): the SharedKey
/// signature or SAS would otherwise cross a network readable by anyone on it.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `https://acct.table.core.windows.net` → `acct`.
fn account_from_host(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
    host.split('.').next().map(str::to_owned)
}

/// A pair for an error message, without its value (it may be a key).
fn redacted(part: &str) -> String {
    if part.len() > 24 {
        format!(
            "{}…",
            &part[..part.char_indices().nth(24).map_or(part.len(), |(i, _)| i)]
        )
    } else {
        part.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azurite_connection_strings_keep_their_path_style_endpoints() {
        let text = StorageAccount::development_connection_string("127.0.0.1", 1, 2);
        let account = StorageAccount::parse(&text).unwrap();
        assert_eq!(account.name, "devstoreaccount1");
        assert_eq!(
            account.table_endpoint,
            "http://127.0.0.1:1/devstoreaccount1"
        );
        assert_eq!(
            account.queue_endpoint,
            "http://127.0.0.1:2/devstoreaccount1"
        );
        assert!(matches!(account.credential, Credential::SharedKey(ref k) if k.len() == 64));
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        let with = |endpoint: &str| {
            StorageAccount::parse(&format!(
                "AccountName=acme;AccountKey=AAAA;TableEndpoint={endpoint};QueueEndpoint=https://acme.queue.core.windows.net"
            ))
        };
        assert_eq!(
            with("http://acme.table.core.windows.net").unwrap_err(),
            ConnectionStringError::PlainHttp("TableEndpoint")
        );
        assert_eq!(
            with("http://10.0.0.5:10002/acme").unwrap_err(),
            ConnectionStringError::PlainHttp("TableEndpoint")
        );
        assert_eq!(
            StorageAccount::parse("DefaultEndpointsProtocol=http;AccountName=acme;AccountKey=AAAA")
                .unwrap_err(),
            ConnectionStringError::PlainHttp("TableEndpoint")
        );
        for local in [
            "http://127.0.0.1:10002/acme",
            "http://localhost:10002/acme",
            "http://[::1]:10002/acme",
        ] {
            assert!(with(local).is_ok(), "{local}");
        }
    }

    #[test]
    fn production_endpoints_are_derived_from_the_account_name() {
        let account = StorageAccount::parse(
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=AAAA;EndpointSuffix=core.windows.net",
        )
        .unwrap();
        assert_eq!(
            account.table_endpoint,
            "https://acme.table.core.windows.net"
        );
        assert_eq!(
            account.queue_endpoint,
            "https://acme.queue.core.windows.net"
        );
    }

    #[test]
    fn a_sas_needs_no_key_and_finds_the_account_in_the_endpoint() {
        let account = StorageAccount::parse(
            "TableEndpoint=https://acme.table.core.windows.net/;QueueEndpoint=https://acme.queue.core.windows.net;SharedAccessSignature=?sv=2022&sig=x",
        )
        .unwrap();
        assert_eq!(account.name, "acme");
        assert!(matches!(account.credential, Credential::Sas(ref s) if s == "sv=2022&sig=x"));
        assert_eq!(format!("{:?}", account.credential), "Sas(..)");
    }

    #[test]
    fn bad_connection_strings_say_what_is_wrong_without_echoing_secrets() {
        assert_eq!(
            StorageAccount::parse("AccountName=a").unwrap_err(),
            ConnectionStringError::NoCredential
        );
        assert_eq!(
            StorageAccount::parse("AccountName=a;AccountKey=%%%").unwrap_err(),
            ConnectionStringError::BadKey
        );
        let err = StorageAccount::parse("AccountName=a;garbage-with-a-long-secret-inside-it")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("inside-it"), "{err}");
        assert!(StorageAccount::parse("UseDevelopmentStorage=true").is_ok());
    }
}
