//! Each long-running or one-shot process, wired from configuration.
use crate::config::{KafkaArgs, RelayArgs};
use anyhow::Context as _;
use futures::StreamExt as _;
use optical_bus::registry::RegistryClient;
use optical_bus::tail::{self, StartAt};
use optical_bus::topics::{self, TopicOutcome};
use optical_bus::{AvroCodec, Publisher, SchemaCatalog};
use optical_relay::Relay;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

pub fn codec(kafka: &KafkaArgs) -> anyhow::Result<AvroCodec> {
    let catalog = SchemaCatalog::embedded().context("embedded Avro schemas")?;
    let registry = kafka
        .schema_registry_url
        .as_deref()
        .map(RegistryClient::new);
    Ok(AvroCodec::new(Arc::new(catalog), registry))
}

/// Creates every topic the application writes; returns `(name, created?)` lines.
pub async fn apply_topics(kafka: &KafkaArgs) -> anyhow::Result<Vec<String>> {
    let config = kafka.kafka_config();
    let catalog = SchemaCatalog::embedded()?;
    let plan = topics::plan(&config, &catalog);
    let outcomes = topics::apply(&config, &plan)
        .await
        .context("creating topics")?;
    Ok(outcomes
        .into_iter()
        .map(|(name, outcome)| match outcome {
            TopicOutcome::Created => format!("created {name}"),
            TopicOutcome::AlreadyExists => format!("exists  {name}"),
        })
        .collect())
}

pub async fn run_relay(
    database_url: &str,
    kafka: &KafkaArgs,
    relay: &RelayArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let publisher = Publisher::new(
        &kafka.kafka_config(),
        codec(kafka)?,
        relay.relay_max_in_flight,
    )?;
    Relay::new(relay.relay_config(database_url), publisher)
        .run(shutdown)
        .await;
    Ok(())
}

/// Prints every message of `topic` as one JSON line until `max` messages were printed or
/// nothing arrived for `idle_timeout` (when given); otherwise follows the topic forever.
pub async fn tail_topic(
    kafka: &KafkaArgs,
    topic: &str,
    from_beginning: bool,
    max: Option<usize>,
    idle_timeout: Option<Duration>,
) -> anyhow::Result<usize> {
    let codec = codec(kafka)?;
    let start = if from_beginning {
        StartAt::Beginning
    } else {
        StartAt::End
    };
    let consumer = tail::open(&kafka.kafka_config(), topic, start)
        .with_context(|| format!("opening topic {topic}"))?;
    let mut stream = consumer.stream();
    let mut printed = 0usize;
    let stdout = std::io::stdout();
    while max.is_none_or(|max| printed < max) {
        let next = match idle_timeout {
            Some(timeout) => match tokio::time::timeout(timeout, stream.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
            None => stream.next().await,
        };
        let Some(message) = next else { break };
        let message = message.context("reading from the broker")?;
        let line = tail::to_json_line(&codec, &message).await;
        let mut out = stdout.lock();
        let written = serde_json::to_writer(&mut out, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        match written {
            Ok(()) => printed += 1,
            // The reader went away (`| head`): a normal end for a tail.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(printed)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// The HTTP API with the reservation workers, until `shutdown` resolves. `ready` receives
/// the bound address once the server accepts connections.
pub async fn run_api(
    db: &crate::config::DatabaseArgs,
    api: &crate::config::ApiArgs,
    ready: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let pool = optical_event_store::pool(&db.database_url, db.database_pool_size)?;
    let clock: Arc<dyn optical_kernel::Clock> = Arc::new(optical_kernel::SystemClock);
    let app = optical_app::App::new(pool.clone(), clock.clone(), api.personal.personal_data()?);
    let authenticator = optical_api::auth::Authenticator::new(api.auth.auth_config()?)
        .await
        .context("setting up authentication")?;
    let pool_for_reads = pool.clone();
    let state = Arc::new(optical_api::ApiState {
        app: app.clone(),
        idempotency: optical_event_store::IdempotencyRecords::new(pool),
        clock,
        reservation_wait: Duration::from_millis(api.api_reservation_wait_ms),
        prescription_limits: api.prescription_limits()?,
        document_links: api.document_links()?,
        webhook_secrets: api.webhook_secrets()?,
        read: optical_api::read::ReadSide {
            consistency_wait: Duration::from_millis(api.read_consistency_wait_ms),
            ..optical_api::read::ReadSide::new(pool_for_reads)
        },
    });
    // With RESERVATION_WORKERS=0 this only listens for answers decided by other processes.
    let workers = optical_app::ReservationWorkers::spawn(
        app.inventory.clone(),
        db.database_url.clone(),
        optical_api::reservation_responder(),
        api.workers.worker_config(),
    );
    let listener = std::net::TcpListener::bind(&api.api_bind)
        .with_context(|| format!("binding {}", api.api_bind))?;
    let address = listener.local_addr()?;
    let config = optical_api::ApiConfig {
        max_body_bytes: api.api_max_body_bytes,
        workers: api.api_workers,
    };
    let server = optical_api::serve(listener, state, Arc::new(authenticator), &config)?;
    let handle = server.handle();
    tracing::info!(%address, "API listening");
    if let Some(ready) = ready {
        let _ = ready.send(address);
    }
    let result = tokio::select! {
        result = server => result.context("API server"),
        () = shutdown => {
            handle.stop(true).await;
            Ok(())
        }
    };
    workers.stop().await;
    result
}

/// The projectors named (all when none), until `shutdown` resolves.
pub async fn run_projectors(
    names: &[String],
    config: crate::project::ProjectorConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let projections = select_projections(names)?;
    crate::project::run(projections, config, shutdown).await;
    Ok(())
}

/// The projections called `names`, or all of them.
pub fn select_projections(
    names: &[String],
) -> anyhow::Result<Vec<Arc<dyn optical_read_model::Projection>>> {
    if names.is_empty() {
        return Ok(optical_read_model::all_projections());
    }
    names
        .iter()
        .map(|name| {
            optical_read_model::projection(name).with_context(|| {
                let known: Vec<&str> = optical_read_model::all_projections()
                    .iter()
                    .map(|p| p.name())
                    .collect();
                format!("no projection `{name}`; known: {}", known.join(", "))
            })
        })
        .collect()
}
