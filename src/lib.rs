//! Nexora Gate: an authorization gateway on Cloudflare's Pingora.
//!
//! It sits in front of existing HTTP backends and, on every request, decides
//! from a YAML policy and a verified JWT whether the request may pass, then
//! proxies it with the verified identity in headers the backend can trust.
//!
//! # Layers
//!
//! The pure cores are crates of their own, re-exported here under their old
//! names: [`policy`] (normalise, match, the one decision), [`token`] (decode,
//! verify, issue, keys) and [`config`] (raw YAML → validated → compiled).
//! This crate stacks the rest on them, each layer importing only below it:
//!
//! ```text
//!  cli (demo, explain) ─► server ─► proxy (phases; drivers: full, lane)
//!                                     └► auth (identity endpoints)
//!                                          └► answer (the one response writer)
//!                                               └► admission (one request's decision)
//!                                                    └► generation (live compiled state)
//!                                                         └► store, metrics, drain, logging, echo
//! ```
//!
//! Cargo enforces the direction between crates; `tests/layers.rs` fails the
//! test command on a cycle between the top-level modules of any crate.
//! docs/ARCHITECTURE.md has the whole picture, one request's path and the
//! recipes for adding a claim check, a decision kind, an endpoint, a config
//! key, a metric or a proxy filter.

pub mod admin;
pub mod admission;
pub mod answer;
pub mod auth;
pub mod cli;
pub mod drain;
pub mod echo;
pub mod generation;
#[cfg(feature = "tls")]
pub mod listener_cert;
pub mod logging;
pub mod metrics;
pub mod proxy;
pub mod reload;
pub mod server;
pub mod store;

pub use nexora_config as config;
pub use nexora_policy as policy;
pub use nexora_token as token;
