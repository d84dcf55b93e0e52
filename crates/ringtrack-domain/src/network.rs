//! Who a request came from. Behind a reverse proxy (the TLS terminator `https` needs) every
//! connection comes from the proxy; the proxy says whom it forwarded in `X-Forwarded-For`
//! (or RFC 7239's `Forwarded`). Those headers are believed only from proxies the operator
//! names (`RINGTRACK_TRUSTED_PROXIES`), and only as far as they reach: the client is the
//! right-most address that is not itself a trusted proxy, since anything to its left was
//! written by the client and proves nothing.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address block, `10.0.0.0/8` or `::1/128` (a bare address is a block of one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

/// IPv4 written as IPv6 (`::ffff:10.0.0.1`, how a dual-stack listener reports it) is IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCidr(String);

impl fmt::Display for InvalidCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not an address or a block like 10.0.0.0/8 or fd00::/8", self.0)
    }
}

impl std::error::Error for InvalidCidr {}

impl FromStr for Cidr {
    type Err = InvalidCidr;

    fn from_str(raw: &str) -> Result<Cidr, InvalidCidr> {
        let invalid = || InvalidCidr(raw.to_owned());
        let (address, prefix) = match raw.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (raw.trim(), None),
        };
        let network = canonical(address.parse::<IpAddr>().map_err(|_| invalid())?);
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.parse::<u8>().ok().filter(|p| *p <= most).ok_or_else(invalid)?,
            None => most,
        };
        Ok(Cidr { network, prefix })
    }
}

/// The proxies whose forwarding headers are believed (none by default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// A comma-separated list of blocks, as `RINGTRACK_TRUSTED_PROXIES` holds it.
    pub fn parse(list: &str) -> Result<TrustedProxies, InvalidCidr> {
        list.split(',')
            .filter(|b| !b.trim().is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(address))
    }

    /// The client behind a connection from `peer`: `peer` itself unless it is a trusted
    /// proxy; then, walking the forwarded addresses from the right, the first one that is
    /// not a trusted proxy (or the left-most, when every hop is trusted). `forwarded_for`
    /// are the `X-Forwarded-For` header's values in order; `forwarded`, RFC 7239's, read
    /// when there is no `X-Forwarded-For`. An address that cannot be read ends the walk at
    /// the hop that wrote it.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str], forwarded: &[&str]) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = if forwarded_for.is_empty() {
            forwarded.iter().flat_map(|v| v.split(',')).filter_map(forwarded_for_of).collect()
        } else {
            forwarded_for.iter().flat_map(|v| v.split(',')).collect()
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(address) = parse_hop(hop) else { break };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

/// The `for=` of one `Forwarded` element.
fn forwarded_for_of(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| value.trim().trim_matches('"'))
    })
}

/// One hop: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse::<IpAddr>().ok().map(canonical);
    }
    let (host, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn blocks_hold_what_their_prefix_says() {
        let private: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(private.contains(ip("10.200.3.4")) && !private.contains(ip("11.0.0.1")));
        assert!(private.contains(ip("::ffff:10.0.0.9")), "mapped IPv4 is IPv4");
        let one: Cidr = "2001:db8::1".parse().unwrap();
        assert!(one.contains(ip("2001:db8::1")) && !one.contains(ip("2001:db8::2")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("198.51.100.1")));
        for bad in ["10.0.0.0/33", "example.com", "10.0.0/8", "::/129", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
        assert!(TrustedProxies::parse("10.0.0.0/8, nonsense").is_err());
        assert_eq!(TrustedProxies::parse("").unwrap(), TrustedProxies::default());
    }

    #[test]
    fn the_client_is_the_right_most_address_no_trusted_proxy_wrote() {
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // Not through a trusted proxy: the headers are the client's own words.
        assert_eq!(
            TrustedProxies::default().client(ip("127.0.0.1"), &["198.51.100.7"], &[]),
            ip("127.0.0.1")
        );
        assert_eq!(proxies.client(ip("203.0.113.9"), &["198.51.100.7"], &[]), ip("203.0.113.9"));
        // Through one: the last hop it added.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["198.51.100.7"], &[]), ip("198.51.100.7"));
        // A client that forges hops to the left gains nothing.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["1.2.3.4, 198.51.100.7"], &[]), ip("198.51.100.7"));
        // Through two trusted proxies, over two headers.
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["1.2.3.4, 198.51.100.7", "10.1.2.3"], &[]),
            ip("198.51.100.7")
        );
        // Forwarded, with ports and IPv6.
        let forwarded = [r#"for=1.2.3.4, for="[2001:db8::7]:4711";proto=https"#];
        assert_eq!(proxies.client(ip("::ffff:127.0.0.1"), &[], &forwarded), ip("2001:db8::7"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &["198.51.100.7:5123"], &[]), ip("198.51.100.7"));
        // Garbage stops the walk at the proxy that passed it on.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["198.51.100.7, unknown"], &[]), ip("127.0.0.1"));
        // No header from a trusted proxy: the proxy is the client.
        assert_eq!(proxies.client(ip("10.0.0.5"), &[], &[]), ip("10.0.0.5"));
    }
}
