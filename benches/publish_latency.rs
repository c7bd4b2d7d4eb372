//! **publish_latency** — how long a committed event takes to reach a consumer through the
//! relay, beside a raw producer's acknowledgement latency.
//!
//! Measured: `ChangeVariantPrice` commands are executed through cqrs-es over the cached store
//! (as `CatalogApp` does) at a steady, modest rate (`BENCH_RATE`, default 200/s, for
//! `BENCH_SECONDS`, default 10 s) while an in-process [`Relay`] with the application's settings
//! runs (idle poll interval `RelayConfig::poll_interval`, 10 ms; batch 500). For each command
//! the clock starts when its commit has returned to the writer and stops when an `rdkafka`
//! consumer, assigned to every partition of the topic, receives the message (matched by its
//! `correlation_id` header). The figure therefore includes the relay's poll wait, the
//! publish and the consumer's fetch latency.
//!
//! Ceiling, measured earlier in the same run against the same broker and topic, at the same
//! rate: a raw `rdkafka` `FutureProducer` with the same configuration (`KafkaConfig::producer()`)
//! sending the same Avro bytes and headers, timed from `send` to the broker's
//! acknowledgement. For information, the same raw messages are also timed from `send` to the
//! consumer receiving them, which adds the same consumer fetch latency as the relay figure.
//!
//! The consumer asks for `fetch.wait.max.ms=1`: tansu 0.6 holds every Fetch response until
//! about `fetch.wait.max.ms` has passed even when data is already there (its fetch loop sleeps
//! out the remaining wait after each pass), so with librdkafka's default of 500 ms the figure
//! would mostly measure that wait. A real Kafka broker answers as soon as `fetch.min.bytes`
//! is available.
//!
//! Environment: `BENCH_RATE` (events/s, default 200), `BENCH_SECONDS` (default 10),
//! `BENCH_WARMUP_SECONDS` (unreported warm-up per phase, default 1), `BENCH_AGGREGATES`
//! (default 100), `BENCH_FETCH_WAIT_MS` (consumer `fetch.wait.max.ms`, default 1),
//! `BENCH_RELAY_POLL_MS` (default 10, the application's).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::StreamExt as _;
use optical_benches::{
    cached_framework, change_price, env_f64, env_secs, env_usize, metadata, ms, percentile,
    price_changed_event, print_context, seed_variants, serialized, tenant, Table,
};
use optical_bus::publisher::event_headers;
use optical_bus::{AvroCodec, KafkaConfig, Publisher, SchemaCatalog, TopicNames};
use optical_catalog::VariantId;
use optical_kernel::{EventMetadata, EventPosition, RecordedEvent};
use optical_relay::{Relay, RelayConfig};
use optical_testkit::{apply_topics, eventually, kafka_config, TestBroker, TestDatabase};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// When the consumer saw each message, by correlation id.
type Received = Arc<Mutex<HashMap<Uuid, Instant>>>;

#[tokio::main]
async fn main() {
    let rate = env_f64("BENCH_RATE", 200.0);
    let window = env_secs("BENCH_SECONDS", 10.0);
    let warmup = env_secs("BENCH_WARMUP_SECONDS", 1.0);
    let aggregates = env_usize("BENCH_AGGREGATES", 100).max(1);
    let fetch_wait_ms = env_usize("BENCH_FETCH_WAIT_MS", 1);
    let poll = Duration::from_millis(env_usize("BENCH_RELAY_POLL_MS", 10) as u64);

    print_context("publish_latency");
    let broker = TestBroker::start();
    let config = kafka_config(&broker);
    apply_topics(&config).await;
    let topic = TopicNames::new(&config.topic_prefix).for_context("catalog");
    let db = TestDatabase::create().await;
    let codec = AvroCodec::new(Arc::new(SchemaCatalog::embedded().unwrap()), None);

    // The relay, as `optical-erp relay` runs it.
    let mut relay_config = RelayConfig::new(&db.url);
    relay_config.poll_interval = poll;
    let batch_size = relay_config.batch_size;
    let relay = Arc::new(Relay::new(
        relay_config,
        Publisher::new(&config, codec.clone(), 1000).unwrap(),
    ));
    let (stop_relay, relay_stopped) = tokio::sync::oneshot::channel::<()>();
    let relay_task = tokio::spawn({
        let relay = Arc::clone(&relay);
        async move {
            relay
                .run(async {
                    let _ = relay_stopped.await;
                })
                .await;
        }
    });

    // Variants to re-price, added (and relayed) before anything is timed.
    let framework = Arc::new(cached_framework(db.pool(16)));
    let variants = seed_variants(&framework, aggregates, 8).await;
    let caught_up = eventually(Duration::from_secs(30), || async {
        optical_relay::backlog(&db.url, "main")
            .await
            .map(|(_, backlog)| backlog == 0)
            .unwrap_or(false)
    })
    .await;
    assert!(caught_up, "the relay did not publish the seeded variants");

    let received: Received = Arc::new(Mutex::new(HashMap::new()));
    let consumer_task = start_consumer(&config, &topic, fetch_wait_ms, Arc::clone(&received));

    println!(
        "{rate:.0} events/s for {:.1} s (+{:.1} s warm-up) per phase over {aggregates} variants; topic {topic} \
         ({} partitions) on tansu {}",
        window.as_secs_f64(),
        warmup.as_secs_f64(),
        config.partitions,
        broker.brokers()
    );
    println!(
        "relay poll interval {} ms (idle), batch {batch_size}; producer linger.ms={}; consumer fetch.wait.max.ms={fetch_wait_ms}",
        poll.as_millis(),
        config.producer().get("linger.ms").unwrap_or("?")
    );

    // Phase 1: the raw producer's ceiling.
    let raw = raw_phase(&config, &codec, &topic, rate, warmup, window).await;
    let raw_consumed = wait_for(
        &received,
        raw.iter().map(|(id, _, _)| *id),
        Duration::from_secs(10),
    )
    .await;

    // Phase 2: commit → relay → broker → consumer.
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut ticker = tokio::time::interval(interval);
    let tenant = tenant();
    let ids: Vec<String> = variants.iter().map(VariantId::to_string).collect();
    let mut committed: Vec<(Uuid, Instant)> = Vec::new();
    let warmup_until = Instant::now() + warmup;
    let until = warmup_until + window;
    let mut n = 0u64;
    while Instant::now() < until {
        ticker.tick().await;
        let id = &ids[(n as usize) % ids.len()];
        let round = n / ids.len() as u64 + 1;
        n += 1;
        let meta = metadata(tenant);
        framework
            .execute_with_metadata(id, change_price(tenant, round), meta.to_map())
            .await
            .expect("price change");
        let at = Instant::now();
        if at >= warmup_until {
            committed.push((meta.correlation_id, at));
        }
    }
    let relay_consumed = wait_for(
        &received,
        committed.iter().map(|(id, _)| *id),
        Duration::from_secs(15),
    )
    .await;

    let _ = stop_relay.send(());
    relay_task.await.unwrap();
    consumer_task.abort();

    let seen = received.lock().unwrap().clone();
    let through_relay = latencies(committed.iter().map(|(id, at)| (*id, *at)), &seen);
    let mut raw_ack: Vec<Duration> = raw.iter().map(|(_, sent, acked)| *acked - *sent).collect();
    raw_ack.sort_unstable();
    let raw_to_consumer = latencies(raw.iter().map(|(id, sent, _)| (*id, *sent)), &seen);

    let mut table = Table::new(&[
        "latency",
        "relay: commit → consumer received",
        "ceiling: raw send → ack",
        "ratio",
        "raw send → consumer received (info)",
    ]);
    for (label, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)] {
        let (a, b, c) = (
            percentile(&through_relay, p),
            percentile(&raw_ack, p),
            percentile(&raw_to_consumer, p),
        );
        table.row(vec![label.into(), ms(a), ms(b), times(a, b), ms(c)]);
    }
    table.row(vec![
        "received / sent".into(),
        format!("{} / {}", through_relay.len(), committed.len()),
        format!("{} / {}", raw_ack.len(), raw.len()),
        String::new(),
        format!("{} / {}", raw_to_consumer.len(), raw.len()),
    ]);
    println!();
    table.print();
    println!();
    println!(
        "The relay figure includes the relay's idle poll ({} ms), Avro encoding, the producer's linger ({} ms), the \
         broker round trip and the consumer's fetch; the ceiling only the producer's send → ack.",
        poll.as_millis(),
        config.producer().get("linger.ms").unwrap_or("?")
    );
    if !raw_consumed || !relay_consumed {
        println!("note: not every message reached the consumer within the grace period (see received / sent)");
    }
}

/// A consumer on every partition of `topic` from its current end, recording arrival times.
fn start_consumer(
    config: &KafkaConfig,
    topic: &str,
    fetch_wait_ms: usize,
    received: Received,
) -> tokio::task::JoinHandle<()> {
    let partitions = optical_bus::tail::partition_count(config, topic).unwrap();
    let consumer: StreamConsumer = config
        .reader(&format!("bench-latency-{}", Uuid::now_v7()))
        .set("fetch.wait.max.ms", fetch_wait_ms.to_string())
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment
            .add_partition_offset(topic, partition, Offset::End)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    tokio::spawn(async move {
        let mut stream = consumer.stream();
        while let Some(message) = stream.next().await {
            let at = Instant::now();
            let Ok(message) = message else { continue };
            let correlation = message.headers().and_then(|headers| {
                headers
                    .iter()
                    .find(|h| h.key == optical_bus::headers::CORRELATION_ID)
                    .and_then(|h| h.value)
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.parse::<Uuid>().ok())
            });
            if let Some(correlation) = correlation {
                received.lock().unwrap().entry(correlation).or_insert(at);
            }
        }
    })
}

/// Sends price-changed messages at `rate` with a raw producer of the same configuration;
/// returns `(correlation id, sent, acknowledged)` of the messages after the warm-up.
async fn raw_phase(
    config: &KafkaConfig,
    codec: &AvroCodec,
    topic: &str,
    rate: f64,
    warmup: Duration,
    window: Duration,
) -> Vec<(Uuid, Instant, Instant)> {
    let producer: FutureProducer = config.producer().create().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tenant = tenant();
    let variant = VariantId::new();
    let template = serialized(
        &price_changed_event(variant, 1),
        &variant.to_string(),
        2,
        &metadata(tenant),
    );
    let encoded = codec
        .encode(topic, &template.event_type, &template.payload)
        .await
        .unwrap();

    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let mut pending = Vec::new();
    let warmup_until = Instant::now() + warmup;
    let until = warmup_until + window;
    let mut sequence = 2;
    while Instant::now() < until {
        ticker.tick().await;
        // Headers as the publisher builds them, for a fresh event with its own correlation id.
        let meta: EventMetadata = metadata(tenant);
        let event = RecordedEvent {
            position: EventPosition::default(),
            event_id: Uuid::now_v7(),
            aggregate_type: template.aggregate_type.clone(),
            aggregate_id: template.aggregate_id.clone(),
            sequence,
            event_type: template.event_type.clone(),
            event_version: template.event_version.clone(),
            payload: template.payload.clone(),
            metadata: meta.clone(),
        };
        sequence += 1;
        let headers = event_headers(&event, Some(&encoded));
        let sent = Instant::now();
        let record = FutureRecord::to(topic)
            .key(&event.aggregate_id)
            .payload(&encoded.bytes)
            .headers(headers);
        let delivery = producer
            .send_result(record)
            .map_err(|(e, _)| e)
            .expect("raw send");
        let measured = sent >= warmup_until;
        pending.push(tokio::spawn(async move {
            let outcome = delivery.await;
            let acked = Instant::now();
            assert!(matches!(outcome, Ok(Ok(_))), "raw message not acknowledged");
            measured.then_some((meta.correlation_id, sent, acked))
        }));
    }
    let mut out = Vec::new();
    for task in pending {
        if let Some(sample) = task.await.unwrap() {
            out.push(sample);
        }
    }
    out
}

/// Waits until the consumer saw every id (or `timeout`); returns whether it did.
async fn wait_for(received: &Received, ids: impl Iterator<Item = Uuid>, timeout: Duration) -> bool {
    let ids: Vec<Uuid> = ids.collect();
    eventually(timeout, || async {
        let seen = received.lock().unwrap();
        ids.iter().all(|id| seen.contains_key(id))
    })
    .await
}

/// Sorted `received − start` for every start the consumer saw.
fn latencies(
    starts: impl Iterator<Item = (Uuid, Instant)>,
    seen: &HashMap<Uuid, Instant>,
) -> Vec<Duration> {
    let mut out: Vec<Duration> = starts
        .filter_map(|(id, start)| seen.get(&id).map(|at| at.saturating_duration_since(start)))
        .collect();
    out.sort_unstable();
    out
}

fn times(figure: Duration, ceiling: Duration) -> String {
    if ceiling.is_zero() {
        return "n/a".into();
    }
    format!("{:.1}×", figure.as_secs_f64() / ceiling.as_secs_f64())
}
