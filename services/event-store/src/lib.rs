//! The PostgreSQL event store.
//!
//! Owns: the `events`, `snapshots` and `relay_checkpoints` tables and every SQL statement
//! that touches them; the `cqrs-es` [`PersistedEventRepository`](cqrs_es::persist::PersistedEventRepository)
//! ([`PgEventRepository`]); the bounded aggregate cache ([`CachedEventStore`]); the outbox
//! reading side used by the relay ([`OutboxSession`]); schema migrations ([`migrate`]); the
//! lab's work order numbers ([`WorkOrderNumbers`]) and stream listing ([`stream_ids`]); the
//! lab-print spooler's table ([`PrintSpool`]).
//!
//! Invariants: an append is one statement (or one transaction with a snapshot) and fails with
//! `OptimisticLockError` rather than overwrite; the outbox never hands out a row whose writing
//! transaction may still be in flight; checkpoints only move forward.
//! Must never: know about Kafka, Avro or any domain type.

mod access_audit;
mod cache;
mod consumer_offsets;
mod db;
mod idempotency;
mod listen;
mod log_reader;
mod numbers;
mod outbox;
mod personal_data;
mod print_spool;
mod repository;
mod reservation_queue;
mod side_writes;

pub use access_audit::{AccessAudit, AuditError, AuditedAccess, PatientAccess};
pub use cache::{BatchCommand, BatchOutcome, CachedEventStore, CommandError, Executed};
pub use consumer_offsets::{ConsumerSession, OffsetsError};
pub use db::{create_database_if_missing, migrate, pool, DbError};
pub use idempotency::{IdempotencyError, IdempotencyRecords, Recall};
pub use listen::{listen, ListenEvent, Notification};
pub use log_reader::{committed_after, event_at, EventRef};
pub use numbers::{stream_ids, NumbersError, WorkOrderNumbers};
pub use outbox::{OutboxError, OutboxSession};
pub use personal_data::{DataKeys, MasterKeys, PersonalDataError};
pub use print_spool::{Destination, NewPrintJob, PrintJob, PrintSpool, SpoolError};
pub use repository::{AppendError, PgEventRepository};
pub use reservation_queue::{
    ClaimedStockLevel, DueStockLevel, QueueError, QueuedRequest, RequestState, ReservationQueue,
    ANSWERED, REQUESTED_CHANNEL,
};
pub use side_writes::{AppendOutcome, SideWrite, SideWriteError, StoredResponse};

/// The pool type handed around by the binary.
pub use deadpool_postgres::Pool;
