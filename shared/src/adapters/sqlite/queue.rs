use std::time::Duration;

use rusqlite::{TransactionBehavior, params};

use super::{CachedStatements, SqliteStore};
use crate::domain::Timestamp;
use crate::ports::StoreError;

/// How a local queue redelivers, as an SQS queue's visibility timeout and redrive
/// policy do.
#[derive(Clone, Copy, Debug)]
pub struct QueueSettings {
    /// A received message stays invisible this long; unless deleted by then, it
    /// is delivered again.
    pub visibility: Duration,
    /// A message received this many times without being deleted is dead-lettered.
    pub max_receives: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
/// A message received from a local queue.
pub struct ReceivedMessage {
    /// Its row id.
    pub id: i64,
    /// The body.
    pub body: String,
    /// Receives so far, this one included.
    pub receive_count: u32,
}

/// A durable queue in the embedded database: a message survives a crash of the
/// process that received it and comes back after its visibility timeout.
#[derive(Clone)]
pub struct SqliteQueue {
    store: SqliteStore,
    name: &'static str,
    settings: QueueSettings,
}

impl SqliteQueue {
    /// The queue `name` in `store`.
    pub fn new(store: SqliteStore, name: &'static str, settings: QueueSettings) -> Self {
        Self {
            store,
            name,
            settings,
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Sends a message that becomes visible after `delay`.
    pub async fn send(&self, body: String, delay: Duration) -> Result<(), StoreError> {
        let now = Timestamp::now();
        let visible_at = now.saturating_add(delay).unix_millis();
        let name = self.name;
        self.store
            .call("send queue message", move |conn| {
                conn.cached_execute(
                    "INSERT INTO queue_messages (queue, body, visible_at, sent_at) VALUES (?1, ?2, ?3, ?4)",
                    params![name, body, visible_at, now.unix_millis()],
                )
                .map(drop)
            })
            .await
    }

    /// Up to `max` visible messages, each made invisible for the visibility timeout.
    /// Messages past their maximum receives are moved to the dead letters instead.
    pub async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>, StoreError> {
        let (name, settings) = (self.name, self.settings);
        let now = Timestamp::now();
        let hidden_until = now.saturating_add(settings.visibility).unix_millis();
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        self.store
            .call("receive queue messages", move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let candidates: Vec<(i64, String, u32)> = {
                    let mut statement = tx.prepare_cached(
                        "SELECT message_id, body, receive_count FROM queue_messages
                          WHERE queue = ?1 AND dead = 0 AND visible_at <= ?2
                          ORDER BY visible_at, message_id LIMIT ?3",
                    )?;
                    statement
                        .query_map(params![name, now.unix_millis(), max], |row| {
                            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                        })?
                        .collect::<rusqlite::Result<_>>()?
                };
                let mut received = Vec::new();
                for (id, body, count) in candidates {
                    if count >= settings.max_receives {
                        tx.cached_execute(
                            "UPDATE queue_messages SET dead = 1 WHERE message_id = ?1",
                            [id],
                        )?;
                        tracing::warn!(queue = name, message_id = id, receives = count, "message dead-lettered");
                        continue;
                    }
                    tx.cached_execute(
                        "UPDATE queue_messages SET visible_at = ?1, receive_count = receive_count + 1
                          WHERE message_id = ?2",
                        params![hidden_until, id],
                    )?;
                    received.push(ReceivedMessage {
                        id,
                        body,
                        receive_count: count + 1,
                    });
                }
                tx.commit()?;
                Ok(received)
            })
            .await
    }

    /// Deletes a handled message.
    pub async fn delete(&self, id: i64) -> Result<(), StoreError> {
        self.store
            .call("delete queue message", move |conn| {
                conn.cached_execute("DELETE FROM queue_messages WHERE message_id = ?1", [id])
                    .map(drop)
            })
            .await
    }

    /// The bodies of this queue's dead letters, oldest first.
    pub async fn dead_letters(&self) -> Result<Vec<String>, StoreError> {
        let name = self.name;
        self.store
            .call("read dead letters", move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT body FROM queue_messages WHERE queue = ?1 AND dead = 1 ORDER BY message_id",
                )?;
                statement
                    .query_map([name], |row| row.get(0))?
                    .collect()
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(visibility_ms: u64, max_receives: u32) -> SqliteQueue {
        SqliteQueue::new(
            SqliteStore::open_in_memory().unwrap(),
            "test",
            QueueSettings {
                visibility: Duration::from_millis(visibility_ms),
                max_receives,
            },
        )
    }

    #[tokio::test]
    async fn a_received_message_is_hidden_until_its_visibility_timeout() {
        let q = queue(60_000, 5);
        q.send("a".into(), Duration::ZERO).await.unwrap();
        let first = q.receive(10).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(q.receive(10).await.unwrap().is_empty());
        q.delete(first[0].id).await.unwrap();
        assert!(q.receive(10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_undeleted_message_comes_back_then_dead_letters() {
        let q = queue(0, 2);
        q.send("poison".into(), Duration::ZERO).await.unwrap();
        assert_eq!(q.receive(10).await.unwrap()[0].receive_count, 1);
        assert_eq!(q.receive(10).await.unwrap()[0].receive_count, 2);
        assert!(q.receive(10).await.unwrap().is_empty());
        assert_eq!(q.dead_letters().await.unwrap(), ["poison"]);
    }

    #[tokio::test]
    async fn delayed_messages_wait() {
        let q = queue(0, 5);
        q.send("later".into(), Duration::from_secs(60))
            .await
            .unwrap();
        assert!(q.receive(10).await.unwrap().is_empty());
    }
}
