use super::*;
use crate::error::ValueError;
use crate::samples;
use cqrs_es::test::TestFramework;
use serde_json::json;
use uuid::Uuid;

type Fixture = TestFramework<StockLevel>;

fn tenant() -> TenantId {
    samples::tenant_id()
}

fn key() -> StockLevelKey {
    samples::stock_level_key()
}

fn loc() -> LocationId {
    key().location_id
}

fn var() -> VariantId {
    key().variant_id
}

fn cart() -> CartId {
    samples::cart_id()
}

fn order() -> OrderId {
    samples::order_id()
}

/// An order other than `order()`.
fn other_order() -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0702))
}

/// Fixed, distinct reservation ids (UUIDv7).
fn rid(n: u16) -> ReservationId {
    ReservationId::from_uuid(Uuid::from_u128(
        0x0192_6f3a_1b2c_7d4e_8f10_0000_0001_0000 + u128::from(n),
    ))
}

/// `minutes` after a fixed instant.
fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + minutes * 60, 0).unwrap()
}

fn q(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

// --- commands

fn receive(n: u32, reference: Option<&str>) -> StockLevelCommand {
    StockLevelCommand::ReceiveStock {
        tenant_id: tenant(),
        key: key(),
        quantity: q(n),
        reference: reference.map(|r| ReceiptReference::new(r).unwrap()),
    }
}

fn adjust(delta: i64, reason: AdjustmentReason) -> StockLevelCommand {
    StockLevelCommand::AdjustStock {
        tenant_id: tenant(),
        delta: StockDelta::new(delta).unwrap(),
        reason,
        note: None,
    }
}

fn reserve(id: ReservationId, n: u32, expires_at: DateTime<Utc>) -> StockLevelCommand {
    StockLevelCommand::ReserveStock {
        tenant_id: tenant(),
        reservation_id: id,
        cart_id: cart(),
        quantity: q(n),
        expires_at,
        now: t(0),
    }
}

fn release(id: ReservationId) -> StockLevelCommand {
    StockLevelCommand::ReleaseReservation {
        tenant_id: tenant(),
        reservation_id: id,
    }
}

fn commit(id: ReservationId, now: DateTime<Utc>) -> StockLevelCommand {
    StockLevelCommand::CommitReservation {
        tenant_id: tenant(),
        reservation_id: id,
        order_id: order(),
        now,
    }
}

fn commit_to(id: ReservationId, order_id: OrderId, now: DateTime<Utc>) -> StockLevelCommand {
    StockLevelCommand::CommitReservation {
        tenant_id: tenant(),
        reservation_id: id,
        order_id,
        now,
    }
}

fn expire(now: DateTime<Utc>) -> StockLevelCommand {
    StockLevelCommand::ExpireReservations {
        tenant_id: tenant(),
        now,
    }
}

fn restock(id: ReservationId, order_id: OrderId) -> StockLevelCommand {
    StockLevelCommand::RestockCancelledOrder {
        tenant_id: tenant(),
        reservation_id: id,
        order_id,
    }
}

/// The same command, issued by another tenant.
fn foreign(mut command: StockLevelCommand) -> StockLevelCommand {
    let other = TenantId::new();
    match &mut command {
        StockLevelCommand::ReceiveStock { tenant_id, .. }
        | StockLevelCommand::AdjustStock { tenant_id, .. }
        | StockLevelCommand::ReserveStock { tenant_id, .. }
        | StockLevelCommand::ReleaseReservation { tenant_id, .. }
        | StockLevelCommand::CommitReservation { tenant_id, .. }
        | StockLevelCommand::ExpireReservations { tenant_id, .. }
        | StockLevelCommand::RestockCancelledOrder { tenant_id, .. } => *tenant_id = other,
    }
    command
}

// --- events

fn received(n: u32, on_hand: u64) -> StockLevelEvent {
    StockLevelEvent::StockReceived {
        tenant_id: tenant(),
        location_id: loc(),
        variant_id: var(),
        quantity: q(n),
        reference: None,
        on_hand,
    }
}

fn adjusted(delta: i64, reason: AdjustmentReason, on_hand: u64) -> StockLevelEvent {
    StockLevelEvent::StockAdjusted {
        location_id: loc(),
        variant_id: var(),
        delta: StockDelta::new(delta).unwrap(),
        reason,
        note: None,
        on_hand,
    }
}

fn reserved(id: ReservationId, n: u32, expires_at: DateTime<Utc>, total: u64) -> StockLevelEvent {
    StockLevelEvent::StockReserved {
        location_id: loc(),
        variant_id: var(),
        reservation_id: id,
        cart_id: cart(),
        quantity: q(n),
        expires_at,
        reserved: total,
    }
}

fn released(id: ReservationId, n: u32, total: u64) -> StockLevelEvent {
    StockLevelEvent::ReservationReleased {
        location_id: loc(),
        variant_id: var(),
        reservation_id: id,
        quantity: q(n),
        reserved: total,
    }
}

fn expired(id: ReservationId, n: u32, expires_at: DateTime<Utc>, total: u64) -> StockLevelEvent {
    StockLevelEvent::ReservationExpired {
        location_id: loc(),
        variant_id: var(),
        reservation_id: id,
        quantity: q(n),
        expires_at,
        reserved: total,
    }
}

fn committed(id: ReservationId, n: u32, on_hand: u64, total: u64) -> StockLevelEvent {
    StockLevelEvent::ReservationCommitted {
        location_id: loc(),
        variant_id: var(),
        reservation_id: id,
        order_id: order(),
        quantity: q(n),
        on_hand,
        reserved: total,
    }
}

fn restocked(id: ReservationId, n: u32, on_hand: u64) -> StockLevelEvent {
    StockLevelEvent::ReservationRestocked {
        location_id: loc(),
        variant_id: var(),
        reservation_id: id,
        order_id: order(),
        quantity: q(n),
        on_hand,
    }
}

/// Ten on hand, three of them reserved by `rid(1)` until minute 30.
fn ten_with_three_reserved() -> Vec<StockLevelEvent> {
    vec![received(10, 10), reserved(rid(1), 3, t(30), 3)]
}

fn replay(events: impl IntoIterator<Item = StockLevelEvent>) -> StockLevel {
    let mut level = StockLevel::default();
    for event in events {
        level.apply(event);
    }
    level
}

// --- ReceiveStock

#[test]
fn the_first_receipt_creates_the_stock_level() {
    Fixture::with(())
        .given_no_previous_events()
        .when(receive(12, Some("DN-2025-00042")))
        .then_expect_events(vec![StockLevelEvent::StockReceived {
            tenant_id: tenant(),
            location_id: loc(),
            variant_id: var(),
            quantity: q(12),
            reference: Some(ReceiptReference::new("DN-2025-00042").unwrap()),
            on_hand: 12,
        }]);
    let level = replay([received(12, 12)]);
    assert_eq!(level.tenant_id(), Some(tenant()));
    assert_eq!(level.key(), Some(key()));
    assert_eq!(level.on_hand(), 12);
}

#[test]
fn receipts_add_to_the_units_on_hand() {
    Fixture::with(())
        .given(ten_with_three_reserved())
        .when(receive(5, None))
        .then_expect_events(vec![received(5, 15)]);
}

#[test]
fn receiving_for_another_tenants_level_is_not_found() {
    Fixture::with(())
        .given(vec![received(10, 10)])
        .when(foreign(receive(5, None)))
        .then_expect_error(InventoryError::StockLevelNotFound);
}

#[test]
fn receiving_with_another_key_is_a_key_mismatch() {
    let other = StockLevelKey {
        location_id: LocationId::new(),
        ..key()
    };
    Fixture::with(())
        .given(vec![received(10, 10)])
        .when(StockLevelCommand::ReceiveStock {
            tenant_id: tenant(),
            key: other,
            quantity: q(1),
            reference: None,
        })
        .then_expect_error(InventoryError::KeyMismatch {
            expected: key(),
            actual: other,
        });
}

#[test]
fn stock_cannot_grow_beyond_what_an_avro_long_holds() {
    let max = StockLevel::MAX_ON_HAND;
    Fixture::with(())
        .given(vec![received(1, max - 1)])
        .when(receive(1, None))
        .then_expect_events(vec![received(1, max)]);
    Fixture::with(())
        .given(vec![received(1, max)])
        .when(receive(1, None))
        .then_expect_error(InventoryError::StockLimitExceeded {
            on_hand: max,
            delta: 1,
        });
    Fixture::with(())
        .given(vec![received(1, 1)])
        .when(adjust(i64::MAX, AdjustmentReason::Found))
        .then_expect_error(InventoryError::StockLimitExceeded {
            on_hand: 1,
            delta: i64::MAX,
        });
}

// --- AdjustStock

#[test]
fn an_adjustment_records_delta_reason_note_and_new_total() {
    Fixture::with(())
        .given(vec![received(10, 10)])
        .when(StockLevelCommand::AdjustStock {
            tenant_id: tenant(),
            delta: StockDelta::new(-2).unwrap(),
            reason: AdjustmentReason::Damaged,
            note: Some(AdjustmentNote::new("dropped in the workshop").unwrap()),
        })
        .then_expect_events(vec![StockLevelEvent::StockAdjusted {
            location_id: loc(),
            variant_id: var(),
            delta: StockDelta::new(-2).unwrap(),
            reason: AdjustmentReason::Damaged,
            note: Some(AdjustmentNote::new("dropped in the workshop").unwrap()),
            on_hand: 8,
        }]);
}

#[test]
fn found_units_are_added() {
    Fixture::with(())
        .given(vec![received(10, 10)])
        .when(adjust(3, AdjustmentReason::Found))
        .then_expect_events(vec![adjusted(3, AdjustmentReason::Found, 13)]);
}

#[test]
fn an_adjustment_may_go_down_to_the_reserved_units_but_not_below() {
    Fixture::with(())
        .given(ten_with_three_reserved())
        .when(adjust(-7, AdjustmentReason::Lost))
        .then_expect_events(vec![adjusted(-7, AdjustmentReason::Lost, 3)]);
    Fixture::with(())
        .given(ten_with_three_reserved())
        .when(adjust(-8, AdjustmentReason::Lost))
        .then_expect_error(InventoryError::InsufficientStock {
            on_hand: 10,
            reserved: 3,
            delta: -8,
        });
}

#[test]
fn an_adjustment_may_not_go_below_zero() {
    Fixture::with(())
        .given(vec![received(2, 2)])
        .when(adjust(-2, AdjustmentReason::CountCorrection))
        .then_expect_events(vec![adjusted(-2, AdjustmentReason::CountCorrection, 0)]);
    Fixture::with(())
        .given(vec![received(2, 2)])
        .when(adjust(i64::MIN, AdjustmentReason::CountCorrection))
        .then_expect_error(InventoryError::InsufficientStock {
            on_hand: 2,
            reserved: 0,
            delta: i64::MIN,
        });
}

#[test]
fn adjusting_an_unknown_or_foreign_level_is_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(adjust(1, AdjustmentReason::Found))
        .then_expect_error(InventoryError::StockLevelNotFound);
    Fixture::with(())
        .given(vec![received(10, 10)])
        .when(foreign(adjust(1, AdjustmentReason::Found)))
        .then_expect_error(InventoryError::StockLevelNotFound);
}

// --- ReserveStock

#[test]
fn a_reservation_holds_units_for_a_cart() {
    Fixture::with(())
        .given(vec![received(10, 10)])
        .when(reserve(rid(1), 3, t(30)))
        .then_expect_events(vec![reserved(rid(1), 3, t(30), 3)]);
    let level = replay(ten_with_three_reserved());
    assert_eq!(
        level.reservation(rid(1)),
        Some(&Reservation {
            reservation_id: rid(1),
            cart_id: cart(),
            quantity: q(3),
            expires_at: t(30),
        })
    );
    assert_eq!(
        (level.on_hand(), level.reserved(), level.available()),
        (10, 3, 7)
    );
}

#[test]
fn exactly_the_available_units_can_be_reserved_and_not_one_more() {
    Fixture::with(())
        .given(ten_with_three_reserved())
        .when(reserve(rid(2), 7, t(30)))
        .then_expect_events(vec![reserved(rid(2), 7, t(30), 10)]);
    Fixture::with(())
        .given(ten_with_three_reserved())
        .when(reserve(rid(2), 8, t(30)))
        .then_expect_error(InventoryError::OutOfStock {
            requested: 8,
            available: 7,
        });
    let mut events = ten_with_three_reserved();
    events.push(reserved(rid(2), 7, t(30), 10));
    Fixture::with(())
        .given(events.clone())
        .when(reserve(rid(3), 1, t(30)))
        .then_expect_error(InventoryError::OutOfStock {
            requested: 1,
            available: 0,
        });
    assert_eq!(replay(events).available(), 0);
}

#[test]
fn a_level_that_never_received_stock_is_out_of_stock() {
    Fixture::with(())
        .given_no_previous_events()
        .when(reserve(rid(1), 1, t(30)))
        .then_expect_error(InventoryError::OutOfStock {
            requested: 1,
            available: 0,
        });
}

#[test]
fn reserving_on_another_tenants_level_is_not_found() {
    Fixture::with(())
        .given(vec![received(10, 10)])
        .when(foreign(reserve(rid(1), 1, t(30))))
        .then_expect_error(InventoryError::StockLevelNotFound);
}

#[test]
fn a_reservation_must_expire_after_now() {
    for expires_at in [t(0), t(-1)] {
        Fixture::with(())
            .given(vec![received(10, 10)])
            .when(reserve(rid(1), 1, expires_at))
            .then_expect_error(InventoryError::ExpiryNotInFuture {
                expires_at,
                now: t(0),
            });
    }
    Fixture::with(())
        .given_no_previous_events()
        .when(reserve(rid(1), 1, t(0)))
        .then_expect_error(InventoryError::ExpiryNotInFuture {
            expires_at: t(0),
            now: t(0),
        });
}

#[test]
fn reservation_ids_are_never_reused() {
    let active = ten_with_three_reserved();
    let mut was_released = active.clone();
    was_released.push(released(rid(1), 3, 0));
    let mut was_expired = active.clone();
    was_expired.push(expired(rid(1), 3, t(30), 0));
    let mut was_committed = active.clone();
    was_committed.push(committed(rid(1), 3, 7, 0));
    for history in [active, was_released, was_expired, was_committed] {
        Fixture::with(())
            .given(history)
            .when(reserve(rid(1), 1, t(60)))
            .then_expect_error(InventoryError::ReservationAlreadyExists(rid(1)));
    }
}

#[test]
fn reservations_due_at_now_are_expired_before_a_new_one_is_counted() {
    let events = vec![
        received(4, 4),
        reserved(rid(1), 3, t(10), 3),
        reserved(rid(2), 1, t(30), 4),
    ];
    Fixture::with(())
        .given(events)
        .when(StockLevelCommand::ReserveStock {
            tenant_id: tenant(),
            reservation_id: rid(3),
            cart_id: cart(),
            quantity: q(3),
            expires_at: t(40),
            now: t(10),
        })
        .then_expect_events(vec![
            expired(rid(1), 3, t(10), 1),
            reserved(rid(3), 3, t(40), 4),
        ]);
}

// --- ReleaseReservation

#[test]
fn releasing_gives_the_units_back() {
    Fixture::with(())
        .given(ten_with_three_reserved())
        .when(release(rid(1)))
        .then_expect_events(vec![released(rid(1), 3, 0)]);
    let mut events = ten_with_three_reserved();
    events.push(released(rid(1), 3, 0));
    let level = replay(events.clone());
    assert_eq!((level.reserved(), level.available()), (0, 10));
    assert_eq!(level.reservation(rid(1)), None);
    Fixture::with(())
        .given(events)
        .when(reserve(rid(2), 10, t(30)))
        .then_expect_events(vec![reserved(rid(2), 10, t(30), 10)]);
}

#[test]
fn releasing_an_unknown_or_finished_reservation_is_not_found() {
    Fixture::with(())
        .given(ten_with_three_reserved())
        .when(release(rid(2)))
        .then_expect_error(InventoryError::ReservationNotFound(rid(2)));
    Fixture::with(())
        .given_no_previous_events()
        .when(release(rid(1)))
        .then_expect_error(InventoryError::ReservationNotFound(rid(1)));
    let mut events = ten_with_three_reserved();
    events.push(released(rid(1), 3, 0));
    Fixture::with(())
        .given(events)
        .when(release(rid(1)))
        .then_expect_error(InventoryError::ReservationNotFound(rid(1)));
    let mut events = ten_with_three_reserved();
    events.push(expired(rid(1), 3, t(30), 0));
    Fixture::with(())
        .given(events)
        .when(release(rid(1)))
        .then_expect_error(InventoryError::ReservationNotFound(rid(1)));
}

#[test]
fn releasing_on_another_tenants_level_is_not_found() {
    Fixture::with(())
        .given(ten_with_three_reserved())
        .when(foreign(release(rid(1))))
        .then_expect_error(InventoryError::StockLevelNotFound);
}

// --- CommitReservation

#[test]
fn committing_hands_the_units_to_the_order() {
    Fixture::with(())
        .given(ten_with_three_reserved())
        .when(commit(rid(1), t(29)))
        .then_expect_events(vec![committed(rid(1), 3, 7, 0)]);
    let mut events = ten_with_three_reserved();
    events.push(committed(rid(1), 3, 7, 0));
    let level = replay(events);
    assert_eq!(
        (level.on_hand(), level.reserved(), level.available()),
        (7, 0, 7)
    );
    assert_eq!(level.reservation(rid(1)), None);
}

#[test]
fn a_reservation_due_at_now_cannot_be_committed_even_before_the_worker_expired_it() {
    for now in [t(30), t(31)] {
        Fixture::with(())
            .given(ten_with_three_reserved())
            .when(commit(rid(1), now))
            .then_expect_error(InventoryError::ReservationExpired {
                reservation_id: rid(1),
                expired_at: t(30),
            });
    }
}

#[test]
fn committing_a_reservation_the_worker_expired_says_expired() {
    let mut events = ten_with_three_reserved();
    events.push(expired(rid(1), 3, t(30), 0));
    Fixture::with(())
        .given(events)
        .when(commit(rid(1), t(31)))
        .then_expect_error(InventoryError::ReservationExpired {
            reservation_id: rid(1),
            expired_at: t(30),
        });
}

#[test]
fn committing_an_unknown_released_or_restocked_reservation_is_not_found() {
    Fixture::with(())
        .given(ten_with_three_reserved())
        .when(commit(rid(2), t(1)))
        .then_expect_error(InventoryError::ReservationNotFound(rid(2)));
    Fixture::with(())
        .given_no_previous_events()
        .when(commit(rid(1), t(1)))
        .then_expect_error(InventoryError::ReservationNotFound(rid(1)));
    for finished in [
        vec![released(rid(1), 3, 0)],
        vec![committed(rid(1), 3, 7, 0), restocked(rid(1), 3, 10)],
    ] {
        let mut events = ten_with_three_reserved();
        events.extend(finished);
        Fixture::with(())
            .given(events)
            .when(commit(rid(1), t(1)))
            .then_expect_error(InventoryError::ReservationNotFound(rid(1)));
    }
}

#[test]
fn committing_again_to_the_same_order_changes_nothing() {
    let mut events = ten_with_three_reserved();
    events.push(committed(rid(1), 3, 7, 0));
    // Even after the reservation would have expired: the units already belong to the order.
    for now in [t(1), t(60)] {
        Fixture::with(())
            .given(events.clone())
            .when(commit(rid(1), now))
            .then_expect_events(vec![]);
    }
}

#[test]
fn committing_a_reservation_committed_to_another_order_is_not_found() {
    let mut events = ten_with_three_reserved();
    events.push(committed(rid(1), 3, 7, 0));
    Fixture::with(())
        .given(events)
        .when(commit_to(rid(1), other_order(), t(1)))
        .then_expect_error(InventoryError::ReservationNotFound(rid(1)));
}

#[test]
fn committing_on_another_tenants_level_is_not_found() {
    Fixture::with(())
        .given(ten_with_three_reserved())
        .when(foreign(commit(rid(1), t(1))))
        .then_expect_error(InventoryError::StockLevelNotFound);
}

// --- RestockCancelledOrder

/// `ten_with_three_reserved`, then `rid(1)` committed to `order()`: seven on hand.
fn three_committed() -> Vec<StockLevelEvent> {
    let mut events = ten_with_three_reserved();
    events.push(committed(rid(1), 3, 7, 0));
    events
}

#[test]
fn restocking_puts_the_committed_units_back_on_hand() {
    Fixture::with(())
        .given(three_committed())
        .when(restock(rid(1), order()))
        .then_expect_events(vec![restocked(rid(1), 3, 10)]);
    let level = replay(
        three_committed()
            .into_iter()
            .chain([restocked(rid(1), 3, 10)]),
    );
    assert_eq!(
        (level.on_hand(), level.reserved(), level.available()),
        (10, 0, 10)
    );
    assert_eq!(level.reservation(rid(1)), None);
}

#[test]
fn restocked_units_are_counted_with_the_reservations_held_since() {
    let events: Vec<_> = three_committed()
        .into_iter()
        .chain([reserved(rid(2), 7, t(30), 7)])
        .collect();
    Fixture::with(())
        .given(events.clone())
        .when(restock(rid(1), order()))
        .then_expect_events(vec![restocked(rid(1), 3, 10)]);
    let level = replay(events.into_iter().chain([restocked(rid(1), 3, 10)]));
    assert_eq!(
        (level.on_hand(), level.reserved(), level.available()),
        (10, 7, 3)
    );
}

#[test]
fn restocking_twice_changes_nothing() {
    let events: Vec<_> = three_committed()
        .into_iter()
        .chain([restocked(rid(1), 3, 10)])
        .collect();
    Fixture::with(())
        .given(events)
        .when(restock(rid(1), order()))
        .then_expect_events(vec![]);
}

#[test]
fn only_a_committed_reservation_can_be_restocked() {
    let active = ten_with_three_reserved();
    let was_released: Vec<_> = active
        .iter()
        .cloned()
        .chain([released(rid(1), 3, 0)])
        .collect();
    let was_expired: Vec<_> = active
        .iter()
        .cloned()
        .chain([expired(rid(1), 3, t(30), 0)])
        .collect();
    for history in [active, was_released, was_expired] {
        Fixture::with(())
            .given(history)
            .when(restock(rid(1), order()))
            .then_expect_error(InventoryError::ReservationNotCommitted(rid(1)));
    }
}

#[test]
fn restocking_a_reservation_never_made_is_rejected() {
    Fixture::with(())
        .given(three_committed())
        .when(restock(rid(2), order()))
        .then_expect_error(InventoryError::ReservationNotCommitted(rid(2)));
    Fixture::with(())
        .given_no_previous_events()
        .when(restock(rid(1), order()))
        .then_expect_error(InventoryError::ReservationNotCommitted(rid(1)));
}

#[test]
fn restocking_for_another_order_is_rejected() {
    Fixture::with(())
        .given(three_committed())
        .when(restock(rid(1), other_order()))
        .then_expect_error(InventoryError::ReservationNotCommitted(rid(1)));
    let events: Vec<_> = three_committed()
        .into_iter()
        .chain([restocked(rid(1), 3, 10)])
        .collect();
    Fixture::with(())
        .given(events)
        .when(restock(rid(1), other_order()))
        .then_expect_error(InventoryError::ReservationNotCommitted(rid(1)));
}

#[test]
fn restocking_cannot_grow_stock_beyond_the_limit() {
    let max = StockLevel::MAX_ON_HAND;
    let events = vec![
        received(1, max - 2),
        reserved(rid(1), 3, t(30), 3),
        committed(rid(1), 3, max - 5, 0),
        received(4, max - 1),
    ];
    Fixture::with(())
        .given(events)
        .when(restock(rid(1), order()))
        .then_expect_error(InventoryError::StockLimitExceeded {
            on_hand: max - 1,
            delta: 3,
        });
}

#[test]
fn restocking_on_another_tenants_level_is_not_found() {
    Fixture::with(())
        .given(three_committed())
        .when(foreign(restock(rid(1), order())))
        .then_expect_error(InventoryError::StockLevelNotFound);
}

// --- reservation_status

#[test]
fn reservation_status_tells_where_each_reservation_stands() {
    let level = replay([
        received(20, 20),
        reserved(rid(1), 1, t(30), 1),
        reserved(rid(2), 2, t(10), 3),
        reserved(rid(3), 3, t(30), 6),
        reserved(rid(4), 4, t(30), 10),
        reserved(rid(5), 5, t(30), 15),
        expired(rid(2), 2, t(10), 13),
        released(rid(3), 3, 10),
        committed(rid(4), 4, 16, 6),
        committed(rid(5), 5, 11, 1),
        restocked(rid(5), 5, 16),
    ]);
    assert_eq!(
        level.reservation_status(rid(1)),
        Some(ReservationStatus::Active(Reservation {
            reservation_id: rid(1),
            cart_id: cart(),
            quantity: q(1),
            expires_at: t(30),
        }))
    );
    assert_eq!(
        level.reservation_status(rid(2)),
        Some(ReservationStatus::Expired { at: t(10) })
    );
    assert_eq!(
        level.reservation_status(rid(3)),
        Some(ReservationStatus::Released)
    );
    assert_eq!(
        level.reservation_status(rid(4)),
        Some(ReservationStatus::Committed {
            order_id: order(),
            quantity: q(4),
        })
    );
    assert_eq!(
        level.reservation_status(rid(5)),
        Some(ReservationStatus::Restocked { order_id: order() })
    );
    assert_eq!(level.reservation_status(rid(6)), None);
    assert_eq!((level.on_hand(), level.reserved()), (16, 1));
    assert_eq!(StockLevel::default().reservation_status(rid(1)), None);
}

// --- ExpireReservations

fn three_reservations() -> Vec<StockLevelEvent> {
    vec![
        received(10, 10),
        reserved(rid(1), 3, t(30), 3),
        reserved(rid(2), 2, t(10), 5),
        reserved(rid(3), 1, t(20), 6),
    ]
}

#[test]
fn only_due_reservations_expire_in_expiry_order_and_now_counts_as_due() {
    Fixture::with(())
        .given(three_reservations())
        .when(expire(t(20)))
        .then_expect_events(vec![
            expired(rid(2), 2, t(10), 4),
            expired(rid(3), 1, t(20), 3),
        ]);
    let level = replay(three_reservations());
    assert_eq!(level.next_expiry(), Some(t(10)));
    let level = replay(
        three_reservations()
            .into_iter()
            .chain([expired(rid(2), 2, t(10), 4), expired(rid(3), 1, t(20), 3)]),
    );
    assert_eq!(level.next_expiry(), Some(t(30)));
    assert_eq!(
        level
            .reservations()
            .map(|r| r.reservation_id)
            .collect::<Vec<_>>(),
        [rid(1)]
    );
}

#[test]
fn expired_units_can_be_reserved_again() {
    let events: Vec<_> = three_reservations()
        .into_iter()
        .chain([expired(rid(2), 2, t(10), 4)])
        .collect();
    assert_eq!(replay(events.clone()).available(), 6);
    Fixture::with(())
        .given(events)
        .when(reserve(rid(4), 6, t(60)))
        .then_expect_events(vec![reserved(rid(4), 6, t(60), 10)]);
}

#[test]
fn nothing_due_expires_nothing() {
    Fixture::with(())
        .given(three_reservations())
        .when(expire(t(9)))
        .then_expect_events(vec![]);
    Fixture::with(())
        .given_no_previous_events()
        .when(expire(t(9)))
        .then_expect_events(vec![]);
    assert_eq!(replay([received(1, 1)]).next_expiry(), None);
}

#[test]
fn expiring_on_another_tenants_level_is_not_found() {
    Fixture::with(())
        .given(three_reservations())
        .when(foreign(expire(t(60))))
        .then_expect_error(InventoryError::StockLevelNotFound);
}

// --- shapes

#[test]
fn commands_name_their_tenant() {
    for command in [
        receive(1, None),
        adjust(1, AdjustmentReason::Found),
        reserve(rid(1), 1, t(1)),
        release(rid(1)),
        commit(rid(1), t(0)),
        expire(t(0)),
        restock(rid(1), order()),
    ] {
        assert_eq!(command.tenant_id(), tenant());
        assert_ne!(foreign(command).tenant_id(), tenant());
    }
}

#[test]
fn an_empty_level_has_nothing() {
    let level = StockLevel::default();
    assert_eq!(level.tenant_id(), None);
    assert_eq!(level.key(), None);
    assert_eq!(
        (level.on_hand(), level.reserved(), level.available()),
        (0, 0, 0)
    );
    assert_eq!(level.reservations().count(), 0);
    assert_eq!(level.next_expiry(), None);
}

#[test]
fn aggregate_state_survives_a_snapshot_round_trip() {
    let level = replay(three_reservations().into_iter().chain([
        released(rid(2), 2, 4),
        expired(rid(3), 1, t(20), 3),
        committed(rid(1), 3, 7, 0),
        reserved(rid(4), 1, t(40), 1),
        committed(rid(4), 1, 6, 0),
        restocked(rid(4), 1, 7),
    ]));
    let json = serde_json::to_value(&level).unwrap();
    assert_eq!(serde_json::from_value::<StockLevel>(json).unwrap(), level);
}

#[test]
fn events_are_externally_tagged_with_inventory_event_types() {
    let event = received(10, 10);
    assert_eq!(event.event_type(), "inventory.stock.received");
    assert_eq!(event.event_version(), "1.0");
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({"StockReceived": {
            "tenant_id": tenant().to_string(),
            "location_id": loc().to_string(),
            "variant_id": var().to_string(),
            "quantity": 10,
            "reference": null,
            "on_hand": 10,
        }})
    );
    assert_eq!(StockLevel::TYPE, "inventory.stock_level");
}

#[test]
fn events_with_invalid_values_do_not_deserialise() {
    let zero_quantity = json!({"ReservationReleased": {
        "location_id": loc().to_string(),
        "variant_id": var().to_string(),
        "reservation_id": rid(1).to_string(),
        "quantity": 0,
        "reserved": 0,
    }});
    assert!(serde_json::from_value::<StockLevelEvent>(zero_quantity).is_err());
    let zero_delta = json!({"StockAdjusted": {
        "location_id": loc().to_string(),
        "variant_id": var().to_string(),
        "delta": 0,
        "reason": "lost",
        "note": null,
        "on_hand": 0,
    }});
    assert!(serde_json::from_value::<StockLevelEvent>(zero_delta).is_err());
    assert_eq!(Quantity::new(0), Err(ValueError::QuantityNotPositive));
}

// --- property: random command sequences never break the invariants

/// SplitMix64: a tiny deterministic generator, so failures replay from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn between(&mut self, min: i64, max: i64) -> i64 {
        min + i64::try_from(self.below(u64::try_from(max - min + 1).unwrap())).unwrap()
    }
}

fn random_command(rng: &mut Rng, now: DateTime<Utc>) -> StockLevelCommand {
    let id = rid(u16::try_from(rng.below(12)).unwrap());
    let n = u32::try_from(rng.between(1, 6)).unwrap();
    let command = match rng.below(8) {
        0 => receive(n, None),
        1 => {
            let sign = if rng.below(2) == 0 { -1 } else { 1 };
            adjust(sign * rng.between(1, 8), AdjustmentReason::CountCorrection)
        }
        2 | 3 => StockLevelCommand::ReserveStock {
            tenant_id: tenant(),
            reservation_id: id,
            cart_id: cart(),
            quantity: q(n),
            expires_at: now + chrono::Duration::minutes(rng.between(-2, 10)),
            now,
        },
        4 => release(id),
        5 => commit(id, now),
        6 => {
            // Mostly the order the reservation was committed to, sometimes another one.
            let order_id = if rng.below(4) == 0 {
                other_order()
            } else {
                order()
            };
            restock(id, order_id)
        }
        _ => expire(now),
    };
    if rng.below(20) == 0 {
        foreign(command)
    } else {
        command
    }
}

fn check_invariants(level: &StockLevel, seed: u64) {
    let sum: u64 = level
        .reservations()
        .map(|r| u64::from(r.quantity.get()))
        .sum();
    assert_eq!(level.reserved(), sum, "seed {seed}");
    assert!(level.on_hand() >= level.reserved(), "seed {seed}");
    assert_eq!(
        level.available(),
        level.on_hand() - level.reserved(),
        "seed {seed}"
    );
}

/// Units come back at most once per reservation, and only what was committed to that order.
fn check_restocks_exactly_once(history: &[StockLevelEvent], seed: u64) {
    let mut committed = std::collections::BTreeMap::new();
    for event in history {
        match event {
            StockLevelEvent::ReservationCommitted {
                reservation_id,
                order_id,
                quantity,
                ..
            } => {
                let previous = committed.insert(*reservation_id, (*order_id, *quantity));
                assert_eq!(previous, None, "seed {seed}: committed once");
            }
            StockLevelEvent::ReservationRestocked {
                reservation_id,
                order_id,
                quantity,
                ..
            } => assert_eq!(
                committed.remove(reservation_id),
                Some((*order_id, *quantity)),
                "seed {seed}: restocks only a commit not yet restocked"
            ),
            _ => {}
        }
    }
}

#[test]
fn random_command_sequences_keep_on_hand_at_or_above_reserved() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..300 {
        let mut rng = Rng(seed);
        let mut level = StockLevel::default();
        let mut history = Vec::new();
        let mut now = t(0);
        for _ in 0..150 {
            now += chrono::Duration::minutes(rng.between(0, 2));
            let command = random_command(&mut rng, now);
            match level.decide(command.clone()) {
                Ok(events) => {
                    for event in events {
                        seen.insert(event.event_type());
                        level.apply(event.clone());
                        history.push(event);
                        check_invariants(&level, seed);
                    }
                }
                Err(error) => {
                    if command.tenant_id() != tenant() && level.tenant_id().is_some() {
                        assert_eq!(error, InventoryError::StockLevelNotFound, "seed {seed}");
                    }
                }
            }
        }
        check_restocks_exactly_once(&history, seed);
        assert_eq!(
            replay(history),
            level,
            "seed {seed}: replay is deterministic"
        );
    }
    assert_eq!(seen.len(), StockLevelEvent::EVENT_TYPES.len(), "{seen:?}");
}
