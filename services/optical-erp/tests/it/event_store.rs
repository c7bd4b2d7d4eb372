//! The event store against real PostgreSQL: append, load, snapshots, optimistic concurrency.
use crate::helpers::{add_variant, change_price, metadata};
use cqrs_es::persist::{PersistedEventRepository, PersistedEventStore, SerializedEvent};
use cqrs_es::{AggregateContext, AggregateError, CqrsFramework, EventStore};
use optical_catalog::{Variant, VariantCommand};
use optical_event_store::PgEventRepository;
use optical_kernel::{Currency, Money, TenantId};
use optical_testkit::TestDatabase;

fn price(amount: i64) -> Money {
    Money::new(amount, "EUR".parse::<Currency>().unwrap()).unwrap()
}

#[tokio::test]
async fn appended_events_load_back_in_order_and_snapshots_shortcut_the_replay() {
    let db = TestDatabase::create().await;
    let tenant = TenantId::new();
    let app = crate::helpers::catalog_app(db.pool(4));
    let variant = add_variant(&app, tenant).await;
    let repo = PgEventRepository::new(db.pool(4));
    let snapshotting = CqrsFramework::new(
        PersistedEventStore::<_, Variant>::new_snapshot_store(repo.clone(), 2),
        vec![],
        (),
    );
    for round in 0..3 {
        let command = VariantCommand::ChangeVariantPrice {
            tenant_id: tenant,
            price: price(20_000 + round),
            compare_at_price: None,
        };
        snapshotting
            .execute_with_metadata(&variant.to_string(), command, metadata(tenant).to_map())
            .await
            .unwrap();
    }

    let events = repo
        .get_events::<Variant>(&variant.to_string())
        .await
        .unwrap();
    assert_eq!(
        events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(events[0].event_type, "catalog.variant.added");
    assert!(events[1..]
        .iter()
        .all(|e| e.event_type == "catalog.variant.price_changed"));

    let snapshot = repo
        .get_snapshot::<Variant>(&variant.to_string())
        .await
        .unwrap()
        .expect("a snapshot was taken");
    assert!(
        snapshot.current_sequence >= 2,
        "snapshot at {}",
        snapshot.current_sequence
    );
    let tail = repo
        .get_last_events::<Variant>(&variant.to_string(), snapshot.current_sequence)
        .await
        .unwrap();
    assert_eq!(tail.len(), 4 - snapshot.current_sequence);

    // Loading through the snapshot and through a full replay gives the same state.
    let mut from_snapshot = PersistedEventStore::<_, Variant>::new_snapshot_store(repo.clone(), 2)
        .load_aggregate(&variant.to_string())
        .await
        .unwrap();
    let mut from_events = PersistedEventStore::<_, Variant>::new_event_store(repo.clone())
        .load_aggregate(&variant.to_string())
        .await
        .unwrap();
    assert_eq!(from_snapshot.current_sequence, 4);
    assert_eq!(
        serde_json::to_value(from_snapshot.aggregate()).unwrap(),
        serde_json::to_value(from_events.aggregate()).unwrap()
    );

    // Every row carries its tenant in a column of its own.
    let client = db.client().await;
    let tenants: Vec<uuid::Uuid> = client
        .query(
            "SELECT DISTINCT tenant_id FROM events WHERE aggregate_id = $1",
            &[&variant.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tenants, vec![*tenant.as_uuid()]);
}

#[tokio::test]
async fn two_concurrent_appends_at_the_same_version_one_wins_the_other_conflicts() {
    let db = TestDatabase::create().await;
    let tenant = TenantId::new();
    let app = crate::helpers::catalog_app(db.pool(4));
    let variant = add_variant(&app, tenant).await;
    let store =
        PersistedEventStore::<_, Variant>::new_event_store(PgEventRepository::new(db.pool(4)));

    let decide = |amount: i64| {
        let store = &store;
        async move {
            let mut context = store.load_aggregate(&variant.to_string()).await.unwrap();
            let sink = cqrs_es::event_sink::EventSink::default();
            let command = VariantCommand::ChangeVariantPrice {
                tenant_id: tenant,
                price: price(amount),
                compare_at_price: None,
            };
            use cqrs_es::Aggregate as _;
            context
                .aggregate()
                .handle(command, &(), &sink)
                .await
                .unwrap();
            (context, sink.collect().await)
        }
    };
    // Both decide on version 1 before either writes.
    let (first, second) = tokio::join!(decide(11_111), decide(22_222));
    let (a, b) = tokio::join!(
        store.commit(first.1, first.0, metadata(tenant).to_map()),
        store.commit(second.1, second.0, metadata(tenant).to_map()),
    );
    let outcomes = [a.is_ok(), b.is_ok()];
    assert_eq!(
        outcomes.iter().filter(|ok| **ok).count(),
        1,
        "exactly one append wins"
    );
    let loser = if a.is_ok() { b } else { a };
    assert!(
        matches!(loser, Err(AggregateError::AggregateConflict)),
        "the other gets a concurrency error"
    );

    let client = db.client().await;
    let rows = client
        .query(
            "SELECT sequence, payload FROM events WHERE aggregate_id = $1 ORDER BY sequence",
            &[&variant.to_string()],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "nothing was overwritten or added twice");
    let winner_amount = if outcomes[0] { 11_111 } else { 22_222 };
    let payload: serde_json::Value = rows[1].get(1);
    assert_eq!(
        payload["VariantPriceChanged"]["price"]["amount_minor"],
        winner_amount
    );
}

#[tokio::test]
async fn a_command_for_another_tenant_than_its_metadata_is_refused_before_any_write() {
    let db = TestDatabase::create().await;
    let app = crate::helpers::catalog_app(db.pool(2));
    let (caller, other) = (TenantId::new(), TenantId::new());
    let variant = add_variant(&app, caller).await;
    let command = VariantCommand::ChangeVariantPrice {
        tenant_id: other,
        price: price(1),
        compare_at_price: None,
    };
    let error = app
        .variant(variant, command, &metadata(caller), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, optical_app::AppError::TenantMismatch { .. }),
        "{error}"
    );
    assert_eq!(stream_sequences(&db, &variant.to_string()).await, [1]);
}

#[tokio::test]
async fn an_event_without_a_tenant_is_refused_and_nothing_is_written() {
    let db = TestDatabase::create().await;
    let repo = PgEventRepository::new(db.pool(2));
    let mut meta = metadata(TenantId::new()).to_map();
    meta.remove("tenant_id");
    let event = SerializedEvent::new(
        uuid::Uuid::now_v7().to_string(),
        1,
        "catalog.product".into(),
        "catalog.product.published".into(),
        "1.0".into(),
        serde_json::json!({"ProductPublished": {"product_id": uuid::Uuid::now_v7().to_string()}}),
        serde_json::to_value(meta).unwrap(),
    );
    let error = repo.persist::<Variant>(&[event], None).await.unwrap_err();
    assert!(error.to_string().contains("tenant_id"), "{error}");
    let count: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0);
}

async fn stream_sequences(db: &TestDatabase, aggregate_id: &str) -> Vec<i64> {
    db.client()
        .await
        .query(
            "SELECT sequence FROM events WHERE aggregate_id = $1 ORDER BY sequence",
            &[&aggregate_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn a_stale_cached_aggregate_is_reloaded_instead_of_overwriting_another_instances_write() {
    let db = TestDatabase::create().await;
    let tenant = TenantId::new();
    // Two application instances, each with its own aggregate cache, on one database.
    let (first, second) = (
        crate::helpers::catalog_app(db.pool(2)),
        crate::helpers::catalog_app(db.pool(2)),
    );
    let variant = add_variant(&first, tenant).await;
    change_price(&first, tenant, variant, 0).await; // first's cache: version 2
    change_price(&second, tenant, variant, 1).await; // second moves the stream to 3

    let command = VariantCommand::ChangeVariantPrice {
        tenant_id: tenant,
        price: price(30_000),
        compare_at_price: None,
    };
    let receipt = first
        .variant(variant, command, &metadata(tenant), None)
        .await
        .expect("decided again on fresh state");
    assert_eq!(receipt.version, 4);
    assert!(receipt.position.is_some());
    assert_eq!(
        stream_sequences(&db, &variant.to_string()).await,
        [1, 2, 3, 4]
    );
}

#[tokio::test]
async fn a_command_that_looks_like_a_no_op_on_stale_cache_is_decided_on_fresh_state() {
    let db = TestDatabase::create().await;
    let tenant = TenantId::new();
    let (first, second) = (
        crate::helpers::catalog_app(db.pool(2)),
        crate::helpers::catalog_app(db.pool(2)),
    );
    let variant = add_variant(&first, tenant).await; // price 10 000, cached by `first`
    let command = |amount| VariantCommand::ChangeVariantPrice {
        tenant_id: tenant,
        price: price(amount),
        compare_at_price: None,
    };
    second
        .variant(variant, command(12_000), &metadata(tenant), None)
        .await
        .unwrap();

    // To `first`'s stale cache, 10 000 is the current price; the log says 12 000.
    let receipt = first
        .variant(variant, command(10_000), &metadata(tenant), None)
        .await
        .unwrap();
    assert_eq!(receipt.version, 3, "the change back to 10 000 was recorded");
    let repo = PgEventRepository::new(db.pool(1));
    let last = repo
        .get_events::<Variant>(&variant.to_string())
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        last.payload["VariantPriceChanged"]["price"]["amount_minor"],
        10_000
    );
}

#[tokio::test]
async fn the_outbox_hands_out_events_in_numeric_transaction_order_across_digit_boundaries() {
    let db = TestDatabase::create().await;
    let client = db.client().await;
    let tenant = TenantId::new();
    let meta = serde_json::to_value(metadata(tenant).to_map()).unwrap();
    // Rows stamped (as if) by old, ended transactions 10^k, 10^k - 1 and 9 (below the current
    // xid, so below the horizon), inserted in that order so that row ids disagree with
    // transaction order; a text sort would put "10…0" before "9…9".
    let current: String = client
        .query_one("SELECT pg_current_xact_id()::text", &[])
        .await
        .unwrap()
        .get(0);
    let power = 10u64.pow((current.parse::<u64>().unwrap() - 1).ilog10());
    assert!(
        power >= 100,
        "the cluster has used too few transaction ids for this test"
    );
    let stamps = [
        (power.to_string(), "c"),
        ((power - 1).to_string(), "b"),
        ("9".to_owned(), "a"),
    ];
    for (txid, aggregate) in &stamps {
        client
            .execute(
                "INSERT INTO events (txid, event_id, tenant_id, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, occurred_at)
                 VALUES ($1::text::xid8, $2, $3, 'catalog.product', $4, 1, 'catalog.product.published', '1.0', '{}', $5, now())",
                &[&txid, &uuid::Uuid::now_v7(), tenant.as_uuid(), &aggregate, &meta],
            )
            .await
            .unwrap();
    }
    let session = optical_event_store::OutboxSession::connect(&db.url, "order-check", "test")
        .await
        .unwrap();
    let all = session
        .fetch_after(optical_kernel::EventPosition::default(), 10)
        .await
        .unwrap();
    let order: Vec<&str> = all.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"]);
    let txids: Vec<u64> = all.iter().map(|e| e.position.txid).collect();
    assert_eq!(txids, [9, power - 1, power]);
    // Paging from a checkpoint between them continues in the same order, skipping nothing.
    let rest = session.fetch_after(all[0].position, 10).await.unwrap();
    assert_eq!(
        rest.iter()
            .map(|e| e.aggregate_id.as_str())
            .collect::<Vec<_>>(),
        ["b", "c"]
    );
}

fn personal_event(tenant: TenantId, patient: optical_kernel::PatientId) -> SerializedEvent {
    SerializedEvent::new(
        uuid::Uuid::now_v7().to_string(),
        1,
        "customers.patient".into(),
        "customers.patient.registered".into(),
        "1.0".into(),
        serde_json::json!({"PatientRegistered": {
            "details": optical_kernel::Personal::new(patient, "Wilhelmina Okonkwo-Sørensen"),
        }}),
        serde_json::to_value(metadata(tenant).to_map()).unwrap(),
    )
}

#[tokio::test]
async fn personal_data_is_stored_sealed_loads_revealed_and_is_refused_without_keys() {
    let db = TestDatabase::create().await;
    let tenant = TenantId::new();
    let patient = optical_kernel::PatientId::new();
    let event = personal_event(tenant, patient);
    let aggregate_id = event.aggregate_id.clone();

    let without_keys = PgEventRepository::new(db.pool(2));
    let refused = without_keys
        .persist::<Variant>(std::slice::from_ref(&event), None)
        .await;
    assert!(refused.unwrap_err().to_string().contains("no data keys"));

    let keys = optical_event_store::DataKeys::new(
        db.pool(2),
        optical_event_store::MasterKeys::random("k1"),
    );
    let repo = PgEventRepository::new(db.pool(2)).with_data_keys(keys);
    repo.persist::<Variant>(std::slice::from_ref(&event), None)
        .await
        .unwrap();
    let raw: String = db
        .client()
        .await
        .query_one(
            "SELECT payload::text FROM events WHERE aggregate_id = $1",
            &[&aggregate_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!raw.contains("Okonkwo"), "stored sealed: {raw}");
    assert!(raw.contains("ciphertext"));
    // Another repository without keys reads it back still sealed, never as data.
    let sealed = without_keys
        .get_events::<optical_customers::Patient>(&aggregate_id)
        .await
        .unwrap();
    assert!(!sealed[0].payload.to_string().contains("Okonkwo"));
    let loaded = repo
        .get_events::<optical_customers::Patient>(&aggregate_id)
        .await
        .unwrap();
    assert_eq!(loaded[0].payload, event.payload);

    // Tampering with the ciphertext is detected, not read as someone else's data.
    db.client()
        .await
        .execute(
            "UPDATE events SET payload = jsonb_set(payload, '{PatientRegistered,details,ciphertext}', to_jsonb('AQ' || (payload #>> '{PatientRegistered,details,ciphertext}'))) WHERE aggregate_id = $1",
            &[&aggregate_id],
        )
        .await
        .unwrap();
    let tampered = repo
        .get_events::<optical_customers::Patient>(&aggregate_id)
        .await;
    assert!(tampered
        .unwrap_err()
        .to_string()
        .contains("does not authenticate"));
}
