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
    cached_framework, change_price, env_list, env_secs, env_usize, measure_raw_insert, metadata,
    per_sec, print_context, ratio, run_writers, seed_variants, shares, tenant, uncached_framework,
    Measured, Settings, Table,
};
use optical_catalog::Variant;
use optical_testkit::TestDatabase;
use std::sync::Arc;

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
        let raw = measure_raw_insert(writers, &settings).await;
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
