//! Compiling `server:`, `listen:`, `upstreams:` and `default_upstream`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use super::Compiler;
use crate::raw;
use crate::{HealthCheckSpec, ListenSettings, ServerAddr, ServerSettings, UpstreamProtocol, UpstreamSpec};

/// Default admin listener (loopback only).
const DEFAULT_ADMIN: &str = "127.0.0.1:9901";

impl Compiler<'_> {
    pub(super) fn server(&mut self, raw: Option<raw::Server>) -> Option<ServerSettings> {
        let raw::Server {
            threads,
            trusted_proxies,
            work_stealing,
            upstream_keepalive_pool,
            fast_lane,
            request_header_timeout,
            request_body_timeout,
            keepalive_timeout,
            grace_period,
            graceful_shutdown_timeout,
        } = raw.unwrap_or(raw::Server {
            threads: None,
            trusted_proxies: None,
            work_stealing: None,
            upstream_keepalive_pool: None,
            fast_lane: None,
            request_header_timeout: None,
            request_body_timeout: None,
            keepalive_timeout: None,
            grace_period: None,
            graceful_shutdown_timeout: None,
        });
        if grace_period.is_some() {
            self.warn(
                "server.grace_period",
                "ignored: in-flight requests get server.graceful_shutdown_timeout at shutdown and upgrade; remove this key",
            );
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = threads.unwrap_or(cores);
        if threads == 0 || threads > 1024 {
            self.error("server.threads", "must be between 1 and 1024");
        }
        let mut nets = Vec::new();
        for (i, text) in trusted_proxies.unwrap_or_default().iter().enumerate() {
            match parse_net(text) {
                Some(net) => nets.push(net),
                None => self.error(
                    &format!("server.trusted_proxies[{i}]"),
                    format!("{text:?} is not an address or CIDR range such as 10.0.0.0/8"),
                ),
            }
        }
        let shutdown = self.duration(
            "server.graceful_shutdown_timeout",
            graceful_shutdown_timeout.as_deref(),
            "30s",
        )?;
        let mut positive = |key: &str, text: Option<String>, default: &str| {
            let at = format!("server.{key}");
            let value = self.duration(&at, text.as_deref(), default)?;
            if value.is_zero() {
                self.error(&at, "must be more than 0s");
            }
            Some(value)
        };
        let header_timeout = positive("request_header_timeout", request_header_timeout, "10s");
        let body_timeout = positive("request_body_timeout", request_body_timeout, "15s");
        let keepalive = positive("keepalive_timeout", keepalive_timeout, "60s");
        Some(ServerSettings {
            threads,
            work_stealing: work_stealing.unwrap_or(true),
            trusted_proxies: nets,
            upstream_keepalive_pool: upstream_keepalive_pool.unwrap_or(128),
            fast_lane: fast_lane.unwrap_or(true),
            request_header_timeout: header_timeout?,
            request_body_timeout: body_timeout?,
            keepalive_timeout: keepalive?,
            graceful_shutdown_timeout: shutdown,
        })
    }

    pub(super) fn listen(&mut self, raw: raw::Listen) -> Option<ListenSettings> {
        let raw::Listen { proxy, admin, tls, h2c } = raw;
        let proxy_addr = self.socket_addr("listen.proxy", &proxy);
        let admin_addr = self.socket_addr("listen.admin", admin.as_deref().unwrap_or(DEFAULT_ADMIN));
        if let (Some(p), Some(a)) = (proxy_addr, admin_addr) {
            if p.port() == a.port() && (p.ip() == a.ip() || p.ip().is_unspecified() || a.ip().is_unspecified()) {
                self.error("listen.admin", "must differ from listen.proxy: metrics and health are never served on the public port");
            }
        }
        let tls = match tls {
            Some(raw) => Some(self.listen_tls(raw)?),
            None => None,
        };
        Some(ListenSettings { proxy: proxy_addr?, admin: admin_addr?, tls, h2c: h2c.unwrap_or(false) })
    }

    /// Upstream specs in name order, and the name → index map routes use.
    pub(super) fn upstreams(
        &mut self,
        raw: BTreeMap<String, raw::Upstream>,
    ) -> (Vec<UpstreamSpec>, BTreeMap<String, usize>) {
        let mut specs = Vec::new();
        let mut names = BTreeMap::new();
        for (name, up) in raw {
            let at = format!("upstreams.{name}");
            let raw::Upstream { servers, health_check, connect_timeout, read_timeout, tls, dns_refresh, protocol } = up;
            let protocol = self.upstream_protocol(&at, protocol, tls.is_some());
            if servers.is_empty() {
                self.error(&format!("{at}.servers"), "needs at least one server (IP:PORT or HOST:PORT)");
            }
            let addrs: Vec<ServerAddr> = servers
                .iter()
                .enumerate()
                .filter_map(|(i, s)| self.server_addr(&format!("{at}.servers[{i}]"), s))
                .collect();
            let refresh = self.duration(&format!("{at}.dns_refresh"), dns_refresh.as_deref(), "30s");
            if refresh.is_some_and(|r| r.is_zero()) {
                self.error(&format!("{at}.dns_refresh"), "must be more than 0s");
            }
            let tls_ok = match tls {
                Some(raw) => self.upstream_tls(&at, raw).map(Some),
                None => Some(None),
            };
            let connect = self.duration(&format!("{at}.connect_timeout"), connect_timeout.as_deref(), "5s");
            let read = self.duration(&format!("{at}.read_timeout"), read_timeout.as_deref(), "60s");
            let health = health_check.and_then(|hc| self.health_check(&at, hc));
            names.insert(name.clone(), specs.len());
            if let (Some(connect_timeout), Some(read_timeout), Some(tls), Some(dns_refresh)) = (connect, read, tls_ok, refresh) {
                if addrs.len() == servers.len() && !addrs.is_empty() {
                    specs.push(UpstreamSpec { name, servers: addrs, dns_refresh, health_check: health, connect_timeout, read_timeout, tls, protocol });
                    continue;
                }
            }
            // Keep indices aligned with `names` even for a broken entry; the
            // errors recorded above stop the config from being used.
            specs.push(UpstreamSpec {
                name,
                servers: Vec::new(),
                dns_refresh: std::time::Duration::ZERO,
                health_check: None,
                connect_timeout: std::time::Duration::ZERO,
                read_timeout: std::time::Duration::ZERO,
                tls: None,
                protocol,
            });
        }
        (specs, names)
    }

    /// `protocol`: `h2` and `auto` negotiate by ALPN, so they need `tls`;
    /// `h2c` is prior knowledge in clear text, so it refuses `tls`.
    fn upstream_protocol(&mut self, at: &str, raw: Option<raw::UpstreamProtocol>, tls: bool) -> UpstreamProtocol {
        let at = format!("{at}.protocol");
        match raw {
            None | Some(raw::UpstreamProtocol::Http1) => UpstreamProtocol::Http1,
            Some(raw::UpstreamProtocol::H2c) => {
                if tls {
                    self.error(&at, "h2c is HTTP/2 in clear text: with `tls`, use `h2` (or `auto`)");
                }
                UpstreamProtocol::H2c
            }
            Some(raw::UpstreamProtocol::H2) | Some(raw::UpstreamProtocol::Auto) if !tls => {
                self.error(&at, "h2 and auto negotiate HTTP/2 by TLS ALPN: add `tls`, or use `h2c` for clear text");
                UpstreamProtocol::Http1
            }
            Some(raw::UpstreamProtocol::H2) => UpstreamProtocol::H2,
            Some(raw::UpstreamProtocol::Auto) => UpstreamProtocol::Auto,
        }
    }

    fn health_check(&mut self, at: &str, hc: raw::HealthCheck) -> Option<HealthCheckSpec> {
        let raw::HealthCheck { path, interval, timeout } = hc;
        if !path.starts_with('/') {
            self.error(&format!("{at}.health_check.path"), "must start with /");
        }
        let interval = self.duration(&format!("{at}.health_check.interval"), Some(&interval), "5s")?;
        let timeout = self.duration(&format!("{at}.health_check.timeout"), timeout.as_deref(), "1s")?;
        if interval.is_zero() {
            self.error(&format!("{at}.health_check.interval"), "must be more than 0s");
        }
        Some(HealthCheckSpec { path, interval, timeout })
    }

    pub(super) fn default_upstream(
        &mut self,
        raw: Option<String>,
        default: Option<raw::DefaultDecision>,
        names: &BTreeMap<String, usize>,
    ) -> Option<Option<usize>> {
        match raw {
            Some(name) => match names.get(&name) {
                Some(&i) => Some(Some(i)),
                None => {
                    self.error("default_upstream", format!("no upstream named {name:?} (known: {})", known(names)));
                    None
                }
            },
            None if names.len() == 1 => Some(names.values().next().copied()),
            None if default == Some(raw::DefaultDecision::Authenticated) => {
                self.error("default", "with `default: authenticated` and several upstreams, set default_upstream to say where unmatched requests go");
                None
            }
            None => Some(None),
        }
    }

    fn socket_addr(&mut self, yaml_path: &str, text: &str) -> Option<SocketAddr> {
        match text.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.error(yaml_path, format!("{text:?} is not IP:PORT (e.g. 127.0.0.1:8080)"));
                None
            }
        }
    }

    fn server_addr(&mut self, yaml_path: &str, text: &str) -> Option<ServerAddr> {
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Some(ServerAddr::Ip(addr));
        }
        let named = text.rsplit_once(':').and_then(|(host, port)| {
            let port = port.parse::<u16>().ok().filter(|&p| p > 0)?;
            is_dns_name(host).then(|| ServerAddr::Name { host: host.to_owned(), port })
        });
        if named.is_none() {
            self.error(yaml_path, format!("{text:?} is not IP:PORT or HOST:PORT (e.g. 127.0.0.1:8080, backend:8080, [::1]:8080)"));
        }
        named
    }
}

/// A DNS name as RFC 1123 allows it: dot-separated labels of letters, digits
/// and inner hyphens, each 1–63 characters, 253 in all; not all digits (an
/// IPv4 address that failed to parse is a typo, not a name).
fn is_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    (1..=253).contains(&host.len())
        && host.split('.').all(label_ok)
        && !host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// A CIDR range, or a bare address as a single-host range.
fn parse_net(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// The known names, for error messages.
pub(super) fn known(names: &BTreeMap<String, usize>) -> String {
    names.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
}
