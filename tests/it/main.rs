//! Integration tests: the real `nexora-gate` binary on free loopback ports
//! in front of a real (recording) upstream, spoken to over HTTP. The slow
//! and system suites (soak, faults, scale-out) are the `system` target.

// Tests may unwrap: a panic there is a failure with a location.
#![allow(clippy::unwrap_used)]

mod common;

mod access_log;
mod admin;
mod adversarial;
mod auth_login;
mod auth_refresh;
mod auth_register;
mod auth_revocation;
mod auth_users;
mod cli;
mod configs;
mod decision_parity;
mod deploy;
mod fast_lane;
mod fleet_limits;
mod grpc;
mod hot_path;
mod identity_headers;
mod lane_bodies;
mod lifecycle;
mod normalisation;
mod oidc;
mod policy_check;
mod shadow;
mod reload;
mod simplejwt_interop;
// TLS listener and upstreams: only in a build with the `tls` feature (the default).
#[cfg(feature = "tls")]
mod tls;
mod upstream_faults;
mod upstream_names;
mod upstream_pool;
mod websocket;
