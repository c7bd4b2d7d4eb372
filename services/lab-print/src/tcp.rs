//! Raw printing over TCP (port 9100, "JetDirect"): ask the printer for its real-time status
//! (`DLE EOT`), and send the job only when it can print it, on the same connection.
//!
//! A job sent to a printer with no paper or an open cover is not queued by the printer: it
//! is lost or printed half. So a blocking status means nothing is sent, and the spooler
//! retries later.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::DeliveryError;

/// The raw printing port of network printers.
pub const DEFAULT_PORT: u16 = 9100;

/// `DLE EOT n`: transmit real-time status. Answered even while the printer is offline.
const DLE_EOT: [u8; 2] = [0x10, 0x04];
/// `n = 1`: printer status; `2`: offline cause; `4`: roll paper sensor.
const PRINTER_STATUS: u8 = 1;
const OFFLINE_CAUSE: u8 = 2;
const PAPER_SENSOR: u8 = 4;

/// What the printer said about itself, from the Epson ESC/POS `DLE EOT` bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrinterStatus {
    /// Printer status bit 3 clear.
    pub online: bool,
    /// Offline cause bit 2.
    pub cover_open: bool,
    /// Offline cause bit 5 ("printing stops because of paper end") or sensor bits 5–6.
    pub paper_end: bool,
    /// Sensor bits 2–3: the roll is nearly used up; still prints.
    pub paper_near_end: bool,
}

impl PrinterStatus {
    /// Why a job must not be sent now, if it must not.
    pub fn blocking_reason(&self) -> Option<&'static str> {
        if self.paper_end {
            Some("paper end")
        } else if self.cover_open {
            Some("cover open")
        } else if !self.online {
            Some("offline")
        } else {
            None
        }
    }
}

/// A thermal printer reached over raw TCP.
#[derive(Clone, Debug)]
pub struct RawTcpPrinter {
    host: String,
    port: u16,
    connect_timeout: Duration,
    io_timeout: Duration,
}

impl RawTcpPrinter {
    /// `address` is `host`, `host:port`, `ip`, `ip:port` or `[ipv6]:port`; the port defaults
    /// to 9100. `io_timeout` bounds each status answer and the whole write of a job.
    pub fn new(address: &str, connect_timeout: Duration, io_timeout: Duration) -> Self {
        let (host, port) = split_address(address.trim());
        Self {
            host,
            port,
            connect_timeout,
            io_timeout,
        }
    }

    /// `host:port` as connected to.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Asks the printer for its status on a connection of its own.
    pub async fn status(&self) -> Result<PrinterStatus, DeliveryError> {
        let mut stream = self.connect().await?;
        let status = self.query(&mut stream).await;
        // Closing politely is not worth an error: the answer is already read.
        let _ = stream.shutdown().await;
        status
    }

    /// Sends `bytes` as one job if the printer can print it now: `NotReady` (nothing sent)
    /// for paper end, cover open or offline; `Unreachable` when it cannot be reached or
    /// does not answer in time.
    pub async fn print(&self, bytes: &[u8]) -> Result<(), DeliveryError> {
        let mut stream = self.connect().await?;
        let status = self.query(&mut stream).await?;
        if let Some(reason) = status.blocking_reason() {
            let _ = stream.shutdown().await;
            return Err(DeliveryError::NotReady(reason.into()));
        }
        let address = self.address();
        let send = async {
            stream.write_all(bytes).await?;
            stream.flush().await?;
            // End of job: the printer sees EOF and may close its side.
            stream.shutdown().await
        };
        match timeout(self.io_timeout, send).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(DeliveryError::Unreachable(format!(
                "sending to {address}: {error}"
            ))),
            Err(_) => Err(DeliveryError::Unreachable(format!(
                "sending to {address}: no progress within {:?}",
                self.io_timeout
            ))),
        }
    }

    async fn connect(&self) -> Result<TcpStream, DeliveryError> {
        let address = self.address();
        match timeout(
            self.connect_timeout,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        {
            Ok(Ok(stream)) => {
                // Small status queries must not wait for Nagle.
                let _ = stream.set_nodelay(true);
                Ok(stream)
            }
            Ok(Err(error)) => Err(DeliveryError::Unreachable(format!(
                "connecting to {address}: {error}"
            ))),
            Err(_) => Err(DeliveryError::Unreachable(format!(
                "connecting to {address}: no answer within {:?}",
                self.connect_timeout
            ))),
        }
    }

    async fn query(&self, stream: &mut TcpStream) -> Result<PrinterStatus, DeliveryError> {
        let printer = self.ask(stream, PRINTER_STATUS).await?;
        let offline = self.ask(stream, OFFLINE_CAUSE).await?;
        let sensor = self.ask(stream, PAPER_SENSOR).await?;
        Ok(PrinterStatus {
            online: printer & 0x08 == 0,
            cover_open: offline & 0x04 != 0,
            paper_end: offline & 0x20 != 0 || sensor & 0x60 == 0x60,
            paper_near_end: sensor & 0x0C == 0x0C,
        })
    }

    /// Sends `DLE EOT n` and reads the one status byte.
    async fn ask(&self, stream: &mut TcpStream, n: u8) -> Result<u8, DeliveryError> {
        let address = self.address();
        let exchange = async {
            stream.write_all(&[DLE_EOT[0], DLE_EOT[1], n]).await?;
            stream.flush().await?;
            stream.read_u8().await
        };
        let byte = match timeout(self.io_timeout, exchange).await {
            Ok(Ok(byte)) => byte,
            Ok(Err(error)) => {
                return Err(DeliveryError::Unreachable(format!(
                    "status {n} from {address}: {error}"
                )));
            }
            Err(_) => {
                return Err(DeliveryError::Unreachable(format!(
                    "status {n} from {address}: no answer within {:?}",
                    self.io_timeout
                )));
            }
        };
        // Bits 0, 1, 4 and 7 are fixed (0, 1, 1, 0) in every answer: anything else is not
        // an ESC/POS printer, and guessing its state would print blind.
        if byte & 0x93 != 0x12 {
            return Err(DeliveryError::Refused(format!(
                "{address} answered status {n} with {byte:#04x}, not an ESC/POS status byte"
            )));
        }
        Ok(byte)
    }
}

/// Host and port of `host[:port]`; a bare IPv6 address has no port.
fn split_address(address: &str) -> (String, u16) {
    if let Some(rest) = address.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            let port = after
                .strip_prefix(':')
                .and_then(|port| port.parse().ok())
                .unwrap_or(DEFAULT_PORT);
            return (host.to_owned(), port);
        }
    }
    match address.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host.to_owned(), port),
            Err(_) => (address.to_owned(), DEFAULT_PORT),
        },
        _ => (address.to_owned(), DEFAULT_PORT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_default_to_port_9100() {
        let cases = [
            ("printer.lab", ("printer.lab", 9100)),
            ("10.0.0.7:9101", ("10.0.0.7", 9101)),
            ("fe80::1", ("fe80::1", 9100)),
            ("[fe80::1]:9200", ("fe80::1", 9200)),
            ("[fe80::1]", ("fe80::1", 9100)),
        ];
        for (address, (host, port)) in cases {
            assert_eq!(split_address(address), (host.to_owned(), port), "{address}");
        }
        let printer = RawTcpPrinter::new("fe80::1", Duration::ZERO, Duration::ZERO);
        assert_eq!(printer.address(), "[fe80::1]:9100");
    }

    #[test]
    fn only_paper_end_cover_open_and_offline_block() {
        let ready = PrinterStatus {
            online: true,
            ..PrinterStatus::default()
        };
        assert_eq!(ready.blocking_reason(), None);
        let near_end = PrinterStatus {
            paper_near_end: true,
            ..ready
        };
        assert_eq!(near_end.blocking_reason(), None);
        let paper_end = PrinterStatus {
            online: false,
            paper_end: true,
            ..ready
        };
        assert_eq!(paper_end.blocking_reason(), Some("paper end"));
        let cover = PrinterStatus {
            online: false,
            cover_open: true,
            ..ready
        };
        assert_eq!(cover.blocking_reason(), Some("cover open"));
        assert_eq!(PrinterStatus::default().blocking_reason(), Some("offline"));
    }
}
