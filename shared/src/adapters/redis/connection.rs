use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::TcpSettings;
use redis::{Client, Cmd, ConnectionInfo, Pipeline, RedisFuture, Value};
use tokio::sync::OnceCell;

use crate::ports::StoreError;

/// How long one connection attempt may take. A store that cannot be reached
/// answers 503 quickly rather than holding a request (and a Lambda invocation).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one command may take before it counts as a failure.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnection attempts per failure before a command fails; the next command
/// starts a new round, so a cache that comes back is used again.
const RECONNECT_ATTEMPTS: usize = 3;

/// Commands go out at once (`TCP_NODELAY`), which redis-rs leaves off by default.
/// Many requests share one multiplexed connection, and with Nagle's algorithm a
/// command written while an earlier one is unacknowledged waits in the kernel for
/// that acknowledgement, which the server delays until it has something to send:
/// under concurrent invocations every `GET /session` paid a second round trip.
fn socket_settings() -> TcpSettings {
    TcpSettings::default().set_nodelay(true)
}

/// How the cache is deployed, which decides the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisTopology {
    /// One primary (a `redis-server`, an ElastiCache node-based cache with
    /// cluster mode disabled, Azure Cache for Redis Basic/Standard).
    Single,
    /// Redis Cluster: ElastiCache Serverless and cluster-mode-enabled caches.
    /// Keys are routed by hash slot and `MOVED`/`ASK` are followed.
    Cluster,
}

/// The process's connection to the cache, shared by every request (cloning
/// shares it). Nothing is sent when it is made: the connection opens at the first
/// command and reopens after a failure, so a cache that is down at start, or
/// restarted later, costs 503s while it is away, never the process.
#[derive(Clone)]
pub struct RedisStore {
    inner: Inner,
    prefix: Arc<str>,
}

#[derive(Clone)]
enum Inner {
    Single(ConnectionManager),
    Cluster(Arc<ClusterClient>, Arc<OnceCell<ClusterConnection>>),
}

impl RedisStore {
    /// A store on the cache at `info`, deployed as `topology`, whose keys all start
    /// with `prefix` (so deployments can share a cache).
    pub fn connect(
        info: ConnectionInfo,
        topology: RedisTopology,
        prefix: &str,
    ) -> Result<Self, StoreError> {
        let inner = match topology {
            RedisTopology::Single => {
                let client = Client::open(info.set_tcp_settings(socket_settings()))
                    .map_err(|e| StoreError::new("open redis client", e))?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(RECONNECT_ATTEMPTS)
                    .set_max_delay(Duration::from_millis(500));
                let manager = ConnectionManager::new_lazy_with_config(client, config)
                    .map_err(|e| StoreError::new("open redis connection", e))?;
                Inner::Single(manager)
            }
            RedisTopology::Cluster => {
                let client = ClusterClient::builder([info])
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT)
                    .retries(RECONNECT_ATTEMPTS as u32)
                    .tcp_settings(socket_settings())
                    .build()
                    .map_err(|e| StoreError::new("open redis cluster client", e))?;
                Inner::Cluster(Arc::new(client), Arc::new(OnceCell::new()))
            }
        };
        Ok(Self {
            inner,
            prefix: prefix.into(),
        })
    }

    /// `<prefix>:<kind>:{<id>}`: the braces are the hash tag, so everything a
    /// script touches for one id is in one slot of a cluster.
    pub(super) fn key(&self, kind: &str, id: impl std::fmt::Display) -> String {
        format!("{}:{kind}:{{{id}}}", self.prefix)
    }

    /// A handle for commands: a cheap clone of the shared multiplexed connection.
    /// A cluster's first call discovers its slots; a failed discovery is retried
    /// by the next call.
    pub(super) async fn connection(&self) -> Result<Connection, StoreError> {
        match &self.inner {
            Inner::Single(manager) => Ok(Connection::Single(manager.clone())),
            Inner::Cluster(client, connection) => connection
                .get_or_try_init(|| client.get_async_connection())
                .await
                .map(|connection| Connection::Cluster(connection.clone()))
                .map_err(|e| StoreError::new("connect to redis cluster", e)),
        }
    }
}

/// One of the two clients, so every command and script is written once.
pub(super) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

// Delegation only: redis-rs has no boxed "either client" type.
impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}
