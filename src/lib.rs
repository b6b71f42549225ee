//! Nexora Gate: an authorization gateway on Pingora.
//!
//! (Architecture overview and request lifecycle: written as the modules land.)

pub mod config;
pub mod policy;
pub mod token;
