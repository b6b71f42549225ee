//! TLS for the tests: a self-signed certificate made per test, config text
//! that serves it, and clients (HTTP/1.1 over ureq, HTTP/2 over h2) that trust
//! exactly that certificate. Everything uses rustls with ring, like the gateway.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM files.
pub struct TestCert {
    /// The certificate file.
    pub cert_path: PathBuf,
    /// The private key file.
    pub key_path: PathBuf,
    der: CertificateDer<'static>,
    _dir: tempfile::TempDir,
}

impl TestCert {
    /// A fresh certificate and key in a fresh temp dir.
    pub fn new() -> TestCert {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert_path = dir.path().join("gw.pem");
        let key_path = dir.path().join("gw.key");
        std::fs::write(&cert_path, ck.cert.pem()).unwrap();
        std::fs::write(&key_path, ck.key_pair.serialize_pem()).unwrap();
        TestCert { cert_path, key_path, der: ck.cert.der().clone(), _dir: dir }
    }

    /// A client config that trusts only this certificate and offers `alpn`.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// A ureq agent (HTTP/1.1) that trusts this certificate and never follows redirects.
    pub fn agent(&self) -> ureq::Agent {
        ureq::AgentBuilder::new()
            .tls_config(self.client_config(&[b"http/1.1"]))
            .redirects(0)
            .timeout(Duration::from_secs(10))
            .build()
    }
}

/// A config text from [`super::config_yaml`] with `listen.tls` serving `cert`.
pub fn with_listener_tls(yaml: &str, cert: &TestCert) -> String {
    let tls = format!(
        "  tls: {{ cert: {}, key: {} }}\nupstreams:\n",
        cert.cert_path.display(),
        cert.key_path.display()
    );
    let out = yaml.replacen("upstreams:\n", &tls, 1);
    assert_ne!(out, yaml, "no upstreams: section to put listen.tls before");
    out
}

/// The `https://127.0.0.1:PORT` URL of a gateway's proxy listener.
pub fn https_url(gw: &super::Gateway, path: &str) -> String {
    format!("https://{}{path}", gw.proxy_addr())
}

/// What one HTTP/2 exchange produced.
#[derive(Debug)]
pub struct H2Reply {
    /// The protocol the TLS handshake settled on.
    pub alpn: Option<Vec<u8>>,
    /// HTTP status.
    pub status: u16,
    /// Response body.
    pub body: String,
}

/// GET `path` over HTTP/2 on TLS (ALPN `h2` only), with `headers`.
pub fn h2_get(addr: &str, cert: &TestCert, path: &str, headers: &[(&str, &str)]) -> H2Reply {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(cert.client_config(&[b"h2"]));
        let name = ServerName::try_from("localhost").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        let (mut client, connection) = h2::client::handshake(tls).await.unwrap();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut req = http::Request::builder().method("GET").uri(format!("https://localhost{path}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let (response, _) = client.send_request(req.body(()).unwrap(), true).unwrap();
        let response = response.await.unwrap();
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            body.flow_control().release_capacity(chunk.len()).unwrap();
            bytes.extend_from_slice(&chunk);
        }
        H2Reply { alpn, status, body: String::from_utf8_lossy(&bytes).into_owned() }
    })
}
