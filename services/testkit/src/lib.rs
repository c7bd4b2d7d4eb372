//! Support for integration tests and benchmarks: every test gets its own database, its own
//! broker process and its own topic prefix, so tests run in parallel and repeatably.
//!
//! Owns: starting and cleaning up real PostgreSQL databases and tansu brokers.
//! Must never: be a dependency of a shipped crate, or stand in for a real component.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test support: failing loudly is the point.

pub mod api;
pub mod escpos;
pub mod ipp;
pub mod thermal;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on loopback (the OS picks it; we release it for the child to bind).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A short random token for database and topic names.
pub fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// The server that hosts test databases (`TEST_DATABASE_URL`, any database on it).
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A migrated database of its own, dropped when this value is.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let name = format!("optical_test_{}", unique_suffix());
        let mut config: tokio_postgres::Config = server_url().parse().expect("TEST_DATABASE_URL");
        config.dbname(&name);
        let url = to_url(&config);
        optical_event_store::create_database_if_missing(&url)
            .await
            .expect("create test database");
        optical_event_store::migrate(&url)
            .await
            .expect("migrate test database");
        Self { name, url }
    }

    pub fn pool(&self, size: usize) -> optical_event_store::Pool {
        optical_event_store::pool(&self.url, size).expect("pool")
    }

    /// A plain client outside any pool.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&server_url(), tokio_postgres::NoTls).await
                {
                    tokio::spawn(connection);
                    let _ = client
                        .execute(
                            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                            &[],
                        )
                        .await;
                }
            });
        })
        .join();
    }
}

fn to_url(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let password = config
        .get_password()
        .map(|p| format!(":{}", String::from_utf8_lossy(p)))
        .unwrap_or_default();
    format!(
        "postgres://{user}{password}@{host}:{port}/{}",
        config.get_dbname().unwrap_or("postgres")
    )
}

/// Where the tansu 0.6 binary is: `TANSU_BIN`, the project's install location, or `PATH`.
pub fn tansu_binary() -> PathBuf {
    if let Ok(path) = std::env::var("TANSU_BIN") {
        return PathBuf::from(path);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let installed = PathBuf::from(home).join(".local/tansu-0.6.0/bin/tansu");
    if installed.exists() {
        installed
    } else {
        PathBuf::from("tansu")
    }
}

/// A tansu broker with in-memory storage on a free port, killed when dropped.
pub struct TestBroker {
    child: Child,
    pub port: u16,
}

impl TestBroker {
    pub fn start() -> Self {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::env::temp_dir().join(format!("tansu-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("broker log file");
        let child = Command::new(tansu_binary())
            .args([
                "broker",
                "--storage-engine",
                "memory://tansu/",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .stdout(Stdio::from(log_file.try_clone().expect("log")))
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("start tansu (run scripts/services.sh to install it)");
        let broker = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {port}; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        broker
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Freezes the broker process (an outage without losing its in-memory data).
    pub fn pause(&self) {
        signal(self.pid(), "STOP");
    }

    pub fn resume(&self) {
        signal(self.pid(), "CONT");
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        signal(self.pid(), "CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a POSIX signal by name with `kill(1)`.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill(1)");
    assert!(
        status.success() || name == "CONT" || name == "KILL",
        "kill -{name} {pid} failed"
    );
}

/// Kafka settings for a test: its broker and a topic prefix of its own.
pub fn kafka_config(broker: &TestBroker) -> optical_bus::KafkaConfig {
    let mut config = optical_bus::KafkaConfig::new(broker.brokers());
    config.topic_prefix = format!("t{}.", unique_suffix());
    config.partitions = 3;
    // Projector tests kill members: let their partitions move on quickly.
    config.session_timeout_ms = 6_000;
    config
}

/// Creates every application topic for `config`.
pub async fn apply_topics(config: &optical_bus::KafkaConfig) {
    let catalog = optical_bus::SchemaCatalog::embedded().unwrap();
    optical_bus::topics::apply(config, &optical_bus::topics::plan(config, &catalog))
        .await
        .expect("create topics");
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
