//! Positions of consumers that keep their own offsets in PostgreSQL (the order saga): the
//! next offset to read per topic partition.
//!
//! Like the relay's outbox session, a consumer session holds the advisory lock that makes
//! its process the active consumer of that name, and saves offsets through the same
//! connection: a session that lost its lock (its connection died) cannot move them.
use crate::db::{connect_as, DbError};
use std::collections::HashMap;
use tokio_postgres::Client;

#[derive(Debug, thiserror::Error)]
pub enum OffsetsError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("consumer offsets: {0}")]
    Postgres(#[from] tokio_postgres::Error),
}

const LOAD: &str = "SELECT topic, partition, next_offset FROM consumer_offsets WHERE consumer = $1";

// Offsets only move forward: a late write from a previous owner cannot rewind a partition.
const SAVE: &str = "
    INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (consumer, topic, partition) DO UPDATE
       SET next_offset = EXCLUDED.next_offset, updated_at = now()
     WHERE consumer_offsets.next_offset < EXCLUDED.next_offset";

pub struct ConsumerSession {
    client: Client,
    consumer: String,
}

impl ConsumerSession {
    /// `instance` names this process in `pg_stat_activity`.
    pub async fn connect(
        database_url: &str,
        consumer: &str,
        instance: &str,
    ) -> Result<Self, OffsetsError> {
        Ok(Self {
            client: connect_as(database_url, &format!("optical-erp-{consumer}:{instance}")).await?,
            consumer: consumer.to_owned(),
        })
    }

    /// Tries to become the active consumer of this name; `false`: another session is.
    pub async fn try_acquire_lease(&self) -> Result<bool, OffsetsError> {
        let row = self
            .client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtext($1))",
                &[&format!("optical-erp.consumer.{}", self.consumer)],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The next offset to read of every partition this consumer has handled messages from.
    pub async fn offsets(&self) -> Result<HashMap<(String, i32), i64>, OffsetsError> {
        let rows = self.client.query(LOAD, &[&self.consumer]).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    (row.try_get("topic")?, row.try_get("partition")?),
                    row.try_get("next_offset")?,
                ))
            })
            .collect()
    }

    /// Records that every message before `next_offset` of the partition has been handled.
    pub async fn save(
        &self,
        topic: &str,
        partition: i32,
        next_offset: i64,
    ) -> Result<(), OffsetsError> {
        self.client
            .execute(SAVE, &[&self.consumer, &topic, &partition, &next_offset])
            .await?;
        Ok(())
    }
}
