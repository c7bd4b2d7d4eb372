//! The order saga: a process manager that carries an order's facts into the other contexts.
//!
//! | event                          | effect                                                        |
//! |--------------------------------|---------------------------------------------------------------|
//! | `orders.order.placed`          | commit each reservation (or record a shortfall); request the payment; cash on delivery with lenses → lab |
//! | `payments.payment.confirmed`   | order paid (or, if it was cancelled meanwhile, refund)        |
//! | `orders.order.paid`            | with lenses → lab                                             |
//! | `payments.payment.collected`   | a shipped order is completed                                  |
//! | `orders.order.cancelled`       | release or restock each line; void or refund the payment; cancel the lab's work orders |
//! | `orders.order.sent_to_lab`     | one lab work order per lens line (Lab)                        |
//! | `lab.work_order.stage_changed` | when every lens of an order is `completed`, the order is ready |
//!
//! Exactly once in effect: every step decides on the current state of the aggregate it
//! changes, and every repeat is a no-op there (a reservation already committed to this order,
//! a refund id already used — derived from the cancelling event's id —, an order already
//! paid). A saga killed between steps re-runs the message from its last saved offset and
//! only the missing steps append. The Kafka loop lives in the binary; this module only
//! decides and commands.
use crate::command::AppError;
use crate::inventory::{InventoryApp, InventoryRejection};
use crate::lab::{LabApp, LabStep};
use crate::orders::{OrderStep, OrdersApp};
use crate::payments::PaymentsApp;
use optical_inventory::{InventoryError, ReservationStatus, StockLevelKey};
use optical_kernel::{Clock, EventMetadata, OrderId, PaymentId, TenantId, TraceParent};
use optical_lab::{LabStage, Reason, WorkOrderId};
use optical_orders::{Order, OrderStatus, PaymentMethod as OrderPaymentMethod};
use optical_payments::{
    PaymentError, PaymentMethod, PaymentStatus, RefundId, RefundReason, VoidReason,
};
use std::sync::Arc;
use uuid::Uuid;

/// The facts of a consumed event the saga routes on (from the message headers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SagaEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub tenant_id: TenantId,
    pub aggregate_id: String,
    pub correlation_id: Option<Uuid>,
    pub traceparent: Option<String>,
}

/// Why a message was not (fully) handled.
#[derive(Debug, thiserror::Error)]
pub enum SagaError {
    /// Worth retrying: the database is unreachable, a conflict outlasted the retries.
    #[error("transient: {0}")]
    Transient(String),
    /// Will never succeed (an event naming an order that does not exist, a refused step
    /// that should have been possible): logged and dead-lettered, the saga moves on.
    #[error("cannot be handled: {0}")]
    Poison(String),
}

impl SagaError {
    fn from_app<E: std::error::Error>(what: &str, error: AppError<E>) -> Self {
        match error {
            AppError::Rejected(e) => SagaError::Poison(format!("{what}: {e}")),
            AppError::TenantMismatch { .. } => SagaError::Poison(format!("{what}: {error}")),
            AppError::Conflict(_) | AppError::IdempotencyKeyTaken(_) | AppError::Store(_) => {
                SagaError::Transient(format!("{what}: {error}"))
            }
        }
    }
}

pub struct OrderSaga {
    orders: Arc<OrdersApp>,
    lab: Arc<LabApp>,
    payments: Arc<PaymentsApp>,
    inventory: Arc<InventoryApp>,
    clock: Arc<dyn Clock>,
}

/// Every topic whose events the saga handles.
pub const SAGA_CONTEXTS: [&str; 3] = ["orders", "payments", "lab"];

impl OrderSaga {
    pub fn new(
        orders: Arc<OrdersApp>,
        lab: Arc<LabApp>,
        payments: Arc<PaymentsApp>,
        inventory: Arc<InventoryApp>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            orders,
            lab,
            payments,
            inventory,
            clock,
        }
    }

    /// Handles one event; events the saga does not care about are ignored.
    pub async fn handle(&self, event: &SagaEvent) -> Result<(), SagaError> {
        let meta = self.metadata(event);
        match event.event_type.as_str() {
            "orders.order.placed" => self.on_placed(&meta, self.order_id(event)?).await,
            "orders.order.paid" => self.on_paid(&meta, self.order_id(event)?).await,
            "orders.order.sent_to_lab" => self.on_sent_to_lab(&meta, self.order_id(event)?).await,
            "orders.order.cancelled" => {
                let order_id = self.order_id(event)?;
                self.on_cancelled(&meta, order_id, event.event_id).await?;
                self.cancel_lab_work(&meta, order_id).await
            }
            "lab.work_order.stage_changed" => self.on_stage_changed(&meta, event).await,
            "payments.payment.confirmed" => {
                self.on_captured(&meta, self.payment_id(event)?, event.event_id)
                    .await
            }
            "payments.payment.collected" => self.on_collected(&meta, self.payment_id(event)?).await,
            _ => Ok(()),
        }
    }

    /// Commands caused by `event`: same correlation, the event as cause, a child span.
    fn metadata(&self, event: &SagaEvent) -> EventMetadata {
        let parent: Option<TraceParent> = event.traceparent.as_deref().and_then(|t| t.parse().ok());
        let mut meta = EventMetadata::new(event.tenant_id, self.clock.now());
        if let Some(correlation_id) = event.correlation_id {
            meta.correlation_id = correlation_id;
        }
        meta.causation_id = Some(event.event_id);
        meta.traceparent = Some(TraceParent::child_of(parent.as_ref()));
        meta.actor = Some("saga".into());
        meta
    }

    fn order_id(&self, event: &SagaEvent) -> Result<OrderId, SagaError> {
        event
            .aggregate_id
            .parse()
            .map_err(|_| SagaError::Poison(format!("`{}` is not an order id", event.aggregate_id)))
    }

    fn payment_id(&self, event: &SagaEvent) -> Result<PaymentId, SagaError> {
        event
            .aggregate_id
            .parse()
            .map_err(|_| SagaError::Poison(format!("`{}` is not a payment id", event.aggregate_id)))
    }

    async fn load_order(&self, tenant_id: TenantId, order_id: OrderId) -> Result<Order, SagaError> {
        self.orders
            .order(tenant_id, order_id)
            .await
            .map_err(|e| SagaError::from_app("load order", e))?
            .ok_or_else(|| SagaError::Poison(format!("order {order_id} not found")))
    }

    async fn step(
        &self,
        meta: &EventMetadata,
        order_id: OrderId,
        step: OrderStep,
    ) -> Result<(), SagaError> {
        self.orders
            .transition(order_id, step, meta, None)
            .await
            .map(|_| ())
            .map_err(|e| SagaError::from_app("order step", e))
    }

    async fn on_placed(&self, meta: &EventMetadata, order_id: OrderId) -> Result<(), SagaError> {
        let order = self.load_order(meta.tenant_id, order_id).await?;
        if order.status() == Some(OrderStatus::Cancelled) {
            return Ok(()); // The cancellation's compensation covers every line.
        }
        for line in order.lines() {
            let key = StockLevelKey {
                location_id: line.location_id,
                variant_id: line.variant_id,
            };
            let status = self
                .reservation_status(meta, key, line.reservation_id)
                .await?;
            let committed = match status {
                Some(ReservationStatus::Committed { order_id: to, .. }) if to == order_id => true,
                Some(ReservationStatus::Active(_)) => {
                    match self
                        .inventory
                        .commit_at(key, line.reservation_id, order_id, meta)
                        .await
                    {
                        Ok(_) => true,
                        Err(AppError::Rejected(InventoryRejection::Stock(
                            InventoryError::ReservationExpired { .. },
                        ))) => false,
                        Err(e) => return Err(SagaError::from_app("commit reservation", e)),
                    }
                }
                _ => false,
            };
            if !committed {
                tracing::warn!(%order_id, reservation_id = %line.reservation_id, "reservation could not be committed; shortfall recorded");
                self.step(
                    meta,
                    order_id,
                    OrderStep::RecordStockShortfall(line.reservation_id),
                )
                .await?;
            }
        }
        let (Some(method), Some(total)) = (order.payment_method(), order.total()) else {
            return Err(SagaError::Poison(format!(
                "order {order_id} has no payment terms"
            )));
        };
        let method = match method {
            OrderPaymentMethod::BankTransfer => PaymentMethod::BankTransfer,
            OrderPaymentMethod::Cod => PaymentMethod::Cod,
        };
        match self.payments.request(order_id, method, total, meta).await {
            Ok(_) | Err(AppError::Rejected(PaymentError::PaymentAlreadyRequested)) => {}
            Err(e) => return Err(SagaError::from_app("request payment", e)),
        }
        if method == PaymentMethod::Cod && order.needs_lab() {
            self.step(meta, order_id, OrderStep::SendToLab).await?;
        }
        Ok(())
    }

    async fn reservation_status(
        &self,
        meta: &EventMetadata,
        key: StockLevelKey,
        reservation_id: optical_kernel::ReservationId,
    ) -> Result<Option<ReservationStatus>, SagaError> {
        let level = self
            .inventory
            .stock_level_fresh(meta.tenant_id, key.location_id, key.variant_id)
            .await
            .map_err(|e| SagaError::from_app("load stock level", e))?;
        Ok(level.and_then(|level| level.reservation_status(reservation_id)))
    }

    async fn on_paid(&self, meta: &EventMetadata, order_id: OrderId) -> Result<(), SagaError> {
        let order = self.load_order(meta.tenant_id, order_id).await?;
        if order.needs_lab() && order.status() == Some(OrderStatus::Paid) {
            self.step(meta, order_id, OrderStep::SendToLab).await?;
        }
        Ok(())
    }

    async fn on_sent_to_lab(
        &self,
        meta: &EventMetadata,
        order_id: OrderId,
    ) -> Result<(), SagaError> {
        self.lab
            .create_for_order(order_id, meta)
            .await
            .map(|_| ())
            .map_err(|e| SagaError::from_app("create work orders", e))
    }

    /// The lab stops making lenses nobody will collect; shipped work orders stay as they are.
    async fn cancel_lab_work(
        &self,
        meta: &EventMetadata,
        order_id: OrderId,
    ) -> Result<(), SagaError> {
        let order = self.load_order(meta.tenant_id, order_id).await?;
        let work_orders = self
            .lab
            .work_orders_of(meta.tenant_id, &order)
            .await
            .map_err(|e| SagaError::from_app("load work orders", e))?;
        let reason =
            Reason::new("order cancelled").map_err(|e| SagaError::Poison(e.to_string()))?;
        for work_order in work_orders {
            let (Some(id), Some(stage)) = (work_order.work_order_id(), work_order.stage()) else {
                continue;
            };
            if matches!(stage, LabStage::Shipped | LabStage::Cancelled) {
                continue;
            }
            self.lab
                .step(id, LabStep::Cancel(reason.clone()), meta, None)
                .await
                .map_err(|e| SagaError::from_app("cancel work order", e))?;
        }
        Ok(())
    }

    /// A completed work order makes its order ready once every lens of the order is done
    /// (each followed to its latest remake).
    async fn on_stage_changed(
        &self,
        meta: &EventMetadata,
        event: &SagaEvent,
    ) -> Result<(), SagaError> {
        let work_order_id: WorkOrderId = event.aggregate_id.parse().map_err(|_| {
            SagaError::Poison(format!("`{}` is not a work order id", event.aggregate_id))
        })?;
        let work_order = self
            .lab
            .work_order(meta.tenant_id, work_order_id)
            .await
            .map_err(|e| SagaError::from_app("load work order", e))?
            .ok_or_else(|| SagaError::Poison(format!("work order {work_order_id} not found")))?;
        let Some(order_id) = work_order.order_id() else {
            return Ok(()); // A walk-in job: no order to tell.
        };
        if !matches!(
            work_order.stage(),
            Some(LabStage::Completed | LabStage::Shipped)
        ) {
            return Ok(());
        }
        let order = self.load_order(meta.tenant_id, order_id).await?;
        if order.status() != Some(OrderStatus::InLab) {
            return Ok(());
        }
        let all_done = self
            .lab
            .work_orders_of(meta.tenant_id, &order)
            .await
            .map_err(|e| SagaError::from_app("load work orders", e))?
            .iter()
            .all(|w| matches!(w.stage(), Some(LabStage::Completed | LabStage::Shipped)));
        if all_done {
            self.step(meta, order_id, OrderStep::MarkReady).await?;
        }
        Ok(())
    }

    async fn on_captured(
        &self,
        meta: &EventMetadata,
        payment_id: PaymentId,
        event_id: Uuid,
    ) -> Result<(), SagaError> {
        let order_id = OrderId::from_uuid(*payment_id.as_uuid());
        let order = self.load_order(meta.tenant_id, order_id).await?;
        match order.status() {
            Some(OrderStatus::PendingPayment) => {
                self.step(meta, order_id, OrderStep::MarkPaid(payment_id))
                    .await
            }
            // Paid after the order was cancelled: the money goes back.
            Some(OrderStatus::Cancelled) => self.refund_all(meta, order_id, event_id).await,
            _ => Ok(()),
        }
    }

    async fn on_collected(
        &self,
        meta: &EventMetadata,
        payment_id: PaymentId,
    ) -> Result<(), SagaError> {
        let order_id = OrderId::from_uuid(*payment_id.as_uuid());
        let order = self.load_order(meta.tenant_id, order_id).await?;
        if order.status() == Some(OrderStatus::Shipped) {
            self.step(meta, order_id, OrderStep::Complete).await?;
        }
        Ok(())
    }

    async fn on_cancelled(
        &self,
        meta: &EventMetadata,
        order_id: OrderId,
        event_id: Uuid,
    ) -> Result<(), SagaError> {
        let order = self.load_order(meta.tenant_id, order_id).await?;
        for line in order.lines() {
            let key = StockLevelKey {
                location_id: line.location_id,
                variant_id: line.variant_id,
            };
            let result = match self
                .reservation_status(meta, key, line.reservation_id)
                .await?
            {
                Some(ReservationStatus::Active(_)) => {
                    self.inventory
                        .release_at(key, line.reservation_id, meta)
                        .await
                }
                Some(ReservationStatus::Committed { order_id: to, .. }) if to == order_id => {
                    self.inventory
                        .restock(key, line.reservation_id, order_id, meta)
                        .await
                }
                _ => continue, // Released, expired, restocked: nothing is held for this order.
            };
            result.map_err(|e| SagaError::from_app("give stock back", e))?;
        }
        let payment = self
            .payments
            .payment(meta.tenant_id, order_id)
            .await
            .map_err(|e| SagaError::from_app("load payment", e))?;
        match payment.and_then(|p| p.status()) {
            Some(PaymentStatus::Requested) => {
                let reason = VoidReason::new("order cancelled")
                    .map_err(|e| SagaError::Poison(e.to_string()))?;
                self.payments
                    .void(order_id, reason, meta)
                    .await
                    .map(|_| ())
                    .map_err(|e| SagaError::from_app("void payment", e))
            }
            Some(PaymentStatus::Captured | PaymentStatus::PartiallyRefunded) => {
                self.refund_all(meta, order_id, event_id).await
            }
            _ => Ok(()),
        }
    }

    /// Refunds what is left of the payment; the refund id comes from the event that caused
    /// it, so a repeat of that event refunds nothing more.
    async fn refund_all(
        &self,
        meta: &EventMetadata,
        order_id: OrderId,
        cause: Uuid,
    ) -> Result<(), SagaError> {
        let refund_id = RefundId::new(cause).map_err(|e| SagaError::Poison(e.to_string()))?;
        let payment = self
            .payments
            .payment(meta.tenant_id, order_id)
            .await
            .map_err(|e| SagaError::from_app("load payment", e))?;
        let Some(payment) = payment else {
            return Ok(());
        };
        if payment.refund(refund_id).is_some() {
            return Ok(());
        }
        let Some(amount) = payment.refundable().filter(|m| m.amount_minor() > 0) else {
            return Ok(());
        };
        let reason =
            RefundReason::new("order cancelled").map_err(|e| SagaError::Poison(e.to_string()))?;
        match self
            .payments
            .refund(order_id, refund_id, amount, reason, meta, None)
            .await
        {
            Ok(_) => Ok(()),
            Err(AppError::Rejected(PaymentError::NotCaptured(_))) => Ok(()),
            Err(e) => Err(SagaError::from_app("refund", e)),
        }
    }
}
