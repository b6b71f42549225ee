//! Log setup: `RUST_LOG` when set, else the config's `logging.level`; JSON
//! lines or text. Pingora's own `log` records are routed into the same
//! subscriber.

use tracing_subscriber::EnvFilter;

use crate::config::LoggingSettings;

/// Installs the global subscriber. Later calls are ignored.
pub fn init(settings: &LoggingSettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if settings.json {
        builder.json().flatten_event(true).with_current_span(false).try_init()
    } else {
        builder.try_init()
    };
}
