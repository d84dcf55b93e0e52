//! The one HTTP client for every request a business can aim (webhook deliveries today):
//! the URL is parsed and checked by `ringtrack_domain::outbound` (an IP literal is judged
//! there), a host name is resolved once here and every address it gives is checked, and
//! the connection goes to those checked addresses; no proxy, no redirect, a time limit,
//! and the answer's body is never read.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use ringtrack_domain::outbound::{self, Reach};

/// What answers a host name's addresses: the system's resolver (tests give their own, to
/// play a rebinding DNS server).
pub type Lookup = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> + Send + Sync,
>;

fn system_lookup() -> Lookup {
    Arc::new(|host: String| {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    })
}

/// Resolves a host name once and refuses it whole if any of its addresses is internal
/// (one public address beside an internal one would let a rebinding name choose); the
/// connection then goes to exactly the addresses checked.
struct CheckedResolver {
    reach: Reach,
    lookup: Lookup,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (reach, lookup) = (self.reach, self.lookup.clone());
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs = lookup(host.clone()).await?;
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
        Self::with_lookup(reach, timeout, user_agent, system_lookup())
    }

    pub fn with_lookup(reach: Reach, timeout: Duration, user_agent: &str, lookup: Lookup) -> OutboundClient {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver { reach, lookup }))
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

    /// A DNS server that answers every name with `address`, as a rebinding one does the
    /// second time it is asked.
    fn rebinding_to(address: SocketAddr) -> Lookup {
        Arc::new(move |_| Box::pin(async move { Ok(vec![address]) }))
    }

    /// A listener that counts the connections it is offered.
    async fn counting_listener() -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = count.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(socket);
            }
        });
        (address, count)
    }

    #[tokio::test]
    async fn a_name_that_resolves_internal_is_never_connected_to() {
        let (address, connections) = counting_listener().await;
        let client = OutboundClient::with_lookup(
            Reach::PublicOnly,
            Duration::from_secs(5),
            "test",
            rebinding_to(address),
        );
        let url = format!("https://rebind.example.com:{}/hook", address.port());
        let error = client.post(&url).unwrap().send().await.unwrap_err();
        assert_eq!(
            describe(error),
            "refused: rebind.example.com resolves to an internal address (127.0.0.1)"
        );
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0);
        // Under the loopback exception the same name connects, to the address checked.
        let local = OutboundClient::with_lookup(
            Reach::AlsoLoopback,
            Duration::from_secs(5),
            "test",
            rebinding_to(address),
        );
        let plain = format!("http://rebind.example.com:{}/hook", address.port());
        assert!(local.post(&plain).is_err(), "http:// only to a loopback host as written");
        let _ = local.post(&url).unwrap().send().await;
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

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
