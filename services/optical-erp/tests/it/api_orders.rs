//! The orders and payments endpoints against real PostgreSQL: placement from real
//! reservations with patient and prescription snapshots, expired prescriptions, the lifecycle,
//! staff payments and refunds, and signed, idempotent provider webhooks.
use crate::api::{assert_problem, Fixture, Reply};
use crate::api_customers::{prescription_body, record_prescription, register_patient};
use optical_app::SagaEvent;
use optical_testkit::api::{WEBHOOK_PROVIDER, WEBHOOK_SECRET};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A tenant with a store, a back room, a frame (129.00) and a progressive lens (189.00 a
/// pair) in stock.
struct Shop {
    store: String,
    location: String,
    frame: String,
    lens: String,
}

async fn created(f: &Fixture, path: &str, body: Value) -> String {
    let reply = f.post(path, body).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "{path}: {:?}",
        reply.body
    );
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn variant(f: &Fixture, kind: &str, name: &str, attributes: Value, price: i64) -> String {
    let product = created(
        f,
        "/catalog/products",
        json!({"kind": kind, "name": name, "brand": "Lumen Optics"}),
    )
    .await;
    created(
        f,
        &format!("/catalog/products/{product}/variants"),
        json!({
            "sku": format!("{}-{}", &name[..3].to_uppercase(), &uuid::Uuid::now_v7().simple().to_string()[20..]),
            "attributes": attributes,
            "price": {"amount_minor": price}
        }),
    )
    .await
}

async fn shop(f: &Fixture) -> Shop {
    let tenant = f
        .post(
            "/tenancy/tenant",
            json!({"name": "Brillenhaus", "kind": "single_brand", "default_currency": "EUR"}),
        )
        .await;
    assert_eq!(tenant.status, StatusCode::CREATED, "{:?}", tenant.body);
    let store = created(
        f,
        "/tenancy/stores",
        json!({"name": "Mitte", "code": "BER-1"}),
    )
    .await;
    let location = created(
        f,
        &format!("/tenancy/stores/{store}/locations"),
        json!({"name": "Back room", "kind": "back_room"}),
    )
    .await;
    let frame = variant(
        f,
        "frame",
        "Aurora 52",
        json!({"frame": {
            "box_width_mm": 52, "box_height_mm": 40, "distance_between_lenses_mm": 18,
            "effective_diameter_mm": 56, "temple_length_mm": 140,
            "colour": "Havana", "shape": "round", "material": "acetate"}}),
        12_900,
    )
    .await;
    let lens = variant(
        f,
        "ophthalmic_lens",
        "Varifocal 1.6",
        json!({"ophthalmic_lens": {
            "material": "mid_index", "index": 1.60, "design": "progressive",
            "coatings": ["anti_reflective", "hard_coat"]}}),
        18_900,
    )
    .await;
    for v in [&frame, &lens] {
        let received = f
            .post(
                &format!("/inventory/stock-levels/{location}/{v}/receipts"),
                json!({"quantity": 5}),
            )
            .await;
        assert_eq!(received.status, StatusCode::OK, "{:?}", received.body);
    }
    Shop {
        store,
        location,
        frame,
        lens,
    }
}

async fn reserve(f: &Fixture, shop: &Shop, variant: &str) -> String {
    let reply = f
        .post(
            "/inventory/reservations",
            json!({"location_id": shop.location, "variant_id": variant, "quantity": 1}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["reservation_id"].as_str().unwrap().to_owned()
}

/// Places an order for one frame; returns its id.
async fn frame_order(f: &Fixture, shop: &Shop, method: &str) -> String {
    let reservation = reserve(f, shop, &shop.frame).await;
    created(
        f,
        "/orders",
        json!({"store_id": shop.store, "payment_method": method, "reservation_ids": [reservation]}),
    )
    .await
}

/// What the order saga does when `orders.order.placed` comes by: commit the reservations and
/// request the payment. (The saga consumes Kafka in production; here it is handed the event.)
async fn run_saga_on_placed(f: &Fixture, order: &str) {
    f.api
        .app
        .saga
        .handle(&SagaEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: "orders.order.placed".into(),
            tenant_id: f.tenant,
            aggregate_id: order.to_owned(),
            correlation_id: None,
            traceparent: None,
        })
        .await
        .unwrap();
}

async fn webhook(f: &Fixture, provider: &str, body: &[u8], signature: Option<&str>) -> Reply {
    let mut request = f
        .http
        .post(f.api.url(&format!("/payments/webhooks/{provider}")))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("X-Signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let raw = response.bytes().await.unwrap().to_vec();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        raw,
    }
}

#[tokio::test]
async fn a_progressive_lens_and_a_frame_are_ordered_from_reservations_with_snapshots() {
    let f = Fixture::new().await;
    let shop = shop(&f).await;
    let patient = register_patient(&f).await;
    let prescription = record_prescription(&f, prescription_body(&patient, |_| {})).await;
    let frame = reserve(&f, &shop, &shop.frame).await;
    let lens = reserve(&f, &shop, &shop.lens).await;

    // Lenses need the prescription.
    let without = f
        .post(
            "/orders",
            json!({"store_id": shop.store, "payment_method": "bank_transfer",
                   "reservation_ids": [frame, lens], "patient_id": patient}),
        )
        .await;
    assert_problem(
        &without,
        StatusCode::UNPROCESSABLE_ENTITY,
        "prescription_required",
    );
    let order_id = uuid::Uuid::now_v7().to_string();
    let placed = f
        .post_with_key(
            "/orders",
            json!({"order_id": order_id, "store_id": shop.store, "payment_method": "bank_transfer",
                   "reservation_ids": [frame, lens], "patient_id": patient,
                   "prescription_id": prescription}),
            "order-1",
        )
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{:?}", placed.body);
    assert_eq!(placed.body["id"], order_id.as_str());
    assert!(placed.body["consistency_token"].as_str().is_some());
    assert!(!String::from_utf8_lossy(&placed.raw).contains("Lindqvist"));

    let order = f.get(&format!("/orders/{order_id}")).await;
    assert_eq!(order.status, StatusCode::OK, "{:?}", order.body);
    let o = &order.body;
    assert_eq!(o["status"], "pending_payment");
    assert_eq!(o["payment_method"], "bank_transfer");
    assert_eq!(o["currency"], "EUR");
    assert_eq!(o["store_id"], shop.store.as_str());
    let kinds: Vec<&str> = o["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["frame", "ophthalmic_lens"]);
    assert_eq!(o["lines"][1]["variant_id"], shop.lens.as_str());
    assert_eq!(
        o["lines"][1]["unit_price"],
        json!({"amount_minor": 18900, "currency": "EUR"})
    );
    assert_eq!(
        o["total"],
        json!({"amount_minor": 31800, "currency": "EUR"})
    );
    assert_eq!(o["subtotal"], o["total"]);
    assert_eq!(o["patient"]["patient_id"], patient.as_str());
    assert_eq!(o["patient"]["full_name"], "Ana Lindqvist");
    assert_eq!(o["patient"]["erased"], false);
    let rx = &o["prescription"];
    assert_eq!(rx["prescription_id"], prescription.as_str());
    assert_eq!(rx["prescriber"], "Dr. Eva Brandt");
    assert_eq!(rx["refraction"]["right"]["add"], 2.0);
    assert_eq!(rx["expires_on"], "2099-01-10");

    // Reading the order read the patient's data.
    let log = f
        .get(&format!("/customers/patients/{patient}/access-log"))
        .await;
    let endpoints: Vec<&str> = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(endpoints, ["GET /api/v1/orders/{order_id}"]);

    // The key replays; the reservations cannot be ordered twice.
    let replay = f
        .post_with_key(
            "/orders",
            json!({"order_id": order_id, "store_id": shop.store, "payment_method": "bank_transfer",
                   "reservation_ids": [frame, lens], "patient_id": patient,
                   "prescription_id": prescription}),
            "order-1",
        )
        .await;
    assert_eq!(replay.raw, placed.raw);
    assert_eq!(f.count_events("orders.order.placed").await, 1);

    // Cancelled before shipping.
    let cancelled = f
        .post(
            &format!("/orders/{order_id}/cancel"),
            json!({"reason": "customer changed their mind"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:?}", cancelled.body);
    let shipped = f
        .post(
            &format!("/orders/{order_id}/ship"),
            json!({"carrier": "DHL", "tracking_number": "003404341234"}),
        )
        .await;
    assert_problem(&shipped, StatusCode::CONFLICT, "invalid_transition");
    assert_eq!(
        f.get(&format!("/orders/{order_id}")).await.body["status"],
        "cancelled"
    );
}

#[tokio::test]
async fn ordering_against_an_expired_prescription_answers_422() {
    let f = Fixture::new().await;
    let shop = shop(&f).await;
    let patient = register_patient(&f).await;
    let expired = record_prescription(
        &f,
        prescription_body(&patient, |b| {
            b["issued_on"] = json!("2020-01-10");
            b["expires_on"] = json!("2021-01-10");
        }),
    )
    .await;
    let frame = reserve(&f, &shop, &shop.frame).await;
    let lens = reserve(&f, &shop, &shop.lens).await;
    let reply = f
        .post(
            "/orders",
            json!({"store_id": shop.store, "payment_method": "cod",
                   "reservation_ids": [frame, lens], "patient_id": patient,
                   "prescription_id": expired}),
        )
        .await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "prescription_expired",
    );
    assert_eq!(reply.body["errors"][0]["field"], "/prescription_id");
    assert_eq!(f.count_events("orders.order.placed").await, 0);

    // Another tenant's ids are not found, and malformed ones are named.
    let unknown = f
        .post(
            "/orders",
            json!({"store_id": uuid::Uuid::now_v7().to_string(), "payment_method": "cod",
                   "reservation_ids": [frame]}),
        )
        .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "store_not_found");
    let malformed = f
        .post(
            "/orders",
            json!({"store_id": "nope", "payment_method": "cod", "reservation_ids": [frame, "x"]}),
        )
        .await;
    assert_problem(
        &malformed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let fields: Vec<&str> = malformed.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["/store_id", "/reservation_ids/1"]);
}

#[tokio::test]
async fn cash_on_delivery_moves_through_its_lifecycle_and_staff_refund_it() {
    let f = Fixture::new().await;
    let shop = shop(&f).await;
    let order = frame_order(&f, &shop, "cod").await;
    assert_eq!(
        f.get(&format!("/orders/{order}")).await.body["status"],
        "pending_shipment"
    );
    let none = f.get(&format!("/orders/{order}/payment")).await;
    assert_problem(&none, StatusCode::NOT_FOUND, "payment_not_found");
    run_saga_on_placed(&f, &order).await;
    let payment = f.get(&format!("/orders/{order}/payment")).await;
    assert_eq!(payment.status, StatusCode::OK, "{:?}", payment.body);
    assert_eq!(payment.body["method"], "cod");
    assert_eq!(payment.body["status"], "requested");
    assert_eq!(payment.body["amount_due"]["amount_minor"], 12900);

    for (step, body) in [
        ("ready", json!({})),
        (
            "ship",
            json!({"carrier": "DHL", "tracking_number": "003404341234"}),
        ),
    ] {
        let reply = f.post(&format!("/orders/{order}/{step}"), body).await;
        assert_eq!(reply.status, StatusCode::OK, "{step}: {:?}", reply.body);
    }
    let wrong = f
        .post(
            &format!("/orders/{order}/payment/collect"),
            json!({"amount_minor": 100}),
        )
        .await;
    assert_problem(&wrong, StatusCode::UNPROCESSABLE_ENTITY, "amount_mismatch");
    let transfer = f
        .post(
            &format!("/orders/{order}/payment/confirm-transfer"),
            json!({"reference": "X", "amount_minor": 12900}),
        )
        .await;
    assert_problem(&transfer, StatusCode::CONFLICT, "method_mismatch");
    let collected = f
        .post(
            &format!("/orders/{order}/payment/collect"),
            json!({"amount_minor": 12900}),
        )
        .await;
    assert_eq!(collected.status, StatusCode::OK, "{:?}", collected.body);
    let completed = f
        .post(&format!("/orders/{order}/complete"), json!({}))
        .await;
    assert_eq!(completed.status, StatusCode::OK, "{:?}", completed.body);
    let shown = f.get(&format!("/orders/{order}")).await.body;
    assert_eq!(shown["status"], "completed");
    assert_eq!(shown["shipment"]["tracking_number"], "003404341234");

    let refund = f
        .post_with_key(
            &format!("/orders/{order}/payment/refunds"),
            json!({"amount_minor": 2900, "reason": "scratched temple"}),
            "refund-1",
        )
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{:?}", refund.body);
    let refund_id = refund.body["refund_id"].as_str().unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(refund_id).unwrap().get_version_num(),
        7
    );
    let replay = f
        .post_with_key(
            &format!("/orders/{order}/payment/refunds"),
            json!({"amount_minor": 2900, "reason": "scratched temple"}),
            "refund-1",
        )
        .await;
    assert_eq!(replay.raw, refund.raw);
    let too_much = f
        .post(
            &format!("/orders/{order}/payment/refunds"),
            json!({"amount_minor": 10001, "reason": "everything"}),
        )
        .await;
    assert_problem(&too_much, StatusCode::CONFLICT, "refund_exceeds_captured");
    let payment = f.get(&format!("/orders/{order}/payment")).await.body;
    assert_eq!(payment["status"], "partially_refunded");
    assert_eq!(payment["refunded"]["amount_minor"], 2900);
    assert_eq!(payment["refundable"]["amount_minor"], 10000);
}

#[tokio::test]
async fn webhooks_need_the_providers_signature_and_a_redelivery_pays_once() {
    let f = Fixture::new().await;
    let shop = shop(&f).await;
    let order = frame_order(&f, &shop, "bank_transfer").await;
    run_saga_on_placed(&f, &order).await;
    let payment = f.get(&format!("/orders/{order}/payment")).await;
    assert_eq!(payment.body["status"], "requested", "{:?}", payment.body);
    let payment_id = payment.body["payment_id"].as_str().unwrap().to_owned();

    let event = serde_json::to_vec(&json!({
        "event_id": "evt_0001",
        "type": "transfer.received",
        "payment_id": payment_id,
        "reference": "RF18 5390 0754 7034",
        "amount_minor": 12900,
        "currency": "EUR",
    }))
    .unwrap();
    let signed = optical_api::webhook_signature(WEBHOOK_SECRET.as_bytes(), &event).unwrap();
    let forged = optical_api::webhook_signature(b"a guess", &event).unwrap();
    let tampered = {
        let mut body = event.clone();
        let at = body.len() - 10;
        body[at] = b'9';
        body
    };
    let refused = [
        (
            webhook(&f, WEBHOOK_PROVIDER, &event, Some(&forged)).await,
            "invalid_signature",
        ),
        (
            webhook(&f, WEBHOOK_PROVIDER, &tampered, Some(&signed)).await,
            "invalid_signature",
        ),
        (
            webhook(&f, WEBHOOK_PROVIDER, &event, None).await,
            "missing_signature",
        ),
        (
            webhook(&f, "otherbank", &event, Some(&signed)).await,
            "unknown_provider",
        ),
    ];
    for (reply, code) in &refused {
        assert_problem(reply, StatusCode::UNAUTHORIZED, code);
    }
    assert_eq!(
        f.get(&format!("/orders/{order}/payment")).await.body["status"],
        "requested"
    );
    assert_eq!(f.count_events("payments.payment.confirmed").await, 0);

    let first = webhook(&f, WEBHOOK_PROVIDER, &event, Some(&signed)).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["status"], "applied");
    assert_eq!(first.body["event_id"], "evt_0001");
    let payment = f.get(&format!("/orders/{order}/payment")).await.body;
    assert_eq!(payment["status"], "captured");
    assert_eq!(payment["captured"]["amount_minor"], 12900);

    let again = futures::future::join_all(
        (0..3).map(|_| webhook(&f, WEBHOOK_PROVIDER, &event, Some(&signed))),
    )
    .await;
    for reply in &again {
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.raw, first.raw);
        assert_eq!(reply.headers["idempotent-replayed"], "true");
    }
    assert_eq!(f.count_events("payments.payment.confirmed").await, 1);

    // Another event for the same transfer does not pay twice either.
    let second = serde_json::to_vec(&json!({
        "event_id": "evt_0002",
        "type": "transfer.received",
        "payment_id": payment_id,
        "reference": "RF18 5390 0754 7034",
        "amount_minor": 12900,
        "currency": "EUR",
    }))
    .unwrap();
    let signature = optical_api::webhook_signature(WEBHOOK_SECRET.as_bytes(), &second).unwrap();
    let twice = webhook(&f, WEBHOOK_PROVIDER, &second, Some(&signature)).await;
    assert_problem(&twice, StatusCode::CONFLICT, "already_captured");
    // Events the API does not act on are acknowledged.
    let other = br#"{"event_id": "evt_0003", "type": "account.updated"}"#;
    let signature = optical_api::webhook_signature(WEBHOOK_SECRET.as_bytes(), other).unwrap();
    let ignored = webhook(&f, WEBHOOK_PROVIDER, other, Some(&signature)).await;
    assert_eq!(ignored.status, StatusCode::OK, "{:?}", ignored.body);
    assert_eq!(ignored.body["status"], "ignored");
    assert_eq!(f.count_events("payments.payment.confirmed").await, 1);

    // A client cannot occupy a webhook's idempotency key.
    let squat = f
        .post_with_key(
            &format!("/orders/{order}/payment/collect"),
            json!({"amount_minor": 12900}),
            "webhook:testbank:evt_0009",
        )
        .await;
    assert_problem(&squat, StatusCode::BAD_REQUEST, "invalid_idempotency_key");
}
