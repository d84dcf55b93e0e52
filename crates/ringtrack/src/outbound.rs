//! The one HTTP client for every request a business can aim (webhook deliveries today):
//! the URL is parsed and checked by `ringtrack_domain::outbound` (an IP literal is judged
//! there), a host name is resolved once here and every address it gives is checked, and
//! the connection goes to those checked addresses; no proxy, no redirect, a time limit,
//! and the answer's body is never read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use ringtrack_domain::outbound::{self, Reach};

/// Resolves a host name and refuses it whole if any of its addresses is internal (one
/// public address beside an internal one would let a rebinding name choose).
struct CheckedResolver {
    reach: Reach,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.reach;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            check_addresses(&host, &addrs, reach)?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Refused: the name resolves to an address we never connect to.
#[derive(Debug, thiserror::Error)]
#[error("refused: {host} resolves to an internal address ({address})")]
struct InternalAddress {
    host: String,
    address: std::net::IpAddr,
}

fn check_addresses(host: &str, addrs: &[SocketAddr], reach: Reach) -> Result<(), InternalAddress> {
    match addrs.iter().find(|a| outbound::check_ip(a.ip(), reach).is_err()) {
        Some(bad) => Err(InternalAddress { host: host.to_owned(), address: bad.ip() }),
        None => Ok(()),
    }
}

/// A client whose every connection goes to a checked address.
#[derive(Clone)]
pub struct OutboundClient {
    http: reqwest::Client,
    reach: Reach,
}

impl OutboundClient {
    pub fn new(reach: Reach, timeout: Duration, user_agent: &str) -> OutboundClient {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver { reach }))
            .user_agent(user_agent)
            .build()
            .expect("a TLS client");
        OutboundClient { http, reach }
    }

    /// A POST to `url`, or why it may not be made.
    pub fn post(&self, url: &str) -> Result<reqwest::RequestBuilder, String> {
        let url = outbound::parse_url(url, self.reach).map_err(|why| format!("refused: the URL {why}"))?;
        Ok(self.http.post(url))
    }
}

/// What a failed request says in a log a business reads: the cause without the URL (it
/// may carry a token), and our own refusal in full.
pub fn describe(error: reqwest::Error) -> String {
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<InternalAddress>() {
            return refused.to_string();
        }
        source = cause.source();
    }
    error.without_url().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 443)
    }

    #[test]
    fn one_internal_address_refuses_the_whole_name() {
        let public = [at("93.184.215.14"), at("2606:2800:21f:cb07:6820:80da:af6b:8b2c")];
        assert!(check_addresses("hooks.example.com", &public, Reach::PublicOnly).is_ok());
        let rebound = [at("93.184.215.14"), at("127.0.0.1")];
        let refused = check_addresses("rebind.example.com", &rebound, Reach::PublicOnly).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "refused: rebind.example.com resolves to an internal address (127.0.0.1)"
        );
        assert!(
            check_addresses("x.example.com", &[at("::ffff:169.254.169.254")], Reach::AlsoLoopback).is_err()
        );
        assert!(check_addresses("localhost", &[at("127.0.0.1"), at("::1")], Reach::AlsoLoopback).is_ok());
        assert!(check_addresses("localhost", &[at("127.0.0.1")], Reach::PublicOnly).is_err());
    }
}
