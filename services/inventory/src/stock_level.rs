//! The StockLevel aggregate: the units of one variant at one location, and the reservations
//! that hold some of them for carts until an order takes them.

use crate::error::InventoryError;
use crate::values::{
    AdjustmentNote, AdjustmentReason, Quantity, ReceiptReference, StockDelta, StockLevelKey,
};
use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::{CartId, LocationId, OrderId, ReservationId, TenantId, VariantId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every command names the caller's tenant: another tenant's stock level is answered as not
/// found. Commands that depend on time carry `now`, read by the application from its clock.
#[derive(Clone, Debug, PartialEq)]
pub enum StockLevelCommand {
    /// Adds delivered units; the first receipt creates the stock level.
    ReceiveStock {
        tenant_id: TenantId,
        key: StockLevelKey,
        quantity: Quantity,
        reference: Option<ReceiptReference>,
    },
    /// Corrects the units on hand (count, damage, loss, returns); never below the reserved units.
    AdjustStock {
        tenant_id: TenantId,
        delta: StockDelta,
        reason: AdjustmentReason,
        note: Option<AdjustmentNote>,
    },
    /// Holds units for a cart until `expires_at`. Reservations already due at `now` are
    /// expired in the same decision, so that late expiry never makes an item look sold out.
    ReserveStock {
        tenant_id: TenantId,
        reservation_id: ReservationId,
        cart_id: CartId,
        quantity: Quantity,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    /// Gives reserved units back, e.g. when an item leaves the cart.
    ReleaseReservation {
        tenant_id: TenantId,
        reservation_id: ReservationId,
    },
    /// Hands reserved units to an order: they leave the stock on hand. Repeating it for the
    /// order the reservation was already committed to changes nothing.
    CommitReservation {
        tenant_id: TenantId,
        reservation_id: ReservationId,
        order_id: OrderId,
        now: DateTime<Utc>,
    },
    /// Expires every reservation due at `now` (`expires_at <= now`); sent by a worker.
    ExpireReservations {
        tenant_id: TenantId,
        now: DateTime<Utc>,
    },
    /// Puts the units of a reservation committed to `order_id` back on hand, because the order
    /// was cancelled before shipping. Exactly once: a repeat changes nothing.
    RestockCancelledOrder {
        tenant_id: TenantId,
        reservation_id: ReservationId,
        order_id: OrderId,
    },
}

impl StockLevelCommand {
    /// The tenant the command is issued for.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            StockLevelCommand::ReceiveStock { tenant_id, .. }
            | StockLevelCommand::AdjustStock { tenant_id, .. }
            | StockLevelCommand::ReserveStock { tenant_id, .. }
            | StockLevelCommand::ReleaseReservation { tenant_id, .. }
            | StockLevelCommand::CommitReservation { tenant_id, .. }
            | StockLevelCommand::ExpireReservations { tenant_id, .. }
            | StockLevelCommand::RestockCancelledOrder { tenant_id, .. } => *tenant_id,
        }
    }
}

/// Every event names its stock level and carries the totals after it (`on_hand`, `reserved`),
/// so that a projection can store them without keeping state of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StockLevelEvent {
    StockReceived {
        tenant_id: TenantId,
        location_id: LocationId,
        variant_id: VariantId,
        quantity: Quantity,
        reference: Option<ReceiptReference>,
        on_hand: u64,
    },
    StockAdjusted {
        location_id: LocationId,
        variant_id: VariantId,
        delta: StockDelta,
        reason: AdjustmentReason,
        note: Option<AdjustmentNote>,
        on_hand: u64,
    },
    StockReserved {
        location_id: LocationId,
        variant_id: VariantId,
        reservation_id: ReservationId,
        cart_id: CartId,
        quantity: Quantity,
        expires_at: DateTime<Utc>,
        reserved: u64,
    },
    ReservationReleased {
        location_id: LocationId,
        variant_id: VariantId,
        reservation_id: ReservationId,
        quantity: Quantity,
        reserved: u64,
    },
    ReservationExpired {
        location_id: LocationId,
        variant_id: VariantId,
        reservation_id: ReservationId,
        quantity: Quantity,
        expires_at: DateTime<Utc>,
        reserved: u64,
    },
    ReservationCommitted {
        location_id: LocationId,
        variant_id: VariantId,
        reservation_id: ReservationId,
        order_id: OrderId,
        quantity: Quantity,
        on_hand: u64,
        reserved: u64,
    },
    /// The committed units of a cancelled order are back on hand (and available again).
    ReservationRestocked {
        location_id: LocationId,
        variant_id: VariantId,
        reservation_id: ReservationId,
        order_id: OrderId,
        quantity: Quantity,
        on_hand: u64,
    },
}

impl StockLevelEvent {
    /// Every `event_type()` this enum can return.
    pub const EVENT_TYPES: [&'static str; 7] = [
        "inventory.stock.received",
        "inventory.stock.adjusted",
        "inventory.stock.reserved",
        "inventory.reservation.released",
        "inventory.reservation.expired",
        "inventory.reservation.committed",
        "inventory.reservation.restocked",
    ];

    /// The stock level the event belongs to; its string form is the aggregate id.
    pub fn key(&self) -> StockLevelKey {
        let (StockLevelEvent::StockReceived {
            location_id,
            variant_id,
            ..
        }
        | StockLevelEvent::StockAdjusted {
            location_id,
            variant_id,
            ..
        }
        | StockLevelEvent::StockReserved {
            location_id,
            variant_id,
            ..
        }
        | StockLevelEvent::ReservationReleased {
            location_id,
            variant_id,
            ..
        }
        | StockLevelEvent::ReservationExpired {
            location_id,
            variant_id,
            ..
        }
        | StockLevelEvent::ReservationCommitted {
            location_id,
            variant_id,
            ..
        }
        | StockLevelEvent::ReservationRestocked {
            location_id,
            variant_id,
            ..
        }) = self;
        StockLevelKey {
            location_id: *location_id,
            variant_id: *variant_id,
        }
    }
}

impl DomainEvent for StockLevelEvent {
    fn event_type(&self) -> String {
        let [received, adjusted, reserved, released, expired, committed, restocked] =
            Self::EVENT_TYPES;
        match self {
            StockLevelEvent::StockReceived { .. } => received,
            StockLevelEvent::StockAdjusted { .. } => adjusted,
            StockLevelEvent::StockReserved { .. } => reserved,
            StockLevelEvent::ReservationReleased { .. } => released,
            StockLevelEvent::ReservationExpired { .. } => expired,
            StockLevelEvent::ReservationCommitted { .. } => committed,
            StockLevelEvent::ReservationRestocked { .. } => restocked,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// Units held for a cart until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub reservation_id: ReservationId,
    pub cart_id: CartId,
    pub quantity: Quantity,
    pub expires_at: DateTime<Utc>,
}

/// Where a reservation stands, as [`StockLevel::reservation_status`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReservationStatus {
    /// Holding units for its cart.
    Active(Reservation),
    /// Given back before it was committed.
    Released,
    /// Expired at `at` (its `expires_at`) before it was committed.
    Expired { at: DateTime<Utc> },
    /// Its units went to `order_id` and left the stock on hand.
    Committed {
        order_id: OrderId,
        quantity: Quantity,
    },
    /// Committed to `order_id`, then put back on hand when that order was cancelled.
    Restocked { order_id: OrderId },
}

/// How a reservation ended. Kept so that an id is never reused, so that committing an
/// expired reservation says "expired" rather than "not found", and so that commits and
/// restocks repeated by the order saga change nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Released,
    Expired {
        at: DateTime<Utc>,
    },
    Committed {
        order_id: OrderId,
        quantity: Quantity,
    },
    Restocked {
        order_id: OrderId,
    },
}

impl From<Outcome> for ReservationStatus {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Released => ReservationStatus::Released,
            Outcome::Expired { at } => ReservationStatus::Expired { at },
            Outcome::Committed { order_id, quantity } => {
                ReservationStatus::Committed { order_id, quantity }
            }
            Outcome::Restocked { order_id } => ReservationStatus::Restocked { order_id },
        }
    }
}

/// A stock level's decision state. `None` until the first receipt.
///
/// Invariant: `on_hand >= reserved >= 0`, and `reserved` is the sum of the active reservations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StockLevel {
    state: Option<StockState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct StockState {
    tenant_id: TenantId,
    key: StockLevelKey,
    on_hand: u64,
    reserved: u64,
    reservations: BTreeMap<ReservationId, Reservation>,
    finished: BTreeMap<ReservationId, Outcome>,
}

impl StockState {
    /// Due reservations, expired in expiry order (ties by id, so replays agree).
    fn expire_due(&self, now: DateTime<Utc>) -> Vec<StockLevelEvent> {
        let mut due: Vec<&Reservation> = self
            .reservations
            .values()
            .filter(|r| r.expires_at <= now)
            .collect();
        due.sort_by_key(|r| (r.expires_at, r.reservation_id));
        let mut reserved = self.reserved;
        due.into_iter()
            .map(|r| {
                reserved = reserved.saturating_sub(u64::from(r.quantity.get()));
                StockLevelEvent::ReservationExpired {
                    location_id: self.key.location_id,
                    variant_id: self.key.variant_id,
                    reservation_id: r.reservation_id,
                    quantity: r.quantity,
                    expires_at: r.expires_at,
                    reserved,
                }
            })
            .collect()
    }

    fn end(&mut self, reservation_id: ReservationId, outcome: Outcome) {
        self.reservations.remove(&reservation_id);
        self.finished.insert(reservation_id, outcome);
    }
}

impl StockLevel {
    /// Totals travel as Avro `long`, so units on hand stay within `i64`.
    pub const MAX_ON_HAND: u64 = i64::MAX as u64;

    pub fn tenant_id(&self) -> Option<TenantId> {
        self.state.as_ref().map(|s| s.tenant_id)
    }

    pub fn key(&self) -> Option<StockLevelKey> {
        self.state.as_ref().map(|s| s.key)
    }

    /// Units physically at the location, reserved or not.
    pub fn on_hand(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.on_hand)
    }

    /// Units held by active reservations.
    pub fn reserved(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.reserved)
    }

    /// Units that can still be reserved.
    pub fn available(&self) -> u64 {
        self.on_hand().saturating_sub(self.reserved())
    }

    /// An active reservation; `None` once released, expired or committed.
    pub fn reservation(&self, reservation_id: ReservationId) -> Option<&Reservation> {
        self.state
            .as_ref()
            .and_then(|s| s.reservations.get(&reservation_id))
    }

    /// Where a reservation stands: active, or how it ended; `None` if this stock level never
    /// held it. For the order saga, to skip steps it already took.
    pub fn reservation_status(&self, id: ReservationId) -> Option<ReservationStatus> {
        let state = self.state.as_ref()?;
        match state.reservations.get(&id) {
            Some(reservation) => Some(ReservationStatus::Active(reservation.clone())),
            None => state
                .finished
                .get(&id)
                .copied()
                .map(ReservationStatus::from),
        }
    }

    /// The active reservations, by id.
    pub fn reservations(&self) -> impl Iterator<Item = &Reservation> {
        self.state.iter().flat_map(|s| s.reservations.values())
    }

    /// When the next active reservation falls due, for scheduling the expiry worker.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.reservations().map(|r| r.expires_at).min()
    }

    /// The stock level as the given tenant may see it: `Ok(None)` if it does not exist yet,
    /// not found if it belongs to someone else.
    fn visible(&self, tenant_id: TenantId) -> Result<Option<&StockState>, InventoryError> {
        match &self.state {
            Some(state) if state.tenant_id != tenant_id => Err(InventoryError::StockLevelNotFound),
            state => Ok(state.as_ref()),
        }
    }

    /// `on_hand` moved by `delta`, if that stays within zero and the limit.
    fn moved(on_hand: u64, delta: i64) -> Option<u64> {
        let after = i128::from(on_hand) + i128::from(delta);
        u64::try_from(after)
            .ok()
            .filter(|after| *after <= Self::MAX_ON_HAND)
    }

    fn decide(&self, command: StockLevelCommand) -> Result<Vec<StockLevelEvent>, InventoryError> {
        match command {
            StockLevelCommand::ReceiveStock {
                tenant_id,
                key,
                quantity,
                reference,
            } => {
                let on_hand = match self.visible(tenant_id)? {
                    Some(state) if state.key != key => {
                        return Err(InventoryError::KeyMismatch {
                            expected: state.key,
                            actual: key,
                        })
                    }
                    Some(state) => state.on_hand,
                    None => 0,
                };
                let delta = i64::from(quantity.get());
                let on_hand = Self::moved(on_hand, delta)
                    .ok_or(InventoryError::StockLimitExceeded { on_hand, delta })?;
                Ok(vec![StockLevelEvent::StockReceived {
                    tenant_id,
                    location_id: key.location_id,
                    variant_id: key.variant_id,
                    quantity,
                    reference,
                    on_hand,
                }])
            }
            StockLevelCommand::AdjustStock {
                tenant_id,
                delta,
                reason,
                note,
            } => {
                let state = self
                    .visible(tenant_id)?
                    .ok_or(InventoryError::StockLevelNotFound)?;
                let (on_hand, reserved) = (state.on_hand, state.reserved);
                let after = i128::from(on_hand) + i128::from(delta.get());
                // Reserved units are promised to carts: a correction may not take them away.
                if after < i128::from(reserved) {
                    return Err(InventoryError::InsufficientStock {
                        on_hand,
                        reserved,
                        delta: delta.get(),
                    });
                }
                let on_hand = Self::moved(on_hand, delta.get()).ok_or(
                    InventoryError::StockLimitExceeded {
                        on_hand,
                        delta: delta.get(),
                    },
                )?;
                Ok(vec![StockLevelEvent::StockAdjusted {
                    location_id: state.key.location_id,
                    variant_id: state.key.variant_id,
                    delta,
                    reason,
                    note,
                    on_hand,
                }])
            }
            StockLevelCommand::ReserveStock {
                tenant_id,
                reservation_id,
                cart_id,
                quantity,
                expires_at,
                now,
            } => {
                let state = self.visible(tenant_id)?;
                if expires_at <= now {
                    return Err(InventoryError::ExpiryNotInFuture { expires_at, now });
                }
                let requested = quantity.get();
                // A variant never stocked here is sold out, not unknown: carts ask by variant.
                let Some(state) = state else {
                    return Err(InventoryError::OutOfStock {
                        requested,
                        available: 0,
                    });
                };
                if state.reservations.contains_key(&reservation_id)
                    || state.finished.contains_key(&reservation_id)
                {
                    return Err(InventoryError::ReservationAlreadyExists(reservation_id));
                }
                let mut events = state.expire_due(now);
                let reserved = match events.last() {
                    Some(StockLevelEvent::ReservationExpired { reserved, .. }) => *reserved,
                    _ => state.reserved,
                };
                let available = state.on_hand.saturating_sub(reserved);
                if u64::from(requested) > available {
                    return Err(InventoryError::OutOfStock {
                        requested,
                        available,
                    });
                }
                events.push(StockLevelEvent::StockReserved {
                    location_id: state.key.location_id,
                    variant_id: state.key.variant_id,
                    reservation_id,
                    cart_id,
                    quantity,
                    expires_at,
                    reserved: reserved + u64::from(requested),
                });
                Ok(events)
            }
            StockLevelCommand::ReleaseReservation {
                tenant_id,
                reservation_id,
            } => {
                let not_found = || InventoryError::ReservationNotFound(reservation_id);
                let state = self.visible(tenant_id)?.ok_or_else(not_found)?;
                let reservation = state
                    .reservations
                    .get(&reservation_id)
                    .ok_or_else(not_found)?;
                Ok(vec![StockLevelEvent::ReservationReleased {
                    location_id: state.key.location_id,
                    variant_id: state.key.variant_id,
                    reservation_id,
                    quantity: reservation.quantity,
                    reserved: state
                        .reserved
                        .saturating_sub(u64::from(reservation.quantity.get())),
                }])
            }
            StockLevelCommand::CommitReservation {
                tenant_id,
                reservation_id,
                order_id,
                now,
            } => {
                let not_found = || InventoryError::ReservationNotFound(reservation_id);
                let state = self.visible(tenant_id)?.ok_or_else(not_found)?;
                let expired = |expired_at| InventoryError::ReservationExpired {
                    reservation_id,
                    expired_at,
                };
                let Some(reservation) = state.reservations.get(&reservation_id) else {
                    return match state.finished.get(&reservation_id) {
                        // The saga repeated a step it already took.
                        Some(Outcome::Committed { order_id: to, .. }) if *to == order_id => {
                            Ok(vec![])
                        }
                        // Tell an order whose reservation the worker expired why it cannot commit.
                        Some(Outcome::Expired { at }) => Err(expired(*at)),
                        _ => Err(not_found()),
                    };
                };
                // Due but not yet swept by the worker: the units are no longer promised.
                if reservation.expires_at <= now {
                    return Err(expired(reservation.expires_at));
                }
                let units = u64::from(reservation.quantity.get());
                Ok(vec![StockLevelEvent::ReservationCommitted {
                    location_id: state.key.location_id,
                    variant_id: state.key.variant_id,
                    reservation_id,
                    order_id,
                    quantity: reservation.quantity,
                    on_hand: state.on_hand.saturating_sub(units),
                    reserved: state.reserved.saturating_sub(units),
                }])
            }
            StockLevelCommand::ExpireReservations { tenant_id, now } => Ok(self
                .visible(tenant_id)?
                .map_or_else(Vec::new, |state| state.expire_due(now))),
            StockLevelCommand::RestockCancelledOrder {
                tenant_id,
                reservation_id,
                order_id,
            } => {
                let not_committed = || InventoryError::ReservationNotCommitted(reservation_id);
                let state = self.visible(tenant_id)?.ok_or_else(not_committed)?;
                let quantity = match state.finished.get(&reservation_id) {
                    Some(Outcome::Committed {
                        order_id: to,
                        quantity,
                    }) if *to == order_id => *quantity,
                    // Already back on hand: the saga repeated a step it already took.
                    Some(Outcome::Restocked { order_id: to }) if *to == order_id => {
                        return Ok(vec![])
                    }
                    _ => return Err(not_committed()),
                };
                let on_hand = state.on_hand;
                let delta = i64::from(quantity.get());
                let on_hand = Self::moved(on_hand, delta)
                    .ok_or(InventoryError::StockLimitExceeded { on_hand, delta })?;
                Ok(vec![StockLevelEvent::ReservationRestocked {
                    location_id: state.key.location_id,
                    variant_id: state.key.variant_id,
                    reservation_id,
                    order_id,
                    quantity,
                    on_hand,
                }])
            }
        }
    }
}

impl Aggregate for StockLevel {
    const TYPE: &'static str = "inventory.stock_level";
    type Command = StockLevelCommand;
    type Event = StockLevelEvent;
    type Error = InventoryError;
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

    // The totals in an event are the facts after it; applying takes them as they are.
    fn apply(&mut self, event: Self::Event) {
        if let StockLevelEvent::StockReceived {
            tenant_id,
            location_id,
            variant_id,
            ..
        } = &event
        {
            self.state.get_or_insert_with(|| StockState {
                tenant_id: *tenant_id,
                key: StockLevelKey {
                    location_id: *location_id,
                    variant_id: *variant_id,
                },
                on_hand: 0,
                reserved: 0,
                reservations: BTreeMap::new(),
                finished: BTreeMap::new(),
            });
        }
        let Some(state) = &mut self.state else {
            return;
        };
        match event {
            StockLevelEvent::StockReceived { on_hand, .. }
            | StockLevelEvent::StockAdjusted { on_hand, .. } => state.on_hand = on_hand,
            StockLevelEvent::StockReserved {
                reservation_id,
                cart_id,
                quantity,
                expires_at,
                reserved,
                ..
            } => {
                state.reservations.insert(
                    reservation_id,
                    Reservation {
                        reservation_id,
                        cart_id,
                        quantity,
                        expires_at,
                    },
                );
                state.reserved = reserved;
            }
            StockLevelEvent::ReservationReleased {
                reservation_id,
                reserved,
                ..
            } => {
                state.end(reservation_id, Outcome::Released);
                state.reserved = reserved;
            }
            StockLevelEvent::ReservationExpired {
                reservation_id,
                expires_at,
                reserved,
                ..
            } => {
                state.end(reservation_id, Outcome::Expired { at: expires_at });
                state.reserved = reserved;
            }
            StockLevelEvent::ReservationCommitted {
                reservation_id,
                order_id,
                quantity,
                on_hand,
                reserved,
                ..
            } => {
                state.end(reservation_id, Outcome::Committed { order_id, quantity });
                state.on_hand = on_hand;
                state.reserved = reserved;
            }
            StockLevelEvent::ReservationRestocked {
                reservation_id,
                order_id,
                on_hand,
                ..
            } => {
                state.end(reservation_id, Outcome::Restocked { order_id });
                state.on_hand = on_hand;
            }
        }
    }
}

#[cfg(test)]
mod tests;
