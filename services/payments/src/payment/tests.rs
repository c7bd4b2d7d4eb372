use super::*;
use crate::samples;
use cqrs_es::test::TestFramework;
use optical_kernel::Currency;
use serde_json::json;
use uuid::Uuid;

type Fixture = TestFramework<Payment>;

fn tenant() -> TenantId {
    samples::tenant_id()
}

fn pid() -> PaymentId {
    samples::payment_id()
}

fn oid() -> OrderId {
    samples::order_id()
}

/// `minutes` after a fixed instant.
fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + minutes * 60, 0).unwrap()
}

fn eur(minor: i64) -> Money {
    samples::eur_minor(minor)
}

fn usd(minor: i64) -> Money {
    Money::new(minor, "USD".parse::<Currency>().unwrap()).unwrap()
}

/// The amount due in most tests.
const DUE: i64 = 25_980;

/// Fixed, distinct refund ids, name-based like the saga's.
fn rid(n: u8) -> RefundId {
    RefundId::new(Uuid::from_u128(
        0x8f4e_2a61_3c5d_5b7e_9a10_0000_0000_0000 + u128::from(n),
    ))
    .unwrap()
}

fn staff(actor: &str) -> ConfirmationSource {
    ConfirmationSource::Staff {
        actor: Actor::new(actor).unwrap(),
    }
}

fn provider(name: &str, event_id: &str) -> ConfirmationSource {
    ConfirmationSource::Provider {
        provider: ProviderName::new(name).unwrap(),
        provider_event_id: ProviderEventId::new(event_id).unwrap(),
    }
}

fn reference() -> PaymentReference {
    PaymentReference::new("ORDER 0701").unwrap()
}

// --- commands

fn request(method: PaymentMethod, amount: Money) -> PaymentCommand {
    PaymentCommand::RequestPayment {
        tenant_id: tenant(),
        payment_id: pid(),
        order_id: oid(),
        method,
        amount,
        now: t(0),
    }
}

fn confirm(source: ConfirmationSource, amount: Money) -> PaymentCommand {
    PaymentCommand::ConfirmBankTransfer {
        tenant_id: tenant(),
        source,
        reference: reference(),
        amount,
        now: t(60),
    }
}

fn collect(amount: Money) -> PaymentCommand {
    PaymentCommand::CollectCashOnDelivery {
        tenant_id: tenant(),
        collected_by: Actor::new("courier:4411").unwrap(),
        amount,
        now: t(60),
    }
}

fn refund(id: RefundId, amount: Money) -> PaymentCommand {
    PaymentCommand::Refund {
        tenant_id: tenant(),
        refund_id: id,
        amount,
        reason: RefundReason::new("returned").unwrap(),
        now: t(120),
    }
}

fn void() -> PaymentCommand {
    PaymentCommand::Void {
        tenant_id: tenant(),
        reason: VoidReason::new("order cancelled").unwrap(),
        now: t(30),
    }
}

/// The same command, issued by another tenant.
fn foreign(mut command: PaymentCommand) -> PaymentCommand {
    let other = TenantId::new();
    match &mut command {
        PaymentCommand::RequestPayment { tenant_id, .. }
        | PaymentCommand::ConfirmBankTransfer { tenant_id, .. }
        | PaymentCommand::CollectCashOnDelivery { tenant_id, .. }
        | PaymentCommand::Refund { tenant_id, .. }
        | PaymentCommand::Void { tenant_id, .. } => *tenant_id = other,
    }
    command
}

// --- events

fn requested(method: PaymentMethod, amount: Money) -> PaymentEvent {
    PaymentEvent::PaymentRequested {
        tenant_id: tenant(),
        payment_id: pid(),
        order_id: oid(),
        method,
        amount,
        requested_at: t(0),
    }
}

fn confirmed(source: ConfirmationSource, amount: Money) -> PaymentEvent {
    PaymentEvent::PaymentConfirmed {
        payment_id: pid(),
        order_id: oid(),
        source,
        reference: reference(),
        amount,
        confirmed_at: t(60),
    }
}

fn collected(amount: Money) -> PaymentEvent {
    PaymentEvent::PaymentCollected {
        payment_id: pid(),
        order_id: oid(),
        collected_by: Actor::new("courier:4411").unwrap(),
        amount,
        collected_at: t(60),
    }
}

fn refunded(id: RefundId, amount: Money, total: Money, status: PaymentStatus) -> PaymentEvent {
    PaymentEvent::PaymentRefunded {
        payment_id: pid(),
        order_id: oid(),
        refund_id: id,
        amount,
        reason: RefundReason::new("returned").unwrap(),
        refunded_total: total,
        status,
        refunded_at: t(120),
    }
}

fn voided() -> PaymentEvent {
    PaymentEvent::PaymentVoided {
        payment_id: pid(),
        order_id: oid(),
        reason: VoidReason::new("order cancelled").unwrap(),
        voided_at: t(30),
    }
}

// --- histories

fn bank_requested() -> Vec<PaymentEvent> {
    vec![requested(PaymentMethod::BankTransfer, eur(DUE))]
}

fn cod_requested() -> Vec<PaymentEvent> {
    vec![requested(PaymentMethod::Cod, eur(DUE))]
}

/// A bank transfer captured by the provider event `evt_1` of `acme`.
fn bank_captured() -> Vec<PaymentEvent> {
    let mut events = bank_requested();
    events.push(confirmed(provider("acme", "evt_1"), eur(DUE)));
    events
}

fn cod_captured() -> Vec<PaymentEvent> {
    let mut events = cod_requested();
    events.push(collected(eur(DUE)));
    events
}

/// Captured, then 1000 refunded by `rid(1)`.
fn partially_refunded() -> Vec<PaymentEvent> {
    let mut events = bank_captured();
    events.push(refunded(
        rid(1),
        eur(1_000),
        eur(1_000),
        PaymentStatus::PartiallyRefunded,
    ));
    events
}

fn fully_refunded() -> Vec<PaymentEvent> {
    let mut events = partially_refunded();
    events.push(refunded(
        rid(2),
        eur(DUE - 1_000),
        eur(DUE),
        PaymentStatus::Refunded,
    ));
    events
}

fn voided_history(mut events: Vec<PaymentEvent>) -> Vec<PaymentEvent> {
    events.push(voided());
    events
}

fn replay(events: impl IntoIterator<Item = PaymentEvent>) -> Payment {
    let mut payment = Payment::default();
    for event in events {
        payment.apply(event);
    }
    payment
}

// --- RequestPayment

#[test]
fn requesting_creates_the_payment() {
    Fixture::with(())
        .given_no_previous_events()
        .when(request(PaymentMethod::BankTransfer, eur(DUE)))
        .then_expect_events(bank_requested());
    let payment = replay(bank_requested());
    assert_eq!(payment.tenant_id(), Some(tenant()));
    assert_eq!(payment.payment_id(), Some(pid()));
    assert_eq!(payment.order_id(), Some(oid()));
    assert_eq!(payment.method(), Some(PaymentMethod::BankTransfer));
    assert_eq!(payment.status(), Some(PaymentStatus::Requested));
    assert_eq!(payment.amount_due(), Some(eur(DUE)));
    assert_eq!(payment.captured(), Some(eur(0)));
    assert_eq!(payment.refunded(), Some(eur(0)));
    assert_eq!(payment.refundable(), Some(eur(0)));
}

#[test]
fn cash_on_delivery_is_requested_the_same_way() {
    Fixture::with(())
        .given_no_previous_events()
        .when(request(PaymentMethod::Cod, eur(DUE)))
        .then_expect_events(cod_requested());
}

#[test]
fn repeating_the_same_request_is_a_no_op() {
    Fixture::with(())
        .given(bank_requested())
        .when(request(PaymentMethod::BankTransfer, eur(DUE)))
        .then_expect_events(vec![]);
    Fixture::with(())
        .given(fully_refunded())
        .when(request(PaymentMethod::BankTransfer, eur(DUE)))
        .then_expect_events(vec![]);
}

#[test]
fn a_request_with_other_terms_is_refused() {
    let mut other_order = request(PaymentMethod::BankTransfer, eur(DUE));
    if let PaymentCommand::RequestPayment { order_id, .. } = &mut other_order {
        *order_id = OrderId::new();
    }
    let mut other_payment = request(PaymentMethod::BankTransfer, eur(DUE));
    if let PaymentCommand::RequestPayment { payment_id, .. } = &mut other_payment {
        *payment_id = PaymentId::new();
    }
    for command in [
        request(PaymentMethod::Cod, eur(DUE)),
        request(PaymentMethod::BankTransfer, eur(DUE + 1)),
        request(PaymentMethod::BankTransfer, usd(DUE)),
        other_order,
        other_payment,
    ] {
        Fixture::with(())
            .given(bank_requested())
            .when(command)
            .then_expect_error(PaymentError::PaymentAlreadyRequested);
    }
}

#[test]
fn requesting_nothing_is_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(request(PaymentMethod::BankTransfer, eur(0)))
        .then_expect_error(PaymentError::AmountNotPositive(eur(0)));
}

#[test]
fn requesting_on_another_tenants_payment_is_not_found() {
    Fixture::with(())
        .given(bank_requested())
        .when(foreign(request(PaymentMethod::BankTransfer, eur(DUE))))
        .then_expect_error(PaymentError::PaymentNotFound);
}

// --- ConfirmBankTransfer

#[test]
fn staff_confirm_a_bank_transfer_for_the_amount_due() {
    Fixture::with(())
        .given(bank_requested())
        .when(confirm(staff("clerk"), eur(DUE)))
        .then_expect_events(vec![confirmed(staff("clerk"), eur(DUE))]);
    let mut events = bank_requested();
    events.push(confirmed(staff("clerk"), eur(DUE)));
    let payment = replay(events);
    assert_eq!(payment.status(), Some(PaymentStatus::Captured));
    assert_eq!(payment.captured(), Some(eur(DUE)));
    assert_eq!(payment.refundable(), Some(eur(DUE)));
}

#[test]
fn a_provider_webhook_confirms_a_bank_transfer() {
    Fixture::with(())
        .given(bank_requested())
        .when(confirm(provider("acme", "evt_1"), eur(DUE)))
        .then_expect_events(vec![confirmed(provider("acme", "evt_1"), eur(DUE))]);
}

#[test]
fn the_same_provider_event_delivered_again_is_a_no_op() {
    for history in [bank_captured(), partially_refunded(), fully_refunded()] {
        Fixture::with(())
            .given(history)
            .when(confirm(provider("acme", "evt_1"), eur(DUE)))
            .then_expect_events(vec![]);
    }
    // A redelivery is the same fact, whatever else it says.
    Fixture::with(())
        .given(bank_captured())
        .when(confirm(provider("acme", "evt_1"), eur(1)))
        .then_expect_events(vec![]);
}

#[test]
fn any_other_second_confirmation_is_already_captured() {
    let mut by_staff = bank_requested();
    by_staff.push(confirmed(staff("clerk"), eur(DUE)));
    for (history, source) in [
        (bank_captured(), provider("acme", "evt_2")),
        (bank_captured(), provider("other-bank", "evt_1")),
        (bank_captured(), staff("clerk")),
        (by_staff.clone(), staff("clerk")),
        (by_staff, provider("acme", "evt_1")),
        (fully_refunded(), staff("clerk")),
    ] {
        Fixture::with(())
            .given(history)
            .when(confirm(source, eur(DUE)))
            .then_expect_error(PaymentError::AlreadyCaptured);
    }
}

#[test]
fn a_confirmation_must_match_the_amount_due() {
    for offered in [eur(DUE - 1), eur(DUE + 1), usd(DUE)] {
        Fixture::with(())
            .given(bank_requested())
            .when(confirm(staff("clerk"), offered))
            .then_expect_error(PaymentError::AmountMismatch {
                due: eur(DUE),
                offered,
            });
    }
}

#[test]
fn cash_on_delivery_cannot_be_confirmed_as_a_transfer() {
    Fixture::with(())
        .given(cod_requested())
        .when(confirm(staff("clerk"), eur(DUE)))
        .then_expect_error(PaymentError::MethodMismatch {
            expected: PaymentMethod::BankTransfer,
            actual: PaymentMethod::Cod,
        });
}

#[test]
fn a_voided_payment_cannot_be_confirmed() {
    Fixture::with(())
        .given(voided_history(bank_requested()))
        .when(confirm(provider("acme", "evt_1"), eur(DUE)))
        .then_expect_error(PaymentError::PaymentVoided);
}

#[test]
fn confirming_an_unknown_or_foreign_payment_is_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(confirm(staff("clerk"), eur(DUE)))
        .then_expect_error(PaymentError::PaymentNotFound);
    Fixture::with(())
        .given(bank_requested())
        .when(foreign(confirm(staff("clerk"), eur(DUE))))
        .then_expect_error(PaymentError::PaymentNotFound);
}

// --- CollectCashOnDelivery

#[test]
fn cash_on_delivery_is_collected_for_the_amount_due() {
    Fixture::with(())
        .given(cod_requested())
        .when(collect(eur(DUE)))
        .then_expect_events(vec![collected(eur(DUE))]);
    let payment = replay(cod_captured());
    assert_eq!(payment.status(), Some(PaymentStatus::Captured));
    assert_eq!(payment.captured(), Some(eur(DUE)));
}

#[test]
fn a_collection_must_match_the_amount_due() {
    for offered in [eur(DUE - 1), eur(DUE + 1), usd(DUE)] {
        Fixture::with(())
            .given(cod_requested())
            .when(collect(offered))
            .then_expect_error(PaymentError::AmountMismatch {
                due: eur(DUE),
                offered,
            });
    }
}

#[test]
fn a_bank_transfer_cannot_be_collected() {
    Fixture::with(())
        .given(bank_requested())
        .when(collect(eur(DUE)))
        .then_expect_error(PaymentError::MethodMismatch {
            expected: PaymentMethod::Cod,
            actual: PaymentMethod::BankTransfer,
        });
}

#[test]
fn cash_is_collected_once() {
    Fixture::with(())
        .given(cod_captured())
        .when(collect(eur(DUE)))
        .then_expect_error(PaymentError::AlreadyCaptured);
}

#[test]
fn a_voided_payment_cannot_be_collected() {
    Fixture::with(())
        .given(voided_history(cod_requested()))
        .when(collect(eur(DUE)))
        .then_expect_error(PaymentError::PaymentVoided);
}

#[test]
fn collecting_an_unknown_or_foreign_payment_is_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(collect(eur(DUE)))
        .then_expect_error(PaymentError::PaymentNotFound);
    Fixture::with(())
        .given(cod_requested())
        .when(foreign(collect(eur(DUE))))
        .then_expect_error(PaymentError::PaymentNotFound);
}

// --- Refund

#[test]
fn a_partial_refund_leaves_the_payment_partially_refunded() {
    Fixture::with(())
        .given(bank_captured())
        .when(refund(rid(1), eur(1_000)))
        .then_expect_events(vec![refunded(
            rid(1),
            eur(1_000),
            eur(1_000),
            PaymentStatus::PartiallyRefunded,
        )]);
    let payment = replay(partially_refunded());
    assert_eq!(payment.status(), Some(PaymentStatus::PartiallyRefunded));
    assert_eq!(payment.refunded(), Some(eur(1_000)));
    assert_eq!(payment.refundable(), Some(eur(DUE - 1_000)));
    assert_eq!(payment.refund(rid(1)), Some(eur(1_000)));
    assert_eq!(payment.refund(rid(2)), None);
}

#[test]
fn refunding_the_rest_leaves_the_payment_refunded() {
    Fixture::with(())
        .given(partially_refunded())
        .when(refund(rid(2), eur(DUE - 1_000)))
        .then_expect_events(vec![refunded(
            rid(2),
            eur(DUE - 1_000),
            eur(DUE),
            PaymentStatus::Refunded,
        )]);
    let payment = replay(fully_refunded());
    assert_eq!(payment.status(), Some(PaymentStatus::Refunded));
    assert_eq!(payment.refunded(), Some(eur(DUE)));
    assert_eq!(payment.refundable(), Some(eur(0)));
}

#[test]
fn cash_collected_on_delivery_can_be_refunded_in_one_go() {
    Fixture::with(())
        .given(cod_captured())
        .when(refund(rid(1), eur(DUE)))
        .then_expect_events(vec![refunded(
            rid(1),
            eur(DUE),
            eur(DUE),
            PaymentStatus::Refunded,
        )]);
}

#[test]
fn the_same_refund_id_again_is_a_no_op() {
    Fixture::with(())
        .given(partially_refunded())
        .when(refund(rid(1), eur(1_000)))
        .then_expect_events(vec![]);
    Fixture::with(())
        .given(fully_refunded())
        .when(refund(rid(2), eur(DUE - 1_000)))
        .then_expect_events(vec![]);
}

#[test]
fn refunds_never_exceed_what_was_captured() {
    Fixture::with(())
        .given(bank_captured())
        .when(refund(rid(1), eur(DUE + 1)))
        .then_expect_error(PaymentError::RefundExceedsCaptured {
            captured: eur(DUE),
            refunded: eur(0),
            requested: eur(DUE + 1),
        });
    Fixture::with(())
        .given(partially_refunded())
        .when(refund(rid(2), eur(DUE - 999)))
        .then_expect_error(PaymentError::RefundExceedsCaptured {
            captured: eur(DUE),
            refunded: eur(1_000),
            requested: eur(DUE - 999),
        });
    Fixture::with(())
        .given(partially_refunded())
        .when(refund(rid(2), eur(i64::MAX)))
        .then_expect_error(PaymentError::RefundExceedsCaptured {
            captured: eur(DUE),
            refunded: eur(1_000),
            requested: eur(i64::MAX),
        });
    Fixture::with(())
        .given(fully_refunded())
        .when(refund(rid(3), eur(1)))
        .then_expect_error(PaymentError::RefundExceedsCaptured {
            captured: eur(DUE),
            refunded: eur(DUE),
            requested: eur(1),
        });
}

#[test]
fn a_refund_is_in_the_payments_currency_and_positive() {
    Fixture::with(())
        .given(bank_captured())
        .when(refund(rid(1), usd(100)))
        .then_expect_error(PaymentError::CurrencyMismatch {
            expected: samples::eur(),
            actual: "USD".parse().unwrap(),
        });
    Fixture::with(())
        .given(bank_captured())
        .when(refund(rid(1), eur(0)))
        .then_expect_error(PaymentError::AmountNotPositive(eur(0)));
}

#[test]
fn nothing_can_be_refunded_before_capture() {
    Fixture::with(())
        .given(bank_requested())
        .when(refund(rid(1), eur(100)))
        .then_expect_error(PaymentError::NotCaptured(PaymentStatus::Requested));
    Fixture::with(())
        .given(voided_history(cod_requested()))
        .when(refund(rid(1), eur(100)))
        .then_expect_error(PaymentError::PaymentVoided);
}

#[test]
fn refunding_an_unknown_or_foreign_payment_is_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(refund(rid(1), eur(100)))
        .then_expect_error(PaymentError::PaymentNotFound);
    Fixture::with(())
        .given(bank_captured())
        .when(foreign(refund(rid(1), eur(100))))
        .then_expect_error(PaymentError::PaymentNotFound);
}

// --- Void

#[test]
fn a_payment_is_voided_before_capture() {
    for history in [bank_requested(), cod_requested()] {
        Fixture::with(())
            .given(history)
            .when(void())
            .then_expect_events(vec![voided()]);
    }
    let payment = replay(voided_history(bank_requested()));
    assert_eq!(payment.status(), Some(PaymentStatus::Voided));
    assert_eq!(payment.captured(), Some(eur(0)));
}

#[test]
fn voiding_again_is_a_no_op() {
    Fixture::with(())
        .given(voided_history(bank_requested()))
        .when(void())
        .then_expect_events(vec![]);
}

#[test]
fn a_captured_payment_cannot_be_voided() {
    for history in [
        bank_captured(),
        cod_captured(),
        partially_refunded(),
        fully_refunded(),
    ] {
        Fixture::with(())
            .given(history)
            .when(void())
            .then_expect_error(PaymentError::AlreadyCaptured);
    }
}

#[test]
fn voiding_an_unknown_or_foreign_payment_is_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(void())
        .then_expect_error(PaymentError::PaymentNotFound);
    Fixture::with(())
        .given(bank_requested())
        .when(foreign(void()))
        .then_expect_error(PaymentError::PaymentNotFound);
}

// --- shapes

#[test]
fn commands_name_their_tenant() {
    for command in [
        request(PaymentMethod::Cod, eur(1)),
        confirm(staff("a"), eur(1)),
        collect(eur(1)),
        refund(rid(1), eur(1)),
        void(),
    ] {
        assert_eq!(command.tenant_id(), tenant());
        assert_ne!(foreign(command).tenant_id(), tenant());
    }
}

#[test]
fn an_unrequested_payment_has_nothing() {
    let payment = Payment::default();
    assert_eq!(payment.tenant_id(), None);
    assert_eq!(payment.payment_id(), None);
    assert_eq!(payment.order_id(), None);
    assert_eq!(payment.method(), None);
    assert_eq!(payment.status(), None);
    assert_eq!(payment.amount_due(), None);
    assert_eq!(payment.captured(), None);
    assert_eq!(payment.refunded(), None);
    assert_eq!(payment.refundable(), None);
    assert_eq!(payment.refund(rid(1)), None);
    // Events without a request before them change nothing.
    assert_eq!(replay([voided(), collected(eur(1))]), Payment::default());
}

#[test]
fn aggregate_state_survives_a_snapshot_round_trip() {
    let payment = replay(partially_refunded());
    let json = serde_json::to_value(&payment).unwrap();
    assert_eq!(serde_json::from_value::<Payment>(json).unwrap(), payment);
}

#[test]
fn events_are_externally_tagged_with_payments_event_types() {
    let event = confirmed(provider("acme", "evt_1"), eur(DUE));
    assert_eq!(event.event_type(), "payments.payment.confirmed");
    assert_eq!(event.event_version(), "1.0");
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({"PaymentConfirmed": {
            "payment_id": pid().to_string(),
            "order_id": oid().to_string(),
            "source": {"kind": "provider", "provider": "acme", "provider_event_id": "evt_1"},
            "reference": "ORDER 0701",
            "amount": {"amount_minor": DUE, "currency": "EUR"},
            "confirmed_at": "2025-06-15T16:06:40Z",
        }})
    );
    assert_eq!(Payment::TYPE, "payments.payment");
}

#[test]
fn events_with_invalid_values_do_not_deserialise() {
    let negative = json!({"PaymentCollected": {
        "payment_id": pid().to_string(),
        "order_id": oid().to_string(),
        "collected_by": "courier",
        "amount": {"amount_minor": -1, "currency": "EUR"},
        "collected_at": "2025-06-15T15:07:20Z",
    }});
    assert!(serde_json::from_value::<PaymentEvent>(negative).is_err());
    let empty_reason = json!({"PaymentVoided": {
        "payment_id": pid().to_string(),
        "order_id": oid().to_string(),
        "reason": " ",
        "voided_at": "2025-06-15T15:07:20Z",
    }});
    assert!(serde_json::from_value::<PaymentEvent>(empty_reason).is_err());
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
}

fn random_command(rng: &mut Rng) -> PaymentCommand {
    let amount = match rng.below(4) {
        0 => eur(DUE),
        1 => eur(i64::try_from(rng.below(DUE as u64 / 3)).unwrap()),
        2 => eur(i64::try_from(rng.below(DUE as u64 * 2)).unwrap()),
        _ => usd(DUE),
    };
    let method = if rng.below(2) == 0 {
        PaymentMethod::BankTransfer
    } else {
        PaymentMethod::Cod
    };
    let command = match rng.below(6) {
        0 => request(method, eur(DUE)),
        1 => confirm(provider("acme", &format!("evt_{}", rng.below(3))), amount),
        2 => collect(amount),
        3 | 4 => refund(rid(u8::try_from(rng.below(6)).unwrap()), amount),
        _ => void(),
    };
    if rng.below(20) == 0 {
        foreign(command)
    } else {
        command
    }
}

#[test]
fn random_command_sequences_never_refund_more_than_was_captured() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..300 {
        let mut rng = Rng(seed);
        let mut payment = Payment::default();
        let mut history = Vec::new();
        for _ in 0..40 {
            let command = random_command(&mut rng);
            match payment.decide(command.clone()) {
                Ok(events) => {
                    for event in events {
                        seen.insert(event.event_type());
                        payment.apply(event.clone());
                        history.push(event);
                    }
                }
                Err(error) => {
                    if command.tenant_id() != tenant() && payment.tenant_id().is_some() {
                        assert_eq!(error, PaymentError::PaymentNotFound, "seed {seed}");
                    }
                }
            }
            if let (Some(due), Some(captured), Some(refunded)) =
                (payment.amount_due(), payment.captured(), payment.refunded())
            {
                let status = payment.status().unwrap();
                assert!(
                    refunded.amount_minor() <= captured.amount_minor(),
                    "seed {seed}"
                );
                assert!(
                    captured.amount_minor() == 0 || captured == due,
                    "seed {seed}"
                );
                assert_eq!(
                    status.is_captured(),
                    captured.amount_minor() > 0,
                    "seed {seed}"
                );
                assert_eq!(
                    status == PaymentStatus::Refunded,
                    refunded == captured && status.is_captured(),
                    "seed {seed}"
                );
            }
        }
        assert_eq!(
            replay(history),
            payment,
            "seed {seed}: replay is deterministic"
        );
    }
    assert_eq!(seen.len(), PaymentEvent::EVENT_TYPES.len(), "{seen:?}");
}
