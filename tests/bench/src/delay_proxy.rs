//! A TCP proxy on loopback that holds every byte coming back from its upstream for a
//! fixed delay before passing it on, while taking any number of connections and
//! requests at once: a backend that answers in milliseconds, as DynamoDB does, and
//! is never the bottleneck. moto, the benchmark's DynamoDB, answers one request at a
//! time, so a Lambda environment running many invocations against it would measure
//! moto's queue, not the function. Written here because nothing on the registries
//! does this without root (tc netem) or a Go toolchain (toxiproxy).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub struct DelayProxy {
    pub address: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl DelayProxy {
    /// Listens on a free loopback port and forwards to `upstream`, delaying every
    /// answer by `delay`. Requests go up at once, so pipelined and concurrent
    /// requests overlap their waits.
    pub async fn start(upstream: SocketAddr, delay: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, delay).await;
                    }
                });
            }
        });
        Ok(Self { address, server })
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn relay(client: TcpStream, server: TcpStream, delay: Duration) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    };
    // Answers are stamped when they arrive and written once their delay is over, in
    // order: a later answer never overtakes an earlier one on the same connection.
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Bytes)>();
    let read = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n) = server_read.read(&mut buffer).await {
            if n == 0
                || tx
                    .send((Instant::now() + delay, Bytes::copy_from_slice(&buffer[..n])))
                    .is_err()
            {
                break;
            }
        }
    };
    let write = async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if client_write.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(up, read, write);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo upstream: what the proxy forwards comes back, later, and unchanged.
    #[tokio::test]
    async fn forwards_every_byte_in_order_after_the_delay() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = echo.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = stream.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let delay = Duration::from_millis(30);
        let proxy = DelayProxy::start(upstream, delay).await.unwrap();
        let mut stream = TcpStream::connect(proxy.address).await.unwrap();
        let sent = Instant::now();
        stream.write_all(b"first ").await.unwrap();
        stream.write_all(b"second").await.unwrap();
        let mut got = vec![0u8; 12];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"first second");
        // A lower bound only: the proxy may be late on a busy machine, never early.
        assert!(sent.elapsed() >= delay);
    }
}
