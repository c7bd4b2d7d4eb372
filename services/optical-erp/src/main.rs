//! `optical-erp`: every process of the system as a subcommand (design §9).
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use optical_bus::contract;
use optical_bus::SchemaCatalog;
use optical_erp::config::{
    ApiArgs, DatabaseArgs, KafkaArgs, LabPrintArgs, PersonalDataArgs, ProjectorArgs, RelayArgs,
    SagaArgs,
};
use optical_erp::{demo, processes};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "optical-erp",
    version,
    about = "Event-sourced ERP for optical retail chains and their labs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up; boxing the larger variants would only obscure the clap derive.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Create the database if needed and apply the migrations.
    Migrate {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Manage Kafka topics.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Publish committed events to Kafka (one active relay; others stand by).
    Relay {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        kafka: KafkaArgs,
        #[command(flatten)]
        relay: RelayArgs,
    },
    /// Read topics as a partner would.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// The published Avro contracts.
    Schemas {
        #[command(subcommand)]
        command: SchemasCommand,
    },
    /// Serve the HTTP command API (and decide queued reservations).
    Api {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Mint a development token (HS256 with AUTH_HS256_SECRET) and print it.
    Token {
        /// The shared secret the API verifies with.
        #[arg(long, env = "AUTH_HS256_SECRET", hide_env_values = true)]
        secret: String,
        /// The tenant the token acts for (a UUIDv7); a new one when absent.
        #[arg(long)]
        tenant: Option<optical_kernel::TenantId>,
        /// Scopes to grant (repeat the flag); every scope of the API when absent.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long, default_value = "dev")]
        subject: String,
        #[arg(long, default_value_t = 8 * 3600)]
        ttl_seconds: u64,
    },
    /// Run the order saga: commit stock, request payments, compensate cancellations.
    Saga {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        kafka: KafkaArgs,
        #[command(flatten)]
        saga: SagaArgs,
        #[command(flatten)]
        personal: PersonalDataArgs,
    },
    /// Print lab tickets: spool a ticket for every stage change at a station with a printer,
    /// and deliver spooled tickets (ESC/POS over TCP 9100, PDF over IPP).
    LabPrint {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        kafka: KafkaArgs,
        #[command(flatten)]
        lab_print: LabPrintArgs,
        #[command(flatten)]
        personal: PersonalDataArgs,
    },
    /// A stand-in thermal printer: answers status queries as ready and writes every ticket
    /// it receives to a file, to watch tickets without paper.
    CapturePrinter {
        #[arg(long, env = "CAPTURE_PRINTER_BIND", default_value = "127.0.0.1:9100")]
        bind: String,
        #[arg(long, env = "CAPTURE_PRINTER_DIR", default_value = "tickets")]
        dir: PathBuf,
    },
    /// Write demo data (tenant, store, frames with stock, a lens) through the command side.
    Demo {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        personal: PersonalDataArgs,
        /// Frame products to create.
        #[arg(long, default_value_t = 12)]
        frames: usize,
        /// Keep re-pricing variants every this many milliseconds (0: write once and exit).
        #[arg(long, default_value_t = 0)]
        reprice_every_ms: u64,
    },
    /// Run projectors: build the query tables (all projections, or those named).
    Project {
        /// Projections to run (default: all).
        names: Vec<String>,
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        kafka: KafkaArgs,
        #[command(flatten)]
        projector: ProjectorArgs,
        #[command(flatten)]
        personal: PersonalDataArgs,
    },
    /// Inspect and rebuild projections.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// Everything in one process for a laptop: migrate, topics, relay, API and demo data.
    Dev {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        kafka: KafkaArgs,
        #[command(flatten)]
        relay: RelayArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        lab_print: LabPrintArgs,
    },
}

#[derive(Subcommand)]
enum ProjectionsCommand {
    /// Each projection's partitions: position, lag, owner.
    Status {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Replay the event log into shadow tables and swap them in atomically; readers keep
    /// the old tables until the swap. Running projectors may stay up.
    Rebuild {
        name: String,
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        personal: PersonalDataArgs,
    },
}

#[derive(Subcommand)]
enum TopicsCommand {
    /// Create every topic with the configured partitions and retention.
    Apply {
        #[command(flatten)]
        kafka: KafkaArgs,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Print each message as one JSON line (headers and decoded Avro).
    Tail {
        #[command(flatten)]
        kafka: KafkaArgs,
        /// Topic to read, e.g. optical.catalog.v1.
        #[arg(long)]
        topic: String,
        /// Start at the oldest message instead of the newest.
        #[arg(long)]
        from_beginning: bool,
        /// Stop after this many messages.
        #[arg(long)]
        max_messages: Option<usize>,
        /// Stop when nothing arrived for this many milliseconds.
        #[arg(long)]
        idle_timeout_ms: Option<u64>,
    },
}

#[derive(Subcommand)]
enum SchemasCommand {
    /// Fail if a schema changed incompatibly or the lock is out of date.
    Check,
    /// Rewrite the fingerprint lock after a backward-compatible change.
    Lock {
        #[arg(long, default_value = "schemas/avro/schemas.lock.json")]
        path: PathBuf,
    },
}

async fn projections(command: ProjectionsCommand) -> anyhow::Result<()> {
    match command {
        ProjectionsCommand::Status { db } => {
            let pool = optical_event_store::pool(&db.database_url, 1)?;
            let client = pool.get().await?;
            for p in optical_read_model::offsets::status(&**client, None).await? {
                println!(
                    "{:<10} {}[{}] next {} end {} lag {} epoch {} owner {}",
                    p.projection,
                    p.topic,
                    p.partition,
                    p.next_offset,
                    p.high_watermark,
                    p.lag,
                    p.epoch,
                    p.owner.unwrap_or_default()
                );
            }
            Ok(())
        }
        ProjectionsCommand::Rebuild { name, db, personal } => {
            migrate(&db).await?;
            let projection = processes::select_projections(std::slice::from_ref(&name))?
                .pop()
                .context("no projection")?;
            let pool = optical_event_store::pool(&db.database_url, 2)?;
            let keys =
                optical_event_store::DataKeys::new(pool, personal.personal_data()?.master_keys);
            let (mut client, connection) =
                tokio_postgres::connect(&db.database_url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            let report =
                optical_read_model::rebuild::rebuild(&mut client, projection.as_ref(), &keys)
                    .await?;
            println!(
                "rebuilt {name}: {} events read, {} applied ({} during the swap)",
                report.events_read, report.events_applied, report.applied_during_swap
            );
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    match Cli::parse().command {
        Command::Migrate { db } => migrate(&db).await,
        Command::Topics {
            command: TopicsCommand::Apply { kafka },
        } => {
            for line in processes::apply_topics(&kafka).await? {
                println!("{line}");
            }
            Ok(())
        }
        Command::Relay { db, kafka, relay } => {
            migrate(&db).await?;
            processes::run_relay(
                &db.database_url,
                &kafka,
                &relay,
                processes::shutdown_signal(),
            )
            .await
        }
        Command::Events {
            command:
                EventsCommand::Tail {
                    kafka,
                    topic,
                    from_beginning,
                    max_messages,
                    idle_timeout_ms,
                },
        } => {
            let idle = idle_timeout_ms.map(Duration::from_millis);
            processes::tail_topic(&kafka, &topic, from_beginning, max_messages, idle)
                .await
                .map(|_| ())
        }
        Command::Schemas { command } => schemas(command),
        Command::Api { db, api } => {
            migrate(&db).await?;
            processes::run_api(&db, &api, None, processes::shutdown_signal()).await
        }
        Command::Token {
            secret,
            tenant,
            scopes,
            subject,
            ttl_seconds,
        } => {
            let token = mint(
                &secret,
                tenant.unwrap_or_default(),
                scopes,
                subject,
                ttl_seconds,
            )?;
            println!("{token}");
            Ok(())
        }
        Command::Saga {
            db,
            kafka,
            saga,
            personal,
        } => {
            let app = app(&db, &personal)?;
            let config = optical_erp::saga::SagaConfig {
                database_url: db.database_url.clone(),
                kafka: kafka.kafka_config(),
                instance: saga
                    .saga_instance
                    .clone()
                    .unwrap_or_else(|| format!("pid-{}", std::process::id())),
                max_backoff: Duration::from_millis(saga.saga_max_backoff_ms),
                standby_interval: Duration::from_millis(500),
            };
            optical_erp::saga::run(app.saga.clone(), config, processes::shutdown_signal()).await;
            Ok(())
        }
        Command::LabPrint {
            db,
            kafka,
            lab_print,
            personal,
        } => {
            let app = app(&db, &personal)?;
            let codec = Arc::new(processes::codec(&kafka)?);
            let config = lab_print.config(&db.database_url, kafka.kafka_config());
            optical_erp::lab_print::run(
                app.lab.clone(),
                codec,
                config,
                processes::shutdown_signal(),
            )
            .await;
            Ok(())
        }
        Command::Project {
            names,
            db,
            kafka,
            projector,
            personal,
        } => {
            migrate(&db).await?;
            let pool = optical_event_store::pool(&db.database_url, 2)?;
            let keys =
                optical_event_store::DataKeys::new(pool, personal.personal_data()?.master_keys);
            let config = projector.projector_config(
                &db.database_url,
                &kafka,
                processes::codec(&kafka)?,
                keys,
            );
            processes::run_projectors(&names, config, processes::shutdown_signal()).await
        }
        Command::Projections { command } => projections(command).await,
        Command::CapturePrinter { bind, dir } => {
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .with_context(|| format!("binding {bind}"))?;
            println!("capturing tickets sent to {bind} into {}", dir.display());
            tokio::select! {
                result = optical_lab_print::capture::serve(listener, dir) => result?,
                () = processes::shutdown_signal() => {}
            }
            Ok(())
        }
        Command::Demo {
            db,
            personal,
            frames,
            reprice_every_ms,
        } => {
            migrate(&db).await?;
            let app = app(&db, &personal)?;
            let data = demo::seed_all(&app, frames).await?;
            println!(
                "wrote {} demo frames with stock and one lens for tenant {}",
                data.variants.len(),
                data.tenant
            );
            if reprice_every_ms > 0 {
                tokio::select! {
                    () = demo::keep_repricing(&app.catalog, data.tenant, &data.variants, Duration::from_millis(reprice_every_ms)) => {}
                    () = processes::shutdown_signal() => {}
                }
            }
            Ok(())
        }
        Command::Dev {
            db,
            kafka,
            relay,
            api,
            lab_print,
        } => dev(db, kafka, relay, api, lab_print).await,
    }
}

fn app(db: &DatabaseArgs, personal: &PersonalDataArgs) -> anyhow::Result<optical_app::App> {
    let pool = optical_event_store::pool(&db.database_url, db.database_pool_size)?;
    Ok(optical_app::App::new(
        pool,
        std::sync::Arc::new(optical_kernel::SystemClock),
        personal.personal_data()?,
    ))
}

/// Every scope an endpoint requires.
fn all_scopes() -> Vec<String> {
    let mut scopes: Vec<String> = optical_api::endpoints()
        .iter()
        .filter_map(|e| e.scope.map(str::to_owned))
        .collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

fn mint(
    secret: &str,
    tenant_id: optical_kernel::TenantId,
    scopes: Vec<String>,
    subject: String,
    ttl_seconds: u64,
) -> anyhow::Result<String> {
    let request = optical_api::auth::TokenRequest {
        subject,
        tenant_id,
        scopes: if scopes.is_empty() {
            all_scopes()
        } else {
            scopes
        },
        ttl: Duration::from_secs(ttl_seconds),
        issuer: None,
        audience: None,
    };
    Ok(optical_api::auth::mint_hs256(secret, &request)?)
}

async fn migrate(db: &DatabaseArgs) -> anyhow::Result<()> {
    optical_event_store::create_database_if_missing(&db.database_url)
        .await
        .context("creating the database")?;
    optical_event_store::migrate(&db.database_url)
        .await
        .context("migrating")?;
    Ok(())
}

fn schemas(command: SchemasCommand) -> anyhow::Result<()> {
    let catalog = SchemaCatalog::embedded()?;
    match command {
        SchemasCommand::Check => {
            let lock = contract::parse_lock(contract::COMMITTED_LOCK)
                .map_err(|v| anyhow::anyhow!("{v}"))?;
            let violations = contract::check(&catalog, &lock);
            for v in &violations {
                eprintln!("{v}");
            }
            anyhow::ensure!(
                violations.is_empty(),
                "{} contract violation(s)",
                violations.len()
            );
            println!("{} schemas match the lock", catalog.iter().count());
            Ok(())
        }
        SchemasCommand::Lock { path } => {
            let previous = match std::fs::read_to_string(&path) {
                Ok(text) => contract::parse_lock(&text).map_err(|v| anyhow::anyhow!("{v}"))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => contract::Lock::new(),
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            };
            let lock = contract::relock(&catalog, &previous).map_err(|violations| {
                anyhow::anyhow!(violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"))
            })?;
            std::fs::write(&path, contract::render(&lock))
                .with_context(|| format!("writing {}", path.display()))?;
            println!("locked {} schemas in {}", lock.len(), path.display());
            Ok(())
        }
    }
}

/// The secret `dev` verifies tokens with when none is configured. Development only.
const DEV_SECRET: &str = "optical-erp-dev-secret-change-me-0123456789";
const DEV_DOCUMENT_LINK_SECRET: &str = "optical-erp-dev-document-links-0123456789";
const DEV_WEBHOOK_SECRET: &str = "optical-erp-dev-webhook-secret";
/// The dev database's master key (base64 of 32 bytes). Never for real patients.
const DEV_PII_MASTER_KEY: &str = "b3B0aWNhbC1lcnAtZGV2LW1hc3Rlci1rZXktMDAwMDE=";

async fn dev(
    db: DatabaseArgs,
    kafka: KafkaArgs,
    relay: RelayArgs,
    mut api: ApiArgs,
    lab_print: LabPrintArgs,
) -> anyhow::Result<()> {
    migrate(&db).await?;
    let topics = processes::apply_topics(&kafka).await?;
    for line in &topics {
        println!("{line}");
    }
    if topics.iter().all(|line| line.starts_with("created")) {
        // A new (in-memory) broker has none of the events the database already holds: publish
        // the log from the start rather than only what is written from now on.
        let session =
            optical_event_store::OutboxSession::connect(&db.database_url, &relay.relay_name, "dev")
                .await?;
        session.reset_checkpoint().await?;
    }
    let no_keys = api.auth.auth_hs256_secret.is_none()
        && api.auth.auth_jwks_file.is_none()
        && api.auth.auth_jwks_url.is_none();
    if no_keys {
        api.auth.auth_hs256_secret = Some(DEV_SECRET.to_owned());
    }
    if api.personal.pii_master_key.is_none() {
        api.personal.pii_master_key = Some(DEV_PII_MASTER_KEY.to_owned());
    }
    if api.document_link_secret.is_none() {
        api.document_link_secret = Some(DEV_DOCUMENT_LINK_SECRET.to_owned());
    }
    if api.payment_webhook_secrets.is_empty() {
        api.payment_webhook_secrets = format!("demo-bank={DEV_WEBHOOK_SECRET}");
    }
    let app = app(&db, &api.personal)?;
    let data = demo::seed_all(&app, 12).await?;
    let (ready, address) = tokio::sync::oneshot::channel();
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let api_task = {
        let (db, api) = (db.clone(), api.clone());
        tokio::spawn(async move {
            processes::run_api(&db, &api, Some(ready), async {
                let _ = api_stopped.await;
            })
            .await
        })
    };
    let address = address.await.context("the API did not start")?;
    let secret = api.auth.auth_hs256_secret.clone().unwrap_or_default();
    let token = mint(&secret, data.tenant, Vec::new(), "dev".into(), 8 * 3600)?;
    let base = format!("http://{address}/api/v1");
    let variant = data
        .variants
        .first()
        .map(|v| v.variant_id.to_string())
        .unwrap_or_default();
    let topic = format!("{}optical.catalog.v1", kafka.kafka_topic_prefix);
    println!();
    println!("Optical ERP dev: API, relay, projectors, order saga, lab printing and reservation workers running; a frame is re-priced every 2 s.");
    println!("  API:      {base}   (OpenAPI: {base}/openapi.json)");
    println!("  database: {}", db.database_url);
    println!("  broker:   {}", kafka.kafka_brokers);
    println!(
        "  tenant:   {} (store {}, location {})",
        data.tenant, data.store, data.location
    );
    println!();
    println!("Reserve a demo frame (token valid 8 h, every scope):");
    println!("  export TOKEN={token}");
    println!(
        "  curl -s -X POST {base}/inventory/reservations -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -H \"Idempotency-Key: $(uuidgen || date +%s%N)\" -d '{{\"location_id\":\"{}\",\"variant_id\":\"{variant}\",\"quantity\":1}}'",
        data.location
    );
    println!("Browse the storefront read model and search it (PostgreSQL search without MEILISEARCH_URL):");
    println!("  curl -s '{base}/storefront/variants?limit=5' -H \"Authorization: Bearer $TOKEN\"");
    println!("  curl -s '{base}/search?q=aviatr&facets=brand,frame_shape' -H \"Authorization: Bearer $TOKEN\"");
    println!("Watch the catalog topic as a partner would:");
    println!("  cargo run -q -p optical-erp -- events tail --kafka-brokers {} --topic {topic} --from-beginning", kafka.kafka_brokers);
    println!("Ctrl-C stops everything.");
    let saga_config = optical_erp::saga::SagaConfig {
        database_url: db.database_url.clone(),
        kafka: kafka.kafka_config(),
        instance: "dev".into(),
        max_backoff: Duration::from_secs(5),
        standby_interval: Duration::from_millis(500),
    };
    let saga_task = tokio::spawn(optical_erp::saga::run(
        app.saga.clone(),
        saga_config,
        std::future::pending::<()>(),
    ));
    let projector_config = optical_erp::project::ProjectorConfig {
        database_url: db.database_url.clone(),
        kafka: kafka.kafka_config(),
        codec: processes::codec(&kafka)?,
        keys: app.keys.clone(),
        instance: "dev".into(),
        batch_size: 500,
        max_attempts: 5,
        retry_base: Duration::from_millis(100),
        max_backoff: Duration::from_secs(5),
        lag_interval: Duration::from_secs(5),
    };
    let projector_task = tokio::spawn(optical_erp::project::run(
        optical_read_model::all_projections(),
        projector_config,
        std::future::pending::<()>(),
    ));
    // The demo's thermal stations print to 127.0.0.1:9100: a stand-in printer keeps their
    // tickets as files, unless something (a real printer's forwarder) already listens there.
    let tickets = std::env::current_dir()?.join("tickets");
    let capture_task = match tokio::net::TcpListener::bind("127.0.0.1:9100").await {
        Ok(listener) => {
            println!(
                "Thermal tickets sent to 127.0.0.1:9100 are kept in {}",
                tickets.display()
            );
            Some(tokio::spawn(optical_lab_print::capture::serve(
                listener, tickets,
            )))
        }
        Err(error) => {
            println!(
                "127.0.0.1:9100 is taken ({error}); thermal tickets go to whatever listens there"
            );
            None
        }
    };
    let lab_print_task = tokio::spawn(optical_erp::lab_print::run(
        app.lab.clone(),
        Arc::new(processes::codec(&kafka)?),
        lab_print.config(&db.database_url, kafka.kafka_config()),
        std::future::pending::<()>(),
    ));
    // The relay owns the shutdown signal so that it flushes what it sent before exiting.
    tokio::select! {
        result = processes::run_relay(&db.database_url, &kafka, &relay, processes::shutdown_signal()) => result?,
        () = demo::keep_repricing(&app.catalog, data.tenant, &data.variants, Duration::from_secs(2)) => {}
    }
    saga_task.abort();
    projector_task.abort();
    lab_print_task.abort();
    if let Some(task) = capture_task {
        task.abort();
    }
    let _ = stop_api.send(());
    api_task.await??;
    println!("stopped");
    Ok(())
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("LOG").unwrap_or_else(|_| {
        EnvFilter::new("info,rdkafka=warn,tokio_postgres=warn,refinery_core=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
