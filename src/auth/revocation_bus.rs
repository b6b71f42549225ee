//! Revocation changes pushed to the whole fleet over Redis pub/sub (with
//! `redis:`), so every replica refuses a revoked token within a round trip
//! instead of its next poll. The poll ([`super::poll_revocations`]) stays
//! the safety net: a replica that misses a message (Redis down, a
//! reconnect) still converges within `tokens.revocation_poll`.
//!
//! A message is `USER_ID:POINT_MS` on the channel `key_prefix` +
//! `revocations`. Receiving one only ever moves a point forward, so a
//! stale, repeated or forged-by-someone-with-Redis-access message can revoke
//! more, never restore a revoked token.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::RedisResult;

use crate::admission::Revocations;
use crate::config::RedisSettings;

use super::redis_connection::connect_lazily;

/// How long a replica waits before subscribing again after losing Redis.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// The publishing side; empty without `redis:`.
pub struct RevocationBus {
    publisher: Option<Publisher>,
}

struct Publisher {
    connection: ConnectionManager,
    channel: String,
    timeout: Duration,
}

impl RevocationBus {
    /// A bus on `redis`, connected lazily (call inside the identity runtime);
    /// none without it.
    pub fn new(redis: Option<&RedisSettings>) -> RedisResult<RevocationBus> {
        let Some(settings) = redis else { return Ok(RevocationBus { publisher: None }) };
        Ok(RevocationBus {
            publisher: Some(Publisher {
                connection: connect_lazily(settings)?,
                channel: channel(settings),
                timeout: settings.timeout,
            }),
        })
    }

    /// Tells every replica that `user_id`'s revocation point is now
    /// `point_ms`. Best effort within `redis.timeout`: the poll carries the
    /// change when this cannot.
    pub async fn publish(&self, user_id: i64, point_ms: i64) {
        let Some(publisher) = &self.publisher else { return };
        let message = format!("{user_id}:{point_ms}");
        let mut connection = publisher.connection.clone();
        let sent = tokio::time::timeout(
            publisher.timeout,
            redis::cmd("PUBLISH").arg(&publisher.channel).arg(message).query_async::<i64>(&mut connection),
        )
        .await;
        if !matches!(sent, Ok(Ok(_))) {
            tracing::debug!(user_id, "revocation not pushed over redis; other replicas see it at their next poll");
        }
    }
}

/// Applies the points other replicas push, for as long as the process runs;
/// subscribes again a second after losing Redis.
pub async fn listen_for_revocations(settings: RedisSettings, revocations: Arc<Revocations>) {
    let channel = channel(&settings);
    loop {
        match subscribe(&settings, &channel, &revocations).await {
            Ok(()) => tracing::debug!("revocation channel closed; subscribing again"),
            Err(e) => tracing::debug!(error = %e, "revocation channel unavailable; the poll carries changes meanwhile"),
        }
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}

async fn subscribe(settings: &RedisSettings, channel: &str, revocations: &Revocations) -> RedisResult<()> {
    let client = redis::Client::open(settings.url.as_str())?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    let mut messages = pubsub.into_on_message();
    while let Some(message) = messages.next().await {
        let Ok(text) = message.get_payload::<String>() else { continue };
        if let Some((user_id, point)) = parse(&text) {
            revocations.note(user_id, point);
        }
    }
    Ok(())
}

fn channel(settings: &RedisSettings) -> String {
    format!("{}revocations", settings.key_prefix)
}

/// `USER_ID:POINT_MS`, both positive integers.
fn parse(text: &str) -> Option<(i64, i64)> {
    let (user, point) = text.split_once(':')?;
    let (user, point) = (user.parse::<i64>().ok()?, point.parse::<i64>().ok()?);
    (user > 0 && point > 0).then_some((user, point))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn only_well_formed_points_are_taken() {
        assert_eq!(parse("7:1700000000123"), Some((7, 1_700_000_000_123)));
        for bad in ["", "7", "7:", ":5", "x:5", "7:-1", "0:5", "7:5:6"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
