//! Serving the console over HTTP/1.1 with bounds, so that idle or slow
//! clients cannot take the descriptors the rest of the gateway needs.
//!
//! - At most [`ServeLimits::max_connections`] connections at once: when
//!   that many are open, no more are accepted (they wait in the listen
//!   queue, taking no descriptor of this process) until one closes.
//! - A connection that has not sent a request's whole header within
//!   [`ServeLimits::header_timeout`] (also an idle one between requests)
//!   is closed.
//! - A failure to accept (say, out of descriptors) is logged and retried
//!   after a pause, never the end of the console.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// The console's connection bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Connections open at once (at least 1).
    pub max_connections: usize,
    /// How long a client may take to send a request's header, and how long
    /// an idle connection stays open.
    pub header_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> ServeLimits {
        ServeLimits {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// How long to pause after a failed accept before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves `app` (the console's [`crate::Console::router`]) on `listener`
/// within `limits` until `stop` becomes true; then stops accepting, lets
/// requests in progress finish and returns. Handlers see the client's
/// address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = until_stopped(&mut stop) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "the console cannot accept a connection");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
            () = until_stopped(&mut stop) => break,
        };
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
        let app = app.clone().layer(axum::Extension(ConnectInfo(peer)));
        let mut stop = stop.clone();
        connections.spawn(async move {
            let _permit = permit;
            serve_connection(stream, peer, app, limits.header_timeout, &mut stop).await;
        });
    }
    // Stopped: finish what is in progress.
    while connections.join_next().await.is_some() {}
}

/// Serves one connection until it closes, or until `stop` (then the
/// request in progress finishes first).
async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    header_timeout: Duration,
    stop: &mut watch::Receiver<bool>,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = until_stopped(stop) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "console connection ended with an error");
    }
}

/// Returns once `stop` is true (or its sender is gone).
async fn until_stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn started(limits: ServeLimits) -> (SocketAddr, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route(
            "/",
            axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                format!("hello {}", peer.ip())
            }),
        );
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(serve(listener, app, limits, stopped));
        (addr, stop)
    }

    async fn get(addr: SocketAddr) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        reply
    }

    #[tokio::test]
    async fn idle_connections_are_closed_after_the_header_timeout() {
        let (addr, _stop) = started(ServeLimits {
            max_connections: 4,
            header_timeout: Duration::from_millis(300),
        })
        .await;
        let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost:").await.unwrap();
        let mut buf = [0u8; 64];
        let closed = tokio::time::timeout(Duration::from_secs(20), idle.read(&mut buf)).await;
        assert!(
            matches!(closed, Ok(Ok(_)) | Ok(Err(_))),
            "a half-sent header keeps the connection open"
        );
        assert!(get(addr).await.contains("hello 127.0.0.1"));
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_wait_until_one_closes() {
        let (addr, _stop) = started(ServeLimits {
            max_connections: 2,
            header_timeout: Duration::from_secs(600),
        })
        .await;
        let first = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _second = tokio::net::TcpStream::connect(addr).await.unwrap();
        // The third is in the listen queue, not served.
        let waiting = tokio::spawn(get(addr));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "a third connection was served");
        drop(first);
        let reply = tokio::time::timeout(Duration::from_secs(20), waiting)
            .await
            .expect("served once a connection closed")
            .unwrap();
        assert!(reply.contains("hello"), "{reply}");
    }
}
