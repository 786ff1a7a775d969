//! A TCP relay in front of a real server (PostgreSQL, the SMTP sink), to make faults happen
//! on the wire: cut every connection and refuse new ones as a crashed server would, or accept
//! connections and never pass them on, as a server that hangs before its greeting.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub enum Target {
    Tcp(String),
    Unix(PathBuf),
}

impl Target {
    /// Where the PostgreSQL server of these options listens.
    pub fn of_postgres(options: &sqlx::postgres::PgConnectOptions) -> Target {
        match options.get_socket() {
            Some(dir) => Target::Unix(dir.join(format!(".s.PGSQL.{}", options.get_port()))),
            None => Target::Tcp(format!("{}:{}", options.get_host(), options.get_port())),
        }
    }
}

pub struct Relay {
    pub port: u16,
    open: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    pub async fn start(target: Target) -> Relay {
        Self::stalling_first(target, 0).await
    }

    /// The first `stalled` connections are accepted and then left hanging: nothing is passed on
    /// in either direction until the relay is dropped.
    pub async fn stalling_first(target: Target, stalled: usize) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (open, watching) = watch::channel(true);
        let accepted = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(run(listener, port, target, watching, accepted, stalled));
        Relay { port, open, task }
    }

    /// Every relayed connection is closed and new ones are refused.
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    /// Accepts and relays again, on the same port.
    pub fn restore(&self) {
        self.open.send_replace(true);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    listener: TcpListener,
    port: u16,
    target: Target,
    mut open: watch::Receiver<bool>,
    accepted: Arc<AtomicUsize>,
    stalled: usize,
) {
    let mut listener = Some(listener);
    let mut held = Vec::new();
    loop {
        let Some(l) = listener.as_ref() else {
            // Cut: the port refuses connections until the relay is restored.
            let _ = open.wait_for(|open| *open).await;
            listener = Some(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
            continue;
        };
        let mut watching = open.clone();
        tokio::select! {
            _ = watching.wait_for(|open| !*open) => {
                listener = None;
                held.clear();
            }
            Ok((client, _)) = l.accept() => {
                if accepted.fetch_add(1, Ordering::SeqCst) < stalled {
                    held.push(client);
                    continue;
                }
                let (target, mut open) = (target.clone(), open.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        () = relay(client, &target) => {}
                        _ = open.wait_for(|open| !*open) => {}
                    }
                });
            }
        }
    }
}

async fn relay(mut client: TcpStream, target: &Target) {
    match target {
        Target::Tcp(addr) => {
            if let Ok(server) = TcpStream::connect(addr).await {
                pipe(&mut client, server).await;
            }
        }
        Target::Unix(path) => {
            if let Ok(server) = UnixStream::connect(path).await {
                pipe(&mut client, server).await;
            }
        }
    }
}

async fn pipe(client: &mut TcpStream, mut server: impl AsyncRead + AsyncWrite + Unpin) {
    let _ = tokio::io::copy_bidirectional(client, &mut server).await;
}
