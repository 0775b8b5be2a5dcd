//! Where a request came from, as each platform reports it, put in the request's
//! extensions as a [`ClientAddress`] for the login throttles.
//!
//! A client's own `X-Forwarded-For` is never believed: locally the TCP peer counts
//! unless it is a proxy the operator declared; on API Gateway `sourceIp`; on Azure
//! the entry the Functions front end appended (the last one).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::config::ConfigError;
use crate::domain::ClientAddress;

const FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies (load balancers) in front of the local server whose
/// `X-Forwarded-For` is believed (`SKIFF_TRUSTED_PROXIES`: addresses or CIDR
/// ranges, comma-separated).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// Addresses or CIDR ranges from the variable `name`.
    pub fn parse(name: &'static str, items: &[String]) -> Result<Self, ConfigError> {
        let nets = items
            .iter()
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| ConfigError {
                        name,
                        value: item.clone(),
                        reason: "must be IP addresses or CIDR ranges, comma-separated".into(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(nets.into()))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request whose TCP peer is `peer`: the peer itself, unless it
    /// is a trusted proxy; then the nearest `X-Forwarded-For` entry that is not one
    /// (entries further left were written by whoever sent the request, so they
    /// prove nothing).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> ClientAddress {
        if !self.trusts(canonical(peer)) {
            return ClientAddress::from(peer);
        }
        let mut nearest = ClientAddress::from(peer);
        for entry in forwarded_entries(headers).rev() {
            match ClientAddress::parse(entry) {
                ClientAddress::Ip(ip) if self.trusts(ip) => nearest = ClientAddress::Ip(ip),
                ClientAddress::Ip(ip) => return ClientAddress::Ip(ip),
                // Garbage where an address should be: stop at the last proxy we trust.
                ClientAddress::Unknown => return nearest,
            }
        }
        nearest
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ClientAddress::from(ip) {
        ClientAddress::Ip(ip) => ip,
        ClientAddress::Unknown => ip,
    }
}

/// Every `X-Forwarded-For` entry, first to last, across repeated headers.
fn forwarded_entries(headers: &HeaderMap) -> impl DoubleEndedIterator<Item = &str> {
    headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect::<Vec<_>>()
        .into_iter()
}

/// The local server: the TCP peer (axum's `ConnectInfo`), through the trusted
/// proxies. Without `ConnectInfo` the client is unknown.
pub fn from_peer(
    trusted: TrustedProxies,
) -> impl Fn(Request) -> std::future::Ready<Request> + Clone {
    move |mut request: Request| {
        let client = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(ClientAddress::Unknown, |ConnectInfo(peer)| {
                trusted.client(peer.ip(), request.headers())
            });
        request.extensions_mut().insert(client);
        std::future::ready(request)
    }
}

/// Azure Functions: the front end appends the client's address (often with its
/// port) to `X-Forwarded-For`; the last entry is the one it wrote.
pub fn from_functions_front_end(mut request: Request) -> std::future::Ready<Request> {
    let client = forwarded_entries(request.headers())
        .next_back()
        .map_or(ClientAddress::Unknown, ClientAddress::parse);
    request.extensions_mut().insert(client);
    std::future::ready(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append(FORWARDED_FOR, value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_client_cannot_choose_its_own_address() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("127.0.0.2"), &headers(&["203.0.113.9"])),
            ClientAddress::parse("127.0.0.2")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_entry_counts() {
        let trusted = TrustedProxies::parse(
            "SKIFF_TRUSTED_PROXIES",
            &["10.0.0.0/8".into(), "127.0.0.1".into()],
        )
        .unwrap();
        // The client forged a first entry; the proxy appended the real address.
        let forwarded = headers(&["198.51.100.1, 203.0.113.9", "10.1.2.3"]);
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &forwarded),
            ClientAddress::parse("203.0.113.9")
        );
        // Only proxies: the furthest trusted one.
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &headers(&["10.9.9.9"])),
            ClientAddress::parse("10.9.9.9")
        );
        // An untrusted peer's header is ignored.
        assert_eq!(
            trusted.client(ip("192.0.2.7"), &forwarded),
            ClientAddress::parse("192.0.2.7")
        );
    }

    #[test]
    fn bad_proxy_settings_name_the_variable() {
        let err =
            TrustedProxies::parse("SKIFF_TRUSTED_PROXIES", &["10.0.0.0/99".into()]).unwrap_err();
        assert_eq!(err.name, "SKIFF_TRUSTED_PROXIES");
    }

    #[test]
    fn the_front_end_entry_is_the_last_one() {
        let request = Request::builder()
            .header(FORWARDED_FOR, "198.51.100.1, 203.0.113.9:50123")
            .body(axum::body::Body::empty())
            .unwrap();
        let request = from_functions_front_end(request).into_inner();
        assert_eq!(
            request.extensions().get::<ClientAddress>(),
            Some(&ClientAddress::parse("203.0.113.9"))
        );
    }
}
