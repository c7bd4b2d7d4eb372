//! **relay** — events per second from the PostgreSQL outbox to the broker, beside a raw
//! producer ceiling.
//!
//! Measured: a fresh in-process [`Relay`] (its own relay name, so it starts from an empty
//! checkpoint) over a database pre-filled with `BENCH_EVENTS` catalog events
//! (`catalog.variant.added` then `catalog.variant.price_changed`, written through
//! `PgEventRepository::persist`, 1,000 per transaction), publishing to a real tansu broker
//! (`TestBroker`). The clock runs from the relay's start until its row in
//! `relay_checkpoints` reaches the last event; the relay reads, Avro-encodes, sends with
//! headers, awaits every acknowledgement and checkpoints, batch after batch.
//!
//! Ceiling, measured in the same run against the same broker and topic: a raw `rdkafka`
//! `FutureProducer` with the same producer configuration (`KafkaConfig::producer()`) sending
//! the same messages — the same Avro bytes (encoded with `AvroCodec` beforehand), keys and
//! headers — as fast as the local queue takes them, then awaiting every delivery.
//! Goal: the relay reaches at least 50 % of the raw producer's rate.
//!
//! Each producer (the raw one, the relay's publisher) first sends one message and waits for its
//! acknowledgement before the clock starts, so connection, topic metadata and idempotent
//! producer id are in place on both sides. Rounds alternate raw and relay runs; each relay run is
//! compared with the raw run of its own round.
//!
//! Environment: `BENCH_EVENTS` (default 20000), `BENCH_AGGREGATES` (default 200),
//! `BENCH_ROUNDS` (default 3), `BENCH_RELAY_BATCH_SIZES` (default `100,500,2000`; 500 is the
//! application's), `BENCH_RELAY_MAX_IN_FLIGHT` (default 1000, the application's), `BENCH_VERIFY=0` to skip
//! reading the topic back at the end (which checks that every run delivered every event once).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cqrs_es::persist::PersistedEventRepository as _;
use optical_benches::{
    env_list, env_usize, median, metadata, per_sec, price_changed_event, print_context, ratio,
    serialized, tenant, variant_added_event, Table,
};
use optical_bus::publisher::event_headers;
use optical_bus::{AvroCodec, KafkaConfig, Publisher, SchemaCatalog, TopicNames};
use optical_catalog::{Variant, VariantId};
use optical_event_store::{OutboxSession, PgEventRepository};
use optical_kernel::{EventPosition, RecordedEvent};
use optical_relay::{Relay, RelayConfig};
use optical_testkit::{apply_topics, kafka_config, TestBroker, TestDatabase};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What every relay run shares.
#[derive(Clone, Copy)]
struct Setup<'a> {
    db: &'a TestDatabase,
    config: &'a KafkaConfig,
    codec: &'a AvroCodec,
    max_in_flight: usize,
    /// The last pre-filled event: a relay is done when its checkpoint reaches it.
    last: EventPosition,
    /// Sent once by each producer before its clock starts.
    first_event: &'a RecordedEvent,
}

/// One message as the relay would send it.
struct Prepared {
    key: String,
    bytes: Vec<u8>,
    headers: OwnedHeaders,
}

#[tokio::main]
async fn main() {
    let events = env_usize("BENCH_EVENTS", 20_000);
    let aggregates = env_usize("BENCH_AGGREGATES", 200).max(1);
    let rounds = env_usize("BENCH_ROUNDS", 3).max(1);
    let batch_sizes = env_list("BENCH_RELAY_BATCH_SIZES", &[100, 500, 2000]);
    let max_in_flight = env_usize("BENCH_RELAY_MAX_IN_FLIGHT", 1000);

    print_context("relay");
    let broker = TestBroker::start();
    let config = kafka_config(&broker);
    apply_topics(&config).await;
    let topic = TopicNames::new(&config.topic_prefix).for_context("catalog");
    let db = TestDatabase::create().await;
    let filled = prefill(&db, events, aggregates).await;
    let codec = AvroCodec::new(Arc::new(SchemaCatalog::embedded().unwrap()), None);
    let (messages, last, first_event) = prepare(&db, &codec, &topic).await;
    assert_eq!(
        messages.len(),
        filled,
        "every pre-filled event is readable from the outbox"
    );
    let setup = Setup {
        db: &db,
        config: &config,
        codec: &codec,
        max_in_flight,
        last,
        first_event: &first_event,
    };
    println!(
        "{filled} events over {aggregates} variants; topic {topic} ({} partitions) on tansu {}; \
         relay max in flight {max_in_flight}; broker log {}",
        config.partitions,
        broker.brokers(),
        std::env::temp_dir()
            .join(format!("tansu-{}.log", broker.port))
            .display()
    );

    // Warm the broker (topic metadata, first segments) with a run that is not reported.
    let warm = messages.len().min(2_000);
    raw_send(&config, &topic, &messages[..warm]).await;

    let mut table = Table::new(&[
        "round",
        "sender",
        "events",
        "seconds",
        "events/s",
        "ceiling: raw producer events/s",
        "ratio",
        "goal ≥ 50 %",
    ])
    .left_aligned(2);
    let mut raw_rates = Vec::new();
    let mut relay_rates: Vec<Vec<f64>> = vec![Vec::new(); batch_sizes.len()];
    let mut relay_ratios: Vec<Vec<f64>> = vec![Vec::new(); batch_sizes.len()];
    for round in 1..=rounds {
        let raw = raw_send(&config, &topic, &messages).await;
        let raw_rate = messages.len() as f64 / raw.as_secs_f64();
        raw_rates.push(raw_rate);
        eprintln!(
            "  round {round}: raw producer {:.2} s, {raw_rate:.0}/s",
            raw.as_secs_f64()
        );
        table.row(vec![
            round.to_string(),
            "raw FutureProducer (ceiling)".into(),
            messages.len().to_string(),
            format!("{:.2}", raw.as_secs_f64()),
            per_sec(raw_rate),
            per_sec(raw_rate),
            "100 %".into(),
            String::new(),
        ]);
        for (b, &batch) in batch_sizes.iter().enumerate() {
            let name = format!("bench-{round}-{batch}");
            let took = run_relay(&setup, &name, batch).await;
            let rate = messages.len() as f64 / took.as_secs_f64();
            relay_rates[b].push(rate);
            relay_ratios[b].push(rate / raw_rate);
            eprintln!(
                "  round {round}: relay batch {batch} {:.2} s, {rate:.0}/s",
                took.as_secs_f64()
            );
            table.row(vec![
                round.to_string(),
                format!("Relay, batch {batch}"),
                messages.len().to_string(),
                format!("{:.2}", took.as_secs_f64()),
                per_sec(rate),
                per_sec(raw_rate),
                ratio(rate, raw_rate),
                if rate >= 0.5 * raw_rate {
                    "met"
                } else {
                    "NOT met"
                }
                .into(),
            ]);
        }
    }
    // Where a relay batch spends its time: the relay's loop, step by step and without its
    // read-ahead, with the same session, publisher and statements (the `Relay` type exposes no
    // timings).
    let mut anatomy = Table::new(&[
        "batch",
        "batches",
        "fetch_after ms/batch",
        "publish ms/batch",
        "save_checkpoint ms/batch",
        "events/s",
    ]);
    if std::env::var("BENCH_RELAY_ANATOMY").map_or(true, |v| v != "0") {
        for &batch in &batch_sizes {
            let steps = relay_steps(&setup, batch).await;
            anatomy.row(steps);
        }
    }

    if std::env::var("BENCH_VERIFY").map_or(true, |v| v != "0") {
        // Every run sent every event once: the warm-up's share, then one copy per run.
        // …and each producer (the broker warm-up's included) sent the first event once more
        // before its clock started.
        let runs = rounds * (1 + batch_sizes.len()) + anatomy.len();
        let warm_ups = 1 + runs;
        verify_topic(
            &config,
            &topic,
            warm + runs * messages.len() + warm_ups,
            messages.len(),
            1 + runs + warm_ups,
        )
        .await;
    }
    println!();
    table.print();
    println!();
    let mut summary = Table::new(&[
        "sender",
        &format!("median events/s, {rounds} rounds"),
        "median ratio to the same round's raw producer",
        "goal ≥ 50 %",
    ]);
    summary.row(vec![
        "raw FutureProducer (ceiling)".into(),
        per_sec(median(&mut raw_rates)),
        "100 %".into(),
        String::new(),
    ]);
    for (b, batch) in batch_sizes.iter().enumerate() {
        let ratio_median = median(&mut relay_ratios[b]);
        summary.row(vec![
            format!("Relay, batch {batch}"),
            per_sec(median(&mut relay_rates[b])),
            format!("{:.0} %", 100.0 * ratio_median),
            if ratio_median >= 0.5 {
                "met"
            } else {
                "NOT met"
            }
            .into(),
        ]);
    }
    summary.print();
    println!();
    if !anatomy.is_empty() {
        println!("Relay loop step by step (fetch → publish → checkpoint, run again from the start per batch size):");
        anatomy.print();
        println!();
    }
    println!(
        "Relay = read batch (SQL) → Avro-encode → send with headers → await all acks → write checkpoint, repeated; \
         producer: {}",
        producer_summary(&config)
    );
}

/// Writes `events` catalog events (rounded down to whole rounds over `aggregates` variants)
/// through the event store's own append, 1,000 per transaction. Returns how many.
async fn prefill(db: &TestDatabase, events: usize, aggregates: usize) -> usize {
    let repository = PgEventRepository::new(db.pool(4));
    let tenant = tenant();
    let ids: Vec<VariantId> = (0..aggregates).map(|_| VariantId::new()).collect();
    let per_aggregate = (events / aggregates).max(1);
    let mut chunk = Vec::with_capacity(1_000);
    let mut total = 0;
    for sequence in 1..=per_aggregate {
        for (i, id) in ids.iter().enumerate() {
            let event = if sequence == 1 {
                variant_added_event(tenant, *id, i)
            } else {
                price_changed_event(*id, sequence as u64 - 1)
            };
            chunk.push(serialized(
                &event,
                &id.to_string(),
                sequence,
                &metadata(tenant),
            ));
            if chunk.len() == 1_000 {
                repository
                    .persist::<Variant>(&chunk, None)
                    .await
                    .expect("prefill");
                total += chunk.len();
                chunk.clear();
            }
        }
    }
    if !chunk.is_empty() {
        repository
            .persist::<Variant>(&chunk, None)
            .await
            .expect("prefill");
        total += chunk.len();
    }
    total
}

/// Reads the outbox back as the relay will, and encodes every event the way the publisher
/// does: same Avro bytes, key and headers. Returns the messages and the last position.
async fn prepare(
    db: &TestDatabase,
    codec: &AvroCodec,
    topic: &str,
) -> (Vec<Prepared>, EventPosition, RecordedEvent) {
    let session = OutboxSession::connect(&db.url, "bench-reader", "bench")
        .await
        .unwrap();
    let mut position = EventPosition::default();
    let mut prepared = Vec::new();
    let mut first = None;
    let mut encoding = Duration::ZERO;
    loop {
        let batch = session.fetch_after(position, 5_000).await.unwrap();
        let Some(last) = batch.last() else { break };
        position = last.position;
        first.get_or_insert_with(|| batch[0].clone());
        for event in &batch {
            let t = Instant::now();
            let encoded = codec
                .encode(topic, &event.event_type, &event.payload)
                .await
                .expect("valid catalog event");
            encoding += t.elapsed();
            prepared.push(Prepared {
                key: event.aggregate_id.clone(),
                headers: event_headers(event, Some(&encoded)),
                bytes: encoded.bytes,
            });
        }
    }
    println!(
        "Avro encoding alone (AvroCodec::encode, as the publisher calls it): {:.1} µs per event",
        encoding.as_secs_f64() * 1e6 / prepared.len().max(1) as f64
    );
    (prepared, position, first.expect("a pre-filled outbox"))
}

/// The ceiling: sends every message with a fresh producer of the same configuration and
/// returns the time until the last delivery was acknowledged.
async fn raw_send(config: &KafkaConfig, topic: &str, messages: &[Prepared]) -> Duration {
    let producer: FutureProducer = config.producer().create().unwrap();
    // One message first, acknowledged before the clock starts: the producer id, the topic's
    // metadata and the connection are then in place, as for a relay that has been running.
    let first = &messages[0];
    let record = FutureRecord::to(topic)
        .key(&first.key)
        .payload(&first.bytes)
        .headers(first.headers.clone());
    acknowledged(producer.send_result(record).map_err(|(e, _)| e).unwrap()).await;
    let started = Instant::now();
    let mut in_flight: VecDeque<DeliveryFuture> = VecDeque::with_capacity(messages.len());
    for message in messages {
        loop {
            let record = FutureRecord::to(topic)
                .key(&message.key)
                .payload(&message.bytes)
                .headers(message.headers.clone());
            match producer.send_result(record) {
                Ok(delivery) => {
                    in_flight.push_back(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    match in_flight.pop_front() {
                        Some(oldest) => acknowledged(oldest).await,
                        None => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
                Err((error, _)) => panic!("raw producer: {error}"),
            }
        }
    }
    let queued = started.elapsed();
    let mut first_ack = None;
    for delivery in in_flight {
        acknowledged(delivery).await;
        first_ack.get_or_insert_with(|| started.elapsed());
    }
    let took = started.elapsed();
    eprintln!(
        "    raw producer: all queued after {:.0} ms, first ack after {:.0} ms, last after {:.0} ms",
        queued.as_secs_f64() * 1e3,
        first_ack.unwrap_or_default().as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e3
    );
    took
}

async fn acknowledged(delivery: DeliveryFuture) {
    match delivery.await {
        Ok(Ok(_)) => {}
        Ok(Err((error, _))) => panic!("raw producer: not acknowledged: {error}"),
        Err(_) => panic!("raw producer: delivery cancelled"),
    }
}

/// Runs a relay named `name` until its checkpoint reaches `last`; returns the time taken.
async fn run_relay(setup: &Setup<'_>, name: &str, batch: usize) -> Duration {
    let Setup {
        db,
        config,
        codec,
        max_in_flight,
        last,
        first_event,
    } = *setup;
    let mut relay_config = RelayConfig::new(&db.url);
    relay_config.relay_name = name.to_owned();
    relay_config.instance = name.to_owned();
    relay_config.batch_size = i64::try_from(batch).unwrap();
    let publisher = Publisher::new(config, codec.clone(), max_in_flight).unwrap();
    warm_up(&publisher, first_event).await;
    let relay = Arc::new(Relay::new(relay_config, publisher));
    let watcher = db.client().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let running = tokio::spawn({
        let relay = Arc::clone(&relay);
        async move {
            relay
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        }
    });
    let deadline = started + Duration::from_secs(300);
    loop {
        let row = watcher
            .query_opt(
                "SELECT last_txid::text, last_id FROM relay_checkpoints WHERE relay_name = $1",
                &[&name],
            )
            .await
            .unwrap();
        if let Some(row) = row {
            let txid: u64 = row.get::<_, &str>(0).parse().unwrap();
            let id: i64 = row.get(1);
            if (EventPosition { txid, id }) >= last {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "relay {name} did not reach {last} in time"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = started.elapsed();
    let _ = stop.send(());
    running.await.unwrap();
    took
}

fn producer_summary(config: &KafkaConfig) -> String {
    let producer = config.producer();
    [
        "enable.idempotence",
        "acks",
        "max.in.flight.requests.per.connection",
        "linger.ms",
        "partitioner",
    ]
    .iter()
    .filter_map(|key| producer.get(key).map(|v| format!("{key}={v}")))
    .collect::<Vec<_>>()
    .join(", ")
}

/// Reads the whole topic back and counts messages, distinct event ids and offset gaps, to
/// check the broker's watermarks against what it actually holds (`BENCH_VERIFY=1`).
async fn verify_topic(
    config: &KafkaConfig,
    topic: &str,
    expected: usize,
    distinct: usize,
    max_copies: usize,
) {
    use rdkafka::message::{Headers, Message};
    use std::collections::HashMap;
    let consumer: BaseConsumer = config
        .reader(&format!("bench-verify-{}", uuid::Uuid::now_v7()))
        .create()
        .unwrap();
    let mut assignment = rdkafka::TopicPartitionList::new();
    for partition in 0..config.partitions {
        assignment
            .add_partition_offset(topic, partition, rdkafka::Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut copies: HashMap<String, usize> = HashMap::new();
    let mut last_offset: HashMap<i32, i64> = HashMap::new();
    let (mut messages, mut gaps) = (0usize, 0i64);
    let mut idle_since = Instant::now();
    while idle_since.elapsed() < Duration::from_secs(3) {
        let polled = tokio::task::block_in_place(|| consumer.poll(Duration::from_millis(100)));
        let Some(Ok(message)) = polled else { continue };
        idle_since = Instant::now();
        messages += 1;
        let previous = last_offset.insert(message.partition(), message.offset());
        if let Some(previous) = previous {
            gaps += message.offset() - previous - 1;
        }
        let event_id = message
            .headers()
            .and_then(|h| {
                h.iter()
                    .find(|h| h.key == optical_bus::headers::EVENT_ID)
                    .and_then(|h| h.value)
            })
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        *copies.entry(event_id).or_default() += 1;
    }
    let most = copies.values().copied().max().unwrap_or(0);
    let mut ends: Vec<(i32, i64)> = last_offset.iter().map(|(p, o)| (*p, o + 1)).collect();
    ends.sort_unstable();
    let watermarks: Vec<Option<i64>> = (0..config.partitions)
        .map(|p| high_watermark(&consumer, topic, p))
        .collect();
    let verdict =
        if messages == expected && copies.len() == distinct && most == max_copies && gaps == 0 {
            "as expected"
        } else {
            "UNEXPECTED"
        };
    println!(
        "verify ({verdict}): read {messages} messages back (expected {expected}), {} distinct event ids (expected \
         {distinct}), at most {most} copies of one (expected {max_copies}), {gaps} skipped offsets; \
         last offset + 1 per partition {ends:?}, broker's high watermarks {watermarks:?}",
        copies.len(),
    );
}

fn high_watermark(consumer: &BaseConsumer, topic: &str, partition: i32) -> Option<i64> {
    tokio::task::block_in_place(|| {
        consumer.fetch_watermarks(topic, partition, Duration::from_secs(5))
    })
    .ok()
    .map(|(_, high)| high)
}

/// The relay's loop run by hand with a stopwatch around each step: returns a table row.
async fn relay_steps(setup: &Setup<'_>, batch: usize) -> Vec<String> {
    let Setup {
        db,
        config,
        codec,
        max_in_flight,
        first_event,
        ..
    } = *setup;
    let name = format!("bench-steps-{batch}");
    let session = OutboxSession::connect(&db.url, &name, &name).await.unwrap();
    let publisher = Publisher::new(config, codec.clone(), max_in_flight).unwrap();
    warm_up(&publisher, first_event).await;
    let limit = i64::try_from(batch).unwrap();
    let (mut fetch, mut publish, mut checkpoint) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut batches, mut events) = (0u32, 0usize);
    let mut position = session.checkpoint().await.unwrap();
    let started = Instant::now();
    loop {
        let t = Instant::now();
        let rows = session.fetch_after(position, limit).await.unwrap();
        fetch += t.elapsed();
        let Some(last) = rows.last().map(|e| e.position) else {
            break;
        };
        let t = Instant::now();
        publisher.publish(&rows).await.unwrap();
        publish += t.elapsed();
        let t = Instant::now();
        session.save_checkpoint(last).await.unwrap();
        checkpoint += t.elapsed();
        position = last;
        batches += 1;
        events += rows.len();
    }
    let total = started.elapsed();

    let per = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e3 / f64::from(batches.max(1)));
    vec![
        batch.to_string(),
        batches.to_string(),
        per(fetch),
        per(publish),
        per(checkpoint),
        per_sec(events as f64 / total.as_secs_f64()),
    ]
}

/// Publishes one event and waits for its acknowledgement, so the producer is connected and
/// has its producer id before anything is timed (librdkafka otherwise sometimes holds the
/// first messages for about 500 ms while it sets up the idempotent producer).
async fn warm_up(publisher: &Publisher, event: &RecordedEvent) {
    publisher
        .publish(std::slice::from_ref(event))
        .await
        .expect("warm-up message");
}
