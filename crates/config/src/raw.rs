//! The config file as written: serde structs mirroring docs/REFERENCE.md#configuration key for key.
//!
//! Every struct denies unknown fields, so a typo is an error with a position rather than a
//! silently ignored key. Conventions, so the compiler knows what to expect:
//! - A key the operator may leave out is an `Option` (`None` = not written). Defaults are applied
//!   by the compiler, in one place, and are documented here on each field ("Default: ...").
//!   No `#[serde(default)]`: absent and written-as-the-default stay distinguishable.
//! - Values that need more than YAML shape to validate (addresses, CIDRs, durations, paths, file
//!   names) stay text; the compiler converts them and reports failures with `Source::error_at`,
//!   so every bad value is reported, with its position, in one run.
//! - Closed vocabularies (algorithm, `allow` keywords, `default`, `expect`, log format) are enums,
//!   so serde lists the accepted words in its error.
//! - Secrets are [`Secret`], whose `Debug` does not print them.
//!
//! Only the `config` module uses these types; the rest of the crate sees the compiled `Config`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Process settings. Default: every field's default.
    pub server: Option<Server>,
    /// Where the gateway listens. Required.
    pub listen: Listen,
    /// Backends by name; routes refer to them by that name. Required.
    pub upstreams: BTreeMap<String, Upstream>,
    /// The user store. Default: every field's default (an SQLite file).
    pub database: Option<Database>,
    /// Token signing and verification. Required.
    pub tokens: Tokens,
    /// The `/auth` endpoints. Default: every field's default.
    pub auth: Option<Auth>,
    /// Headers carrying the verified identity upstream. Default: every field's default.
    pub identity_headers: Option<IdentityHeaders>,
    /// Whether the client's `Authorization` header is passed upstream. Default: true.
    pub forward_authorization: Option<bool>,
    /// Every role name the policy may use. Required.
    pub roles: Vec<String>,
    /// The policy: first match wins, in file order. Required.
    pub routes: Vec<Route>,
    /// The decision when no route matches. Default: `deny`.
    pub default: Option<DefaultDecision>,
    /// Upstream for requests no route matches, when `default: authenticated`.
    /// Default: the only upstream, when there is exactly one.
    pub default_upstream: Option<String>,
    /// Policy tests run by `check` (docs/REFERENCE.md#policy-tests). Default: none.
    pub tests: Option<Vec<PolicyTest>>,
    /// Log output. Default: every field's default.
    pub logging: Option<Logging>,
    /// A candidate policy evaluated beside the enforced one, never enforced. Default: none.
    /// (See docs/REFERENCE.md#configuration.)
    pub shadow: Option<Shadow>,
    /// Redis, shared by every replica for attempt counters. Default: none (each
    /// replica counts alone, in memory).
    pub redis: Option<Redis>,
    /// External identity providers whose access tokens are accepted beside the
    /// gateway's own (docs/REFERENCE.md#issuers). Default: none.
    pub issuers: Option<Vec<Issuer>>,
}

/// One `issuers:` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issuer {
    /// The operator's name: logs, metrics, `explain --issuer`. Required.
    pub name: String,
    /// The exact `iss` of its tokens. Required.
    pub issuer: String,
    /// Fetch `{issuer}/.well-known/openid-configuration` for the `jwks_uri`.
    /// Default: false (then `jwks_uri` is required).
    pub discovery: Option<bool>,
    /// Where the key set is. Required unless `discovery: true`.
    pub jwks_uri: Option<String>,
    /// Accepted `aud` values: a list, or `any`. Required.
    pub audiences: Option<IssuerAudiences>,
    /// Algorithms its keys may verify. Default: `[RS256]`.
    pub algorithms: Option<Vec<RemoteAlgorithm>>,
    /// Clock skew allowed. Default: 30s.
    pub leeway: Option<String>,
    /// How often the key set is fetched again. Default: 10m.
    pub refresh: Option<String>,
    /// Shortest time between two refetches an unknown `kid` causes. Default: 30s.
    pub cooldown: Option<String>,
    /// How long the last good key set serves while fetches fail. Default: 24h.
    pub max_stale: Option<String>,
    /// The longest one fetch may take. Default: 5s.
    pub fetch_timeout: Option<String>,
    /// Where the identity is in the claims. Default: `user_id: sub`, no username, no roles.
    pub claims: Option<IssuerClaims>,
    /// A `token_type` its tokens must carry. Default: none required.
    pub token_type: Option<String>,
    /// Extra headers sent upstream, each from a claim path. Default: none.
    pub claim_headers: Option<BTreeMap<String, String>>,
}

/// `issuers[].audiences`: a list of names, or the word `any`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum IssuerAudiences {
    /// `any` (anything else is refused by the compiler).
    Word(String),
    /// At least one of these must be in `aud`.
    List(Vec<String>),
}

/// `issuers[].claims`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerClaims {
    /// Path of the user id. Default: `sub`.
    pub user_id: Option<String>,
    /// Path of the user name. Default: none.
    pub username: Option<String>,
    /// Path of the roles (an array, or a space-separated string). Default: none.
    pub roles: Option<String>,
    /// Path of the scopes routes may require (an array, or a space-separated
    /// string). Default: `scope`.
    pub scopes: Option<String>,
}

/// An algorithm an external issuer's keys may use: asymmetric only (a remote key set
/// never holds an HMAC secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum RemoteAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-256.
    RS256,
    /// RSA PKCS#1 v1.5 with SHA-384.
    RS384,
    /// RSA PKCS#1 v1.5 with SHA-512.
    RS512,
    /// RSA-PSS with SHA-256.
    PS256,
    /// RSA-PSS with SHA-384.
    PS384,
    /// RSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

/// `redis:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redis {
    /// `redis://HOST:PORT/DB` (or `rediss://` is refused: no TLS client is
    /// built in). Required.
    pub url: String,
    /// Prefix of every key the gateway writes, so replicas of one deployment
    /// share counters and other deployments on the same server do not.
    /// Default: `nexora:`.
    pub key_prefix: Option<String>,
    /// Duration a Redis round trip may take before the replica counts on its
    /// own instead (and says so). Default: 25ms.
    pub timeout: Option<String>,
}

/// `shadow:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shadow {
    /// A YAML file holding `routes:` and `default:` (a [`ShadowPolicyFile`]), relative to the
    /// config file. Required.
    pub policy: String,
}

/// The candidate policy file named by `shadow.policy`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowPolicyFile {
    /// The candidate routes, first match wins, with the main config's roles and upstreams.
    /// Required.
    pub routes: Vec<Route>,
    /// The candidate's decision when no route matches. Default: `deny`.
    pub default: Option<DefaultDecision>,
}

/// `server:`, process and Pingora settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// Proxy worker threads. Default: the number of CPU cores.
    pub threads: Option<usize>,
    /// CIDRs (or bare addresses) whose `X-Forwarded-*` headers are believed. Default: none.
    pub trusted_proxies: Option<Vec<String>>,
    /// Pingora work stealing between worker threads. Default: true. A one-thread proxy is
    /// faster without it.
    pub work_stealing: Option<bool>,
    /// Idle upstream connections kept for reuse. Default: 128 (Pingora's default).
    pub upstream_keepalive_pool: Option<usize>,
    /// Serve bodiless HTTP/1 `GET`/`HEAD` requests on the gateway's fast lane
    /// (same decisions, filters and logs; less CPU). `false`: every connection
    /// goes to Pingora's full proxy. Default: true. Applies to new connections.
    pub fast_lane: Option<bool>,
    /// Duration a client has to send a whole request head, from its first
    /// byte (from the connection's start for its first request). Past it the
    /// gateway answers 408 and closes: a client trickling header bytes holds
    /// a connection no longer. Default: 10s.
    pub request_header_timeout: Option<String>,
    /// Duration a client has to send a whole request body the gateway reads
    /// itself (the identity endpoints); 408 and close past it. Bodies
    /// streamed to upstreams are not bounded by it. Default: 15s.
    pub request_body_timeout: Option<String>,
    /// Duration a kept-alive client connection may sit idle between requests
    /// before the gateway closes it. Default: 60s.
    pub keepalive_timeout: Option<String>,
    /// No longer used (accepted so old configs still load; `check` warns): the drain
    /// window at shutdown and upgrade is `graceful_shutdown_timeout`.
    pub grace_period: Option<String>,
    /// Duration: how long in-flight requests get to finish at shutdown. Default: 30s.
    /// Pingora takes whole seconds (rounded up).
    pub graceful_shutdown_timeout: Option<String>,
}

/// `listen:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// Socket address clients connect to, such as `0.0.0.0:8080`. Required.
    pub proxy: String,
    /// Socket address of `/metrics`, `/healthz` and `/readyz`; never the public port.
    /// Default: `127.0.0.1:9901`.
    pub admin: Option<String>,
    /// TLS on the proxy listener. Default: plain HTTP.
    pub tls: Option<ListenTls>,
    /// Cleartext HTTP/2 by prior knowledge on the proxy listener, beside
    /// HTTP/1 (for meshes and balancers that end TLS in front). Default: false.
    pub h2c: Option<bool>,
}

/// `listen.tls:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenTls {
    /// PEM certificate chain file. Required.
    pub cert: String,
    /// PEM private key file. Required.
    pub key: String,
}

/// One entry of `upstreams:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// `host:port` of each server, balanced round-robin. Required, at least one.
    pub servers: Vec<String>,
    /// Active health checking. Default: none (every server is assumed healthy).
    pub health_check: Option<HealthCheck>,
    /// Duration allowed to establish a connection. Default: 5s.
    pub connect_timeout: Option<String>,
    /// Duration allowed between reads from the upstream. Default: 60s.
    pub read_timeout: Option<String>,
    /// TLS towards the servers. Default: plain HTTP.
    pub tls: Option<UpstreamTls>,
    /// Duration between new DNS lookups of servers given by host name.
    /// Default: 30s.
    pub dns_refresh: Option<String>,
    /// The protocol spoken to the servers. Default: `http1`.
    pub protocol: Option<UpstreamProtocol>,
}

/// `upstreams.NAME.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamProtocol {
    /// HTTP/1.1.
    Http1,
    /// HTTP/2 in clear text by prior knowledge (cleartext gRPC servers).
    H2c,
    /// HTTP/2 over TLS, by ALPN; needs `tls`.
    H2,
    /// HTTP/2 or HTTP/1.1 over TLS, as the server's ALPN answer says; needs `tls`.
    Auto,
}

/// `upstreams.NAME.health_check:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// HTTP path requested on each server, such as `/healthz`. Required.
    pub path: String,
    /// Duration between checks. Required.
    pub interval: String,
    /// Duration before a check counts as failed. Default: 1s.
    pub timeout: Option<String>,
}

/// `upstreams.NAME.tls:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTls {
    /// Server name sent in the TLS handshake and checked in the certificate. Required.
    pub sni: String,
    /// Whether the upstream certificate is verified. Default: true.
    pub verify: Option<bool>,
}

/// `database:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// `sqlite://...` or `mysql://user:password@host/db` (a secret: it may hold a password).
    /// Default: `sqlite://data/nexora.db`.
    pub url: Option<Secret>,
    /// Pool size. Default: 16.
    pub max_connections: Option<u32>,
    /// Whether `serve` applies pending migrations at startup. Default: true.
    pub migrate_on_start: Option<bool>,
}

/// `tokens:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tokens {
    /// Signing algorithm; tokens are verified with this one only. Required.
    pub algorithm: Algorithm,
    /// Shared secret for `HS*`. Required for `HS*`, refused otherwise (compiler).
    pub signing_key: Option<Secret>,
    /// PEM private key for `RS256`, `ES256`, `EdDSA`.
    pub private_key_file: Option<String>,
    /// PEM public key for `RS256`, `ES256`, `EdDSA`.
    pub public_key_file: Option<String>,
    /// `kid` header of issued tokens. Default: none (required when `previous_keys` is set).
    pub kid: Option<String>,
    /// Keys still accepted for verification during a rotation. Default: none.
    pub previous_keys: Option<Vec<PreviousKey>>,
    /// Duration an access token lives. Default: 60m.
    pub access_ttl: Option<String>,
    /// Duration a refresh token lives. Default: 7d.
    pub refresh_ttl: Option<String>,
    /// Duration of clock skew tolerated on `exp`/`nbf`. Default: 30s.
    pub leeway: Option<String>,
    /// `iss` claim: set on issue, checked on verify. Default: not set, not checked.
    pub issuer: Option<String>,
    /// `aud` claim: set on issue, checked on verify. Default: not set, not checked.
    pub audience: Option<String>,
    /// Whether `/auth/refresh` returns a new refresh token and retires the old. Default: true.
    pub rotate_refresh: Option<bool>,
    /// Duration between reloads of revocation points (docs/REFERENCE.md#revocation). Default: 5s.
    pub revocation_poll: Option<String>,
    /// Verified-token cache. Default: every field's default.
    pub cache: Option<TokenCache>,
}

/// One entry of `tokens.previous_keys:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousKey {
    /// The `kid` that selects this key. Required.
    pub kid: String,
    /// Algorithm of this key. Default: `tokens.algorithm`.
    pub algorithm: Option<Algorithm>,
    /// Shared secret, for `HS*`.
    pub signing_key: Option<Secret>,
    /// PEM public key, for the asymmetric algorithms.
    pub public_key_file: Option<String>,
}

/// `tokens.cache:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCache {
    /// Verified tokens kept in memory. Default: 100000.
    pub max_entries: Option<u64>,
}

/// `tokens.algorithm`: the names of docs/REFERENCE.md#configuration, spelled as in a JWT header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSA PKCS#1 v1.5 with SHA-256.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

/// `auth:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// Path prefix of the auth endpoints. Default: `/auth`.
    pub prefix: Option<String>,
    /// Roles anyone may register as; never ADMIN (compiler). Default: `[CUSTOMER]`;
    /// `[]` closes self-registration (then only an ADMIN creates users).
    pub self_register_roles: Option<Vec<String>>,
    /// Password rules. Default: every field's default.
    pub password: Option<Password>,
    /// Login throttling. Default: every field's default.
    pub rate_limit: Option<RateLimit>,
}

/// `auth.password:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Password {
    /// Minimum length in characters. Default: 8.
    pub min_length: Option<usize>,
    /// Maximum length in bytes, refused before hashing (bounds its cost). Default: 4096.
    pub max_length: Option<usize>,
    /// Hashing cost. Default: every field's default.
    pub argon2: Option<Argon2>,
}

/// `auth.password.argon2:` (argon2id parameters).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2 {
    /// Memory in KiB. Default: 19456 (OWASP's recommendation).
    pub memory_kib: Option<u32>,
    /// Passes. Default: 2.
    pub iterations: Option<u32>,
    /// Lanes. Default: 1.
    pub parallelism: Option<u32>,
}

/// `auth.rate_limit:`: failed logins allowed per username and client address.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Failed attempts allowed in one window before answering 429. Default: 5.
    pub max_attempts: Option<u32>,
    /// Duration of the window; also the `Retry-After` ceiling. Default: 1m.
    pub window: Option<String>,
}

/// `identity_headers:`: names of the headers set from the verified token.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityHeaders {
    /// Default: `X-User-Id`.
    pub user_id: Option<String>,
    /// Default: `X-Username`.
    pub username: Option<String>,
    /// Default: `X-User-Role`.
    pub role: Option<String>,
}

/// One entry of `routes:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Unique name, used in metrics, logs and `explain`. Required.
    pub name: String,
    /// Which requests the route covers. Required.
    pub r#match: Match,
    /// Who may pass. Required.
    pub allow: Allow,
    /// Name of a path parameter (`{user_id}`) whose value, when it equals the caller's
    /// `user_id`, also allows the request. Default: none.
    pub owner: Option<String>,
    /// Name of an entry of `upstreams`. Required unless `allow: deny` (compiler).
    pub upstream: Option<String>,
    /// `enforce`, or `shadow`: evaluated beside the policy, counted and logged where it would
    /// decide differently, never enforced. Default: `enforce`. (See docs/REFERENCE.md#configuration.)
    pub mode: Option<RouteMode>,
    /// Scopes a token must all carry here, besides an allowed role. Default: none.
    pub scopes: Option<Vec<String>>,
    /// An audience a token must name here. Default: none.
    pub audience: Option<String>,
}

/// `routes[N].mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteMode {
    /// The rule decides requests.
    Enforce,
    /// The rule only feeds shadow mode.
    Shadow,
}

/// `routes[N].match:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// Path pattern (docs/REFERENCE.md#patterns). Required.
    pub path: String,
    /// HTTP methods. Default: any method.
    pub methods: Option<Vec<String>>,
    /// Host the request must be for. Default: any host.
    pub host: Option<String>,
}

/// `routes[N].allow`: a keyword, or a list of role names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allow {
    /// `public`: no token needed.
    Public,
    /// `authenticated`: any valid token.
    Authenticated,
    /// `deny`: always 403.
    Deny,
    /// `[ROLE, ...]`: a valid token whose role is listed.
    Roles(Vec<String>),
}

/// `default:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultDecision {
    /// Refuse requests no route matches.
    Deny,
    /// Requests no route matches need a valid token, of any role. (Which upstream serves them
    /// is for the compiler to define; see `default_upstream` in docs/REFERENCE.md#config-policy.)
    Authenticated,
}

/// One entry of `tests:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyTest {
    /// `METHOD PATH`, such as `GET /api/admin/users`. Required.
    pub request: String,
    /// The caller's role. One of `role` and `anonymous` is required (compiler).
    pub role: Option<String>,
    /// `true` for a caller without a token.
    pub anonymous: Option<bool>,
    /// The request's host. Default: none.
    pub host: Option<String>,
    /// Scopes the caller's token carries (with `role`). Default: none.
    pub scopes: Option<Vec<String>>,
    /// An audience the caller's token names (with `role`). Default: none.
    pub audience: Option<String>,
    /// The outcome the policy must produce. Required.
    pub expect: Expectation,
}

/// `tests[N].expect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expectation {
    /// Forwarded upstream.
    Allow,
    /// 403.
    Deny,
    /// 401.
    Unauthenticated,
}

/// `logging:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    /// A tracing filter such as `info` or `info,nexora_gate=debug`. Default: `info`.
    pub level: Option<String>,
    /// Line format. Default: `text`.
    pub format: Option<LogFormat>,
    /// One structured line per proxied request. Default: `true`.
    pub access_log: Option<bool>,
}

/// `logging.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// A secret string (signing key, database URL): `Debug` prints `Secret(..)`, never the value.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

// === impl Secret ===

impl Secret {
    /// Wraps a secret (tests, and values not read from the file).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: only for the code that uses it, never for logs or messages.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

// === impl Allow ===

/// Hand-written rather than `#[serde(untagged)]`: untagged errors say only "did not match any
/// variant", while this one lists the keywords.
impl<'de> Deserialize<'de> for Allow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AllowVisitor)
    }
}

struct AllowVisitor;

impl<'de> Visitor<'de> for AllowVisitor {
    type Value = Allow;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("public, authenticated, deny, or a list of roles such as [ADMIN]")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Allow, E> {
        match value {
            "public" => Ok(Allow::Public),
            "authenticated" => Ok(Allow::Authenticated),
            "deny" => Ok(Allow::Deny),
            _ => Err(E::invalid_value(de::Unexpected::Str(value), &self)),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Allow, A::Error> {
        let mut roles = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(role) = seq.next_element::<String>()? {
            roles.push(role);
        }
        Ok(Allow::Roles(roles))
    }
}
