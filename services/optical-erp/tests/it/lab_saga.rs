//! The lab's process manager inside the order saga, against real PostgreSQL and the real
//! broker: a paid lens order becomes a work order, a completed work order makes the order
//! ready, a cancelled order stops the lab.
use crate::helpers::{relay_config, spawn_pipeline, spawn_relay_task, Pipeline};
use crate::orders_saga::{meta, patient_details, saga_event, shop, spawn_saga, stream, Shop, WAIT};
use optical_app::{work_order_id_of, LabStep, NewPrescription};
use optical_customers::{LicenceNumber, Prescriber, PrescriberName, PrescriptionDetails};
use optical_kernel::{OrderId, PatientId, PrescriptionId};
use optical_lab::{LabStage, Reason, WorkOrder, WorkOrderId};
use optical_optics::{Dioptres, MeasuredEye};
use optical_orders::OrderStatus;

/// A patient with the progressive sample prescription, valid for two years.
pub(crate) async fn patient(shop: &Shop) -> (PatientId, PrescriptionId) {
    let tenant = shop.data.tenant;
    let patient = PatientId::new();
    shop.app
        .customers
        .register(
            patient,
            patient_details("Henrike", "henrike@example.org"),
            &meta(tenant),
            None,
        )
        .await
        .unwrap();
    let prescription = PrescriptionId::new();
    let today = chrono::Utc::now().date_naive();
    shop.app
        .customers
        .record_prescription(
            NewPrescription {
                prescription_id: prescription,
                patient_id: patient,
                details: PrescriptionDetails {
                    refraction: optical_optics::samples::refraction(),
                    prescriber: Prescriber {
                        name: PrescriberName::new("Dr. Ada Brenner").unwrap(),
                        licence_number: LicenceNumber::new("LIC-4711").unwrap(),
                    },
                },
                issued_on: today - chrono::Duration::days(3),
                expires_on: today + chrono::Duration::days(700),
            },
            &meta(tenant),
            None,
        )
        .await
        .unwrap();
    (patient, prescription)
}

/// A paid order of the first demo frame and the progressive lens.
async fn paid_glasses(shop: &Shop) -> OrderId {
    let rx = patient(shop).await;
    let lens = shop.reserve_variant(shop.data.lens, 1).await;
    let frame = shop
        .reserve_variant(shop.data.variants[0].variant_id, 1)
        .await;
    let order = shop.place(vec![lens, frame], Some(rx)).await;
    assert!(
        optical_testkit::eventually(WAIT, || async {
            shop.app
                .payments
                .payment(shop.data.tenant, order)
                .await
                .unwrap()
                .is_some()
        })
        .await
    );
    shop.confirm_transfer(order).await;
    order
}

async fn the_work_order(shop: &Shop, order: OrderId) -> Option<WorkOrder> {
    let placed = shop
        .app
        .orders
        .order(shop.data.tenant, order)
        .await
        .unwrap()
        .unwrap();
    let lens_line = placed
        .lines()
        .iter()
        .find(|l| l.kind == optical_orders::LineKind::OphthalmicLens)
        .unwrap();
    shop.app
        .lab
        .work_order(shop.data.tenant, work_order_id_of(lens_line))
        .await
        .unwrap()
}

async fn step(shop: &Shop, id: WorkOrderId, step: LabStep) {
    shop.app
        .lab
        .step(id, step, &meta(shop.data.tenant), None)
        .await
        .unwrap();
}

fn exact(work_order: &WorkOrder) -> (MeasuredEye, MeasuredEye) {
    let rx = work_order.refraction().unwrap();
    (
        optical_lab::samples::exact_reading(rx.right()),
        optical_lab::samples::exact_reading(rx.left()),
    )
}

async fn started(
    pipeline: &Pipeline,
) -> (
    Shop,
    crate::orders_saga::SagaTask,
    crate::helpers::RelayTask,
) {
    let shop = shop(pipeline).await;
    let relay = spawn_relay_task(pipeline, relay_config(pipeline, "lab-saga"));
    let saga = spawn_saga(pipeline, &shop.app, "lab");
    (shop, saga, relay)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paid_lens_order_becomes_a_work_order_and_is_ready_when_it_passes_inspection() {
    let pipeline = spawn_pipeline().await;
    let (shop, _saga, _relay) = started(&pipeline).await;
    let order = paid_glasses(&shop).await;

    assert!(
        optical_testkit::eventually(WAIT, || async {
            the_work_order(&shop, order).await.is_some()
        })
        .await,
        "the saga creates the work order once the order is in the lab"
    );
    assert_eq!(shop.order_status(order).await, Some(OrderStatus::InLab));
    let work_order = the_work_order(&shop, order).await.unwrap();
    let id = work_order.work_order_id().unwrap();
    assert_eq!(work_order.order_id(), Some(order));
    assert_eq!(work_order.stage(), Some(LabStage::Received));
    assert!(work_order.number().unwrap().to_string().starts_with("WO-"));
    // The front desk serves `received`; the demo frame (A 48, DBL 18, ED 52) and the
    // monocular PD 31.5 / 32 give 1.5 / 1.0 mm decentration and 57 / 56 mm blanks.
    assert_eq!(work_order.station_id(), Some(shop.data.stations[0].0));
    let frame = work_order.frame().unwrap();
    assert_eq!(frame.boxing.frame_pd().to_string(), "66");
    assert_eq!(frame.brand.as_ref().unwrap().as_str(), "Lumen Optics");
    let geometry = work_order.geometry().unwrap();
    assert_eq!(geometry.right.decentration_mm.hundredths(), 150);
    assert_eq!(geometry.left.decentration_mm.hundredths(), 100);
    assert_eq!(geometry.right.minimum_blank_mm.to_string(), "57");
    assert_eq!(geometry.left.minimum_blank_mm.to_string(), "56");
    assert_eq!(
        work_order.lens().unwrap().design(),
        optical_optics::LensDesign::Progressive
    );

    // Redelivering `sent_to_lab` creates nothing more.
    let before = stream(&pipeline, &id.to_string()).await.len();
    let sent = saga_event(
        &pipeline,
        shop.data.tenant,
        &order.to_string(),
        "orders.order.sent_to_lab",
    )
    .await;
    shop.app.saga.handle(&sent).await.unwrap();
    shop.app.saga.handle(&sent).await.unwrap();
    assert_eq!(stream(&pipeline, &id.to_string()).await.len(), before);

    // Through the lab: stock lens, so straight to edging; inspection passes; completed.
    for to in [
        LabStage::Edging,
        LabStage::Mounting,
        LabStage::FinalInspection,
    ] {
        step(
            &shop,
            id,
            LabStep::MoveTo {
                to,
                station_id: None,
            },
        )
        .await;
    }
    let at_inspection = shop
        .app
        .lab
        .work_order(shop.data.tenant, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at_inspection.station_id(), Some(shop.data.stations[3].0));
    let (right, left) = exact(&at_inspection);
    step(
        &shop,
        id,
        LabStep::Inspect {
            right: Some(right),
            left: Some(left),
        },
    )
    .await;
    assert_eq!(shop.order_status(order).await, Some(OrderStatus::InLab));
    step(
        &shop,
        id,
        LabStep::MoveTo {
            to: LabStage::Completed,
            station_id: None,
        },
    )
    .await;
    assert!(
        optical_testkit::eventually(WAIT, || async {
            shop.order_status(order).await == Some(OrderStatus::Ready)
        })
        .await,
        "the order is ready once its only work order is completed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_remade_work_order_keeps_the_order_in_the_lab_until_the_remake_is_completed() {
    let pipeline = spawn_pipeline().await;
    let (shop, _saga, _relay) = started(&pipeline).await;
    let order = paid_glasses(&shop).await;
    assert!(
        optical_testkit::eventually(WAIT, || async {
            the_work_order(&shop, order).await.is_some()
        })
        .await
    );
    let original = the_work_order(&shop, order).await.unwrap();
    let id = original.work_order_id().unwrap();
    step(
        &shop,
        id,
        LabStep::MoveTo {
            to: LabStage::FinalInspection,
            station_id: None,
        },
    )
    .await;
    let (right, mut left) = exact(&original);
    left.sphere = left.sphere + Dioptres::from_micro(250_000);
    step(
        &shop,
        id,
        LabStep::Inspect {
            right: Some(right),
            left: Some(left),
        },
    )
    .await;
    let remake = shop
        .app
        .lab
        .remake(
            id,
            optical_lab::RemakeReason::Power,
            None,
            &meta(shop.data.tenant),
            None,
        )
        .await
        .unwrap();
    let remake_id: WorkOrderId = remake.aggregate_id.parse().unwrap();
    let remade = shop
        .app
        .lab
        .work_order(shop.data.tenant, remake_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(remade.order_id(), Some(order));
    assert_eq!(remade.remake_of().unwrap().work_order_id, id);
    assert_eq!(remade.geometry(), original.geometry());
    for to in [LabStage::FinalInspection] {
        step(
            &shop,
            remake_id,
            LabStep::MoveTo {
                to,
                station_id: None,
            },
        )
        .await;
    }
    let (right, left) = exact(&remade);
    step(
        &shop,
        remake_id,
        LabStep::Inspect {
            right: Some(right),
            left: Some(left),
        },
    )
    .await;
    // The original was cancelled by its remake: the order waits for the remake alone.
    assert_eq!(shop.order_status(order).await, Some(OrderStatus::InLab));
    step(
        &shop,
        remake_id,
        LabStep::MoveTo {
            to: LabStage::Completed,
            station_id: None,
        },
    )
    .await;
    assert!(
        optical_testkit::eventually(WAIT, || async {
            shop.order_status(order).await == Some(OrderStatus::Ready)
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_order_stops_its_work_order() {
    let pipeline = spawn_pipeline().await;
    let (shop, _saga, _relay) = started(&pipeline).await;
    let order = paid_glasses(&shop).await;
    assert!(
        optical_testkit::eventually(WAIT, || async {
            the_work_order(&shop, order).await.is_some()
        })
        .await
    );
    let id = the_work_order(&shop, order)
        .await
        .unwrap()
        .work_order_id()
        .unwrap();
    step(
        &shop,
        id,
        LabStep::Hold(Reason::new("waiting for the customer").unwrap()),
    )
    .await;
    shop.cancel(order).await;
    assert!(
        optical_testkit::eventually(WAIT, || async {
            the_work_order(&shop, order).await.and_then(|w| w.stage()) == Some(LabStage::Cancelled)
        })
        .await,
        "the saga cancels the work order of a cancelled order"
    );
}
