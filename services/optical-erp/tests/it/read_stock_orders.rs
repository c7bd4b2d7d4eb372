//! The `stock` and `orders` read models against real PostgreSQL, without Kafka: commands run
//! through the API, their events are read back from the log and applied as the projector
//! would; then the queries and the query endpoints are checked (numbers, duplicates, tenant
//! isolation, keyset pagination, filters, bad query parameters, read-your-writes).
use crate::api::{assert_problem, Fixture, Reply};
use crate::api_customers::register_patient;
use optical_app::SagaEvent;
use optical_event_store::committed_after;
use optical_kernel::{EventPosition, FixedClock, TenantId};
use optical_read_model::orders::{self, OrderFilter, OrderRow, OrderSort, OrdersProjection};
use optical_read_model::rebuild::projected;
use optical_read_model::stock::{self, StockProjection, StockRow};
use optical_read_model::{apply_event, Applied, Page, Projection};
use optical_testkit::api::{all_scopes, token, ApiOptions};
use optical_testkit::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// What one pass of [`project`] did.
#[derive(Debug, Default, PartialEq, Eq)]
struct Pass {
    changed: usize,
    duplicates: usize,
}

/// Applies every committed event of the projection's contexts, from the start of the log, in
/// one transaction: what the projector does with what Kafka delivers (duplicates included).
async fn project(db: &TestDatabase, projection: &dyn Projection) -> Pass {
    let mut client = db.client().await;
    let contexts: Vec<String> = projection
        .contexts()
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    // The log hands out only events below the oldest running transaction (workers of this
    // API write too): wait until it hands out every event of these contexts committed so far.
    let mut events;
    let mut tries = 0;
    loop {
        events = committed_after(&client, EventPosition::default(), &contexts, 10_000)
            .await
            .unwrap();
        let total: i64 = client
            .query_one(
                "SELECT count(*) FROM events WHERE split_part(event_type, '.', 1) = ANY($1)",
                &[&contexts],
            )
            .await
            .unwrap()
            .get(0);
        tries += 1;
        if events.len() as i64 >= total || tries > 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let tx = client.transaction().await.unwrap();
    let mut pass = Pass::default();
    for event in events {
        match apply_event(&tx, projection, &projected(event))
            .await
            .unwrap()
        {
            Applied::Changed => pass.changed += 1,
            Applied::Duplicate => pass.duplicates += 1,
        }
    }
    tx.commit().await.unwrap();
    pass
}

/// Every row of a table as JSON text, in a stable order.
async fn table(db: &TestDatabase, name: &str) -> Vec<String> {
    db.client()
        .await
        .query(
            &format!("SELECT row_to_json(t)::text FROM {name} t ORDER BY 1"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn send_as(
    f: &Fixture,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
    f.send(method, path, Some(token), bytes.as_deref(), &[])
        .await
}

async fn created_as(f: &Fixture, token: &str, path: &str, body: Value) -> String {
    let reply = send_as(f, token, Method::POST, path, Some(body)).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "{path}: {:?}",
        reply.body
    );
    reply.body["id"].as_str().unwrap().to_owned()
}

/// A tenant (for `token`) with a store; returns the store.
async fn tenant_with_store(f: &Fixture, token: &str) -> String {
    let tenant = send_as(
        f,
        token,
        Method::POST,
        "/tenancy/tenant",
        Some(json!({"name": "Brillenhaus", "kind": "single_brand", "default_currency": "EUR"})),
    )
    .await;
    assert_eq!(tenant.status, StatusCode::CREATED, "{:?}", tenant.body);
    created_as(
        f,
        token,
        "/tenancy/stores",
        json!({"name": "Mitte", "code": "BER-1"}),
    )
    .await
}

async fn location(f: &Fixture, token: &str, store: &str, name: &str) -> Uuid {
    let id = created_as(
        f,
        token,
        &format!("/tenancy/stores/{store}/locations"),
        json!({"name": name, "kind": "back_room"}),
    )
    .await;
    id.parse().unwrap()
}

async fn receive(f: &Fixture, token: &str, location: Uuid, variant: Uuid, quantity: u32) {
    let reply = send_as(
        f,
        token,
        Method::POST,
        &format!("/inventory/stock-levels/{location}/{variant}/receipts"),
        Some(json!({"quantity": quantity})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

async fn reserve(f: &Fixture, location: Uuid, variant: Uuid, quantity: u32) -> String {
    let reply = f
        .post(
            "/inventory/reservations",
            json!({"location_id": location, "variant_id": variant, "quantity": quantity}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["reservation_id"].as_str().unwrap().to_owned()
}

/// A frame (100.00 EUR) of `token`'s tenant, under a product of its own.
async fn variant(f: &Fixture, token: &str) -> Uuid {
    let product = created_as(
        f,
        token,
        "/catalog/products",
        json!({"kind": "frame", "name": "Aurora 52", "brand": "Lumen Optics"}),
    )
    .await;
    let sku = format!("AUR-{}", &Uuid::now_v7().simple().to_string()[20..]);
    let variant = created_as(
        f,
        token,
        &format!("/catalog/products/{product}/variants"),
        json!({
            "sku": sku,
            "attributes": {"frame": {
                "box_width_mm": 52, "box_height_mm": 40, "distance_between_lenses_mm": 18,
                "effective_diameter_mm": 56, "temple_length_mm": 140,
                "colour": "Havana", "shape": "round", "material": "acetate"}},
            "price": {"amount_minor": 10_000}
        }),
    )
    .await;
    variant.parse().unwrap()
}

async fn availability(
    db: &TestDatabase,
    tenant: TenantId,
    variant: Option<Uuid>,
    location: Option<Uuid>,
    limit: u32,
    cursor: Option<&str>,
) -> Page<StockRow> {
    let client = db.client().await;
    stock::availability(&client, *tenant.as_uuid(), variant, location, limit, cursor)
        .await
        .unwrap()
}

/// (on hand, reserved, available) of one stock level.
async fn units(
    db: &TestDatabase,
    tenant: TenantId,
    location: Uuid,
    variant: Uuid,
) -> (i64, i64, i64) {
    let page = availability(db, tenant, Some(variant), Some(location), 10, None).await;
    assert_eq!(page.items.len(), 1, "{page:?}");
    let row = &page.items[0];
    (row.on_hand, row.reserved, row.available)
}

/// Every row of a listing, following the cursors; asserts pages are full but the last.
async fn all_pages<F, Fut, T>(limit: usize, mut next: F) -> Vec<T>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Page<T>>,
{
    let mut rows = Vec::new();
    let mut cursor = None;
    loop {
        let page = next(cursor.take()).await;
        let count = page.items.len();
        rows.extend(page.items);
        match page.next_cursor {
            Some(c) => {
                assert_eq!(count, limit, "only the last page may be short");
                cursor = Some(c);
            }
            None => break,
        }
    }
    rows
}

#[tokio::test]
async fn stock_availability_follows_receipts_reservations_releases_and_commits() {
    let f = Fixture::new().await;
    let store = tenant_with_store(&f, &f.token).await;
    let back = location(&f, &f.token, &store, "Back room").await;
    let front = location(&f, &f.token, &store, "Shop floor").await;
    let mut variants = Vec::new();
    for _ in 0..5 {
        variants.push(variant(&f, &f.token).await);
    }
    for (i, v) in variants.iter().enumerate() {
        receive(&f, &f.token, back, *v, 10 + i as u32).await;
    }
    for v in &variants[..2] {
        receive(&f, &f.token, front, *v, 3).await;
    }
    let v0 = variants[0];
    let held = reserve(&f, back, v0, 4).await;
    let committed = reserve(&f, back, v0, 2).await;

    let first = project(&f.db, &StockProjection).await;
    assert_eq!(first.duplicates, 0);
    assert_eq!(units(&f.db, f.tenant, back, v0).await, (10, 6, 4));
    assert_eq!(units(&f.db, f.tenant, front, v0).await, (3, 0, 3));

    // Released: back to available. Committed to an order (by the saga): gone from on hand.
    let released = f
        .send(
            Method::POST,
            &format!("/inventory/reservations/{held}/release"),
            Some(&f.token),
            None,
            &[],
        )
        .await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    let order = created_as(
        &f,
        &f.token,
        "/orders",
        json!({"store_id": store, "payment_method": "cod", "reservation_ids": [committed]}),
    )
    .await;
    f.api
        .app
        .saga
        .handle(&SagaEvent {
            event_id: Uuid::now_v7(),
            event_type: "orders.order.placed".into(),
            tenant_id: f.tenant,
            aggregate_id: order,
            correlation_id: None,
            traceparent: None,
        })
        .await
        .unwrap();
    let second = project(&f.db, &StockProjection).await;
    assert_eq!(
        second.duplicates, first.changed,
        "earlier events are dropped by version"
    );
    assert_eq!(second.changed, 2, "the release and the commit");
    assert_eq!(units(&f.db, f.tenant, back, v0).await, (8, 0, 8));

    // Delivered again (a redelivery after a crash, a rebuild's overlap): nothing changes.
    let before = table(&f.db, "read_stock_levels").await;
    let again = project(&f.db, &StockProjection).await;
    assert_eq!(again.changed, 0);
    assert_eq!(table(&f.db, "read_stock_levels").await, before);

    // Another tenant's stock, of the same shape.
    let tenant_b = TenantId::new();
    let token_b = token(tenant_b, &all_scopes());
    let store_b = tenant_with_store(&f, &token_b).await;
    let back_b = location(&f, &token_b, &store_b, "Back room").await;
    let variant_b = variant(&f, &token_b).await;
    receive(&f, &token_b, back_b, variant_b, 7).await;
    project(&f.db, &StockProjection).await;
    let seen_by_b = availability(&f.db, tenant_b, None, None, 200, None).await;
    assert_eq!(seen_by_b.items.len(), 1);
    assert_eq!(
        (seen_by_b.items[0].variant_id, seen_by_b.items[0].available),
        (variant_b, 7)
    );
    assert!(availability(&f.db, tenant_b, Some(v0), None, 200, None)
        .await
        .items
        .is_empty());
    assert!(
        availability(&f.db, f.tenant, Some(variant_b), None, 200, None)
            .await
            .items
            .is_empty()
    );
    assert!(availability(&f.db, f.tenant, None, Some(back_b), 200, None)
        .await
        .items
        .is_empty());

    // Tenant A: 7 levels by (variant, location); pages of 3 cover them exactly once.
    let everything = availability(&f.db, f.tenant, None, None, 200, None).await;
    assert_eq!(everything.next_cursor, None);
    let keys: Vec<(Uuid, Uuid)> = everything
        .items
        .iter()
        .map(|r| (r.variant_id, r.location_id))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys.len(), 7);
    let (db, tenant) = (&f.db, f.tenant);
    let paged = all_pages(3, |cursor| async move {
        availability(db, tenant, None, None, 3, cursor.as_deref()).await
    })
    .await;
    assert_eq!(paged, everything.items);

    // Filters.
    let at_front = availability(&f.db, f.tenant, None, Some(front), 200, None).await;
    assert_eq!(at_front.items.len(), 2);
    assert!(at_front.items.iter().all(|r| r.location_id == front));
    let of_v0 = availability(&f.db, f.tenant, Some(v0), None, 200, None).await;
    let locations: BTreeSet<Uuid> = of_v0.items.iter().map(|r| r.location_id).collect();
    assert_eq!(locations, BTreeSet::from([back, front]));
    let client = f.db.client().await;
    let totals = stock::variant_totals(&client, *f.tenant.as_uuid(), v0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            totals.on_hand,
            totals.reserved,
            totals.available,
            totals.locations
        ),
        (11, 0, 11, 2)
    );
    assert_eq!(
        stock::variant_totals(&client, *tenant_b.as_uuid(), v0)
            .await
            .unwrap(),
        None
    );
}

/// The clock of the order tests: 2026-03-01 09:00 UTC, advanced a day per order.
fn march_first() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .to_utc()
}

struct Orders {
    f: Fixture,
    clock: Arc<FixedClock>,
    store: String,
    /// In order of placement, a day apart.
    ids: Vec<Uuid>,
    patient: Uuid,
}

/// Five orders a day apart: 0 cod, 1 transfer for the patient, 2 transfer then cancelled,
/// 3 cod for the patient, 4 transfer.
async fn five_orders() -> Orders {
    let clock = Arc::new(FixedClock::at(march_first()));
    let f = Fixture::with(ApiOptions {
        clock: clock.clone(),
        consistency_wait: Duration::from_millis(300),
        ..ApiOptions::default()
    })
    .await;
    let store = tenant_with_store(&f, &f.token).await;
    let back = location(&f, &f.token, &store, "Back room").await;
    let frame = variant(&f, &f.token).await;
    receive(&f, &f.token, back, frame, 50).await;
    let patient = register_patient(&f).await;
    let plan: [(&str, bool); 5] = [
        ("cod", false),
        ("bank_transfer", true),
        ("bank_transfer", false),
        ("cod", true),
        ("bank_transfer", false),
    ];
    let mut ids = Vec::new();
    for (day, (method, for_patient)) in plan.into_iter().enumerate() {
        if day > 0 {
            clock.advance(chrono::Duration::days(1));
        }
        let reservation = reserve(&f, back, frame, 1).await;
        let mut body = json!({"store_id": store, "payment_method": method,
                              "reservation_ids": [reservation]});
        if for_patient {
            body["patient_id"] = json!(patient);
        }
        ids.push(
            created_as(&f, &f.token, "/orders", body)
                .await
                .parse()
                .unwrap(),
        );
    }
    let cancelled = f
        .post(
            &format!("/orders/{}/cancel", ids[2]),
            json!({"reason": "customer changed their mind"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:?}", cancelled.body);
    Orders {
        f,
        clock,
        store,
        ids,
        patient: patient.parse().unwrap(),
    }
}

async fn list(
    db: &TestDatabase,
    tenant: TenantId,
    filter: &OrderFilter,
    sort: OrderSort,
    limit: u32,
    cursor: Option<&str>,
) -> Page<OrderRow> {
    let client = db.client().await;
    orders::list(&client, *tenant.as_uuid(), filter, sort, limit, cursor)
        .await
        .unwrap()
}

fn ids(page: &Page<OrderRow>) -> Vec<Uuid> {
    page.items.iter().map(|r| r.order_id).collect()
}

#[tokio::test]
async fn the_order_list_filters_by_status_patient_and_date_and_pages_without_gaps() {
    let o = five_orders().await;
    let (db, tenant) = (&o.f.db, o.f.tenant);
    let pass = project(db, &OrdersProjection).await;
    assert_eq!(
        pass,
        Pass {
            changed: 6,
            duplicates: 0
        },
        "five placed, one cancelled"
    );

    let newest_first = list(
        db,
        tenant,
        &OrderFilter::default(),
        OrderSort::PlacedDesc,
        50,
        None,
    )
    .await;
    let mut expected: Vec<Uuid> = o.ids.iter().rev().copied().collect();
    assert_eq!(ids(&newest_first), expected);
    let oldest_first = list(
        db,
        tenant,
        &OrderFilter::default(),
        OrderSort::PlacedAsc,
        50,
        None,
    )
    .await;
    expected.reverse();
    assert_eq!(ids(&oldest_first), expected);

    // The row: facts and ids, no personal data.
    let row = &oldest_first.items[1];
    assert_eq!(row.status, "pending_payment");
    assert_eq!(row.patient_id, Some(o.patient));
    assert_eq!(row.store_id.to_string(), o.store);
    assert_eq!(row.placed_at, march_first() + chrono::Duration::days(1));
    assert_eq!((row.total_minor, row.currency.as_str()), (10_000, "EUR"));
    assert_eq!(
        (row.line_count, row.payment_method.as_str()),
        (1, "bank_transfer")
    );
    assert_eq!(oldest_first.items[0].patient_id, None);
    assert_eq!(oldest_first.items[0].status, "pending_shipment");
    let cancelled = &oldest_first.items[2];
    assert_eq!(cancelled.status, "cancelled");
    assert_eq!(
        cancelled.updated_at,
        march_first() + chrono::Duration::days(4)
    );
    let stored = table(db, "read_orders").await.join("\n");
    for personal in ["Ana", "Lindqvist", "example.com", "1234567"] {
        assert!(!stored.contains(personal), "{personal} in {stored}");
    }

    // Filters, alone and together.
    let by = |filter: OrderFilter| async move {
        ids(&list(db, tenant, &filter, OrderSort::PlacedAsc, 50, None).await)
    };
    let status = |s| {
        Some(
            optical_orders::OrderStatus::ALL
                .iter()
                .copied()
                .find(|x| x.as_str() == s)
                .unwrap(),
        )
    };
    assert_eq!(
        by(OrderFilter {
            status: status("pending_shipment"),
            ..Default::default()
        })
        .await,
        [o.ids[0], o.ids[3]]
    );
    assert_eq!(
        by(OrderFilter {
            status: status("cancelled"),
            ..Default::default()
        })
        .await,
        [o.ids[2]]
    );
    assert_eq!(
        by(OrderFilter {
            patient_id: Some(o.patient),
            ..Default::default()
        })
        .await,
        [o.ids[1], o.ids[3]]
    );
    let day = |n: i64| Some(march_first() + chrono::Duration::days(n));
    assert_eq!(
        by(OrderFilter {
            placed_from: day(1),
            placed_to: day(3),
            ..Default::default()
        })
        .await,
        [o.ids[1], o.ids[2]],
        "from is inclusive, to exclusive"
    );
    assert_eq!(
        by(OrderFilter {
            status: status("pending_payment"),
            placed_from: day(2),
            ..Default::default()
        })
        .await,
        [o.ids[4]]
    );
    assert!(by(OrderFilter {
        patient_id: Some(Uuid::now_v7()),
        ..Default::default()
    })
    .await
    .is_empty());

    // Pages of two, both directions: every order once, in order.
    for (sort, all) in [
        (OrderSort::PlacedDesc, &newest_first),
        (OrderSort::PlacedAsc, &oldest_first),
    ] {
        let paged = all_pages(2, |cursor| async move {
            list(
                db,
                tenant,
                &OrderFilter::default(),
                sort,
                2,
                cursor.as_deref(),
            )
            .await
        })
        .await;
        assert_eq!(&paged, &all.items);
    }
    // A page of a filtered listing continues the filtered listing.
    let filtered = OrderFilter {
        patient_id: Some(o.patient),
        ..Default::default()
    };
    let page = list(db, tenant, &filtered, OrderSort::PlacedDesc, 1, None).await;
    assert_eq!(ids(&page), [o.ids[3]]);
    let rest = list(
        db,
        tenant,
        &filtered,
        OrderSort::PlacedDesc,
        1,
        page.next_cursor.as_deref(),
    )
    .await;
    assert_eq!((ids(&rest), rest.next_cursor), (vec![o.ids[1]], None));
    // A cursor of one sort is refused by the other.
    let client = db.client().await;
    let wrong = orders::list(
        &client,
        *tenant.as_uuid(),
        &OrderFilter::default(),
        OrderSort::PlacedAsc,
        2,
        page.next_cursor.as_deref(),
    )
    .await;
    assert!(
        matches!(wrong, Err(orders::QueryError::Page(_))),
        "{wrong:?}"
    );

    // Another tenant sees none of it, by list or by id.
    let other = TenantId::new();
    assert!(list(
        db,
        other,
        &OrderFilter::default(),
        OrderSort::PlacedDesc,
        50,
        None
    )
    .await
    .items
    .is_empty());
    assert_eq!(
        orders::get(&client, *other.as_uuid(), o.ids[0])
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        orders::get(&client, *tenant.as_uuid(), o.ids[0])
            .await
            .unwrap()
            .as_ref(),
        oldest_first.items.first()
    );

    // Redelivered: nothing changes.
    let before = table(db, "read_orders").await;
    let again = project(db, &OrdersProjection).await;
    assert_eq!(
        again,
        Pass {
            changed: 0,
            duplicates: 6
        }
    );
    assert_eq!(table(db, "read_orders").await, before);
}

#[tokio::test]
async fn the_query_endpoints_answer_pages_refuse_bad_parameters_and_other_tenants() {
    let o = five_orders().await;
    let f = &o.f;
    project(&f.db, &OrdersProjection).await;
    project(&f.db, &StockProjection).await;

    // Orders: a page and its continuation.
    let first = f.get("/orders?limit=2&sort=placed_asc").await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["items"][0]["order_id"], o.ids[0].to_string());
    assert_eq!(first.body["items"][1]["order_id"], o.ids[1].to_string());
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = f
        .get(&format!("/orders?limit=2&sort=placed_asc&cursor={cursor}"))
        .await;
    assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);
    assert_eq!(second.body["items"][0]["order_id"], o.ids[2].to_string());
    let filtered = f
        .get(&format!(
            "/orders?status=pending_shipment&patient_id={}&placed_from=2026-03-02&placed_to=2026-03-05T00:00:00Z",
            o.patient
        ))
        .await;
    assert_eq!(filtered.status, StatusCode::OK, "{:?}", filtered.body);
    let items = filtered.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["order_id"], o.ids[3].to_string());
    assert_eq!(items[0]["patient_id"], o.patient.to_string());
    assert!(items[0].get("patient").is_none());
    assert_eq!(filtered.body["next_cursor"], Value::Null);

    // One order; another tenant's is not found, nor is one that does not exist.
    let summary = f.get(&format!("/orders/{}/summary", o.ids[2])).await;
    assert_eq!(summary.status, StatusCode::OK, "{:?}", summary.body);
    assert_eq!(summary.body["status"], "cancelled");
    let tenant_b = token(TenantId::new(), &all_scopes());
    let foreign = send_as(
        f,
        &tenant_b,
        Method::GET,
        &format!("/orders/{}/summary", o.ids[2]),
        None,
    )
    .await;
    assert_problem(&foreign, StatusCode::NOT_FOUND, "order_not_found");
    let listed_by_b = send_as(f, &tenant_b, Method::GET, "/orders", None).await;
    assert_eq!(listed_by_b.status, StatusCode::OK);
    assert_eq!(listed_by_b.body["items"], json!([]));
    assert_problem(
        &f.get(&format!("/orders/{}/summary", Uuid::now_v7())).await,
        StatusCode::NOT_FOUND,
        "order_not_found",
    );
    assert_problem(
        &f.get("/orders/not-an-id/summary").await,
        StatusCode::NOT_FOUND,
        "order_not_found",
    );

    // Scopes.
    let no_read = token(f.tenant, &["orders:write", "inventory:write"]);
    for path in ["/orders", "/inventory/availability"] {
        let reply = send_as(f, &no_read, Method::GET, path, None).await;
        assert_problem(&reply, StatusCode::FORBIDDEN, "insufficient_scope");
    }

    // Bad parameters: 400, naming the parameter.
    let bad = [
        ("/orders?status=lost", "query:status"),
        ("/orders?patient_id=123", "query:patient_id"),
        ("/orders?placed_from=yesterday", "query:placed_from"),
        (
            "/orders?placed_from=2026-03-04&placed_to=2026-03-02",
            "query:placed_to",
        ),
        ("/orders?sort=price", "query:sort"),
        ("/orders?limit=0", "query:limit"),
        ("/orders?limit=many", "query:limit"),
        ("/orders?cursor=garbage", "query:cursor"),
        (
            "/inventory/availability?variant_id=nope",
            "query:variant_id",
        ),
        ("/inventory/availability?location_id=", "query:location_id"),
        ("/inventory/availability?limit=201", "query:limit"),
        ("/inventory/availability?cursor=abc", "query:cursor"),
    ];
    for (path, field) in bad {
        let reply = f.get(path).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {:?}",
            reply.body
        );
        assert_eq!(reply.headers["content-type"], "application/problem+json");
        let fields: Vec<&str> = reply.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, [field], "{path}: {:?}", reply.body);
    }
    // A cursor of the orders list is not one of the stock listing.
    let reply = f
        .get(&format!("/inventory/availability?cursor={cursor}"))
        .await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_cursor");
    // Unknown parameters are refused, by name.
    let summary_path = format!("/orders/{}/summary?colour=red", o.ids[0]);
    for path in [
        "/orders?colour=red",
        "/inventory/availability?colour=red",
        &summary_path,
    ] {
        let reply = f.get(path).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {:?}",
            reply.body
        );
        assert_eq!(reply.code(), "invalid_query", "{path}: {:?}", reply.body);
        assert_eq!(
            reply.body["errors"][0]["field"], "query:colour",
            "{path}: {:?}",
            reply.body
        );
    }

    // Stock through HTTP: the one level the orders drew from.
    let stock = f.get("/inventory/availability?limit=1").await;
    assert_eq!(stock.status, StatusCode::OK, "{:?}", stock.body);
    assert_eq!(stock.body["items"][0]["on_hand"], 50);
    assert_eq!(stock.body["next_cursor"], Value::Null);

    // Read-your-writes: a token of a write the projection has not applied waits, then answers
    // 503; once applied, the same token reads the write.
    o.clock.advance(chrono::Duration::days(1));
    let cancelled = f
        .post(
            &format!("/orders/{}/cancel", o.ids[4]),
            json!({"reason": "duplicate"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:?}", cancelled.body);
    let consistency = cancelled.body["consistency_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/orders/{}/summary", o.ids[4]);
    let stale = f
        .send(
            Method::GET,
            &path,
            Some(&f.token),
            None,
            &[("X-Consistency-Token", &consistency)],
        )
        .await;
    assert_problem(&stale, StatusCode::SERVICE_UNAVAILABLE, "stale_read");
    project(&f.db, &OrdersProjection).await;
    let fresh = f
        .send(
            Method::GET,
            &path,
            Some(&f.token),
            None,
            &[("X-Consistency-Token", &consistency)],
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{:?}", fresh.body);
    assert_eq!(fresh.body["status"], "cancelled");
    // Another tenant cannot use it.
    let borrowed = f
        .send(
            Method::GET,
            "/orders",
            Some(&tenant_b),
            None,
            &[("X-Consistency-Token", &consistency)],
        )
        .await;
    assert_problem(
        &borrowed,
        StatusCode::BAD_REQUEST,
        "invalid_consistency_token",
    );
}
