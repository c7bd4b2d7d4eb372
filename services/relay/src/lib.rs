//! The relay: outbox → Kafka.
//!
//! Owns: the leader/standby loop and the publish-then-checkpoint cycle.
//! Invariants: at most one active relay per name (a PostgreSQL advisory lock held on the
//! relay's own session); events leave in `(txid, id)` order, which the event store only hands
//! out below the oldest running transaction; the checkpoint moves only after the broker
//! acknowledged the whole batch, so a crash re-sends (same event ids) but never skips.
//! Must never: write SQL or build Kafka messages itself — the event store and bus crates do.

use optical_bus::{PublishError, Publisher};
use optical_event_store::{OutboxError, OutboxSession};
use optical_kernel::EventPosition;
use std::future::Future;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub database_url: String,
    /// Relays with the same name share one lease and one checkpoint.
    pub relay_name: String,
    /// This process, as shown in `pg_stat_activity`.
    pub instance: String,
    pub batch_size: i64,
    /// How often an idle active relay looks for new events.
    pub poll_interval: Duration,
    /// How often a standby tries to take the lease.
    pub standby_interval: Duration,
    /// Upper bound of the back-off after a failed batch.
    pub max_backoff: Duration,
}

impl RelayConfig {
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            relay_name: "main".into(),
            instance: format!("pid-{}", std::process::id()),
            batch_size: 500,
            poll_interval: Duration::from_millis(10),
            standby_interval: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Error)]
pub enum RelayError {
    #[error("outbox: {0}")]
    Outbox(#[from] OutboxError),
    #[error("publish: {0}")]
    Publish(#[from] PublishError),
}

pub struct Relay {
    config: RelayConfig,
    publisher: Publisher,
}

impl Relay {
    pub fn new(config: RelayConfig, publisher: Publisher) -> Self {
        Self { config, publisher }
    }

    /// Runs until `shutdown` resolves: waits as a standby, relays while it holds the lease,
    /// and goes back to waiting when its database session is lost.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::select! {
            () = self.run_forever() => {}
            () = shutdown => tracing::info!("relay stopping"),
        }
        if let Err(error) = self.publisher.flush(Duration::from_secs(5)) {
            tracing::warn!(%error, "unflushed messages at shutdown; they will be re-sent");
        }
    }

    async fn run_forever(&self) {
        let mut backoff = Backoff::new(self.config.max_backoff);
        loop {
            match self.lead_when_possible().await {
                Ok(()) => backoff.reset(),
                Err(error) => {
                    tracing::warn!(%error, "relay session ended; reconnecting");
                    backoff.wait().await;
                }
            }
        }
    }

    async fn lead_when_possible(&self) -> Result<(), RelayError> {
        let session = OutboxSession::connect(
            &self.config.database_url,
            &self.config.relay_name,
            &self.config.instance,
        )
        .await?;
        let mut announced = false;
        while !session.try_acquire_lease().await? {
            if !announced {
                tracing::info!(relay = %self.config.relay_name, "standing by: another relay holds the lease");
                announced = true;
            }
            tokio::time::sleep(self.config.standby_interval).await;
        }
        tracing::info!(relay = %self.config.relay_name, instance = %self.config.instance, "active relay");
        self.lead(&session).await
    }

    /// Publishes batches while the lease holds. Returns only with the error that ended it.
    ///
    /// Three things overlap: the broker acknowledging the current batch, the database reading
    /// the next one, and the checkpoint of the previous (already acknowledged) batch being
    /// written. The checkpoint therefore trails by at most one batch — a crash re-sends a
    /// little more, never less — and never runs ahead of an acknowledgement. A failure discards
    /// the prefetched batch and re-reads from the last acknowledged position.
    async fn lead(&self, session: &OutboxSession) -> Result<(), RelayError> {
        let limit = self.config.batch_size;
        let mut position = session.checkpoint().await?;
        let mut unsaved: Option<EventPosition> = None;
        let mut backoff = Backoff::new(self.config.max_backoff);
        let mut batch = session.fetch_after(position, limit).await?;
        // The read-ahead started when the last batch went out; events committed since then
        // deserve a fresh look before the relay dozes off for a poll interval.
        let mut looked_again = true;
        loop {
            let Some(last) = batch.last().map(|e| e.position) else {
                if let Some(acknowledged) = unsaved.take() {
                    session.save_checkpoint(acknowledged).await?;
                }
                if looked_again {
                    tokio::time::sleep(self.config.poll_interval).await;
                }
                looked_again = true;
                batch = session.fetch_after(position, limit).await?;
                continue;
            };
            looked_again = false;
            let save_previous = async {
                match unsaved {
                    Some(acknowledged) => session.save_checkpoint(acknowledged).await,
                    None => Ok(()),
                }
            };
            let (published, next, saved) = tokio::join!(
                self.publisher.publish(&batch),
                session.fetch_after(last, limit),
                save_previous
            );
            saved?;
            unsaved = None;
            match published {
                Ok(report) => {
                    tracing::debug!(events = report.published, dead_lettered = report.dead_lettered, to = %last, "batch relayed");
                    unsaved = Some(last);
                    position = last;
                    batch = next?;
                    backoff.reset();
                }
                Err(error) => {
                    // Nothing new is checkpointed: the same batch goes again, so some messages
                    // may arrive twice — with the same event ids — and none is skipped.
                    tracing::warn!(%error, from = %position, "batch not acknowledged; retrying");
                    backoff.wait().await;
                    batch = session.fetch_after(position, limit).await?;
                }
            }
        }
    }
}

/// Exponential back-off from 50 ms up to a ceiling.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const START: Duration = Duration::from_millis(50);

    fn new(max: Duration) -> Self {
        Self {
            next: Self::START,
            max,
        }
    }

    fn reset(&mut self) {
        self.next = Self::START;
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
    }
}

/// Where the relay stands, for metrics and operators.
pub async fn backlog(
    database_url: &str,
    relay_name: &str,
) -> Result<(EventPosition, i64), RelayError> {
    let session = OutboxSession::connect(database_url, relay_name, "status").await?;
    let position = session.checkpoint().await?;
    Ok((position, session.backlog(position).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_up_to_its_ceiling_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(300));
        let mut waits = Vec::new();
        for _ in 0..5 {
            waits.push(backoff.next);
            backoff.wait().await;
        }
        assert_eq!(waits, [50, 100, 200, 300, 300].map(Duration::from_millis));
        backoff.reset();
        assert_eq!(backoff.next, Duration::from_millis(50));
    }
}
