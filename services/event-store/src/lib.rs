//! The PostgreSQL event store.
//!
//! Owns: the `events`, `snapshots` and `relay_checkpoints` tables and every SQL statement
//! that touches them; the `cqrs-es` [`PersistedEventRepository`](cqrs_es::persist::PersistedEventRepository)
//! ([`PgEventRepository`]); the bounded aggregate cache ([`CachedEventStore`]); the outbox
//! reading side used by the relay ([`OutboxSession`]); schema migrations ([`migrate`]).
//!
//! Invariants: an append is one statement (or one transaction with a snapshot) and fails with
//! `OptimisticLockError` rather than overwrite; the outbox never hands out a row whose writing
//! transaction may still be in flight; checkpoints only move forward.
//! Must never: know about Kafka, Avro or any domain type.

mod cache;
mod db;
mod outbox;
mod repository;

pub use cache::CachedEventStore;
pub use db::{create_database_if_missing, migrate, pool, DbError};
pub use outbox::{OutboxError, OutboxSession};
pub use repository::PgEventRepository;

/// The pool type handed around by the binary.
pub use deadpool_postgres::Pool;
