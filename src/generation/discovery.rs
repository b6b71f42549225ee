//! Where an upstream's servers are: the `IP:PORT` entries as written, and
//! every address each `HOST:PORT` entry's name has, looked up through the
//! system resolver (getaddrinfo, on Tokio's blocking pool).
//!
//! Pingora's load balancer asks this when the generation is built (no
//! address at all is an error then: the config is not applied) and again
//! every `dns_refresh` ([`super::upstream`]). A lookup that fails later keeps
//! the servers found before, with a warning; a name that fails while others
//! answer is left out, with a warning, until it answers again.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use pingora::lb::discovery::ServiceDiscovery;
use pingora::lb::Backend;
use pingora::{Error, ErrorType, Result};

use crate::config::ServerAddr;

/// The servers of one upstream, as configured.
pub(super) struct Servers {
    upstream: String,
    servers: Vec<ServerAddr>,
}

impl Servers {
    pub(super) fn new(upstream: &str, servers: &[ServerAddr]) -> Servers {
        Servers { upstream: upstream.to_owned(), servers: servers.to_vec() }
    }

    /// True when some server is given by name (so looking again may change them).
    pub(super) fn has_names(servers: &[ServerAddr]) -> bool {
        servers.iter().any(|s| matches!(s, ServerAddr::Name { .. }))
    }
}

#[async_trait]
impl ServiceDiscovery for Servers {
    async fn discover(&self) -> Result<(BTreeSet<Backend>, HashMap<u64, bool>)> {
        let mut found = BTreeSet::new();
        let mut failures = Vec::new();
        for server in &self.servers {
            let addrs: Vec<std::net::SocketAddr> = match server {
                ServerAddr::Ip(addr) => vec![*addr],
                ServerAddr::Name { host, port } => match tokio::net::lookup_host((host.as_str(), *port)).await {
                    Ok(addrs) => addrs.collect(),
                    Err(e) => {
                        failures.push(format!("{server}: {e}"));
                        continue;
                    }
                },
            };
            if addrs.is_empty() {
                failures.push(format!("{server}: no address"));
            }
            for addr in addrs {
                found.insert(Backend::new(&addr.to_string())?);
            }
        }
        if found.is_empty() {
            return Err(Error::explain(
                ErrorType::ConnectNoRoute,
                format!("no server of upstream {} resolved: {}", self.upstream, failures.join("; ")),
            ));
        }
        if !failures.is_empty() {
            tracing::warn!(upstream = %self.upstream, failures = %failures.join("; "), "some upstream servers did not resolve; using the others");
        }
        Ok((found, HashMap::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(servers: &[ServerAddr]) -> Result<Vec<String>> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (found, _) = runtime.block_on(Servers::new("shop", servers).discover())?;
        Ok(found.iter().map(|b| b.addr.to_string()).collect())
    }

    #[test]
    fn addresses_stay_names_resolve_and_nothing_found_is_an_error() {
        let ip = ServerAddr::Ip("127.0.0.1:81".parse().unwrap());
        let name = ServerAddr::Name { host: "localhost".into(), port: 82 };
        let nowhere = ServerAddr::Name { host: "nexora-no-such-host.invalid".into(), port: 83 };
        assert_eq!(addrs(std::slice::from_ref(&ip)).unwrap(), ["127.0.0.1:81"]);
        let named = addrs(&[name]).unwrap();
        assert!(named.iter().all(|a| a.ends_with(":82")) && !named.is_empty(), "{named:?}");
        // A name that does not resolve is left out while another server is there...
        assert_eq!(addrs(&[ip, nowhere.clone()]).unwrap(), ["127.0.0.1:81"]);
        // ...and is an error when nothing is left.
        let err = addrs(&[nowhere]).unwrap_err();
        assert!(err.to_string().contains("nexora-no-such-host.invalid:83"), "{err}");
        assert!(Servers::has_names(&[ServerAddr::Name { host: "a".into(), port: 1 }]));
        assert!(!Servers::has_names(&[ServerAddr::Ip("127.0.0.1:1".parse().unwrap())]));
    }
}
