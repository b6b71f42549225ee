//! Configuration: YAML file to raw structs to the compiled form the hot path uses.

mod duration;
mod error;
#[allow(dead_code)] // used by the loader, next
mod interpolate;
pub mod raw;
#[allow(dead_code)] // used by the loader, next
mod source_map;

pub use duration::{parse_duration, DurationError};
pub use error::{ConfigError, ConfigErrors, Location};
pub use raw::RawConfig;
