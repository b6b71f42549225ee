//! The proxy listener's TLS certificate, taken from the generation in force
//! at each handshake, so a renewed certificate (the same `listen.tls` files,
//! new content) applies on reload without a restart or a dropped connection.
//!
//! The files' paths are still fixed at start (`listen.*` is restart-only);
//! the reload re-reads them, checks the key against the certificate exactly
//! as `check` does, and only then does the new pair serve. A connection
//! keeps the certificate it was accepted with.

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::generation::Live;

/// Serves the certificate and key of the generation in force.
pub struct LiveCertificate {
    live: Arc<Live>,
}

impl LiveCertificate {
    /// A resolver over `live`, whose generations all carry `listen.tls`
    /// (the listener exists only when the first one did, and reloads keep it).
    pub fn new(live: Arc<Live>) -> LiveCertificate {
        LiveCertificate { live }
    }
}

impl std::fmt::Debug for LiveCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveCertificate")
    }
}

impl ResolvesServerCert for LiveCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.live.current().config.listen.tls.as_ref().map(|tls| tls.certified.clone())
    }
}
