//! A fake network thermal printer on loopback: answers `DLE EOT n` real-time status queries
//! from a state the test sets, and keeps everything else each connection sends as one job.
//!
//! Like a real printer it answers status queries wherever they appear in the stream, and it
//! does not wait for a job to be complete before answering.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The state the fake printer reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThermalState {
    #[default]
    Ready,
    /// Roll paper near end: still prints.
    PaperNearEnd,
    /// Out of paper (and therefore offline).
    PaperOut,
    /// Cover open (and therefore offline).
    CoverOpen,
    /// Offline because of an error.
    Offline,
}

impl ThermalState {
    /// The status byte for `DLE EOT n`, per the Epson reference: bits 1 and 4 always set.
    fn answer(self, n: u8) -> u8 {
        const FIXED: u8 = 0x12;
        let offline = !matches!(self, Self::Ready | Self::PaperNearEnd);
        match n {
            1 if offline => FIXED | 0x08,
            2 => match self {
                Self::CoverOpen => FIXED | 0x04,
                Self::PaperOut => FIXED | 0x20,
                Self::Offline => FIXED | 0x40,
                Self::Ready | Self::PaperNearEnd => FIXED,
            },
            4 => match self {
                Self::PaperOut => FIXED | 0x60 | 0x0C,
                Self::PaperNearEnd => FIXED | 0x0C,
                _ => FIXED,
            },
            _ => FIXED,
        }
    }
}

struct Shared {
    state: Mutex<ThermalState>,
    jobs: watch::Sender<Vec<Vec<u8>>>,
    connections: watch::Sender<usize>,
    queries: Mutex<Vec<u8>>,
}

/// A fake printer listening on `127.0.0.1`; stops listening when dropped.
pub struct FakeThermalPrinter {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeThermalPrinter {
    /// Starts listening on a free port, in state [`ThermalState::Ready`].
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            state: Mutex::new(ThermalState::Ready),
            jobs: watch::Sender::new(Vec::new()),
            connections: watch::Sender::new(0),
            queries: Mutex::new(Vec::new()),
        });
        let server = tokio::spawn(serve(listener, shared.clone()));
        Self {
            address,
            shared,
            server,
        }
    }

    /// `127.0.0.1:port`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    pub fn set_state(&self, state: ThermalState) {
        *self.shared.state.lock().unwrap() = state;
    }

    /// Jobs received so far: the bytes of each finished connection that sent anything
    /// besides status queries.
    pub fn jobs(&self) -> Vec<Vec<u8>> {
        self.shared.jobs.borrow().clone()
    }

    /// Connections finished so far, jobs or not.
    pub fn connections(&self) -> usize {
        *self.shared.connections.borrow()
    }

    /// The `n` of every `DLE EOT n` answered, in order.
    pub fn status_queries(&self) -> Vec<u8> {
        self.shared.queries.lock().unwrap().clone()
    }

    /// Waits until at least `count` jobs have arrived and returns them all; panics after
    /// `timeout`.
    pub async fn wait_for_jobs(&self, count: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let mut jobs = self.shared.jobs.subscribe();
        let waited = tokio::time::timeout(timeout, jobs.wait_for(|jobs| jobs.len() >= count)).await;
        match waited {
            Ok(Ok(jobs)) => jobs.clone(),
            _ => panic!(
                "expected {count} print jobs within {timeout:?}, got {}",
                self.jobs().len()
            ),
        }
    }

    /// Waits until at least `count` connections have finished; panics after `timeout`.
    pub async fn wait_for_connections(&self, count: usize, timeout: Duration) {
        let mut connections = self.shared.connections.subscribe();
        let waited =
            tokio::time::timeout(timeout, connections.wait_for(|done| *done >= count)).await;
        assert!(
            matches!(waited, Ok(Ok(_))),
            "expected {count} finished connections within {timeout:?}, got {}",
            self.connections()
        );
    }
}

impl Drop for FakeThermalPrinter {
    fn drop(&mut self) {
        // Aborting the server drops its JoinSet, which aborts every open connection.
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, shared.clone()));
                }
                Err(_) => return,
            },
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut job = Vec::new();
    // A query split across reads: the bytes of `DLE EOT` seen so far.
    let mut pending: Vec<u8> = Vec::new();
    let mut buffer = [0u8; 4096];
    'connection: loop {
        let read = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        for &byte in &buffer[..read] {
            pending.push(byte);
            match pending.as_slice() {
                [0x10] | [0x10, 0x04] => continue,
                [0x10, 0x04, n @ 1..=4] => {
                    let n = *n;
                    let answer = shared.state.lock().unwrap().answer(n);
                    shared.queries.lock().unwrap().push(n);
                    if stream.write_all(&[answer]).await.is_err() {
                        break 'connection;
                    }
                }
                other => job.extend_from_slice(other),
            }
            pending.clear();
        }
    }
    job.extend_from_slice(&pending);
    if !job.is_empty() {
        shared.jobs.send_modify(|jobs| jobs.push(job));
    }
    shared.connections.send_modify(|done| *done += 1);
}
