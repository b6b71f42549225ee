//! Compiling `listen.tls` and `upstreams.NAME.tls`.
//!
//! The listener's certificate chain and private key are read, parsed and
//! matched against each other here, so a bad file is a located config error
//! that `check` reports, not a failure when the listener starts. Paths are
//! relative to the config file, like key files.
//!
//! A binary built without the `tls` feature cannot serve or speak TLS: both
//! settings are then refused here, still with their files checked, so `check`
//! says so before a listener or an upstream fails at run time.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{Error as TlsError, InconsistentKeys};

use super::tokens::resolve;
use super::Compiler;
use crate::files::{read_capped, MAX_KEY_BYTES};
use crate::{raw, TlsFiles, UpstreamTlsSpec};

/// Whether this binary links a TLS backend (the `tls` cargo feature, on by default).
const TLS_BUILT_IN: bool = cfg!(feature = "tls");

impl Compiler<'_> {
    /// `listen.tls`: both files readable, PEM that parses, a key that belongs to
    /// the first certificate of the chain.
    pub(super) fn listen_tls(&mut self, raw: raw::ListenTls) -> Option<TlsFiles> {
        self.refuse_without_tls_backend("listen.tls");
        let raw::ListenTls { cert, key } = raw;
        let cert_path = resolve(&self.src.path, &cert);
        let key_path = resolve(&self.src.path, &key);
        let chain = self.certificate_chain("listen.tls.cert", &cert_path);
        let signing_key = self.signing_key("listen.tls.key", &key_path);
        let (chain, signing_key) = (chain?, signing_key?);
        let certified = CertifiedKey::new(chain, signing_key);
        match certified.keys_match() {
            // Unknown: the key type cannot say its public key; the handshake will tell.
            Ok(()) | Err(TlsError::InconsistentKeys(InconsistentKeys::Unknown)) => {}
            Err(TlsError::InconsistentKeys(_)) => {
                self.error(
                    "listen.tls.key",
                    format!(
                        "{} is not the private key of the certificate in {}: use the key the certificate was issued for",
                        key_path.display(),
                        cert_path.display()
                    ),
                );
                return None;
            }
            Err(e) => {
                self.error(
                    "listen.tls.cert",
                    format!("the first certificate in {} is not a valid X.509 certificate: {e}", cert_path.display()),
                );
                return None;
            }
        }
        Some(TlsFiles { cert: cert_path, key: key_path, certified: Arc::new(certified) })
    }

    /// `upstreams.NAME.tls`: a server name to send and check; verification on
    /// unless `verify: false`.
    pub(super) fn upstream_tls(&mut self, at: &str, raw: raw::UpstreamTls) -> Option<UpstreamTlsSpec> {
        self.refuse_without_tls_backend(&format!("{at}.tls"));
        let raw::UpstreamTls { sni, verify } = raw;
        if ServerName::try_from(sni.as_str()).is_err() {
            self.error(
                &format!("{at}.tls.sni"),
                format!("{sni:?} is not a DNS name or IP address (it is sent in the handshake and checked against the certificate)"),
            );
            return None;
        }
        Some(UpstreamTlsSpec { sni, verify: verify.unwrap_or(true) })
    }

    /// A TLS setting is an error in a build without the `tls` feature.
    pub(super) fn refuse_without_tls_backend(&mut self, at: &str) {
        if !TLS_BUILT_IN {
            self.error(
                at,
                "this nexora-gate was built without TLS (cargo feature `tls`, on by default): \
                 use a build with default features, or remove the setting and terminate TLS in front of the gateway",
            );
        }
    }

    /// Every `CERTIFICATE` block of a PEM file, leaf first; at least one.
    fn certificate_chain(&mut self, at: &str, path: &Path) -> Option<Vec<CertificateDer<'static>>> {
        let bytes = self.read_pem(at, path)?;
        let chain: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
        match chain {
            Ok(chain) if chain.is_empty() => {
                self.error(
                    at,
                    format!("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display()),
                );
                None
            }
            Ok(chain) => Some(chain),
            Err(e) => {
                self.error(at, format!("{} is not valid PEM: {e}", path.display()));
                None
            }
        }
    }

    /// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1), loaded by
    /// the crypto provider the listener uses.
    fn signing_key(&mut self, at: &str, path: &Path) -> Option<Arc<dyn rustls::sign::SigningKey>> {
        let bytes = self.read_pem(at, path)?;
        let der = match PrivateKeyDer::from_pem_slice(&bytes) {
            Ok(der) => der,
            Err(rustls::pki_types::pem::Error::NoItemsFound) => {
                self.error(
                    at,
                    format!(
                        "{} holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
                        path.display()
                    ),
                );
                return None;
            }
            Err(e) => {
                self.error(at, format!("{} is not valid PEM: {e}", path.display()));
                return None;
            }
        };
        match ring::default_provider().key_provider.load_private_key(der) {
            Ok(key) => Some(key),
            Err(e) => {
                self.error(
                    at,
                    format!("the key in {} cannot be used for TLS ({e}); use an RSA, ECDSA P-256/P-384 or Ed25519 key", path.display()),
                );
                None
            }
        }
    }

    fn read_pem(&mut self, at: &str, path: &Path) -> Option<Vec<u8>> {
        match read_capped(path, MAX_KEY_BYTES) {
            Ok(bytes) => {
                self.depends_on(path, &bytes);
                Some(bytes)
            }
            Err(e) => {
                self.error(at, format!("cannot read {}: {e}", path.display()));
                None
            }
        }
    }
}

// What a TLS setting compiles to (only with the TLS backend: see its first line).
#[cfg(test)]
mod tests;

// TLS settings against the build's feature set: runs in both builds.
#[cfg(test)]
mod build_tests;
