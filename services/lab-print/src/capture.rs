//! A stand-in thermal printer for laptops without one: it listens like a raw TCP 9100
//! printer, answers the real-time status queries (DLE EOT) as "ready", and writes every
//! ticket it receives to a file, so tickets can be watched without paper.

use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

const DLE: u8 = 0x10;
const EOT: u8 = 0x04;
/// A status byte with only the fixed bits (1 and 4) set: online, cover closed, paper present.
const READY: u8 = 0x12;

/// Serves connections on `listener` until the task is dropped, writing each ticket to
/// `dir/<n>-<unix millis>.escpos` and returning nothing but errors of the listener itself.
pub async fn serve(listener: TcpListener, dir: PathBuf) -> std::io::Result<()> {
    tokio::fs::create_dir_all(&dir).await?;
    let mut count: u64 = 0;
    loop {
        let (stream, peer) = listener.accept().await?;
        count += 1;
        let dir = dir.clone();
        tokio::spawn(async move {
            match receive(stream).await {
                Ok(bytes) if bytes.is_empty() => {}
                Ok(bytes) => match keep(&dir, count, &bytes).await {
                    Ok(path) => {
                        tracing::info!(%peer, file = %path.display(), bytes = bytes.len(), "ticket captured")
                    }
                    Err(error) => tracing::warn!(%peer, %error, "could not keep a ticket"),
                },
                Err(error) => tracing::warn!(%peer, %error, "ticket connection failed"),
            }
        });
    }
}

/// Reads one connection: status queries at its start are answered, the rest is the ticket.
async fn receive(mut stream: TcpStream) -> std::io::Result<Vec<u8>> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    let mut in_queries = true;
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Ok(received);
        }
        received.extend_from_slice(&buffer[..read]);
        // Status queries come before the ticket; later DLE EOT bytes are ticket data.
        while in_queries && received.len() >= 3 && received[0] == DLE && received[1] == EOT {
            received.drain(..3);
            stream.write_all(&[READY]).await?;
        }
        if received.first().is_some_and(|b| *b != DLE) || received.len() > 3 {
            in_queries = false;
        }
    }
}

async fn keep(dir: &Path, count: u64, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let path = dir.join(format!("{count:04}-{millis}.escpos"));
    tokio::fs::write(&path, bytes).await?;
    Ok(path)
}
