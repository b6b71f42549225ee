//! `SharedCounters`: the fleet's attempt counters in Redis (`redis:`), so
//! every replica enforces one budget per name and per address.
//!
//! Each counter is a fixed window: a Redis integer that the first attempt
//! of a window creates with the window as its expiry. A check reads every
//! key of a request and the longest wait among the exhausted ones; a record
//! increments every key. Each is one Lua script, so one round trip, and
//! atomic on the server. Keys are `key_prefix` + `rl:` + the limiter's key.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{RedisResult, Script};

use crate::config::RedisSettings;

use super::super::redis_connection::connect_lazily;
use super::RateLimit;

/// The longest wait, in milliseconds, among `KEYS` that have reached
/// `ARGV[1]` attempts; 0 when none has. A counter without an expiry (never
/// written so by the gateway) counts as a whole window `ARGV[2]`.
const CHECK: &str = r"
local max = tonumber(ARGV[1])
local wait = 0
for _, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= max then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then ttl = tonumber(ARGV[2]) end
    if ttl > wait then wait = ttl end
  end
end
return wait
";

/// Counts one attempt against every key of `KEYS`; a new counter lives for
/// the window `ARGV[1]` (milliseconds).
const RECORD: &str = r"
for _, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 or redis.call('PTTL', key) < 0 then
    redis.call('PEXPIRE', key, ARGV[1])
  end
end
return 0
";

/// The connection (one multiplexed connection, reconnected in the
/// background) and the scripts.
pub(super) struct SharedCounters {
    connection: ConnectionManager,
    prefix: String,
    /// How long one round trip may take before the replica counts alone.
    pub(super) timeout: Duration,
    check: Script,
    record: Script,
}

impl SharedCounters {
    /// Counters at `settings.url`. Connects lazily: a gateway starts, and
    /// serves, whether Redis is up or not.
    pub(super) fn new(settings: &RedisSettings) -> RedisResult<SharedCounters> {
        Ok(SharedCounters {
            connection: connect_lazily(settings)?,
            prefix: format!("{}rl:", settings.key_prefix),
            timeout: settings.timeout,
            check: Script::new(CHECK),
            record: Script::new(RECORD),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The longest wait among `keys` that used their budget; None when none has.
    pub(super) async fn check(&self, limit: RateLimit, keys: &[String]) -> RedisResult<Option<Duration>> {
        let mut invocation = self.check.prepare_invoke();
        for key in keys {
            invocation.key(self.key(key));
        }
        invocation.arg(limit.max_attempts).arg(window_ms(limit));
        let wait_ms: u64 = invocation.invoke_async(&mut self.connection.clone()).await?;
        Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
    }

    /// Counts one attempt against each of `keys`.
    pub(super) async fn record(&self, limit: RateLimit, keys: &[String]) -> RedisResult<()> {
        let mut invocation = self.record.prepare_invoke();
        for key in keys {
            invocation.key(self.key(key));
        }
        invocation.arg(window_ms(limit));
        let _: i64 = invocation.invoke_async(&mut self.connection.clone()).await?;
        Ok(())
    }

    /// Forgets `key`'s attempts.
    pub(super) async fn clear(&self, key: &str) -> RedisResult<()> {
        redis::cmd("DEL").arg(self.key(key)).query_async::<i64>(&mut self.connection.clone()).await.map(drop)
    }
}

fn window_ms(limit: RateLimit) -> u64 {
    u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX).max(1)
}
