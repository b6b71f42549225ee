//! Nexora Gate: an authorization gateway on Cloudflare's Pingora.
//!
//! It sits in front of existing HTTP backends and, on every request, decides
//! from a YAML policy and a verified JWT whether the request may pass, then
//! proxies it with the verified identity in headers the backend can trust.
//!
//! # Architecture
//!
//! ```text
//!  config/gateway.yaml
//!        │  config::load: interpolate ${VAR} → RawConfig (serde, unknown keys
//!        │  rejected) → compile (every error as FILE:LINE:COL)
//!        ▼
//!  config::Config ── policy::RuleSet, token::TokenSettings, upstream specs
//!        │  generation::Generation::build: keys → token::Verifier (+ moka
//!        │  cache), upstream peers, per-route metric handles
//!        ▼
//!  generation::Live (ArcSwap) ◄── read once per request by proxy::Gateway
//!        ▲  reload::Reloader: on a file change or SIGHUP, the same load +
//!        │  the policy tests, then a new Generation swapped in (or refused)
//! ```
//!
//! Dependency direction: `proxy` uses `auth`, `policy`, `token`, `metrics` and
//! `generation`; `auth` uses `store` and `token` (and the proxy's pure
//! `admit` for forward-auth); `config` builds `policy` and `token` values; only `proxy`,
//! `server`, `admin` and `echo` touch Pingora types, so `policy` and `token`
//! are plain Rust that unit tests and benches call directly.
//!
//! # Request lifecycle
//!
//! ```text
//! client ─► request_filter: normalise path → under auth.prefix or
//!           /.well-known/jwks.json? → auth::AuthService (register, login,
//!           refresh, users, decide …; store and argon2 on the auth runtime)
//!             │ otherwise
//!             ▼
//!           first matching rule →
//!           (public? skip) bearer token → verify (cache first) → revocation
//!           point (in-memory map) → authorize
//!             │ refused: 400/401/403 JSON, nothing reaches the upstream
//!             ▼
//!           upstream_peer → upstream_request_filter (strip forged identity
//!           headers, add verified ones, X-Request-Id) → upstream
//!             ▼
//!           logging: metrics + access-log line
//! ```

pub mod admin;
pub mod auth;
pub mod cli;
pub mod config;
pub mod demo;
pub mod drain;
pub mod echo;
pub mod explain;
pub mod generation;
#[cfg(feature = "tls")]
pub mod listener_cert;
pub mod logging;
pub mod metrics;
pub mod policy;
pub mod proxy;
pub mod reload;
pub mod server;
pub mod store;
pub mod token;
