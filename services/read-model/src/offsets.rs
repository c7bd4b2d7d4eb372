//! Partition ownership and positions of projections (`projection_offsets`).
//!
//! Kafka's group protocol decides which instance consumes a partition; this table decides
//! which instance may *commit* for it. Claiming a partition bumps its epoch, and every commit
//! names the epoch it claimed: after a rebalance the previous owner's late commit matches no
//! row and rolls back its whole batch (read-model changes included). A claim waits on the row
//! lock of a commit in flight, so the new owner reads the offset that commit left.
use tokio_postgres::{GenericClient, Transaction};

#[derive(Debug, thiserror::Error)]
pub enum OffsetsError {
    #[error("projection offsets: {0}")]
    Db(#[from] tokio_postgres::Error),
}

/// A partition this instance now owns: where to start and the epoch to commit with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub topic: String,
    pub partition: i32,
    pub next_offset: i64,
    pub epoch: i64,
}

/// Claims `partitions` for `owner`, creating rows at offset 0 for partitions never seen.
pub async fn claim(
    client: &impl GenericClient,
    projection: &str,
    owner: &str,
    partitions: &[(String, i32)],
) -> Result<Vec<Claim>, OffsetsError> {
    let mut claims = Vec::with_capacity(partitions.len());
    for (topic, partition) in partitions {
        let row = client
            .query_one(
                "INSERT INTO projection_offsets (projection, topic, partition, epoch, owner)
                 VALUES ($1, $2, $3, 1, $4)
                 ON CONFLICT (projection, topic, partition) DO UPDATE
                    SET epoch = projection_offsets.epoch + 1, owner = EXCLUDED.owner,
                        updated_at = now()
                 RETURNING next_offset, epoch",
                &[&projection, topic, partition, &owner],
            )
            .await?;
        claims.push(Claim {
            topic: topic.clone(),
            partition: *partition,
            next_offset: row.try_get(0)?,
            epoch: row.try_get(1)?,
        });
    }
    Ok(claims)
}

/// Moves a partition's offset inside the batch's transaction; `false` when the epoch is no
/// longer current (another instance claimed the partition): the caller must roll back.
pub async fn advance(
    tx: &Transaction<'_>,
    projection: &str,
    topic: &str,
    partition: i32,
    epoch: i64,
    next_offset: i64,
) -> Result<bool, OffsetsError> {
    let updated = tx
        .execute(
            "UPDATE projection_offsets SET next_offset = $5, updated_at = now()
              WHERE projection = $1 AND topic = $2 AND partition = $3 AND epoch = $4",
            &[&projection, &topic, &partition, &epoch, &next_offset],
        )
        .await?;
    Ok(updated == 1)
}

/// Records how far the partition's log reaches, for lag.
pub async fn record_high_watermark(
    client: &impl GenericClient,
    projection: &str,
    topic: &str,
    partition: i32,
    epoch: i64,
    high_watermark: i64,
) -> Result<(), OffsetsError> {
    client
        .execute(
            "UPDATE projection_offsets SET high_watermark = $5
              WHERE projection = $1 AND topic = $2 AND partition = $3 AND epoch = $4",
            &[&projection, &topic, &partition, &epoch, &high_watermark],
        )
        .await?;
    Ok(())
}

/// One partition of a projection as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PartitionOffset {
    pub projection: String,
    pub topic: String,
    pub partition: i32,
    pub next_offset: i64,
    pub high_watermark: i64,
    pub lag: i64,
    pub epoch: i64,
    pub owner: Option<String>,
}

/// Every stored partition position, of one projection or of all.
pub async fn status(
    client: &impl GenericClient,
    projection: Option<&str>,
) -> Result<Vec<PartitionOffset>, OffsetsError> {
    let rows = client
        .query(
            "SELECT projection, topic, partition, next_offset, high_watermark, epoch, owner
               FROM projection_offsets WHERE $1::text IS NULL OR projection = $1
              ORDER BY projection, topic, partition",
            &[&projection],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let next_offset: i64 = r.try_get("next_offset")?;
            let high_watermark: i64 = r.try_get("high_watermark")?;
            Ok(PartitionOffset {
                projection: r.try_get("projection")?,
                topic: r.try_get("topic")?,
                partition: r.try_get("partition")?,
                next_offset,
                high_watermark,
                lag: (high_watermark - next_offset).max(0),
                epoch: r.try_get("epoch")?,
                owner: r.try_get("owner")?,
            })
        })
        .collect()
}
