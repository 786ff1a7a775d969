//! The HTTP/1 server loop. `axum::serve` has no header-read timeout and no bound on open
//! connections, so a few hundred clients that send half a request and then nothing exhaust the
//! open-file limit and nothing else gets in. This loop:
//!
//! - closes a connection whose request headers do not arrive within `header_timeout` (hyper's
//!   own timer; it also ends keep-alive connections idle for that long);
//! - keeps at most `max_connections` open, well below the open-file limit; when the bound is
//!   reached it closes the longest-open connection that has no request in flight (a slow
//!   client, or a browser's idle keep-alive connection, which the browser simply reopens), the
//!   way nginx reuses connections when it runs short; if every connection is busy, it waits;
//! - closes a connection whose client takes no response data for `write_timeout` (one that
//!   sends requests but never reads would otherwise stay busy, and so unevictable, for ever);
//! - goes on accepting after `EMFILE`/`ENFILE`, shedding idle connections to get descriptors;
//! - sets `TCP_NODELAY`, so a response's head and body are not held back by Nagle's algorithm.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Descriptors kept free for everything that is not a client connection: the database pool,
/// SMTP connections, attachment files, static files, logs.
const RESERVED_FILES: u64 = 256;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub write_timeout: Duration,
}

impl Limits {
    /// The configured bound, lowered to what the process's open-file limit allows.
    pub fn within_open_file_limit(
        max_connections: usize,
        header_timeout: Duration,
        write_timeout: Duration,
    ) -> Self {
        let files = raise_open_file_limit();
        let allowed = files.saturating_sub(RESERVED_FILES).max(16);
        let max_connections = max_connections.min(usize::try_from(allowed).unwrap_or(usize::MAX));
        tracing::info!(
            max_connections,
            open_file_limit = files,
            header_timeout_secs = header_timeout.as_secs_f64(),
            "connection limits"
        );
        Limits {
            max_connections,
            header_timeout,
            write_timeout,
        }
    }
}

/// Raises the soft open-file limit to the hard one (as Go's runtime does) and returns it. The
/// hard limit is the operator's (`LimitNOFILE=` in systemd, `ulimit -Hn`).
pub fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        let wanted = limit.rlim_max.min(1 << 20);
        if limit.rlim_cur < wanted {
            let raised = libc::rlimit {
                rlim_cur: wanted,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = wanted;
            }
        }
    }
    limit.rlim_cur
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops accepting, lets every
/// connection finish its request in flight and returns when all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let registry = Arc::new(Registry::default());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let mut out_of_files = false;
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                // EMFILE, ENFILE, ENOBUFS: make room and try again shortly; never give up.
                if !out_of_files {
                    tracing::warn!(error = %e, open = registry.len(), "cannot accept connections; closing idle ones");
                    out_of_files = true;
                }
                registry.evict_idle(16);
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if out_of_files {
            tracing::info!(open = registry.len(), "accepting connections again");
            out_of_files = false;
        }
        // Make room before serving the new connection: shed an idle one, or wait until one
        // ends or goes idle. Connections already told to go count as going.
        loop {
            let changed = registry.changed.notified();
            if registry.len() < limits.max_connections {
                break;
            }
            if registry.leaving() == 0 {
                registry.evict_idle(1);
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = changed => {}
            }
        }
        if shutdown.is_cancelled() {
            break;
        }
        let _ = stream.set_nodelay(true);
        let connection = registry.register();
        tokio::spawn(serve_one(
            stream,
            peer,
            router.clone(),
            http.clone(),
            limits.write_timeout,
            connection,
            shutdown.clone(),
        ));
    }
    drop(listener);
    loop {
        let changed = registry.changed.notified();
        if registry.len() == 0 {
            break;
        }
        changed.await;
    }
}

async fn serve_one(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    http: hyper::server::conn::http1::Builder,
    write_timeout: Duration,
    connection: Registered,
    shutdown: CancellationToken,
) {
    let registry = Arc::clone(&connection.registry);
    let _deregister = Deregister {
        registry: Arc::clone(&registry),
        id: connection.id,
    };
    let in_flight = Arc::clone(&connection.in_flight);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let busy = Busy::enter(&in_flight, &registry);
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await.unwrap_or_else(|e| match e {});
            // The connection counts as busy until the last byte of the body is out.
            Ok::<_, Infallible>(response.map(|body| Body::new(BusyBody { body, _busy: busy })))
        }
    });
    let io = TokioIo::new(WriteStallGuard::new(stream, write_timeout));
    let conn = http.serve_connection(io, service);
    tokio::pin!(conn);
    let graceful = tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            false
        }
        // Evicted while idle: dropping closes the socket. A request that began since the
        // eviction was decided is finished first (hyper runs the service only while the
        // connection is polled, so the count cannot change under us here).
        () = connection.evict.cancelled() => connection.in_flight.load(Ordering::Acquire) > 0,
        () = shutdown.cancelled() => true,
    };
    if graceful {
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
}

/// Fails a write that makes no progress for `timeout`: a client that does not read its
/// responses cannot hold a connection (and its buffers) busy for ever.
struct WriteStallGuard {
    stream: TcpStream,
    timeout: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl WriteStallGuard {
    fn new(stream: TcpStream, timeout: Duration) -> Self {
        WriteStallGuard {
            stream,
            timeout,
            stalled: None,
        }
    }

    fn track(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<std::io::Result<usize>>,
    ) -> Poll<std::io::Result<usize>> {
        match result {
            Poll::Pending => {
                let timeout = self.timeout;
                let stalled = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match stalled.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(std::io::ErrorKind::TimedOut.into())),
                    Poll::Pending => Poll::Pending,
                }
            }
            done @ Poll::Ready(_) => {
                self.stalled = None;
                done
            }
        }
    }
}

impl tokio::io::AsyncRead for WriteStallGuard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for WriteStallGuard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, data);
        self.track(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, data);
        self.track(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted
    )
}

/// The open connections in the order they were accepted, each with its request count.
#[derive(Default)]
struct Registry {
    open: Mutex<Open>,
    /// Signalled (to every waiter) whenever a connection closes or finishes its requests.
    changed: Notify,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    connections: BTreeMap<u64, Tracked>,
}

struct Tracked {
    in_flight: Arc<AtomicUsize>,
    evict: CancellationToken,
}

struct Registered {
    registry: Arc<Registry>,
    id: u64,
    in_flight: Arc<AtomicUsize>,
    evict: CancellationToken,
}

impl Registry {
    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.open().connections.len()
    }

    /// Connections told to go that have not closed yet.
    fn leaving(&self) -> usize {
        self.open()
            .connections
            .values()
            .filter(|c| c.evict.is_cancelled())
            .count()
    }

    fn register(self: &Arc<Self>) -> Registered {
        let mut open = self.open();
        let id = open.next_id;
        open.next_id += 1;
        let tracked = Tracked {
            in_flight: Arc::new(AtomicUsize::new(0)),
            evict: CancellationToken::new(),
        };
        let registered = Registered {
            registry: Arc::clone(self),
            id,
            in_flight: Arc::clone(&tracked.in_flight),
            evict: tracked.evict.clone(),
        };
        open.connections.insert(id, tracked);
        registered
    }

    /// Closes up to `count` of the longest-open connections that have no request in flight.
    fn evict_idle(&self, count: usize) -> usize {
        let open = self.open();
        let idle = open
            .connections
            .values()
            .filter(|c| !c.evict.is_cancelled() && c.in_flight.load(Ordering::Acquire) == 0);
        let mut evicted = 0;
        for connection in idle.take(count) {
            connection.evict.cancel();
            evicted += 1;
        }
        evicted
    }
}

struct Deregister {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        self.registry.open().connections.remove(&self.id);
        self.registry.changed.notify_waiters();
    }
}

/// Marks a connection busy from the request's head until its response is fully sent; when
/// it becomes idle again, the accept loop (which may be waiting for one) hears of it.
struct Busy {
    counter: Arc<AtomicUsize>,
    registry: Arc<Registry>,
}

impl Busy {
    fn enter(counter: &Arc<AtomicUsize>, registry: &Arc<Registry>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Busy {
            counter: Arc::clone(counter),
            registry: Arc::clone(registry),
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.counter.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.registry.changed.notify_waiters();
        }
    }
}

struct BusyBody {
    body: Body,
    _busy: Busy,
}

impl HttpBody for BusyBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_open_idle_connections_are_evicted_first_and_busy_ones_never() {
        let registry = Arc::new(Registry::default());
        let first = registry.register();
        let second = registry.register();
        let third = registry.register();
        let _busy = Busy::enter(&first.in_flight, &registry);
        assert_eq!(registry.evict_idle(1), 1);
        assert!(!first.evict.is_cancelled(), "busy: kept");
        assert!(second.evict.is_cancelled(), "the oldest idle one goes");
        assert!(!third.evict.is_cancelled());
        assert_eq!(registry.leaving(), 1);
        assert_eq!(registry.evict_idle(5), 1, "only the third is left to evict");
        assert!(third.evict.is_cancelled());
    }

    #[test]
    fn the_open_file_limit_leaves_room_for_everything_else() {
        let limits = Limits::within_open_file_limit(
            usize::MAX,
            Duration::from_secs(10),
            Duration::from_secs(30),
        );
        let files = raise_open_file_limit();
        assert_eq!(limits.max_connections as u64, files - RESERVED_FILES);
        let small =
            Limits::within_open_file_limit(100, Duration::from_secs(10), Duration::from_secs(30));
        assert_eq!(small.max_connections, 100);
    }
}
