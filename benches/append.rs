//! **append** — commands per second through the write path, beside a raw `INSERT` ceiling.
//!
//! Measured: `ChangeVariantPrice` commands executed through cqrs-es
//! (`CqrsFramework<Variant, CachedEventStore<PgEventRepository, Variant>>`; `CatalogApp` calls
//! `CachedEventStore::execute`, which takes the same load-from-cache + one-`INSERT` path for a
//! command that appends) by 1, 8 and 32 concurrent writers. Each writer owns its own variants (added before
//! the clock starts) and cycles through them, toggling the price so every command records
//! exactly one `catalog.variant.price_changed` event; no writer ever conflicts with another.
//! For information, the same with cqrs-es's uncached `PersistedEventStore::new_event_store`,
//! which re-reads the aggregate's stream before every command.
//!
//! Ceiling, measured in the same run with the same writer counts: a raw single-row
//! `INSERT INTO events` of identical rows (same columns, the same JSON payload and metadata
//! shapes, a fresh event id) through the same client library (tokio-postgres behind a
//! deadpool pool of the same size). Goal (design §3): the cached store reaches at least
//! 50 % of the raw rate at 8 writers and above.
//!
//! Every configuration gets a fresh migrated database, a warm-up, then a fixed measuring
//! window in which completed commands are counted.
//!
//! Environment: `BENCH_WRITERS` (default `1,8,32`), `BENCH_SECONDS` (measuring window per
//! configuration, default 3), `BENCH_WARMUP_SECONDS` (default 1), `BENCH_AGGREGATES`
//! (variants in total, split between the writers, default 1024), `BENCH_POOL_SIZE` (default 32),
//! `BENCH_SKIP_UNCACHED=1` to leave the uncached store out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cqrs_es::{CqrsFramework, EventStore};
use optical_benches::{
    cached_framework, change_price, env_list, env_secs, env_usize, metadata, per_sec, percentile,
    price_changed_event, print_context, ratio, seed_variants, tenant, uncached_framework, Table,
};
use optical_catalog::{Variant, VariantId};
use optical_event_store::Pool;
use optical_testkit::TestDatabase;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RAW_INSERT: &str = "
    INSERT INTO events (event_id, tenant_id, aggregate_type, aggregate_id, sequence,
                        event_type, event_version, payload, metadata, occurred_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

struct Settings {
    window: Duration,
    warmup: Duration,
    aggregates: usize,
    pool_size: usize,
}

/// Throughput and per-command latency of one configuration.
struct Measured {
    rate: f64,
    p50: Duration,
    p99: Duration,
}

#[tokio::main]
async fn main() {
    let writer_counts = env_list("BENCH_WRITERS", &[1, 8, 32]);
    let settings = Settings {
        window: env_secs("BENCH_SECONDS", 3.0),
        warmup: env_secs("BENCH_WARMUP_SECONDS", 1.0),
        aggregates: env_usize("BENCH_AGGREGATES", 1024),
        pool_size: env_usize("BENCH_POOL_SIZE", 32),
    };
    let with_uncached = std::env::var("BENCH_SKIP_UNCACHED")
        .map(|v| v != "1")
        .unwrap_or(true);

    print_context("append");
    println!(
        "window {:.1} s after {:.1} s warm-up per configuration; {} variants split between the writers; pool size {}",
        settings.window.as_secs_f64(),
        settings.warmup.as_secs_f64(),
        settings.aggregates,
        settings.pool_size
    );

    let mut table = Table::new(&[
        "writers",
        "store",
        "commands/s",
        "p50",
        "p99",
        "ceiling: raw INSERT rows/s",
        "raw p50",
        "ratio",
        "goal ≥ 50 %",
    ])
    .left_aligned(2);
    for &writers in &writer_counts {
        let raw = measure_raw(writers, &settings).await;
        eprintln!(
            "  {writers:>2} writers  raw INSERT        {:>8.0}/s",
            raw.rate
        );
        let cached = measure_cached(writers, &settings).await;
        eprintln!(
            "  {writers:>2} writers  cqrs-es + cache   {:>8.0}/s",
            cached.rate
        );
        let goal = if writers >= 8 {
            if cached.rate >= 0.5 * raw.rate {
                "met"
            } else {
                "NOT met"
            }
        } else {
            "(8+ only)"
        };
        let row = |store: &str, m: &Measured, goal: &str| {
            vec![
                writers.to_string(),
                store.to_owned(),
                per_sec(m.rate),
                optical_benches::ms(m.p50),
                optical_benches::ms(m.p99),
                per_sec(raw.rate),
                optical_benches::ms(raw.p50),
                ratio(m.rate, raw.rate),
                goal.to_owned(),
            ]
        };
        table.row(row("cqrs-es + CachedEventStore", &cached, goal));
        if with_uncached {
            let uncached = measure_uncached(writers, &settings).await;
            eprintln!(
                "  {writers:>2} writers  cqrs-es uncached  {:>8.0}/s",
                uncached.rate
            );
            table.row(row("cqrs-es PersistedEventStore (info)", &uncached, "—"));
        }
    }
    println!();
    table.print();
    println!();
    println!("p50/p99: latency of one command (or one raw INSERT) as its writer saw it, pool wait included.");
}

/// Runs `writers` loops of `op(writer, n)` (n = 0, 1, …), warms up, then counts the operations
/// completed during the measuring window.
async fn run_writers<Op, Fut>(writers: usize, settings: &Settings, op: Op) -> Measured
where
    Op: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let completed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (op, measuring, stop, completed, latencies) = (
            Arc::clone(&op),
            Arc::clone(&measuring),
            Arc::clone(&stop),
            Arc::clone(&completed),
            Arc::clone(&latencies),
        );
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                op(w, n).await;
                n += 1;
                if measuring.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                    completed.fetch_add(1, Ordering::Relaxed);
                    mine.push(started.elapsed());
                }
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    tokio::time::sleep(settings.warmup).await;
    let before = completed.load(Ordering::Relaxed);
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(settings.window).await;
    let done = completed.load(Ordering::Relaxed) - before;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let mut latencies = std::mem::take(&mut *latencies.lock().unwrap());
    latencies.sort_unstable();
    Measured {
        rate: done as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
    }
}

/// The variants of writer `w`: a contiguous share of `ids`.
fn shares(ids: &[VariantId], writers: usize) -> Arc<Vec<Vec<String>>> {
    let per = (ids.len() / writers).max(1);
    Arc::new(
        (0..writers)
            .map(|w| {
                ids.iter()
                    .skip(w * per)
                    .take(per)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            })
            .collect(),
    )
}

async fn measure_cached(writers: usize, settings: &Settings) -> Measured {
    let db = TestDatabase::create().await;
    measure_framework(
        cached_framework(db.pool(settings.pool_size)),
        writers,
        settings,
    )
    .await
}

async fn measure_uncached(writers: usize, settings: &Settings) -> Measured {
    let db = TestDatabase::create().await;
    measure_framework(
        uncached_framework(db.pool(settings.pool_size)),
        writers,
        settings,
    )
    .await
}

/// Price changes through `framework` by `writers` writers, each on its own variants.
async fn measure_framework<ES>(
    framework: CqrsFramework<Variant, ES>,
    writers: usize,
    settings: &Settings,
) -> Measured
where
    ES: EventStore<Variant> + 'static,
    ES::AC: Send,
{
    let framework = Arc::new(framework);
    let ids = seed_variants(&framework, settings.aggregates.max(writers), 8).await;
    let shares = shares(&ids, writers);
    let tenant = tenant();
    run_writers(writers, settings, move |w, n| {
        let framework = Arc::clone(&framework);
        let shares = Arc::clone(&shares);
        async move {
            let mine = &shares[w];
            let id = &mine[(n as usize) % mine.len()];
            let round = n / mine.len() as u64 + 1;
            framework
                .execute_with_metadata(id, change_price(tenant, round), metadata(tenant).to_map())
                .await
                .expect("price change");
        }
    })
    .await
}

/// The ceiling: the row the cached store would write for the same command, inserted alone.
async fn measure_raw(writers: usize, settings: &Settings) -> Measured {
    let db = TestDatabase::create().await;
    let pool: Pool = db.pool(settings.pool_size);
    let ids: Vec<VariantId> = (0..settings.aggregates.max(writers))
        .map(|_| VariantId::new())
        .collect();
    let shares = shares(&ids, writers);
    let tenant = tenant();
    run_writers(writers, settings, move |w, n| {
        let pool = pool.clone();
        let shares = Arc::clone(&shares);
        async move {
            let mine = &shares[w];
            let id = &mine[(n as usize) % mine.len()];
            let round = n / mine.len() as u64 + 1;
            let variant_id: VariantId = id.parse().unwrap();
            let meta = metadata(tenant);
            let payload = serde_json::to_value(price_changed_event(variant_id, round)).unwrap();
            let meta_json = serde_json::to_value(meta.to_map()).unwrap();
            // Sequence 1 is the (unwritten) VariantAdded, as in the cqrs-es runs.
            let sequence = i64::try_from(round + 1).unwrap();
            let client = pool.get().await.expect("pooled connection");
            let statement = client.prepare_cached(RAW_INSERT).await.unwrap();
            client
                .execute(
                    &statement,
                    &[
                        &uuid::Uuid::now_v7(),
                        meta.tenant_id.as_uuid(),
                        &"catalog.variant",
                        id,
                        &sequence,
                        &"catalog.variant.price_changed",
                        &"1.0",
                        &payload,
                        &meta_json,
                        &meta.occurred_at,
                    ],
                )
                .await
                .expect("raw insert");
        }
    })
    .await
}
