//! The order saga against real PostgreSQL and the real broker, and crypto-shredding checked
//! on the bytes partners receive.
use crate::helpers::{relay_config, spawn_pipeline, spawn_relay_task, Collector, Pipeline};
use optical_app::{
    App, NewOrder, NewReservation, OrderStep, PersonalData, Reader, ReservationTicket,
    ReservationWorkers, SagaEvent, WorkerConfig,
};
use optical_customers::{
    ContactPreferences, Contacts, Email, LicenceNumber, PatientDetails, PersonName, PhoneNumber,
    Prescriber, PrescriberName, PrescriptionDetails,
};
use optical_erp::demo::{self, DemoData};
use optical_inventory::ReservationStatus;
use optical_kernel::{
    CartId, EventMetadata, OrderId, PatientId, PrescriptionId, ReservationId, TenantId,
};
use optical_orders::{CancelReason, OrderStatus, PaymentMethod};
use optical_payments::{Actor, ConfirmationSource, PaymentReference, PaymentStatus};
use std::sync::Arc;
use std::time::Duration;

pub(crate) const WAIT: Duration = Duration::from_secs(30);

pub(crate) struct Shop {
    pub(crate) app: App,
    pub(crate) data: DemoData,
    _workers: ReservationWorkers,
}

pub(crate) async fn shop(pipeline: &Pipeline) -> Shop {
    let app = App::new(
        pipeline.db.pool(8),
        Arc::new(optical_kernel::SystemClock),
        PersonalData::ephemeral(),
    );
    let data = demo::seed_all(&app, 1).await.unwrap();
    let workers = ReservationWorkers::spawn(
        app.inventory.clone(),
        pipeline.db.url.clone(),
        optical_api::reservation_responder(),
        WorkerConfig::default(),
    );
    Shop {
        app,
        data,
        _workers: workers,
    }
}

pub(crate) fn meta(tenant: TenantId) -> EventMetadata {
    EventMetadata::new_request(tenant, chrono::Utc::now(), "test")
}

impl Shop {
    fn frame(&self) -> optical_kernel::VariantId {
        self.data.variants[0].variant_id
    }

    async fn reserve(&self, quantity: u32) -> ReservationId {
        self.reserve_variant(self.frame(), quantity).await
    }

    pub(crate) async fn reserve_variant(
        &self,
        variant_id: optical_kernel::VariantId,
        quantity: u32,
    ) -> ReservationId {
        let reservation_id = ReservationId::new();
        let ticket = self
            .app
            .inventory
            .request_reservation(
                NewReservation {
                    reservation_id,
                    cart_id: CartId::new(),
                    location_id: self.data.location,
                    variant_id,
                    quantity,
                    ttl_seconds: Some(600),
                },
                &meta(self.data.tenant),
                None,
            )
            .await
            .unwrap();
        let ReservationTicket::Queued(request) = ticket else {
            panic!("not queued: {ticket:?}")
        };
        // A wait may end early (the workers' listener connecting wakes every waiter): ask again.
        let mut answer = None;
        for _ in 0..10 {
            answer = self
                .app
                .inventory
                .await_answer(self.data.tenant, request, WAIT)
                .await
                .unwrap();
            if !matches!(answer, Some(optical_event_store::RequestState::Pending)) {
                break;
            }
        }
        assert!(
            matches!(answer, Some(optical_event_store::RequestState::Answered(ref r)) if r.status == 201),
            "{answer:?}"
        );
        reservation_id
    }

    async fn on_hand(&self) -> u64 {
        self.app
            .inventory
            .stock_level(self.data.tenant, self.data.location, self.frame())
            .await
            .unwrap()
            .unwrap()
            .on_hand()
    }

    async fn status(&self, reservation_id: ReservationId) -> Option<ReservationStatus> {
        self.app
            .inventory
            .stock_level(self.data.tenant, self.data.location, self.frame())
            .await
            .unwrap()
            .unwrap()
            .reservation_status(reservation_id)
    }

    pub(crate) async fn order_status(&self, order_id: OrderId) -> Option<OrderStatus> {
        self.app
            .orders
            .order(self.data.tenant, order_id)
            .await
            .unwrap()
            .and_then(|o| o.status())
    }

    async fn payment_status(&self, order_id: OrderId) -> Option<PaymentStatus> {
        self.app
            .payments
            .payment(self.data.tenant, order_id)
            .await
            .unwrap()
            .and_then(|p| p.status())
    }

    pub(crate) async fn place(
        &self,
        reservations: Vec<ReservationId>,
        patient: Option<(PatientId, PrescriptionId)>,
    ) -> OrderId {
        let order_id = OrderId::new();
        self.app
            .orders
            .place(
                NewOrder {
                    order_id,
                    store_id: self.data.store,
                    payment_method: PaymentMethod::BankTransfer,
                    reservations,
                    patient_id: patient.map(|p| p.0),
                    prescription_id: patient.map(|p| p.1),
                },
                &meta(self.data.tenant),
                None,
            )
            .await
            .unwrap();
        order_id
    }

    pub(crate) async fn confirm_transfer(&self, order_id: OrderId) {
        let amount = self
            .app
            .orders
            .order(self.data.tenant, order_id)
            .await
            .unwrap()
            .unwrap()
            .total()
            .unwrap();
        self.app
            .payments
            .confirm_transfer(
                order_id,
                ConfirmationSource::Staff {
                    actor: Actor::new("cashier-1").unwrap(),
                },
                PaymentReference::new("BANK-REF-1").unwrap(),
                amount,
                &meta(self.data.tenant),
                None,
            )
            .await
            .unwrap();
    }

    pub(crate) async fn cancel(&self, order_id: OrderId) {
        self.app
            .orders
            .transition(
                order_id,
                OrderStep::Cancel(CancelReason::new("customer changed their mind").unwrap()),
                &meta(self.data.tenant),
                None,
            )
            .await
            .unwrap();
    }
}

/// Events of one stream, oldest first: (event id, type).
pub(crate) async fn stream(pipeline: &Pipeline, aggregate_id: &str) -> Vec<(uuid::Uuid, String)> {
    let client = pipeline.db.client().await;
    client
        .query(
            "SELECT event_id, event_type FROM events WHERE aggregate_id = $1 ORDER BY sequence",
            &[&aggregate_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn count_events(pipeline: &Pipeline, event_type: &str) -> i64 {
    let client = pipeline.db.client().await;
    client
        .query_one(
            "SELECT count(*) FROM events WHERE event_type = $1",
            &[&event_type],
        )
        .await
        .unwrap()
        .get(0)
}

/// The saga event for the last event of `event_type` in a stream, as the headers carry it.
pub(crate) async fn saga_event(
    pipeline: &Pipeline,
    tenant: TenantId,
    aggregate_id: &str,
    event_type: &str,
) -> SagaEvent {
    let (event_id, _) = stream(pipeline, aggregate_id)
        .await
        .into_iter()
        .rev()
        .find(|(_, t)| t == event_type)
        .unwrap_or_else(|| panic!("no {event_type} in {aggregate_id}"));
    SagaEvent {
        event_id,
        event_type: event_type.to_owned(),
        tenant_id: tenant,
        aggregate_id: aggregate_id.to_owned(),
        correlation_id: None,
        traceparent: None,
    }
}

pub(crate) struct SagaTask(tokio::task::JoinHandle<()>);

impl Drop for SagaTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) fn spawn_saga(pipeline: &Pipeline, app: &App, instance: &str) -> SagaTask {
    let config = optical_erp::saga::SagaConfig {
        database_url: pipeline.db.url.clone(),
        kafka: pipeline.kafka.clone(),
        instance: instance.to_owned(),
        max_backoff: Duration::from_millis(500),
        standby_interval: Duration::from_millis(100),
    };
    SagaTask(tokio::spawn(optical_erp::saga::run(
        app.saga.clone(),
        config,
        std::future::pending(),
    )))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_after_payment_gives_stock_back_and_refunds_exactly_once_across_saga_restarts() {
    let pipeline = spawn_pipeline().await;
    let shop = shop(&pipeline).await;
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "saga-test"));
    let saga = spawn_saga(&pipeline, &shop.app, "first");
    let before = shop.on_hand().await;
    let reservation = shop.reserve(2).await;
    let order = shop.place(vec![reservation], None).await;

    // Placed → the saga commits the reservation and requests the payment.
    assert!(
        optical_testkit::eventually(WAIT, || async {
            shop.payment_status(order).await == Some(PaymentStatus::Requested)
        })
        .await
    );
    assert!(matches!(
        shop.status(reservation).await,
        Some(ReservationStatus::Committed { .. })
    ));
    assert_eq!(shop.on_hand().await, before - 2);

    shop.confirm_transfer(order).await;
    assert!(
        optical_testkit::eventually(WAIT, || async {
            shop.order_status(order).await == Some(OrderStatus::Paid)
        })
        .await
    );

    shop.cancel(order).await;
    assert!(
        optical_testkit::eventually(WAIT, || async {
            shop.payment_status(order).await == Some(PaymentStatus::Refunded)
                && shop.on_hand().await == before
        })
        .await,
        "stock back and refund recorded"
    );

    // The saga dies and comes back having lost every saved offset: it re-handles the whole
    // history, and nothing is done twice.
    drop(saga);
    let client = pipeline.db.client().await;
    client
        .execute("DELETE FROM consumer_offsets", &[])
        .await
        .unwrap();
    let events_before = client
        .query_one("SELECT count(*) FROM events", &[])
        .await
        .unwrap()
        .get::<_, i64>(0);
    // Every message the saga reads is in the log (the relay published them all above).
    let messages: i64 = client
        .query_one(
            "SELECT count(*) FROM events WHERE aggregate_type IN ('orders.order', 'payments.payment')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let _again = spawn_saga(&pipeline, &shop.app, "second");
    assert!(
        optical_testkit::eventually(WAIT, || async {
            let saved: i64 = client
                .query_one(
                    "SELECT coalesce(sum(next_offset), 0)::int8 FROM consumer_offsets",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            saved >= messages
        })
        .await,
        "the restarted saga handled the whole history"
    );
    let events_after: i64 = client
        .query_one("SELECT count(*) FROM events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(events_after, events_before, "a re-run appended nothing");
    assert_eq!(shop.on_hand().await, before);
    assert_eq!(
        count_events(&pipeline, "payments.payment.refunded").await,
        1
    );
    assert_eq!(
        count_events(&pipeline, "inventory.reservation.restocked").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saga_killed_between_compensation_steps_completes_the_rest_once() {
    let pipeline = spawn_pipeline().await;
    let shop = shop(&pipeline).await;
    let tenant = shop.data.tenant;
    let before = shop.on_hand().await;
    let reservation = shop.reserve(1).await;
    let order = shop.place(vec![reservation], None).await;
    let order_id = order.to_string();
    let payment_id = optical_app::payment_id_of(order).to_string();
    let saga = &shop.app.saga;

    saga.handle(&saga_event(&pipeline, tenant, &order_id, "orders.order.placed").await)
        .await
        .unwrap();
    shop.confirm_transfer(order).await;
    saga.handle(&saga_event(&pipeline, tenant, &payment_id, "payments.payment.confirmed").await)
        .await
        .unwrap();
    assert_eq!(shop.order_status(order).await, Some(OrderStatus::Paid));
    shop.cancel(order).await;
    let cancelled = saga_event(&pipeline, tenant, &order_id, "orders.order.cancelled").await;

    // The first compensation step was durable when the saga died: the units are back.
    let key = optical_inventory::StockLevelKey {
        location_id: shop.data.location,
        variant_id: shop.frame(),
    };
    shop.app
        .inventory
        .restock(key, reservation, order, &meta(tenant))
        .await
        .unwrap();
    assert_eq!(shop.on_hand().await, before);
    // Redelivered (twice): the rest happens, once.
    saga.handle(&cancelled).await.unwrap();
    saga.handle(&cancelled).await.unwrap();
    assert_eq!(shop.on_hand().await, before, "restocked once");
    assert_eq!(
        shop.payment_status(order).await,
        Some(PaymentStatus::Refunded)
    );
    assert_eq!(
        count_events(&pipeline, "payments.payment.refunded").await,
        1
    );
    assert_eq!(
        count_events(&pipeline, "inventory.reservation.restocked").await,
        1
    );
    // A late, repeated payment confirmation for the cancelled order refunds nothing more.
    saga.handle(&saga_event(&pipeline, tenant, &payment_id, "payments.payment.confirmed").await)
        .await
        .unwrap();
    assert_eq!(
        count_events(&pipeline, "payments.payment.refunded").await,
        1
    );
}

pub(crate) fn patient_details(name: &str, email: &str) -> PatientDetails {
    PatientDetails {
        given_name: PersonName::new(name).unwrap(),
        family_name: PersonName::new("Quintessa-Marchetti").unwrap(),
        date_of_birth: chrono::NaiveDate::from_ymd_opt(1984, 3, 9).unwrap(),
        sex: None,
        contacts: Contacts {
            email: Some(Email::new(email).unwrap()),
            phone: Some(PhoneNumber::new("+4930123456789").unwrap()),
            address: None,
        },
        preferences: ContactPreferences::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_erasure_no_personal_data_can_be_read_from_the_log_or_the_topics() {
    let pipeline = spawn_pipeline().await;
    let shop = shop(&pipeline).await;
    let tenant = shop.data.tenant;
    let (name, email) = ("Zoëlinde", "zoelinde.qm@example.org");
    let patient = PatientId::new();
    shop.app
        .customers
        .register(patient, patient_details(name, email), &meta(tenant), None)
        .await
        .unwrap();
    let prescription = PrescriptionId::new();
    let today = chrono::Utc::now().date_naive();
    shop.app
        .customers
        .record_prescription(
            optical_app::NewPrescription {
                prescription_id: prescription,
                patient_id: patient,
                details: PrescriptionDetails {
                    refraction: optical_optics::samples::refraction(),
                    prescriber: Prescriber {
                        name: PrescriberName::new("Dr. Ottilie Brandtner").unwrap(),
                        licence_number: LicenceNumber::new("LIC-99812").unwrap(),
                    },
                },
                issued_on: today - chrono::Duration::days(10),
                expires_on: today + chrono::Duration::days(700),
            },
            &meta(tenant),
            None,
        )
        .await
        .unwrap();
    let reservation = shop.reserve(1).await;
    let order = shop
        .place(vec![reservation], Some((patient, prescription)))
        .await;
    let reader = Reader {
        tenant_id: tenant,
        actor: "test".into(),
        endpoint: "test".into(),
        request_id: None,
    };
    let read = shop
        .app
        .customers
        .patient(&reader, patient)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.details().unwrap().given_name.to_string(), name);

    shop.app
        .customers
        .erase(patient, &meta(tenant), None)
        .await
        .unwrap();
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "erasure"));
    let topics = [pipeline.topic("customers"), pipeline.topic("orders")];
    let received = Collector::start(&pipeline, &topics);
    // registered, prescription recorded, erased; the order placed.
    received.wait_for_distinct(4, WAIT).await;

    let secrets: [&[u8]; 5] = [
        name.as_bytes(),
        "Quintessa".as_bytes(),
        email.as_bytes(),
        "+4930123456789".as_bytes(),
        "Ottilie".as_bytes(),
    ];
    let contains = |bytes: &[u8], secret: &[u8]| bytes.windows(secret.len()).any(|w| w == secret);
    for message in received.snapshot() {
        for secret in secrets {
            assert!(
                !contains(&message.payload, secret),
                "{} carries personal data in clear",
                message.header("event_type")
            );
            for value in message.headers.values() {
                assert!(!contains(value.as_bytes(), secret));
            }
        }
    }
    // The sealed values on the topic can no longer be opened: their key is gone.
    let codec = crate::helpers::codec();
    let keys = optical_event_store::DataKeys::new(
        pipeline.db.pool(2),
        optical_event_store::MasterKeys::random("other"),
    );
    let mut sealed_values = 0;
    for message in received.snapshot() {
        let mut body = codec.decode(&message.payload).await.unwrap().body;
        sealed_values += optical_kernel::personal::subjects(&body).unwrap().len();
        keys.open_json(tenant, &mut body).await.unwrap();
        assert!(!body.to_string().contains(name));
    }
    assert!(
        sealed_values >= 3,
        "registration, prescription and order snapshots are sealed"
    );
    // Rows in the log: sealed, and replaying them yields erased data.
    let client = pipeline.db.client().await;
    for row in client
        .query("SELECT payload::text FROM events", &[])
        .await
        .unwrap()
    {
        let payload: String = row.get(0);
        for secret in secrets {
            assert!(!contains(payload.as_bytes(), secret));
        }
    }
    let erased = shop
        .app
        .customers
        .patient(&reader, patient)
        .await
        .unwrap()
        .unwrap();
    assert!(erased.is_erased());
    assert!(erased.details().is_none());
    let prescription = shop
        .app
        .customers
        .prescription(&reader, prescription)
        .await
        .unwrap()
        .unwrap();
    assert!(prescription.details().is_none());
    let order = shop.app.orders.order(tenant, order).await.unwrap().unwrap();
    assert!(order.has_erased_snapshots());
    let key: Option<Vec<u8>> = client
        .query_one(
            "SELECT wrapped_key FROM customers_data_keys WHERE patient_id = $1",
            &[patient.as_uuid()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(key, None, "the data key is destroyed");
    // Every read above was audited.
    let trail = shop
        .app
        .customers
        .access_trail(tenant, patient)
        .await
        .unwrap();
    assert_eq!(trail.len(), 3);
}
