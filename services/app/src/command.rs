//! What every use case shares: the receipt of a command, idempotency, error shape, retries.
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateContext, EventEnvelope, EventStore};
use optical_event_store::{
    AppendOutcome, CachedEventStore, CommandError, Executed, PgEventRepository, SideWrite,
    SideWriteError, StoredResponse,
};
use optical_kernel::{EventMetadata, EventPosition, TenantId};

/// What a carried-out command tells its caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub aggregate_id: String,
    /// The aggregate's version after the command.
    pub version: usize,
    /// Where the command's last event landed; `None` when it changed nothing.
    pub position: Option<EventPosition>,
}

/// A request made with an `Idempotency-Key`: its response is stored with the events.
#[derive(Clone)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: [u8; 32],
    /// Builds the response the caller will get, so the same one can be replayed.
    pub respond: std::sync::Arc<dyn Fn(&Receipt) -> StoredResponse + Send + Sync>,
}

/// Why a use case was not carried out. `E` is the context's domain error.
#[derive(Debug, thiserror::Error)]
pub enum AppError<E: std::error::Error> {
    /// The aggregate (or a precondition read from another aggregate) refused.
    #[error(transparent)]
    Rejected(E),
    /// Still conflicting after retries: the aggregate is written very often right now.
    #[error("the {0} was changed concurrently; try again")]
    Conflict(&'static str),
    /// A concurrent request with the same idempotency key won.
    #[error("idempotency key `{0}` was used by a concurrent request")]
    IdempotencyKeyTaken(String),
    /// The command names another tenant than the caller's metadata.
    #[error("command for tenant {command} sent with metadata of tenant {metadata}")]
    TenantMismatch {
        command: TenantId,
        metadata: TenantId,
    },
    #[error("store: {0}")]
    Store(String),
}

impl<E: std::error::Error> AppError<E> {
    /// Keeps the shape, changes the domain error type (for preconditions from another context).
    pub fn map_rejection<F: std::error::Error>(self, f: impl FnOnce(E) -> F) -> AppError<F> {
        match self {
            AppError::Rejected(e) => AppError::Rejected(f(e)),
            AppError::Conflict(what) => AppError::Conflict(what),
            AppError::IdempotencyKeyTaken(k) => AppError::IdempotencyKeyTaken(k),
            AppError::TenantMismatch { command, metadata } => {
                AppError::TenantMismatch { command, metadata }
            }
            AppError::Store(s) => AppError::Store(s),
        }
    }
}

/// How often a conflicting decision is taken again on fresh state before giving up.
pub(crate) const CONFLICT_RETRIES: usize = 5;

pub(crate) fn same_tenant<E: std::error::Error>(
    command: TenantId,
    meta: &EventMetadata,
) -> Result<(), AppError<E>> {
    if command == meta.tenant_id {
        Ok(())
    } else {
        Err(AppError::TenantMismatch {
            command,
            metadata: meta.tenant_id,
        })
    }
}

/// The aggregate as its stream says now, bypassing every cache: for reads that must see what
/// another process wrote (an erasure, a decision taken elsewhere).
pub(crate) async fn load_fresh<A, E>(
    repository: &PgEventRepository,
    aggregate_id: &str,
) -> Result<A, AppError<E>>
where
    A: Aggregate + Clone,
    E: std::error::Error,
{
    let store = PersistedEventStore::<_, A>::new_event_store(repository.clone());
    let mut context = store
        .load_aggregate(aggregate_id)
        .await
        .map_err(|e| AppError::Store(e.to_string()))?;
    Ok(context.aggregate().clone())
}

pub(crate) fn receipt<A: Aggregate>(aggregate_id: &str, executed: &Executed<A>) -> Receipt {
    Receipt {
        aggregate_id: aggregate_id.to_owned(),
        version: executed.version,
        position: executed.outcome.position,
    }
}

/// Runs `command` through `store`, retrying concurrency conflicts on fresh state, with the
/// idempotency record and `extra` side writes in the append's transaction.
pub(crate) async fn run<A>(
    store: &CachedEventStore<PgEventRepository, A>,
    what: &'static str,
    aggregate_id: &str,
    command: A::Command,
    meta: &EventMetadata,
    idempotency: Option<&Idempotency>,
    extra: impl Fn(&[EventEnvelope<A>]) -> Vec<SideWrite>,
) -> Result<Executed<A>, AppError<A::Error>>
where
    A: Aggregate<Services = ()> + Clone,
    A::Command: Clone,
{
    let side_writes = |events: &[EventEnvelope<A>], version: usize, outcome: AppendOutcome| {
        let mut writes = extra(events);
        if let Some(idempotency) = idempotency {
            let receipt = Receipt {
                aggregate_id: aggregate_id.to_owned(),
                version,
                position: outcome.position,
            };
            writes.push(SideWrite::IdempotentResponse {
                tenant_id: meta.tenant_id,
                key: idempotency.key.clone(),
                request_hash: idempotency.request_hash,
                response: (idempotency.respond)(&receipt),
            });
        }
        writes
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = store
            .execute_with(
                aggregate_id,
                command.clone(),
                &(),
                meta.to_map(),
                &side_writes,
            )
            .await;
        match result {
            Ok(executed) => return Ok(executed),
            Err(CommandError::Conflict) if attempt < CONFLICT_RETRIES => continue,
            Err(error) => return Err(command_error(what, error)),
        }
    }
}

/// The common use case: the command's tenant must be the caller's; no side writes but the
/// idempotency record.
pub(crate) async fn execute<A>(
    store: &CachedEventStore<PgEventRepository, A>,
    what: &'static str,
    aggregate_id: String,
    command_tenant: TenantId,
    command: A::Command,
    meta: &EventMetadata,
    idempotency: Option<&Idempotency>,
) -> Result<Receipt, AppError<A::Error>>
where
    A: Aggregate<Services = ()> + Clone,
    A::Command: Clone,
{
    same_tenant(command_tenant, meta)?;
    let executed = run(
        store,
        what,
        &aggregate_id,
        command,
        meta,
        idempotency,
        |_| Vec::new(),
    )
    .await?;
    Ok(receipt(&aggregate_id, &executed))
}

pub(crate) fn command_error<E: std::error::Error>(
    what: &'static str,
    error: CommandError<E>,
) -> AppError<E> {
    match error {
        CommandError::Rejected(e) => AppError::Rejected(e),
        CommandError::Conflict => AppError::Conflict(what),
        CommandError::SideWrite(SideWriteError::IdempotencyKeyTaken { key }) => {
            AppError::IdempotencyKeyTaken(key)
        }
        CommandError::SideWrite(other) => AppError::Store(other.to_string()),
        CommandError::Store(s) => AppError::Store(s),
    }
}
