//! The one way the identity side connects to Redis: a connection manager
//! (one multiplexed connection, reconnected in the background), connected
//! lazily so a gateway starts and serves whether Redis is up or not, with
//! every wait bounded by `redis.timeout`. Create it inside the identity
//! runtime: it spawns its reconnecting task there.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::RedisResult;

use crate::config::RedisSettings;

/// A lazily connected manager for `settings`.
pub(super) fn connect_lazily(settings: &RedisSettings) -> RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(settings.timeout.max(Duration::from_millis(100))))
        .set_response_timeout(Some(settings.timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    redis::Client::open(settings.url.as_str())?.get_connection_manager_lazy(config)
}
