//! A real IPP Everywhere printer for tests: CUPS's `ippeveprinter` (Debian package
//! cups-ipp-utils) on a free port, keeping every document it receives.
//!
//! `ippeveprinter` will not start without a D-Bus system bus for Avahi, even with DNS-SD
//! advertising off (`-r off`). Each printer therefore gets a private `dbus-daemon` of its
//! own: nothing is announced on the network and no system service is needed.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, unique_suffix};

const IPPEVEPRINTER: &str = "/usr/sbin/ippeveprinter";

/// An `ippeveprinter` process and its spool directory, removed when dropped (the directory
/// is kept when the test panicked, for its log).
pub struct IppEvePrinter {
    printer: Option<Child>,
    bus: Option<Child>,
    dir: PathBuf,
    port: u16,
}

impl IppEvePrinter {
    /// A printer that takes `application/pdf` and completes every job at once.
    pub fn start() -> Self {
        Self::start_with(&["application/pdf"], "/bin/true")
    }

    /// A printer advertising `formats` in `document-format-supported` (ippeveprinter adds
    /// `application/octet-stream` itself).
    pub fn start_with_formats(formats: &[&str]) -> Self {
        Self::start_with(formats, "/bin/true")
    }

    /// A PDF printer whose every job aborts (its print command fails).
    pub fn start_failing() -> Self {
        Self::start_with(&["application/pdf"], "/bin/false")
    }

    /// `command` gets each document's file name; exit status 0 completes the job, anything
    /// else aborts it. (Without a command ippeveprinter sleeps 5–15 s per job.)
    pub fn start_with(formats: &[&str], command: &str) -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("ippeveprinter-{}", unique_suffix()));
        let spool = dir.join("spool");
        std::fs::create_dir_all(&spool).expect("ippeveprinter spool directory");
        // From here on `Drop` cleans up, also when a wait below panics.
        let mut this = Self {
            printer: None,
            bus: None,
            dir,
            port,
        };

        let socket = this.dir.join("bus");
        this.bus = Some(
            Command::new("dbus-daemon")
                .arg("--session")
                .arg("--nofork")
                .arg(format!("--address=unix:path={}", socket.display()))
                .stdout(Stdio::null())
                .stderr(log_file(&this.dir.join("dbus.log")))
                .spawn()
                .expect("start dbus-daemon (run scripts/services.sh to install it)"),
        );
        wait_until(|| socket.exists(), "dbus-daemon socket", &this.dir);

        let log = this.dir.join("ippeveprinter.log");
        this.printer = Some(
            Command::new(IPPEVEPRINTER)
                .args(["-r", "off", "-k", "-n", "localhost"])
                .arg("-d")
                .arg(&spool)
                .arg("-f")
                .arg(formats.join(","))
                .arg("-c")
                .arg(command)
                .arg("-p")
                .arg(port.to_string())
                .arg(format!("Test Printer {port}"))
                .env(
                    "DBUS_SYSTEM_BUS_ADDRESS",
                    format!("unix:path={}", socket.display()),
                )
                // Keeps any TLS credentials it creates for ipps:// out of the real home.
                .env("HOME", &this.dir)
                .stdout(log_file(&log))
                .stderr(log_file(&log))
                .spawn()
                .expect("start ippeveprinter (run scripts/services.sh to install cups-ipp-utils)"),
        );
        let printer = this.printer.as_mut().expect("printer just started");
        wait_until(
            || {
                if let Ok(Some(status)) = printer.try_wait() {
                    panic!("ippeveprinter exited with {status}; see {}", log.display());
                }
                TcpStream::connect(("127.0.0.1", port)).is_ok()
            },
            "ippeveprinter to listen",
            &this.dir,
        );
        this
    }

    /// `ipp://127.0.0.1:<port>/ipp/print`
    pub fn uri(&self) -> String {
        format!("ipp://127.0.0.1:{}/ipp/print", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The documents the printer received, oldest job first.
    pub fn kept_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        collect_files(&self.dir.join("spool"), &mut files);
        // `.prn` files hold the print command's output, not what was sent.
        files.retain(|f| f.extension().is_none_or(|e| e != "prn"));
        files.sort();
        files
    }

    /// Where the printer's log and spool live.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for IppEvePrinter {
    fn drop(&mut self) {
        for child in [self.printer.as_mut(), self.bus.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn log_file(path: &Path) -> Stdio {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("log file");
    Stdio::from(file)
}

/// Polls `condition` every 10 ms for up to 20 s.
fn wait_until(mut condition: impl FnMut() -> bool, what: &str, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; logs in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, into);
        } else {
            into.push(path);
        }
    }
}
