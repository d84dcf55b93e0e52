//! Where a business may aim a request of ours (webhook endpoints today; alerts, routing
//! webhooks and ad platforms as they come): never at this machine, its network or a cloud
//! metadata service. A URL is parsed once, by the WHATWG parser the sender uses too, so
//! the host checked is the host connected to (`0x7f000001`, `2130706433`, `0177.0.0.1`
//! and `127.1` are all 127.0.0.1 to both); every address a name resolves to is checked
//! again when the request connects (see the sender's resolver), so DNS rebinding does not
//! get through either.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use url::{Host, Url};

/// The longest URL kept.
pub const MAX_URL_CHARS: usize = 2000;

/// Whether the loopback exception for local testing is on (`RINGTRACK_ALLOW_HTTP_WEBHOOKS`):
/// then loopback addresses, and plain http:// to them, are allowed; nothing else internal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    PublicOnly,
    AlsoLoopback,
}

/// An outbound URL, parsed and checked: https (or http to loopback under
/// [`Reach::AlsoLoopback`]), no credentials, a host that is not internal by its name or
/// address.
pub fn parse_url(raw: &str, reach: Reach) -> Result<Url, &'static str> {
    let raw = raw.trim();
    if raw.chars().count() > MAX_URL_CHARS {
        return Err("must be at most 2000 characters");
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters");
    }
    let url = Url::parse(raw).map_err(|_| "must be an https:// URL with a host")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password (send credentials as a header)");
    }
    let loopback = match url.host() {
        None => return Err("must be an https:// URL with a host"),
        Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), reach)?,
        Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), reach)?,
        Some(Host::Domain(name)) => check_name(name, reach)?,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" if reach == Reach::AlsoLoopback => Err("may use http:// only for a loopback address"),
        _ => Err("must be an https:// URL"),
    }
}

/// Whether `ip` may be connected to; answers whether it is loopback (allowed only under
/// [`Reach::AlsoLoopback`]).
pub fn check_ip(ip: IpAddr, reach: Reach) -> Result<bool, &'static str> {
    let ip = canonical(ip);
    if ip.is_loopback() {
        return match reach {
            Reach::AlsoLoopback => Ok(true),
            Reach::PublicOnly => Err("must not be a loopback address"),
        };
    }
    if is_internal(ip) { Err("must not be a private, link-local or reserved address") } else { Ok(false) }
}

/// Names that always mean this machine, its network or a metadata service.
fn check_name(name: &str, reach: Reach) -> Result<bool, &'static str> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let under = |suffix: &str| name == suffix || name.ends_with(&format!(".{suffix}"));
    if under("localhost") {
        return match reach {
            Reach::AlsoLoopback => Ok(true),
            Reach::PublicOnly => Err("must not be a loopback address"),
        };
    }
    if ["internal", "local", "localdomain", "home.arpa", "intranet", "lan"].iter().any(|s| under(s))
        || !name.contains('.')
    {
        return Err("must be a public host name");
    }
    Ok(false)
}

/// An IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4) is judged
/// as that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    let embedded = |hi: u16, lo: u16| IpAddr::V4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    match s {
        // IPv4-compatible (deprecated), but not :: and ::1 themselves.
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => embedded(hi, lo),
        // NAT64 (64:ff9b::/96).
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => embedded(hi, lo),
        // 6to4 (2002::/16): the IPv4 address follows the prefix.
        [0x2002, hi, lo, ..] => embedded(hi, lo),
        _ => ip,
    }
}

/// Not a public unicast address: private, shared, link-local, unspecified, multicast,
/// broadcast, documentation, benchmarking or reserved.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                || (first == 0x2001 && v6.segments()[1] < 0x0200)
                || v6 == Ipv6Addr::from([0x100, 0, 0, 0, 0, 0, 0, 0])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        parse_url(url, Reach::PublicOnly).is_err()
    }

    #[test]
    fn internal_hosts_are_refused_in_every_spelling() {
        for url in [
            "https://127.0.0.1/",
            "https://localhost/",
            "https://LOCALHOST./x",
            "https://api.localhost/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[fd00:ec2::254]/",
            "https://metadata.google.internal/computeMetadata/v1/",
            "https://10.0.0.5/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://100.64.0.1/",
            "https://[fc00::1]/",
            "https://[fe80::1]/",
            "https://[::1]/",
            "https://0.0.0.0/",
            "https://[::]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[64:ff9b::7f00:1]/",
            "https://[2002:7f00:1::]/",
            "https://2130706433/",
            "https://0x7f000001/",
            "https://0177.0.0.1/",
            "https://127.1/",
            "https://0/",
            "https://printer/",
            "https://nas.local/",
            "https://224.0.0.1/",
            "https://255.255.255.255/",
        ] {
            assert!(refused(url), "{url} was accepted");
        }
    }

    #[test]
    fn public_https_urls_are_kept_as_parsed() {
        let url = parse_url(" https://Hooks.Example.com:8443/ringtrack?x=1 ", Reach::PublicOnly).unwrap();
        assert_eq!(url.as_str(), "https://hooks.example.com:8443/ringtrack?x=1");
        assert!(parse_url("https://8.8.8.8/hook", Reach::PublicOnly).is_ok());
        assert!(parse_url("https://[2606:4700::1111]/hook", Reach::PublicOnly).is_ok());
    }

    #[test]
    fn the_loopback_exception_allows_loopback_only() {
        let local = Reach::AlsoLoopback;
        assert!(parse_url("http://127.0.0.1:9000/x", local).is_ok());
        assert!(parse_url("http://localhost/x", local).is_ok());
        assert!(parse_url("http://[::1]:8080/x", local).is_ok());
        assert!(parse_url("http://10.0.0.5/x", local).is_err());
        assert!(parse_url("https://169.254.169.254/", local).is_err());
        assert!(parse_url("http://hooks.example.com/x", local).is_err());
        assert!(parse_url("http://127.0.0.1/x", Reach::PublicOnly).is_err());
        // One parser for checking and sending: the host is 127.0.0.1 to both, and the
        // `@` sits in the path (WHATWG reads `\` as `/`).
        let tricky = parse_url("http://0x7f000001:19061\\@127.0.0.1/", local).unwrap();
        assert_eq!(tricky.host_str(), Some("127.0.0.1"));
        assert_eq!(tricky.port(), Some(19061));
        assert!(parse_url("https://0x7f000001:19061\\@127.0.0.1/", Reach::PublicOnly).is_err());
    }

    #[test]
    fn other_schemes_credentials_and_junk_are_refused() {
        for url in [
            "ftp://example.com/",
            "https://",
            "https://a b.com/",
            "https://user:pass@hooks.example.com/",
            "https://evil.com@127.0.0.1/",
            "file:///etc/passwd",
            "gopher://hooks.example.com/",
            "https://hooks.example.com/\u{7f}",
        ] {
            assert!(refused(url), "{url} was accepted");
        }
        assert!(refused(&format!("https://hooks.example.com/{}", "a".repeat(2000))));
    }
}
