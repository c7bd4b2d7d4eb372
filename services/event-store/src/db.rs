use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use thiserror::Error;
use tokio_postgres::NoTls;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

#[derive(Debug, Error)]
pub enum DbError {
    #[error("invalid database url: {0}")]
    Url(#[source] tokio_postgres::Error),
    #[error("database url names no database")]
    NoDatabaseName,
    #[error("cannot build the connection pool: {0}")]
    Pool(#[from] deadpool_postgres::BuildError),
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] refinery::Error),
    #[error("no database connection available: {0}")]
    Unavailable(#[from] deadpool_postgres::PoolError),
}

/// A connection pool for `database_url` (a `postgres://` URL or key=value string).
pub fn pool(database_url: &str, max_size: usize) -> Result<Pool, DbError> {
    let config: tokio_postgres::Config = database_url.parse().map_err(DbError::Url)?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    // A bounded wait: an exhausted pool answers an error (a 500/503 upstream) instead of
    // hanging the caller forever.
    Ok(Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(std::time::Duration::from_secs(10)))
        .create_timeout(Some(std::time::Duration::from_secs(10)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()?)
}

/// Opens one connection outside any pool and drives it on the runtime.
pub(crate) async fn connect(database_url: &str) -> Result<tokio_postgres::Client, DbError> {
    connect_as(database_url, "optical-erp").await
}

/// Like [`connect`], naming the session so operators see who holds what in `pg_stat_activity`.
pub(crate) async fn connect_as(
    database_url: &str,
    application_name: &str,
) -> Result<tokio_postgres::Client, DbError> {
    let mut config: tokio_postgres::Config = database_url.parse().map_err(DbError::Url)?;
    config.application_name(application_name);
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "database connection closed");
        }
    });
    Ok(client)
}

/// Like [`connect_as`], handing the connection's asynchronous messages (notifications) to
/// the caller. The connection is driven by its own task, which also carries the client's
/// queries; it ends when the client is dropped or the connection breaks.
pub(crate) async fn connect_as_with_messages(
    database_url: &str,
    application_name: &str,
) -> Result<
    (
        tokio_postgres::Client,
        tokio::sync::mpsc::UnboundedReceiver<
            Result<tokio_postgres::AsyncMessage, tokio_postgres::Error>,
        >,
    ),
    DbError,
> {
    let mut config: tokio_postgres::Config = database_url.parse().map_err(DbError::Url)?;
    config.application_name(application_name);
    let (client, mut connection) = config.connect(NoTls).await?;
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = futures::StreamExt::next(&mut messages).await {
            let failed = message.is_err();
            if sender.send(message).is_err() || failed {
                break;
            }
        }
    });
    Ok((client, receiver))
}

/// Applies the embedded `migrations/` with refinery. Concurrent callers (several processes
/// starting at once) are serialised by an advisory lock, so each migration runs once.
pub async fn migrate(database_url: &str) -> Result<(), DbError> {
    let mut client = connect(database_url).await?;
    client
        .execute(
            "SELECT pg_advisory_lock(hashtext('optical-erp.migrate'))",
            &[],
        )
        .await?;
    let report = embedded::migrations::runner().run_async(&mut client).await;
    client
        .execute(
            "SELECT pg_advisory_unlock(hashtext('optical-erp.migrate'))",
            &[],
        )
        .await?;
    for migration in report?.applied_migrations() {
        tracing::info!(migration = %migration, "applied migration");
    }
    Ok(())
}

/// Creates the database named in `database_url` when it does not exist yet, connecting to the
/// server's `postgres` database to do so.
pub async fn create_database_if_missing(database_url: &str) -> Result<(), DbError> {
    let mut config: tokio_postgres::Config = database_url.parse().map_err(DbError::Url)?;
    let name = config
        .get_dbname()
        .ok_or(DbError::NoDatabaseName)?
        .to_owned();
    config.dbname("postgres");
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        match client
            .execute(&format!("CREATE DATABASE {quoted}"), &[])
            .await
        {
            Ok(_) => {}
            // Someone else created it between our check and our CREATE.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
