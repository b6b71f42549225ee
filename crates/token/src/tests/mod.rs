//! Unit tests of the token module, one file per concern.

mod cache;
mod claims;
mod fixtures;
mod header;
mod keygen;
mod keys;
mod remote;
mod roundtrip;
