//! The Order aggregate: what a customer bought, for which patient and to which prescription,
//! and how far it got — paid, through the lab, ready, shipped, completed — or cancelled.

use crate::error::OrderError;
use crate::values::{
    CancelReason, Carrier, LineKind, OrderLine, OrderPrescription, OrderStatus, PatientSnapshot,
    PaymentMethod, Quantity, TrackingNumber,
};
use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::{
    Currency, LocationId, Money, OrderId, PatientId, PaymentId, Personal, PrescriptionId,
    ReservationId, StoreId, TenantId, VariantId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Places an order: the contents of a checked-out cart, with the patient and prescription
/// copied from Customers by the application.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaceOrder {
    pub tenant_id: TenantId,
    pub order_id: OrderId,
    pub store_id: StoreId,
    pub currency: Currency,
    pub payment_method: PaymentMethod,
    pub lines: Vec<OrderLine>,
    pub patient: Option<Personal<PatientSnapshot>>,
    pub prescription: Option<OrderPrescription>,
    pub now: DateTime<Utc>,
}

/// Every command names the caller's tenant: another tenant's order is answered as not found.
/// Every command carries `now`, read by the application from its clock; it is recorded in the
/// event as the business time of the fact, and placement checks prescription expiry against
/// its (UTC) date. Repeating a transition that already happened decides no events, so that a
/// restarted saga is harmless.
#[derive(Clone, Debug, PartialEq)]
pub enum OrderCommand {
    /// Creates the order (boxed: it is much larger than the other commands).
    PlaceOrder(Box<PlaceOrder>),
    /// The bank transfer arrived: `pending_payment` → `paid`.
    MarkPaid {
        tenant_id: TenantId,
        payment_id: PaymentId,
        now: DateTime<Utc>,
    },
    /// The lenses go to the lab: `paid` (or `pending_shipment` for cash on delivery) →
    /// `in_lab`. Only for orders with ophthalmic lenses.
    SendToLab {
        tenant_id: TenantId,
        now: DateTime<Utc>,
    },
    /// Everything is ready to ship: `in_lab` → `ready`, or straight from `paid` /
    /// `pending_shipment` when no lab is needed.
    MarkReady {
        tenant_id: TenantId,
        now: DateTime<Utc>,
    },
    /// `ready` → `shipped`.
    Ship {
        tenant_id: TenantId,
        carrier: Carrier,
        tracking_number: TrackingNumber,
        now: DateTime<Utc>,
    },
    /// `shipped` → `completed`.
    Complete {
        tenant_id: TenantId,
        now: DateTime<Utc>,
    },
    /// Any status before `shipped` → `cancelled`; compensations (releasing stock, refunding)
    /// follow from the event.
    Cancel {
        tenant_id: TenantId,
        reason: CancelReason,
        now: DateTime<Utc>,
    },
    /// The order saga could not commit the stock reservation of a line.
    RecordStockShortfall {
        tenant_id: TenantId,
        reservation_id: ReservationId,
        now: DateTime<Utc>,
    },
}

impl OrderCommand {
    /// The tenant the command is issued for.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            OrderCommand::PlaceOrder(place) => place.tenant_id,
            OrderCommand::MarkPaid { tenant_id, .. }
            | OrderCommand::SendToLab { tenant_id, .. }
            | OrderCommand::MarkReady { tenant_id, .. }
            | OrderCommand::Ship { tenant_id, .. }
            | OrderCommand::Complete { tenant_id, .. }
            | OrderCommand::Cancel { tenant_id, .. }
            | OrderCommand::RecordStockShortfall { tenant_id, .. } => *tenant_id,
        }
    }
}

/// Every event names its order. `OrderPlaced` carries everything the order is — lines,
/// totals, snapshots (sealed for the patient in storage and on the wire) — so that downstream
/// contexts never need to ask Orders.
// `OrderPlaced` is much larger than the lifecycle facts; events are short-lived values
// decided one at a time, and a struct variant keeps every event's shape alike.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OrderEvent {
    OrderPlaced {
        tenant_id: TenantId,
        order_id: OrderId,
        store_id: StoreId,
        currency: Currency,
        payment_method: PaymentMethod,
        lines: Vec<OrderLine>,
        /// Σ quantity × unit price.
        subtotal: Money,
        patient: Option<Personal<PatientSnapshot>>,
        prescription: Option<OrderPrescription>,
        /// `pending_payment` (bank transfer) or `pending_shipment` (cash on delivery).
        status: OrderStatus,
        placed_at: DateTime<Utc>,
    },
    OrderPaid {
        order_id: OrderId,
        payment_id: PaymentId,
        paid_at: DateTime<Utc>,
    },
    OrderSentToLab {
        order_id: OrderId,
        sent_at: DateTime<Utc>,
    },
    OrderReady {
        order_id: OrderId,
        ready_at: DateTime<Utc>,
    },
    OrderShipped {
        order_id: OrderId,
        carrier: Carrier,
        tracking_number: TrackingNumber,
        shipped_at: DateTime<Utc>,
    },
    OrderCompleted {
        order_id: OrderId,
        completed_at: DateTime<Utc>,
    },
    /// `previous_status` and `was_paid` tell the compensations what to undo.
    OrderCancelled {
        order_id: OrderId,
        reason: CancelReason,
        previous_status: OrderStatus,
        was_paid: bool,
        cancelled_at: DateTime<Utc>,
    },
    /// A line's reservation could not be committed; the line is named in full so that a
    /// consumer needs no state.
    OrderStockShortfallRecorded {
        order_id: OrderId,
        reservation_id: ReservationId,
        variant_id: VariantId,
        location_id: LocationId,
        quantity: Quantity,
        recorded_at: DateTime<Utc>,
    },
}

impl OrderEvent {
    /// Every `event_type()` this enum can return.
    pub const EVENT_TYPES: [&'static str; 8] = [
        "orders.order.placed",
        "orders.order.paid",
        "orders.order.sent_to_lab",
        "orders.order.ready",
        "orders.order.shipped",
        "orders.order.completed",
        "orders.order.cancelled",
        "orders.order.stock_shortfall_recorded",
    ];

    /// The order the event belongs to; its string form is the aggregate id.
    pub fn order_id(&self) -> OrderId {
        let (OrderEvent::OrderPlaced { order_id, .. }
        | OrderEvent::OrderPaid { order_id, .. }
        | OrderEvent::OrderSentToLab { order_id, .. }
        | OrderEvent::OrderReady { order_id, .. }
        | OrderEvent::OrderShipped { order_id, .. }
        | OrderEvent::OrderCompleted { order_id, .. }
        | OrderEvent::OrderCancelled { order_id, .. }
        | OrderEvent::OrderStockShortfallRecorded { order_id, .. }) = self;
        *order_id
    }
}

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> String {
        let [placed, paid, sent_to_lab, ready, shipped, completed, cancelled, shortfall] =
            Self::EVENT_TYPES;
        match self {
            OrderEvent::OrderPlaced { .. } => placed,
            OrderEvent::OrderPaid { .. } => paid,
            OrderEvent::OrderSentToLab { .. } => sent_to_lab,
            OrderEvent::OrderReady { .. } => ready,
            OrderEvent::OrderShipped { .. } => shipped,
            OrderEvent::OrderCompleted { .. } => completed,
            OrderEvent::OrderCancelled { .. } => cancelled,
            OrderEvent::OrderStockShortfallRecorded { .. } => shortfall,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// An order's decision state. `None` until it is placed.
///
/// It holds the patient and prescription snapshots as they were read — revealed, or erased
/// once the patient's key is destroyed; such aggregates are never snapshotted by the store.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Order {
    state: Option<OrderState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OrderState {
    tenant_id: TenantId,
    order_id: OrderId,
    store_id: StoreId,
    currency: Currency,
    payment_method: PaymentMethod,
    lines: Vec<OrderLine>,
    subtotal: Money,
    patient: Option<Personal<PatientSnapshot>>,
    prescription: Option<OrderPrescription>,
    status: OrderStatus,
    placed_at: DateTime<Utc>,
    payment_id: Option<PaymentId>,
    sent_to_lab: bool,
    ready: bool,
    shipment: Option<(Carrier, TrackingNumber)>,
    shortfalls: BTreeSet<ReservationId>,
}

impl OrderState {
    fn needs_lab(&self) -> bool {
        needs_lab(&self.lines)
    }

    fn invalid(&self, attempted: &'static str) -> OrderError {
        OrderError::InvalidTransition {
            status: self.status,
            attempted,
        }
    }
}

fn needs_lab(lines: &[OrderLine]) -> bool {
    lines.iter().any(|l| l.kind == LineKind::OphthalmicLens)
}

/// What makes two placements the same order, personal data aside: a replayed placement
/// must be recognised even after the patient was erased.
fn same_placement(state: &OrderState, place: &PlaceOrder) -> bool {
    state.order_id == place.order_id
        && state.store_id == place.store_id
        && state.currency == place.currency
        && state.payment_method == place.payment_method
        && state.lines == place.lines
        && state.patient.as_ref().map(Personal::subject)
            == place.patient.as_ref().map(Personal::subject)
        && state.prescription.as_ref().map(|p| p.prescription_id)
            == place.prescription.as_ref().map(|p| p.prescription_id)
}

impl Order {
    pub fn tenant_id(&self) -> Option<TenantId> {
        self.state.as_ref().map(|s| s.tenant_id)
    }

    pub fn order_id(&self) -> Option<OrderId> {
        self.state.as_ref().map(|s| s.order_id)
    }

    pub fn store_id(&self) -> Option<StoreId> {
        self.state.as_ref().map(|s| s.store_id)
    }

    pub fn currency(&self) -> Option<Currency> {
        self.state.as_ref().map(|s| s.currency)
    }

    pub fn payment_method(&self) -> Option<PaymentMethod> {
        self.state.as_ref().map(|s| s.payment_method)
    }

    /// `None` until the order is placed.
    pub fn status(&self) -> Option<OrderStatus> {
        self.state.as_ref().map(|s| s.status)
    }

    pub fn lines(&self) -> &[OrderLine] {
        self.state.as_ref().map_or(&[], |s| s.lines.as_slice())
    }

    /// Σ quantity × unit price.
    pub fn subtotal(&self) -> Option<Money> {
        self.state.as_ref().map(|s| s.subtotal)
    }

    /// What the customer owes. No taxes, discounts or shipping are applied by Orders yet, so
    /// this is the subtotal.
    pub fn total(&self) -> Option<Money> {
        self.subtotal()
    }

    /// The patient snapshot: revealed, or erased after the patient was erased.
    pub fn patient(&self) -> Option<&Personal<PatientSnapshot>> {
        self.state.as_ref().and_then(|s| s.patient.as_ref())
    }

    /// The prescription: its id in clear and its snapshot, revealed or erased.
    pub fn prescription(&self) -> Option<&OrderPrescription> {
        self.state.as_ref().and_then(|s| s.prescription.as_ref())
    }

    /// The patient the order is for, known even after erasure.
    pub fn patient_id(&self) -> Option<PatientId> {
        self.patient().map(Personal::subject)
    }

    pub fn prescription_id(&self) -> Option<PrescriptionId> {
        self.prescription().map(|p| p.prescription_id)
    }

    /// Whether a snapshot of the order can no longer be read because its patient was erased.
    pub fn has_erased_snapshots(&self) -> bool {
        self.patient().is_some_and(Personal::is_erased)
            || self.prescription().is_some_and(|p| p.snapshot.is_erased())
    }

    /// Whether the order has ophthalmic lenses, which are made in the lab.
    pub fn needs_lab(&self) -> bool {
        self.state.as_ref().is_some_and(OrderState::needs_lab)
    }

    /// The payment that paid a bank-transfer order.
    pub fn payment_id(&self) -> Option<PaymentId> {
        self.state.as_ref().and_then(|s| s.payment_id)
    }

    /// Carrier and tracking number, once shipped.
    pub fn shipment(&self) -> Option<(&Carrier, &TrackingNumber)> {
        self.state
            .as_ref()
            .and_then(|s| s.shipment.as_ref())
            .map(|(carrier, tracking)| (carrier, tracking))
    }

    /// Reservations whose stock could not be committed.
    pub fn stock_shortfalls(&self) -> impl Iterator<Item = ReservationId> + '_ {
        self.state.iter().flat_map(|s| s.shortfalls.iter().copied())
    }

    /// The order as the given tenant may see it: `Ok(None)` if it does not exist yet,
    /// not found if it belongs to someone else.
    fn visible(&self, tenant_id: TenantId) -> Result<Option<&OrderState>, OrderError> {
        match &self.state {
            Some(state) if state.tenant_id != tenant_id => Err(OrderError::OrderNotFound),
            state => Ok(state.as_ref()),
        }
    }

    fn existing(&self, tenant_id: TenantId) -> Result<&OrderState, OrderError> {
        self.visible(tenant_id)?.ok_or(OrderError::OrderNotFound)
    }

    fn place(&self, place: PlaceOrder) -> Result<Vec<OrderEvent>, OrderError> {
        if let Some(state) = self.visible(place.tenant_id)? {
            return if same_placement(state, &place) {
                Ok(vec![])
            } else {
                Err(OrderError::OrderAlreadyPlaced)
            };
        }
        if place.lines.is_empty() {
            return Err(OrderError::NoLines);
        }
        let mut reservations = BTreeSet::new();
        let mut subtotal: i64 = 0;
        for (index, line) in place.lines.iter().enumerate() {
            if line.unit_price.currency() != place.currency {
                return Err(OrderError::CurrencyMismatch {
                    line: index,
                    expected: place.currency,
                    actual: line.unit_price.currency(),
                });
            }
            if !reservations.insert(line.reservation_id) {
                return Err(OrderError::DuplicateReservation(line.reservation_id));
            }
            subtotal = line
                .total_minor()
                .and_then(|total| subtotal.checked_add(total))
                .ok_or(OrderError::AmountOverflow)?;
        }
        let subtotal =
            Money::new(subtotal, place.currency).map_err(|_| OrderError::AmountOverflow)?;
        Self::check_snapshots(&place)?;
        Ok(vec![OrderEvent::OrderPlaced {
            tenant_id: place.tenant_id,
            order_id: place.order_id,
            store_id: place.store_id,
            currency: place.currency,
            payment_method: place.payment_method,
            lines: place.lines,
            subtotal,
            patient: place.patient,
            prescription: place.prescription,
            status: place.payment_method.initial_status(),
            placed_at: place.now,
        }])
    }

    /// Lenses need the patient and a prescription; a prescription needs its patient, must be
    /// theirs and still valid today; erased data cannot be ordered against.
    fn check_snapshots(place: &PlaceOrder) -> Result<(), OrderError> {
        if needs_lab(&place.lines) {
            if place.patient.is_none() {
                return Err(OrderError::PatientRequired);
            }
            if place.prescription.is_none() {
                return Err(OrderError::PrescriptionRequired);
            }
        }
        if let Some(patient) = &place.patient {
            if patient.is_erased() {
                return Err(OrderError::PatientErased(patient.subject()));
            }
        }
        let Some(prescription) = &place.prescription else {
            return Ok(());
        };
        let Some(patient) = &place.patient else {
            return Err(OrderError::PatientRequired);
        };
        let snapshot = match &prescription.snapshot {
            Personal::Erased { subject } => return Err(OrderError::PatientErased(*subject)),
            Personal::Revealed { data, .. } => data,
        };
        if prescription.snapshot.subject() != patient.subject() {
            return Err(OrderError::PrescriptionSubjectMismatch {
                patient: patient.subject(),
                prescription_subject: prescription.snapshot.subject(),
            });
        }
        let today = place.now.date_naive();
        if snapshot.is_expired_on(today) {
            return Err(OrderError::PrescriptionExpired {
                expires_on: snapshot.expires_on(),
                today,
            });
        }
        Ok(())
    }

    fn decide(&self, command: OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
        match command {
            OrderCommand::PlaceOrder(place) => self.place(*place),
            OrderCommand::MarkPaid {
                tenant_id,
                payment_id,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                if state.payment_id == Some(payment_id) {
                    return Ok(vec![]);
                }
                if state.status != OrderStatus::PendingPayment {
                    return Err(state.invalid("mark paid"));
                }
                Ok(vec![OrderEvent::OrderPaid {
                    order_id: state.order_id,
                    payment_id,
                    paid_at: now,
                }])
            }
            OrderCommand::SendToLab { tenant_id, now } => {
                let state = self.existing(tenant_id)?;
                if state.sent_to_lab {
                    return Ok(vec![]);
                }
                if !state.needs_lab() {
                    return Err(OrderError::LabNotNeeded);
                }
                match state.status {
                    OrderStatus::Paid | OrderStatus::PendingShipment => {
                        Ok(vec![OrderEvent::OrderSentToLab {
                            order_id: state.order_id,
                            sent_at: now,
                        }])
                    }
                    _ => Err(state.invalid("send to the lab")),
                }
            }
            OrderCommand::MarkReady { tenant_id, now } => {
                let state = self.existing(tenant_id)?;
                if state.ready {
                    return Ok(vec![]);
                }
                match state.status {
                    OrderStatus::Paid | OrderStatus::PendingShipment if state.needs_lab() => {
                        Err(OrderError::LabRequired)
                    }
                    OrderStatus::InLab | OrderStatus::Paid | OrderStatus::PendingShipment => {
                        Ok(vec![OrderEvent::OrderReady {
                            order_id: state.order_id,
                            ready_at: now,
                        }])
                    }
                    _ => Err(state.invalid("mark ready")),
                }
            }
            OrderCommand::Ship {
                tenant_id,
                carrier,
                tracking_number,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                if state.shipment.as_ref() == Some(&(carrier.clone(), tracking_number.clone())) {
                    return Ok(vec![]);
                }
                if state.status != OrderStatus::Ready {
                    return Err(state.invalid("ship"));
                }
                Ok(vec![OrderEvent::OrderShipped {
                    order_id: state.order_id,
                    carrier,
                    tracking_number,
                    shipped_at: now,
                }])
            }
            OrderCommand::Complete { tenant_id, now } => {
                let state = self.existing(tenant_id)?;
                match state.status {
                    OrderStatus::Completed => Ok(vec![]),
                    OrderStatus::Shipped => Ok(vec![OrderEvent::OrderCompleted {
                        order_id: state.order_id,
                        completed_at: now,
                    }]),
                    _ => Err(state.invalid("complete")),
                }
            }
            OrderCommand::Cancel {
                tenant_id,
                reason,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                match state.status {
                    OrderStatus::Cancelled => Ok(vec![]),
                    status if status.is_cancellable() => Ok(vec![OrderEvent::OrderCancelled {
                        order_id: state.order_id,
                        reason,
                        previous_status: status,
                        was_paid: state.payment_id.is_some(),
                        cancelled_at: now,
                    }]),
                    _ => Err(state.invalid("cancel")),
                }
            }
            OrderCommand::RecordStockShortfall {
                tenant_id,
                reservation_id,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                if state.shortfalls.contains(&reservation_id) {
                    return Ok(vec![]);
                }
                let line = state
                    .lines
                    .iter()
                    .find(|l| l.reservation_id == reservation_id)
                    .ok_or(OrderError::UnknownReservation(reservation_id))?;
                if !state.status.is_cancellable() {
                    return Err(state.invalid("record a stock shortfall on"));
                }
                Ok(vec![OrderEvent::OrderStockShortfallRecorded {
                    order_id: state.order_id,
                    reservation_id,
                    variant_id: line.variant_id,
                    location_id: line.location_id,
                    quantity: line.quantity,
                    recorded_at: now,
                }])
            }
        }
    }
}

impl Aggregate for Order {
    const TYPE: &'static str = "orders.order";
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Error = OrderError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if let OrderEvent::OrderPlaced {
            tenant_id,
            order_id,
            store_id,
            currency,
            payment_method,
            lines,
            subtotal,
            patient,
            prescription,
            status,
            placed_at,
        } = event
        {
            if self.state.is_none() {
                self.state = Some(OrderState {
                    tenant_id,
                    order_id,
                    store_id,
                    currency,
                    payment_method,
                    lines,
                    subtotal,
                    patient,
                    prescription,
                    status,
                    placed_at,
                    payment_id: None,
                    sent_to_lab: false,
                    ready: false,
                    shipment: None,
                    shortfalls: BTreeSet::new(),
                });
            }
            return;
        }
        let Some(state) = &mut self.state else {
            return;
        };
        match event {
            OrderEvent::OrderPlaced { .. } => {}
            OrderEvent::OrderPaid { payment_id, .. } => {
                state.payment_id = Some(payment_id);
                state.status = OrderStatus::Paid;
            }
            OrderEvent::OrderSentToLab { .. } => {
                state.sent_to_lab = true;
                state.status = OrderStatus::InLab;
            }
            OrderEvent::OrderReady { .. } => {
                state.ready = true;
                state.status = OrderStatus::Ready;
            }
            OrderEvent::OrderShipped {
                carrier,
                tracking_number,
                ..
            } => {
                state.shipment = Some((carrier, tracking_number));
                state.status = OrderStatus::Shipped;
            }
            OrderEvent::OrderCompleted { .. } => state.status = OrderStatus::Completed,
            OrderEvent::OrderCancelled { .. } => state.status = OrderStatus::Cancelled,
            OrderEvent::OrderStockShortfallRecorded { reservation_id, .. } => {
                state.shortfalls.insert(reservation_id);
            }
        }
    }
}

#[cfg(test)]
mod tests;
