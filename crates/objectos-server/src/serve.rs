//! The HTTP/1.1 accept loop, with the bounds `axum::serve` does not offer: a header-read timeout
//! (which is also the idle timeout of a kept-alive connection), a body-read timeout and a cap on
//! open connections.
//!
//! - A client gets [`ConnectionLimits::body_read_timeout`] to send a request's whole body,
//!   counted from when its head was read. A body that trickles in slower fails with
//!   [`BodyTimeout`]: the handler reading it answers 408 and the connection is closed, so a
//!   client cannot hold a connection and a task by sending a byte now and then.
//! - A client gets [`ConnectionLimits::header_read_timeout`] to send a complete request head,
//!   counted from when the server starts waiting for it: on a new connection and, on a kept-alive
//!   one, after each response. A connection that is silent, or sends half a head (slowloris),
//!   is closed when it runs out.
//! - At most [`ConnectionLimits::max_connections`] connections are served at once; beyond it the
//!   server stops accepting, so new connections wait in the kernel's listen backlog until one
//!   closes (they are neither accepted nor refused).
//! - `accept` failures (a full file-descriptor table: `EMFILE`/`ENFILE`) pause accepting briefly
//!   instead of spinning or stopping the server.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::Router;
use hyper::body::{Body, Frame, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

/// Default of [`ConnectionLimits::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default of [`ConnectionLimits::body_read_timeout`].
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Default of [`ConnectionLimits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// How long accepting pauses after `accept` failed.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Bounds on client connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time allowed to receive a complete request head; also how long a kept-alive connection
    /// may stay idle between requests.
    pub header_read_timeout: Duration,
    /// Time allowed to receive a request's whole body, counted from when its head was read.
    pub body_read_timeout: Duration,
    /// Connections served at once (at least 1).
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and waits for the
/// open connections to finish their current exchange (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A permit first: at the cap, connections wait in the listen backlog.
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                // The semaphore is never closed; stop serving if it ever is.
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed; pausing");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let body_timeout = limits.body_read_timeout;
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            app.clone(),
            move |request: hyper::Request<hyper::body::Incoming>| {
                request.map(|body| axum::body::Body::new(DeadlineBody::new(body, body_timeout)))
            },
        ));
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = watched.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The error of a request body that did not arrive within the body-read timeout.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body did not arrive within {} ms (the body-read timeout)", .0.as_millis())]
pub struct BodyTimeout(Duration);

impl BodyTimeout {
    /// The timeout, in milliseconds.
    pub fn millis(&self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }
}

/// A request body that fails with [`BodyTimeout`] once `timeout` has passed since the request
/// started and the body is still not complete. The timer is armed only when the body is not
/// ready at once, so a body already received costs no timer.
struct DeadlineBody<B> {
    inner: B,
    started: Instant,
    timeout: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<B> DeadlineBody<B> {
    fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            started: Instant::now(),
            timeout,
            deadline: None,
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let (started, timeout) = (this.started, this.timeout);
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(started + timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout(timeout))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
