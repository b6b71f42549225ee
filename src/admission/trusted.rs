//! Which peers are believed: `server.trusted_proxies`, the one list that
//! decides whether forwarding headers are kept (the proxy) and whether a
//! forward-auth request is answered (`/auth/decide`).

use std::net::IpAddr;

use ipnet::IpNet;

/// True when `ip` is in one of `nets`; an IPv4-mapped IPv6 address (a
/// dual-stack listener's view of an IPv4 client) counts as its IPv4 address.
pub fn is_trusted(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = unmapped(ip);
    nets.iter().any(|net| net.contains(&ip))
}

/// `ip`, with an IPv4-mapped IPv6 address read as its IPv4 address.
pub fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}
