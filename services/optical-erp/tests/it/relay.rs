//! The relay against real PostgreSQL and a real broker: gap-free, ordered, crash-safe,
//! one active instance, and patient through broker outages.
use crate::helpers::*;
use optical_app::CatalogApp;
use optical_kernel::TenantId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(120);

/// Creates `aggregates` variants, then has `writers` tasks each append `per_writer` price
/// changes round-robin over its own share of them.
async fn write_concurrently(
    app: Arc<CatalogApp>,
    tenant: TenantId,
    writers: usize,
    aggregates: usize,
    per_writer: usize,
) {
    let mut variants = Vec::new();
    for _ in 0..aggregates {
        variants.push(add_variant(&app, tenant).await);
    }
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let app = app.clone();
        let mine: Vec<_> = variants
            .iter()
            .copied()
            .skip(writer)
            .step_by(writers)
            .collect();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                change_price(&app, tenant, mine[i % mine.len()], i / mine.len()).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// The last sequence per aggregate, read back from the store.
async fn last_sequences(pipeline: &Pipeline) -> HashMap<String, u64> {
    let client = pipeline.db.client().await;
    client
        .query(
            "SELECT aggregate_id, max(sequence) FROM events GROUP BY aggregate_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_writers_and_a_long_transaction_arrive_complete_in_order_without_gaps() {
    let pipeline = spawn_pipeline().await;
    let tenant = TenantId::new();
    let collector = Collector::start(&pipeline, &[pipeline.topic("catalog")]);
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "only"));

    // A writer that opens its transaction first (so its row gets a low id) and commits last.
    let held = pipeline.db.client().await;
    held.batch_execute("BEGIN").await.unwrap();
    let held_aggregate = uuid::Uuid::now_v7().to_string();
    held.execute(
        "INSERT INTO events (event_id, tenant_id, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, occurred_at)
         VALUES ($1, $2, 'catalog.product', $3, 1, 'catalog.product.published', '1.0', $4, $5, now())",
        &[
            &uuid::Uuid::now_v7(),
            tenant.as_uuid(),
            &held_aggregate,
            &serde_json::json!({"ProductPublished": {"product_id": held_aggregate}}),
            &serde_json::to_value(metadata(tenant).to_map()).unwrap(),
        ],
    )
    .await
    .unwrap();

    let app = crate::helpers::catalog_app(pipeline.db.pool(8));
    write_concurrently(app, tenant, 8, 200, 2_000).await;
    held.batch_execute("COMMIT").await.unwrap();

    let expected = last_sequences(&pipeline).await;
    assert_eq!(expected.values().sum::<u64>(), 200 + 8 * 2_000 + 1);
    collector
        .wait_for_distinct(expected.values().sum::<u64>() as usize, WAIT)
        .await;
    let messages = collector.snapshot();
    assert!(
        messages.iter().any(|m| m.key == held_aggregate),
        "the long transaction's event was not skipped"
    );
    assert_gap_free_and_ordered(&messages, &expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_killed_mid_batch_and_restarted_loses_nothing_and_repeats_only_same_ids() {
    let pipeline = spawn_pipeline().await;
    let tenant = TenantId::new();
    let app = crate::helpers::catalog_app(pipeline.db.pool(8));
    write_concurrently(app, tenant, 4, 40, 1_500).await;
    let expected = last_sequences(&pipeline).await;
    let total = expected.values().sum::<u64>() as usize;

    let collector = Collector::start(&pipeline, &[pipeline.topic("catalog")]);
    // Small batches keep the first relay busy for many batches, so the kill lands mid-stream.
    let mut first = spawn_relay_process(&pipeline, "first", 20);
    collector.wait_for_distinct(total / 4, WAIT).await;
    first.kill_hard();
    let published_before_restart = collector.distinct();
    assert!(
        published_before_restart < total,
        "the relay was killed before finishing ({published_before_restart}/{total})"
    );

    let _second = spawn_relay_process(&pipeline, "second", 20);
    collector.wait_for_distinct(total, WAIT).await;
    assert_gap_free_and_ordered(&collector.snapshot(), &expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_standby_relay_waits_and_takes_over_within_seconds_when_the_active_one_dies() {
    let pipeline = spawn_pipeline().await;
    let tenant = TenantId::new();
    let app = crate::helpers::catalog_app(pipeline.db.pool(4));
    let collector = Collector::start(&pipeline, &[pipeline.topic("catalog")]);

    let mut active = spawn_relay_process(&pipeline, "alpha", 100);
    assert!(
        optical_testkit::eventually(WAIT, || async {
            lease_holder(&pipeline).await.as_deref() == Some("alpha")
        })
        .await
    );
    let _standby = spawn_relay_process(&pipeline, "beta", 100);
    assert!(
        optical_testkit::eventually(WAIT, || async {
            relay_sessions(&pipeline).await.contains(&"beta".to_owned())
        })
        .await
    );

    let variant = add_variant(&app, tenant).await;
    collector.wait_for_distinct(1, WAIT).await;
    assert_eq!(
        lease_holder(&pipeline).await.as_deref(),
        Some("alpha"),
        "beta stays standby while alpha lives"
    );

    active.kill_hard();
    let died = Instant::now();
    assert!(
        optical_testkit::eventually(Duration::from_secs(10), || async {
            lease_holder(&pipeline).await.as_deref() == Some("beta")
        })
        .await,
        "beta did not take over within 10 s"
    );
    let takeover = died.elapsed();
    for round in 0..20 {
        change_price(&app, tenant, variant, round).await;
    }
    collector.wait_for_distinct(21, WAIT).await;
    let expected = HashMap::from([(variant.to_string(), 21)]);
    assert_gap_free_and_ordered(&collector.snapshot(), &expected);
    eprintln!("standby took over {takeover:?} after the active relay died");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_written_during_a_broker_outage_all_arrive_after_it() {
    let pipeline = spawn_pipeline().await;
    let tenant = TenantId::new();
    let app = crate::helpers::catalog_app(pipeline.db.pool(4));
    let collector = Collector::start(&pipeline, &[pipeline.topic("catalog")]);
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "patient"));
    let variant = add_variant(&app, tenant).await;
    collector.wait_for_distinct(1, WAIT).await;

    pipeline.broker.pause();
    // Writers carry on for the 10 s the broker is down.
    let outage = Instant::now();
    let mut round = 0;
    while outage.elapsed() < Duration::from_secs(10) {
        change_price(&app, tenant, variant, round).await;
        round += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let during = collector.distinct();
    pipeline.broker.resume();

    let expected = HashMap::from([(variant.to_string(), 1 + round as u64)]);
    collector.wait_for_distinct(1 + round, WAIT).await;
    assert_eq!(during, 1, "nothing can arrive while the broker is stopped");
    assert_gap_free_and_ordered(&collector.snapshot(), &expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_a_finite_message_timeout_a_fenced_producer_is_replaced_and_nothing_is_lost() {
    let mut pipeline = spawn_pipeline().await;
    // Messages now time out during the outage; librdkafka then bumps the producer epoch,
    // which tansu answers by fencing the producer; librdkafka does not flag that as fatal, yet
    // the producer never sends again, so the publisher must notice and replace it.
    pipeline.kafka.message_timeout_ms = 1_000;
    let tenant = TenantId::new();
    let app = crate::helpers::catalog_app(pipeline.db.pool(4));
    let collector = Collector::start(&pipeline, &[pipeline.topic("catalog")]);
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "impatient"));
    let variant = add_variant(&app, tenant).await;
    collector.wait_for_distinct(1, WAIT).await;

    pipeline.broker.pause();
    for round in 0..20 {
        change_price(&app, tenant, variant, round).await;
    }
    // Long enough for the in-flight messages to time out (1 s) and the request to fail.
    tokio::time::sleep(Duration::from_secs(4)).await;
    pipeline.broker.resume();
    for round in 20..30 {
        change_price(&app, tenant, variant, round).await;
    }

    collector.wait_for_distinct(31, WAIT).await;
    let expected = HashMap::from([(variant.to_string(), 31)]);
    assert_complete_by_consumer_rule(&collector.snapshot(), &expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_without_a_contract_is_dead_lettered_and_the_relay_moves_on() {
    let pipeline = spawn_pipeline().await;
    let tenant = TenantId::new();
    let client = pipeline.db.client().await;
    let orphan = uuid::Uuid::now_v7().to_string();
    client
        .execute(
            "INSERT INTO events (event_id, tenant_id, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, occurred_at)
             VALUES ($1, $2, 'catalog.product', $3, 1, 'catalog.product.teleported', '1.0', $4, $5, now())",
            &[
                &uuid::Uuid::now_v7(),
                tenant.as_uuid(),
                &orphan,
                &serde_json::json!({"ProductTeleported": {"to": "Mars"}}),
                &serde_json::to_value(metadata(tenant).to_map()).unwrap(),
            ],
        )
        .await
        .unwrap();
    let app = crate::helpers::catalog_app(pipeline.db.pool(2));
    let variant = add_variant(&app, tenant).await;

    let dead_letters =
        optical_bus::TopicNames::new(&pipeline.kafka.topic_prefix).relay_dead_letter();
    let collector = Collector::start(
        &pipeline,
        &[pipeline.topic("catalog"), dead_letters.clone()],
    );
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "strict"));
    collector.wait_for_distinct(2, WAIT).await;

    let messages = collector.snapshot();
    let parked = messages
        .iter()
        .find(|m| m.key == orphan)
        .expect("the orphan event is visible");
    assert_eq!(parked.topic, dead_letters);
    assert!(
        parked.header("error").contains("no published schema"),
        "{:?}",
        parked.headers
    );
    let payload: serde_json::Value = serde_json::from_slice(&parked.payload).unwrap();
    assert_eq!(
        payload["ProductTeleported"]["to"], "Mars",
        "the stored JSON is kept verbatim"
    );
    let next = messages
        .iter()
        .find(|m| m.key == variant.to_string())
        .expect("the next event was relayed");
    assert_eq!(next.topic, pipeline.topic("catalog"));
}
