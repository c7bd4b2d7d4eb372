//! Inventory use cases: receiving and adjusting stock directly; reservations through a queue
//! decided in small batches per stock level; a worker that expires reservations.
use crate::catalog::{CatalogApp, CACHE_CAPACITY};
use crate::command::{load_fresh, run, same_tenant, AppError, Idempotency, Receipt};
use crate::tenancy::TenancyApp;
use chrono::{DateTime, Duration as TimeDelta, Utc};
use cqrs_es::{AggregateContext, EventEnvelope, EventStore};
pub use optical_event_store::RequestState;
use optical_event_store::{
    listen, BatchCommand, CachedEventStore, ClaimedStockLevel, CommandError, IdempotencyRecords,
    ListenEvent, PgEventRepository, Pool, QueuedRequest, Recall, ReservationQueue, SideWrite,
    SideWriteError, StoredResponse, ANSWERED, REQUESTED_CHANNEL,
};
use optical_inventory::{
    AdjustmentNote, AdjustmentReason, InventoryError, Quantity, ReceiptReference, StockDelta,
    StockLevel, StockLevelCommand, StockLevelEvent, StockLevelKey,
};
use optical_kernel::{
    CartId, Clock, EventMetadata, LocationId, OrderId, ReservationId, TenantId, VariantId,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, watch, Notify};

type EventStoreOf<A> = CachedEventStore<PgEventRepository, A>;

/// Why an inventory use case was refused: by the stock level, or because what it names
/// does not exist for the caller's tenant.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InventoryRejection {
    #[error(transparent)]
    Stock(#[from] InventoryError),
    #[error("location not found")]
    LocationNotFound,
    #[error("location is deactivated; stock can no longer be received or reserved there")]
    LocationInactive,
    #[error("variant not found")]
    VariantNotFound,
    #[error("at most {max} units may be reserved at once, requested {requested}")]
    QuantityAboveLimit { requested: u32, max: u32 },
}

impl InventoryRejection {
    /// A stable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            InventoryRejection::Stock(e) => e.code(),
            InventoryRejection::LocationNotFound => "location_not_found",
            InventoryRejection::LocationInactive => "location_inactive",
            InventoryRejection::VariantNotFound => "variant_not_found",
            InventoryRejection::QuantityAboveLimit { .. } => "quantity_above_limit",
        }
    }
}

/// A reservation as the caller asked for it. Stored in the queue as JSON; the expiry is
/// computed when it is decided, so time spent queued does not shorten the hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationRequest {
    pub reservation_id: ReservationId,
    pub cart_id: CartId,
    pub location_id: LocationId,
    pub variant_id: VariantId,
    pub quantity: u32,
    pub ttl_seconds: u32,
}

/// A decided reservation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservationOutcome {
    pub expires_at: DateTime<Utc>,
    pub receipt: Receipt,
}

/// What a queued reservation request came to; the API turns it into the stored response.
#[derive(Debug, PartialEq)]
pub enum ReservationAnswer {
    Decided {
        request: ReservationRequest,
        result: Result<ReservationOutcome, InventoryRejection>,
    },
    /// The idempotency key was used for another request.
    KeyReused,
    /// The queued row could not be read back (written by an incompatible version).
    Unreadable(String),
}

/// Turns an answer into the HTTP response stored with it (provided by the API crate); the
/// second argument is the trace id of the request that queued it, for problem responses.
pub type Responder = Arc<dyn Fn(&ReservationAnswer, Option<&str>) -> StoredResponse + Send + Sync>;

/// A reservation as the API receives it; the TTL defaults to the tenant's setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReservation {
    pub reservation_id: ReservationId,
    pub cart_id: CartId,
    pub location_id: LocationId,
    pub variant_id: VariantId,
    pub quantity: u32,
    pub ttl_seconds: Option<u32>,
}

/// Returned by [`InventoryApp::request_reservation`].
#[derive(Clone, Debug, PartialEq)]
pub enum ReservationTicket {
    /// Queued; wait for the answer with [`InventoryApp::await_answer`].
    Queued(i64),
    /// The same request was made before with this idempotency key.
    Replay(StoredResponse),
    /// The idempotency key was used for another request.
    KeyReused,
}

pub struct InventoryApp {
    stock: EventStoreOf<StockLevel>,
    repository: PgEventRepository,
    queue: ReservationQueue,
    idempotency: IdempotencyRecords,
    tenancy: Arc<TenancyApp>,
    catalog: Arc<CatalogApp>,
    clock: Arc<dyn Clock>,
    waiters: Waiters,
    /// Wakes this process's reservation workers, once they run (see [`ReservationWorkers`]).
    local_workers: Mutex<Option<Arc<Notify>>>,
}

fn key(location_id: LocationId, variant_id: VariantId) -> StockLevelKey {
    StockLevelKey {
        location_id,
        variant_id,
    }
}

type Rejection = AppError<InventoryRejection>;

fn stock_error(error: AppError<InventoryError>) -> Rejection {
    error.map_rejection(InventoryRejection::Stock)
}

/// Deadline rows follow the reservation events in the same transaction.
fn deadline_writes(
    tenant_id: TenantId,
    stock_level_id: &str,
    events: &[EventEnvelope<StockLevel>],
) -> Vec<SideWrite> {
    events
        .iter()
        .filter_map(|event| match &event.payload {
            StockLevelEvent::StockReserved {
                reservation_id,
                expires_at,
                ..
            } => Some(SideWrite::ReservationDeadlineSet {
                reservation_id: *reservation_id.as_uuid(),
                tenant_id,
                stock_level_id: stock_level_id.to_owned(),
                expires_at: *expires_at,
            }),
            StockLevelEvent::ReservationReleased { reservation_id, .. }
            | StockLevelEvent::ReservationExpired { reservation_id, .. }
            | StockLevelEvent::ReservationCommitted { reservation_id, .. } => {
                Some(SideWrite::ReservationDeadlineCleared {
                    reservation_id: *reservation_id.as_uuid(),
                })
            }
            StockLevelEvent::StockReceived { .. }
            | StockLevelEvent::StockAdjusted { .. }
            | StockLevelEvent::ReservationRestocked { .. } => None,
        })
        .collect()
}

impl InventoryApp {
    pub fn new(
        pool: Pool,
        tenancy: Arc<TenancyApp>,
        catalog: Arc<CatalogApp>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            stock: CachedEventStore::new(PgEventRepository::new(pool.clone()), CACHE_CAPACITY),
            repository: PgEventRepository::new(pool.clone()),
            queue: ReservationQueue::new(pool.clone()),
            idempotency: IdempotencyRecords::new(pool),
            tenancy,
            catalog,
            clock,
            waiters: Waiters::default(),
            local_workers: Mutex::new(None),
        }
    }

    /// The location must be the tenant's and active; the variant must be the tenant's.
    async fn check_place(
        &self,
        tenant_id: TenantId,
        location_id: LocationId,
        variant_id: VariantId,
    ) -> Result<(), Rejection> {
        let location = self
            .tenancy
            .location_ref(tenant_id, location_id)
            .await
            .map_err(|e| e.map_rejection(|_| InventoryRejection::LocationNotFound))?;
        if !location.active {
            return Err(AppError::Rejected(InventoryRejection::LocationInactive));
        }
        let variant = self
            .catalog
            .variant_state(tenant_id, variant_id)
            .await
            .map_err(|e| e.map_rejection(|_| InventoryRejection::VariantNotFound))?;
        if variant.is_none() {
            return Err(AppError::Rejected(InventoryRejection::VariantNotFound));
        }
        Ok(())
    }

    async fn run_stock(
        &self,
        key: StockLevelKey,
        command: StockLevelCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        same_tenant(command.tenant_id(), meta)?;
        let id = key.to_string();
        let tenant_id = meta.tenant_id;
        let executed = run(
            &self.stock,
            "stock level",
            &id,
            command,
            meta,
            idempotency,
            |events| deadline_writes(tenant_id, &id, events),
        )
        .await
        .map_err(stock_error)?;
        Ok(crate::command::receipt(&id, &executed))
    }

    /// Books goods in at a location.
    #[allow(clippy::too_many_arguments)]
    pub async fn receive(
        &self,
        location_id: LocationId,
        variant_id: VariantId,
        quantity: Quantity,
        reference: Option<ReceiptReference>,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        self.check_place(meta.tenant_id, location_id, variant_id)
            .await?;
        let key = key(location_id, variant_id);
        let command = StockLevelCommand::ReceiveStock {
            tenant_id: meta.tenant_id,
            key,
            quantity,
            reference,
        };
        self.run_stock(key, command, meta, idempotency).await
    }

    /// Corrects the count on hand, with a reason.
    #[allow(clippy::too_many_arguments)]
    pub async fn adjust(
        &self,
        location_id: LocationId,
        variant_id: VariantId,
        delta: StockDelta,
        reason: AdjustmentReason,
        note: Option<AdjustmentNote>,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let command = StockLevelCommand::AdjustStock {
            tenant_id: meta.tenant_id,
            delta,
            reason,
            note,
        };
        self.run_stock(key(location_id, variant_id), command, meta, idempotency)
            .await
    }

    /// Gives an active reservation's units back before it expires.
    pub async fn release(
        &self,
        reservation_id: ReservationId,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let key = self.locate(meta.tenant_id, reservation_id).await?;
        let command = StockLevelCommand::ReleaseReservation {
            tenant_id: meta.tenant_id,
            reservation_id,
        };
        self.run_stock(key, command, meta, idempotency).await
    }

    /// Hands an active reservation's units to an order.
    pub async fn commit(
        &self,
        reservation_id: ReservationId,
        order_id: OrderId,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let key = self.locate(meta.tenant_id, reservation_id).await?;
        let command = StockLevelCommand::CommitReservation {
            tenant_id: meta.tenant_id,
            reservation_id,
            order_id,
            now: self.clock.now(),
        };
        self.run_stock(key, command, meta, idempotency).await
    }

    /// The stock level holding an active reservation, or `None` when the reservation is not
    /// active (ended reservations are found through their order's lines instead).
    pub async fn reservation(
        &self,
        tenant_id: TenantId,
        reservation_id: ReservationId,
    ) -> Result<Option<(StockLevelKey, StockLevel)>, Rejection> {
        let Ok(key) = self.locate(tenant_id, reservation_id).await else {
            return Ok(None);
        };
        let level = self
            .stock_level_fresh(tenant_id, key.location_id, key.variant_id)
            .await?;
        Ok(level.map(|level| (key, level)))
    }

    /// The stock level read from its stream, bypassing the cache: for decisions taken outside
    /// the aggregate (order placement, the saga), where another process may have written since
    /// this one cached it.
    pub async fn stock_level_fresh(
        &self,
        tenant_id: TenantId,
        location_id: LocationId,
        variant_id: VariantId,
    ) -> Result<Option<StockLevel>, Rejection> {
        let level: StockLevel =
            load_fresh(&self.repository, &key(location_id, variant_id).to_string()).await?;
        Ok((level.tenant_id() == Some(tenant_id)).then_some(level))
    }

    /// For the order saga: commits a reservation of a known stock level to its order (a
    /// repeat for the same order appends nothing).
    pub async fn commit_at(
        &self,
        key: StockLevelKey,
        reservation_id: ReservationId,
        order_id: OrderId,
        meta: &EventMetadata,
    ) -> Result<Receipt, Rejection> {
        let command = StockLevelCommand::CommitReservation {
            tenant_id: meta.tenant_id,
            reservation_id,
            order_id,
            now: self.clock.now(),
        };
        self.run_stock(key, command, meta, None).await
    }

    /// For the order saga: gives back an active reservation of a cancelled order.
    pub async fn release_at(
        &self,
        key: StockLevelKey,
        reservation_id: ReservationId,
        meta: &EventMetadata,
    ) -> Result<Receipt, Rejection> {
        let command = StockLevelCommand::ReleaseReservation {
            tenant_id: meta.tenant_id,
            reservation_id,
        };
        self.run_stock(key, command, meta, None).await
    }

    /// For the order saga: puts the committed units of a cancelled order back on hand (a
    /// repeat appends nothing).
    pub async fn restock(
        &self,
        key: StockLevelKey,
        reservation_id: ReservationId,
        order_id: OrderId,
        meta: &EventMetadata,
    ) -> Result<Receipt, Rejection> {
        let command = StockLevelCommand::RestockCancelledOrder {
            tenant_id: meta.tenant_id,
            reservation_id,
            order_id,
        };
        self.run_stock(key, command, meta, None).await
    }

    /// The stock level as its aggregate holds it now, or `None` (also for another tenant's).
    pub async fn stock_level(
        &self,
        tenant_id: TenantId,
        location_id: LocationId,
        variant_id: VariantId,
    ) -> Result<Option<StockLevel>, Rejection> {
        let mut context = self
            .stock
            .load_aggregate(&key(location_id, variant_id).to_string())
            .await
            .map_err(|e| AppError::Store(e.to_string()))?;
        let level = context.aggregate().clone();
        Ok((level.tenant_id() == Some(tenant_id)).then_some(level))
    }

    /// Checks and queues a reservation request. Requests for one stock level are decided in
    /// arrival order by one worker at a time, a batch per append.
    pub async fn request_reservation(
        &self,
        new: NewReservation,
        meta: &EventMetadata,
        idempotency: Option<(&str, &[u8; 32])>,
    ) -> Result<ReservationTicket, Rejection> {
        if let Some((key, hash)) = idempotency {
            match self
                .idempotency
                .recall(meta.tenant_id, key, hash)
                .await
                .map_err(|e| AppError::Store(e.to_string()))?
            {
                Recall::Fresh => {}
                Recall::Replay(response) => return Ok(ReservationTicket::Replay(response)),
                Recall::Mismatch => return Ok(ReservationTicket::KeyReused),
            }
        }
        let tenant = self
            .tenancy
            .tenant_ref(meta.tenant_id)
            .await
            .map_err(|e| e.map_rejection(|_| InventoryRejection::LocationNotFound))?;
        let max = tenant.settings.max_reservation_quantity();
        if new.quantity > max {
            return Err(AppError::Rejected(InventoryRejection::QuantityAboveLimit {
                requested: new.quantity,
                max,
            }));
        }
        let request = &ReservationRequest {
            reservation_id: new.reservation_id,
            cart_id: new.cart_id,
            location_id: new.location_id,
            variant_id: new.variant_id,
            quantity: new.quantity,
            ttl_seconds: new
                .ttl_seconds
                .unwrap_or(tenant.settings.reservation_ttl_seconds()),
        };
        self.check_place(meta.tenant_id, request.location_id, request.variant_id)
            .await?;
        let stock_level_id = key(request.location_id, request.variant_id).to_string();
        let command = serde_json::to_value(request).map_err(|e| AppError::Store(e.to_string()))?;
        let metadata =
            serde_json::to_value(meta.to_map()).map_err(|e| AppError::Store(e.to_string()))?;
        // Workers in this process are woken directly; only a process without workers pays
        // for a NOTIFY (serialised server-wide at commit, it made a flash sale's enqueues
        // queue behind each other and everyone else's).
        let local = self
            .local_workers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let id = self
            .queue
            .enqueue(
                meta.tenant_id,
                &stock_level_id,
                &command,
                &metadata,
                idempotency,
                local.is_none(),
            )
            .await
            .map_err(|e| AppError::Store(e.to_string()))?;
        if let Some(workers) = local {
            // One permit wakes one idle worker (or is taken by the next that looks).
            workers.notify_one();
        }
        Ok(ReservationTicket::Queued(id))
    }

    /// Waits up to `timeout` for a queued request's answer; `None` if it is still pending.
    /// Notifications wake the wait early; the row is read before and after, so an answer
    /// committed before the wait began, or a lost notification, costs at most the timeout.
    pub async fn await_answer(
        &self,
        tenant_id: TenantId,
        request_id: i64,
        timeout: Duration,
    ) -> Result<Option<RequestState>, Rejection> {
        let answered = self.waiters.register(request_id);
        let result = async {
            match self.request_state(tenant_id, request_id).await? {
                Some(RequestState::Pending) => {}
                other => return Ok(other),
            }
            let _ = tokio::time::timeout(timeout, answered).await;
            self.request_state(tenant_id, request_id).await
        }
        .await;
        self.waiters.forget(request_id);
        result
    }

    /// Where the tenant's queued request stands; `None` for an unknown id.
    pub async fn request_state(
        &self,
        tenant_id: TenantId,
        request_id: i64,
    ) -> Result<Option<RequestState>, Rejection> {
        self.queue
            .state(tenant_id, request_id)
            .await
            .map_err(|e| AppError::Store(e.to_string()))
    }

    /// The stock level of the tenant's active reservation.
    async fn locate(
        &self,
        tenant_id: TenantId,
        reservation_id: ReservationId,
    ) -> Result<StockLevelKey, Rejection> {
        let found = self
            .queue
            .locate(tenant_id, *reservation_id.as_uuid())
            .await
            .map_err(|e| AppError::Store(e.to_string()))?;
        found
            .and_then(|id| id.parse().ok())
            .ok_or(AppError::Rejected(InventoryRejection::Stock(
                InventoryError::ReservationNotFound(reservation_id),
            )))
    }

    /// Routes database notifications: answered requests wake their waiters, queued requests
    /// wake the workers. Runs until the listener ends.
    async fn dispatch_notifications(
        &self,
        database_url: String,
        wake_workers: Arc<Notify>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut events = listen(
            database_url,
            vec![ANSWERED.to_owned(), REQUESTED_CHANNEL.to_owned()],
        );
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                event = events.recv() => match event {
                    None => return,
                    Some(ListenEvent::Connected) => {
                        // Anything sent while disconnected is lost: look again.
                        wake_workers.notify_waiters();
                        self.waiters.wake_all();
                    }
                    Some(ListenEvent::Notification(n)) if n.channel == ANSWERED => {
                        if let Ok(id) = n.payload.parse() {
                            self.waiters.wake(id);
                        }
                    }
                    Some(ListenEvent::Notification(_)) => wake_workers.notify_waiters(),
                },
            }
        }
    }

    /// Decides one claimed batch; retries conflicts until the batch is written. Returns how
    /// many requests were answered.
    async fn decide_claimed(
        &self,
        claimed: &ClaimedStockLevel,
        responder: &Responder,
    ) -> Result<usize, String> {
        loop {
            match self.try_decide_claimed(claimed, responder).await {
                Ok(answered) => {
                    // Waiters in this process need not wait for the NOTIFY round trip.
                    for request in &claimed.requests {
                        self.waiters.wake(request.id);
                    }
                    return Ok(answered);
                }
                Err(CommandError::Conflict)
                | Err(CommandError::SideWrite(SideWriteError::IdempotencyKeyTaken { .. })) => {
                    // Someone else wrote the stock level (a receipt, a release) or took a key:
                    // decide the whole batch again on fresh state; no request is dropped.
                    tracing::debug!(stock_level = %claimed.stock_level_id, "batch conflicted; deciding again");
                }
                Err(other) => return Err(other.to_string()),
            }
        }
    }

    async fn try_decide_claimed(
        &self,
        claimed: &ClaimedStockLevel,
        responder: &Responder,
    ) -> Result<usize, CommandError<InventoryError>> {
        let now = self.clock.now();
        let mut plan = BatchPlan::default();
        for queued in &claimed.requests {
            self.plan_request(queued, now, &mut plan).await?;
        }
        let commands: Vec<BatchCommand<StockLevel>> =
            plan.decide.iter().map(|d| d.command.clone()).collect();
        let stock_level_id = claimed.stock_level_id.clone();
        let decide = &plan.decide;
        let immediate = &plan.immediate;
        let outcome = self
            .stock
            .execute_batch(&stock_level_id, commands, &(), |results, _, outcome| {
                let mut writes = Vec::new();
                for (decision, result) in decide.iter().zip(results) {
                    let result = match result {
                        Ok(events) => {
                            writes.extend(deadline_writes(
                                decision.tenant_id,
                                &stock_level_id,
                                events,
                            ));
                            Ok(ReservationOutcome {
                                expires_at: reserved_until(events).unwrap_or(now),
                                receipt: Receipt {
                                    aggregate_id: stock_level_id.clone(),
                                    version: events.last().map_or(0, |e| e.sequence),
                                    position: outcome.position,
                                },
                            })
                        }
                        Err(rejection) => Err(InventoryRejection::Stock(rejection.clone())),
                    };
                    let answer = ReservationAnswer::Decided {
                        request: decision.request.clone(),
                        result,
                    };
                    let response = responder(&answer, decision.trace_id.as_deref());
                    writes.extend(decision.answer_writes(&response));
                    for twin in &decision.twins {
                        writes.push(SideWrite::ReservationRequestAnswered {
                            request_id: *twin,
                            response: response.clone(),
                        });
                    }
                }
                for (request_id, trace_id, answer) in immediate {
                    let response = match answer {
                        Immediate::Replay(response) => response.clone(),
                        Immediate::Answer(answer) => responder(answer, trace_id.as_deref()),
                    };
                    writes.push(SideWrite::ReservationRequestAnswered {
                        request_id: *request_id,
                        response,
                    });
                }
                writes
            })
            .await?;
        Ok(outcome.results.len() + plan.immediate.len())
    }

    async fn plan_request(
        &self,
        queued: &QueuedRequest,
        now: DateTime<Utc>,
        plan: &mut BatchPlan,
    ) -> Result<(), CommandError<InventoryError>> {
        let parsed = serde_json::from_value::<ReservationRequest>(queued.command.clone())
            .map_err(|e| e.to_string())
            .and_then(|request| {
                let map: HashMap<String, String> =
                    serde_json::from_value(queued.metadata.clone()).map_err(|e| e.to_string())?;
                let mut meta = EventMetadata::from_map(&map).map_err(|e| e.to_string())?;
                meta.occurred_at = now;
                let quantity = Quantity::new(request.quantity).map_err(|e| e.to_string())?;
                Ok((request, meta, quantity))
            });
        let (request, meta, quantity) = match parsed {
            Ok(parsed) => parsed,
            Err(reason) => {
                plan.immediate.push((
                    queued.id,
                    None,
                    Immediate::Answer(ReservationAnswer::Unreadable(reason)),
                ));
                return Ok(());
            }
        };
        let trace_id = meta.traceparent.as_ref().map(|t| t.trace_id().to_owned());
        if let (Some(key), Some(hash)) = (&queued.idempotency_key, &queued.request_hash) {
            // A twin in this batch: answered with the first one's response.
            if let Some(first) = plan.decide.iter_mut().find(|d| {
                d.idempotency
                    .as_ref()
                    .is_some_and(|(k, h)| k == key && h == hash)
            }) {
                first.twins.push(queued.id);
                return Ok(());
            }
            if plan
                .decide
                .iter()
                .any(|d| d.idempotency.as_ref().is_some_and(|(k, _)| k == key))
            {
                plan.immediate.push((
                    queued.id,
                    trace_id,
                    Immediate::Answer(ReservationAnswer::KeyReused),
                ));
                return Ok(());
            }
            match self
                .idempotency
                .recall(queued.tenant_id, key, hash)
                .await
                .map_err(|e| CommandError::Store(e.to_string()))?
            {
                Recall::Fresh => {}
                Recall::Replay(response) => {
                    plan.immediate
                        .push((queued.id, trace_id, Immediate::Replay(response)));
                    return Ok(());
                }
                Recall::Mismatch => {
                    plan.immediate.push((
                        queued.id,
                        trace_id,
                        Immediate::Answer(ReservationAnswer::KeyReused),
                    ));
                    return Ok(());
                }
            }
        }
        let expires_at = now + TimeDelta::seconds(i64::from(request.ttl_seconds));
        let command = StockLevelCommand::ReserveStock {
            tenant_id: queued.tenant_id,
            reservation_id: request.reservation_id,
            cart_id: request.cart_id,
            quantity,
            expires_at,
            now,
        };
        plan.decide.push(Decision {
            request_id: queued.id,
            trace_id,
            tenant_id: queued.tenant_id,
            request,
            idempotency: queued.idempotency_key.clone().zip(queued.request_hash),
            twins: Vec::new(),
            command: BatchCommand {
                command,
                metadata: meta.to_map(),
            },
        });
        Ok(())
    }

    /// Expires every reservation due now; returns how many stock levels were visited.
    async fn expire_due(&self) -> Result<usize, String> {
        let now = self.clock.now();
        let due = self.queue.due(now, 100).await.map_err(|e| e.to_string())?;
        for level in &due {
            let meta =
                EventMetadata::new_request(level.tenant_id, now, "system:reservation-expiry");
            let command = StockLevelCommand::ExpireReservations {
                tenant_id: level.tenant_id,
                now,
            };
            let id = level.stock_level_id.clone();
            let tenant_id = level.tenant_id;
            let result = run(
                &self.stock,
                "stock level",
                &id,
                command,
                &meta,
                None,
                |events| deadline_writes(tenant_id, &id, events),
            )
            .await;
            if let Err(error) = result {
                tracing::warn!(stock_level = %id, %error, "could not expire reservations; will retry");
            }
        }
        Ok(due.len())
    }
}

/// The expiry a reservation's events report.
fn reserved_until(events: &[EventEnvelope<StockLevel>]) -> Option<DateTime<Utc>> {
    events.iter().find_map(|event| match &event.payload {
        StockLevelEvent::StockReserved { expires_at, .. } => Some(*expires_at),
        _ => None,
    })
}

#[derive(Default)]
struct BatchPlan {
    decide: Vec<Decision>,
    /// Answered without a decision: request id, trace id of the request, answer.
    immediate: Vec<(i64, Option<String>, Immediate)>,
}

enum Immediate {
    Replay(StoredResponse),
    Answer(ReservationAnswer),
}

struct Decision {
    request_id: i64,
    trace_id: Option<String>,
    tenant_id: TenantId,
    request: ReservationRequest,
    idempotency: Option<(String, [u8; 32])>,
    /// Later requests in the batch with the same key and body.
    twins: Vec<i64>,
    command: BatchCommand<StockLevel>,
}

impl Decision {
    fn answer_writes(&self, response: &StoredResponse) -> Vec<SideWrite> {
        let mut writes = vec![SideWrite::ReservationRequestAnswered {
            request_id: self.request_id,
            response: response.clone(),
        }];
        if let Some((key, request_hash)) = &self.idempotency {
            writes.push(SideWrite::IdempotentResponse {
                tenant_id: self.tenant_id,
                key: key.clone(),
                request_hash: *request_hash,
                response: response.clone(),
            });
        }
        writes
    }
}

/// Callers waiting for the answer of a queued request, woken by notification.
#[derive(Default)]
struct Waiters {
    waiting: Mutex<HashMap<i64, Vec<oneshot::Sender<()>>>>,
}

impl Waiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Vec<oneshot::Sender<()>>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn register(&self, request_id: i64) -> oneshot::Receiver<()> {
        let (sender, receiver) = oneshot::channel();
        self.lock().entry(request_id).or_default().push(sender);
        receiver
    }

    fn forget(&self, request_id: i64) {
        let mut waiting = self.lock();
        if let Some(senders) = waiting.get_mut(&request_id) {
            senders.retain(|s| !s.is_closed());
            if senders.is_empty() {
                waiting.remove(&request_id);
            }
        }
    }

    fn wake(&self, request_id: i64) {
        for sender in self.lock().remove(&request_id).unwrap_or_default() {
            let _ = sender.send(());
        }
    }

    fn wake_all(&self) {
        for (_, senders) in self.lock().drain() {
            for sender in senders {
                let _ = sender.send(());
            }
        }
    }
}

/// How the reservation workers run.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Workers deciding queued reservations, each on a different stock level at a time
    /// (0: none here; the process still hears answers decided elsewhere).
    pub reservation_workers: usize,
    /// Requests decided per batch (one append).
    pub batch_size: i64,
    /// How often the queue is looked at without a notification (a safety net).
    pub poll_interval: Duration,
    /// How often due reservations are expired.
    pub expiry_interval: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            reservation_workers: 4,
            batch_size: 32,
            poll_interval: Duration::from_millis(500),
            expiry_interval: Duration::from_secs(1),
        }
    }
}

/// The reservation deciders, the expiry worker and the notification dispatcher.
pub struct ReservationWorkers {
    app: Arc<InventoryApp>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl ReservationWorkers {
    pub fn spawn(
        app: Arc<InventoryApp>,
        database_url: String,
        responder: Responder,
        config: WorkerConfig,
    ) -> Self {
        let (shutdown, watch) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let owner = app.clone();
        *app.local_workers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(wake.clone());
        let worker_count = config.reservation_workers.max(1);
        // A claim holds its session for the whole batch while the append takes another
        // connection: claims get a pool of their own, so workers can never starve the appends
        // of connections (with a shared pool, as many workers as connections deadlocked).
        let claims = match optical_event_store::pool(&database_url, worker_count.max(1)) {
            Ok(pool) => ReservationQueue::new(pool),
            Err(error) => {
                tracing::error!(%error, "cannot build the reservation claim pool; using the shared one");
                app.queue.clone()
            }
        };
        let mut tasks = Vec::new();
        {
            let (app, wake, watch) = (app.clone(), wake.clone(), watch.clone());
            tasks.push(tokio::spawn(async move {
                app.dispatch_notifications(database_url, wake, watch).await;
            }));
        }
        for _ in 0..worker_count {
            let (app, wake, mut watch) = (app.clone(), wake.clone(), watch.clone());
            let claims = claims.clone();
            let (responder, config) = (responder.clone(), config.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    if *watch.borrow() {
                        return;
                    }
                    // Registered before looking, so a request queued meanwhile still wakes us.
                    let woken = wake.notified();
                    match claims.claim(config.batch_size).await {
                        Ok(Some(claimed)) => {
                            if let Err(error) = app.decide_claimed(&claimed, &responder).await {
                                tracing::warn!(stock_level = %claimed.stock_level_id, %error, "reservation batch failed; will retry");
                                drop(claimed);
                                tokio::time::sleep(config.poll_interval).await;
                            } else if let Err(error) = claimed.release().await {
                                tracing::warn!(%error, "could not release a stock level claim");
                            }
                            continue;
                        }
                        Ok(None) => {}
                        Err(error) => tracing::warn!(%error, "reservation queue unavailable"),
                    }
                    tokio::select! {
                        _ = woken => {}
                        _ = tokio::time::sleep(config.poll_interval) => {}
                        _ = watch.changed() => return,
                    }
                }
            }));
        }
        if worker_count > 0 {
            let mut watch = watch.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    if let Err(error) = app.expire_due().await {
                        tracing::warn!(%error, "reservation expiry failed; will retry");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(config.expiry_interval) => {}
                        _ = watch.changed() => return,
                    }
                }
            }));
        }
        Self {
            app: owner,
            shutdown,
            tasks,
        }
    }

    /// Stops the workers after their current batch.
    pub async fn stop(self) {
        // Enqueues from now on must NOTIFY workers elsewhere.
        *self
            .app
            .local_workers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
