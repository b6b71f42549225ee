//! The compiled configuration: what `serve`, `check` and `explain` run on.
//!
//! Every value here is validated and typed (addresses, durations, header
//! names, the rule set, key material). Nothing in it refers back to YAML;
//! the hot path and the CLI only ever see these types.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use rustls::sign::CertifiedKey;

use nexora_policy::{PolicyCase, Roles, RuleSet};
use crate::IdentityHeaders;
use nexora_token::TokenSettings;

use super::ConfigError;

/// A whole, validated gateway configuration.
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// Pingora runtime settings.
    pub server: ServerSettings,
    /// Listener addresses.
    pub listen: ListenSettings,
    /// Upstreams, indexed by the `upstream` number of each rule.
    pub upstreams: Vec<UpstreamSpec>,
    /// Upstream for requests no rule matches (when `default: authenticated`).
    pub default_upstream: Option<usize>,
    /// The user store.
    pub database: DatabaseSettings,
    /// Keys, lifetimes, leeway, issuer/audience, cache size.
    pub tokens: TokenSettings,
    /// Refresh rotation, revocation polling.
    pub token_policy: TokenPolicy,
    /// The gateway's own endpoints.
    pub auth: AuthSettings,
    /// Headers that carry the verified identity upstream.
    pub identity_headers: IdentityHeaders,
    /// Whether the client's `Authorization` header is forwarded upstream.
    pub forward_authorization: bool,
    /// The role vocabulary.
    pub roles: Roles,
    /// The compiled routes.
    pub rules: RuleSet,
    /// The policy's own `tests:` (docs/REFERENCE.md#policy-tests).
    pub tests: Vec<PolicyCase>,
    /// Log level and format.
    pub logging: LoggingSettings,
    /// Problems that do not stop the config from loading (shadowed rules,
    /// overlaps), with their locations.
    pub warnings: Vec<ConfigError>,
    /// The policy evaluated beside the enforced one, never enforced.
    pub shadow: Option<ShadowPolicy>,
    /// Redis for attempt counters shared by the fleet (`redis:`); None: in memory.
    pub redis: Option<RedisSettings>,
    /// External identity providers whose access tokens are accepted (`issuers:`).
    pub issuers: Vec<IssuerSpec>,
    /// The files this config read besides itself and a reload reads again:
    /// token key files, the shadow policy file, the listener's certificate
    /// and key. Live reload watches them too.
    pub inputs: Vec<InputFile>,
}

/// A file a config read besides itself, with a digest of the bytes read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The file, resolved against the config file's directory.
    pub path: PathBuf,
    /// SHA-256 of its content when the config was compiled.
    pub sha256: [u8; 32],
}

/// A policy decided beside the enforced one (shadow mode): differences are
/// counted and logged, nothing is enforced.
#[derive(Debug)]
pub struct ShadowPolicy {
    /// The shadow rules: the enforced routes plus those marked `mode: shadow`,
    /// in file order, or the candidate file's routes.
    pub rules: RuleSet,
    /// Where they come from.
    pub origin: ShadowOrigin,
}

/// Where a [`ShadowPolicy`] comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShadowOrigin {
    /// Routes of the config marked `mode: shadow` (their names).
    Routes(Vec<String>),
    /// The candidate policy file of `shadow.policy`.
    File(PathBuf),
}

/// Pingora runtime settings (`server:`).
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Proxy worker threads.
    pub threads: usize,
    /// Tokio work stealing between the worker threads.
    pub work_stealing: bool,
    /// Peers whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Idle upstream connections kept for reuse.
    pub upstream_keepalive_pool: usize,
    /// Whether bodiless HTTP/1 reads take the fast lane (`server.fast_lane`).
    pub fast_lane: bool,
    /// The deadline for a whole request head (`server.request_header_timeout`).
    pub request_header_timeout: Duration,
    /// The deadline for a body the gateway reads itself (`server.request_body_timeout`).
    pub request_body_timeout: Duration,
    /// How long an idle kept-alive connection stays open (`server.keepalive_timeout`).
    pub keepalive_timeout: Duration,
    /// How long in-flight requests may take to finish on shutdown.
    pub graceful_shutdown_timeout: Duration,
}

/// Listener addresses (`listen:`).
#[derive(Debug, Clone)]
pub struct ListenSettings {
    /// Where clients connect.
    pub proxy: SocketAddr,
    /// `/metrics`, `/healthz`, `/readyz`; never the proxy port.
    pub admin: SocketAddr,
    /// Certificate and key for TLS on the proxy listener.
    pub tls: Option<TlsFiles>,
    /// Whether cleartext HTTP/2 by prior knowledge is accepted beside HTTP/1.
    pub h2c: bool,
}

/// PEM files for a TLS listener, read and checked when the config compiled.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
    /// The chain and the key loaded from those files, known to match each other.
    pub certified: Arc<CertifiedKey>,
}

/// One upstream (`upstreams.NAME`).
#[derive(Debug, Clone)]
pub struct UpstreamSpec {
    /// Its name in the config (also its metrics label).
    pub name: String,
    /// Servers, balanced round-robin. Never empty.
    pub servers: Vec<ServerAddr>,
    /// How often servers given by name are looked up again.
    pub dns_refresh: Duration,
    /// Active health check, if configured.
    pub health_check: Option<HealthCheckSpec>,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Timeout for each read of the upstream response (504 when exceeded).
    pub read_timeout: Duration,
    /// TLS towards the servers; plain HTTP when None.
    pub tls: Option<UpstreamTlsSpec>,
    /// The protocol spoken to the servers.
    pub protocol: UpstreamProtocol,
}

/// The protocol an upstream's servers speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpstreamProtocol {
    /// HTTP/1.1 (the default).
    #[default]
    Http1,
    /// HTTP/2 in clear text by prior knowledge.
    H2c,
    /// HTTP/2 over TLS.
    H2,
    /// HTTP/2 or HTTP/1.1 over TLS, by ALPN.
    Auto,
}

impl UpstreamProtocol {
    /// Whether requests to it may take the HTTP/1-only fast lane.
    pub fn is_http1(self) -> bool {
        self == UpstreamProtocol::Http1
    }
}

/// One entry of `upstreams.NAME.servers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAddr {
    /// `IP:PORT`, used as is.
    Ip(SocketAddr),
    /// `HOST:PORT`: looked up when the config is loaded and every
    /// `dns_refresh`; every address the name has is a server.
    Name {
        /// The DNS name.
        host: String,
        /// The port.
        port: u16,
    },
}

impl std::fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerAddr::Ip(addr) => addr.fmt(f),
            ServerAddr::Name { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// TLS towards an upstream (`upstreams.NAME.tls`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTlsSpec {
    /// Server name sent in the handshake (SNI) and checked against the certificate.
    pub sni: String,
    /// Whether the certificate chain and name are verified (against the system roots,
    /// or `SSL_CERT_FILE`/`SSL_CERT_DIR` when set).
    pub verify: bool,
}

/// An active HTTP health check.
#[derive(Debug, Clone)]
pub struct HealthCheckSpec {
    /// Path requested with GET; a 2xx answer means healthy.
    pub path: String,
    /// Time between checks.
    pub interval: Duration,
    /// Connect and read timeout of one check.
    pub timeout: Duration,
}

/// The user store (`database:`).
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `sqlite://...` or `mysql://...`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// Apply migrations when `serve` starts.
    pub migrate_on_start: bool,
}

/// Token handling beyond verification (`tokens:`).
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// Issue a new refresh token on every refresh.
    pub rotate_refresh: bool,
    /// How often revocation points are reloaded from the store.
    pub revocation_poll: Duration,
}

/// The gateway's own endpoints (`auth:`).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Path prefix of the endpoints, e.g. `/auth`.
    pub prefix: String,
    /// Roles anyone may register as. Never contains ADMIN.
    pub self_register_roles: Vec<String>,
    /// Minimum password length in characters.
    pub password_min_length: usize,
    /// Maximum password length in bytes; longer ones are refused before hashing.
    pub password_max_length: usize,
    /// argon2id cost of new hashes (`auth.password.argon2`).
    pub argon2: Argon2Params,
    /// Attempt budget of login, refresh and register (`auth.rate_limit`).
    pub rate_limit: RateLimit,
}

/// Logging (`logging:`).
#[derive(Debug, Clone)]
pub struct LoggingSettings {
    /// Default filter when `RUST_LOG` is unset, e.g. `info`.
    pub level: String,
    /// JSON lines (true) or human-readable text.
    pub json: bool,
    /// One access-log line per request.
    pub access_log: bool,
}

/// argon2id cost parameters (`auth.password.argon2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB. OWASP: 19456 (19 MiB).
    pub memory_kib: u32,
    /// Passes over memory. OWASP: 2.
    pub iterations: u32,
    /// Lanes. OWASP: 1.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// OWASP's recommendation: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        Argon2Params { memory_kib: 19456, iterations: 2, parallelism: 1 }
    }
}

impl Argon2Params {
    /// Whether argon2 accepts these costs; the message says which is out of range.
    pub fn check(&self) -> Result<(), String> {
        argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// An attempt budget (`auth.rate_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Attempts counted in one window before further ones are refused with 429.
    pub max_attempts: u32,
    /// Length of a window; a refused client is told to retry when its window ends.
    pub window: Duration,
}

impl Default for RateLimit {
    /// 5 attempts a minute, the `auth.rate_limit` default.
    fn default() -> RateLimit {
        RateLimit { max_attempts: 5, window: Duration::from_secs(60) }
    }
}

/// Where the fleet shares its attempt counters (`redis:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// `redis://HOST:PORT/DB`.
    pub url: String,
    /// Prefix of every key written.
    pub key_prefix: String,
    /// The longest a round trip may take before the replica counts alone.
    pub timeout: Duration,
}


/// One external issuer (`issuers:` entry): how its tokens are verified, and where
/// and how often its keys are fetched.
#[derive(Debug, Clone)]
pub struct IssuerSpec {
    /// What its tokens must satisfy and how their claims map.
    pub verify: nexora_token::remote::IssuerSettings,
    /// Where its key set is published.
    pub keys: KeySource,
    /// How often the key set is fetched again.
    pub refresh: Duration,
    /// Shortest time between two refetches an unknown `kid` causes.
    pub cooldown: Duration,
    /// How long the last good key set serves while fetches fail.
    pub max_stale: Duration,
    /// The longest one fetch (discovery or key set) may take.
    pub fetch_timeout: Duration,
}

/// Where an issuer's key set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `jwks_uri` of the issuer's OpenID discovery document at this URL.
    Discovery(String),
    /// This URL.
    JwksUri(String),
}
