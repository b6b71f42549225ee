//! The compiled route policy: path normalisation, matching and decisions.
//!
//! Pure, no I/O, no Pingora; nothing on the request path allocates.

mod path;

pub use path::{normalize_path, path_segments, PathError};

#[cfg(test)]
mod tests;
