//! **reserve_http** — reservations per second through the HTTP command API, beside a raw
//! `INSERT` ceiling.
//!
//! Measured: `POST /api/v1/inventory/reservations` for 1 unit, by `BENCH_CLIENTS` concurrent
//! clients (closed loop: each sends its next request when the previous answer arrived) through
//! one shared `reqwest` client, against the API as `optical-erp api` wires it
//! (`optical_testkit::api::TestApi`: actix-web, 2 HTTP workers, a pool of 16 connections, the
//! reservation workers with the production defaults — 4 workers, batch 32). Each request
//! names one of `BENCH_SKUS` variants (picked pseudo-randomly per request) that all have far
//! more stock than the run can reserve, so every answer should be 201. A request is queued in
//! `inventory_reservation_requests`; a worker claims the stock level, decides up to 32 queued
//! requests in one append, stores their answers in the same transaction and notifies; the
//! handler, woken by `LISTEN`, reads its answer and replies. p50/p99 are per request as the
//! client saw it (send → body read).
//!
//! Ceiling, measured in the same run at the same concurrency: a raw single-row
//! `INSERT INTO events` loop (the `append` bench's ceiling: a `catalog.variant.price_changed`
//! row through tokio-postgres behind a deadpool pool of `BENCH_POOL_SIZE`). For information,
//! the same loop with a `pg_notify` in each insert's statement: PostgreSQL serialises the
//! commits of notifying transactions behind one cluster-wide lock, and the queue notifies
//! twice per reservation (enqueue, answer).
//!
//! Functional guard (not a timing assertion): no answer may be a 5xx or missing, every
//! answer must be 201, 409 or 202, every queued request must end up answered, and the units
//! reserved in the stock levels must equal the 201s.
//!
//! Environment: `BENCH_CLIENTS` (default 32), `BENCH_SECONDS` (measuring window, default 5),
//! `BENCH_WARMUP_SECONDS` (default 1), `BENCH_SKUS` (default 256), `BENCH_STOCK` (units per
//! SKU, default 100000), `BENCH_POOL_SIZE` (the ceiling's pool, default = clients),
//! `BENCH_HTTP_WORKERS` (default 2), `BENCH_RESERVATION_WORKERS` (default 4),
//! `BENCH_BATCH_SIZE` (default 32), `BENCH_RESERVATION_WAIT_MS` (default 10000, as
//! `API_RESERVATION_WAIT_MS`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use optical_benches::ApiKnobs;
use optical_benches::{
    env_secs, env_usize, error_chain, http_client, measure_raw_insert, measure_raw_insert_notify,
    mix, ms, per_sec, print_context, queue_tally, ratio, reserve_body, run_clients, seed_shop,
    Settings, StatusCounts, Table,
};
use optical_testkit::api::token;
use optical_testkit::TestDatabase;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Unexpected answers printed in full before going quiet.
const REPORT_AT_MOST: usize = 5;

#[tokio::main]
async fn main() {
    let clients = env_usize("BENCH_CLIENTS", 32).max(1);
    let window = env_secs("BENCH_SECONDS", 5.0);
    let warmup = env_secs("BENCH_WARMUP_SECONDS", 1.0);
    let skus = env_usize("BENCH_SKUS", 256).max(1);
    let stock = u32::try_from(env_usize("BENCH_STOCK", 100_000)).unwrap();
    let pool_size = env_usize("BENCH_POOL_SIZE", clients);
    let knobs = ApiKnobs::from_env();
    let (http_workers, workers, wait) = (knobs.http_workers, knobs.workers.clone(), knobs.wait);

    optical_benches::init_logging();
    print_context("reserve_http");
    println!(
        "{clients} clients for {:.1} s after {:.1} s warm-up; {skus} SKUs with {stock} units each, 1 unit per request",
        window.as_secs_f64(),
        warmup.as_secs_f64(),
    );
    println!(
        "API: {http_workers} HTTP workers, pool 16, {} reservation workers, batch {}, reservation wait {} ms; ceiling pool {pool_size}",
        workers.reservation_workers,
        workers.batch_size,
        wait.as_millis()
    );

    // The ceiling first, on its own database, with nothing else running.
    let raw_settings = Settings {
        window,
        warmup,
        aggregates: 1024,
        pool_size,
    };
    let raw = measure_raw_insert(clients, &raw_settings).await;
    eprintln!("  raw INSERT            {:>8.0}/s", raw.rate);
    let raw_notify = measure_raw_insert_notify(clients, &raw_settings).await;
    eprintln!("  raw INSERT + NOTIFY   {:>8.0}/s", raw_notify.rate);

    let db = TestDatabase::create().await;
    let api = knobs.spawn(&db.url).await;
    let seeding = std::time::Instant::now();
    let shop = seed_shop(&api.app, &vec![stock; skus], 8).await;
    eprintln!(
        "  seeded {} SKUs in {:.1} s",
        shop.variants.len(),
        seeding.elapsed().as_secs_f64()
    );
    let bodies: Arc<Vec<String>> = Arc::new(
        shop.variants
            .iter()
            .map(|v| reserve_body(shop.location, *v))
            .collect(),
    );
    let client = http_client(wait + Duration::from_secs(30));
    let bearer = Arc::new(format!(
        "Bearer {}",
        token(shop.tenant, &["inventory:reserve"])
    ));
    let url = Arc::new(api.url("/inventory/reservations"));
    let reported = Arc::new(AtomicUsize::new(0));

    let run = run_clients(clients, window, warmup, move |w, n| {
        let (client, bearer, url, bodies, reported) = (
            client.clone(),
            Arc::clone(&bearer),
            Arc::clone(&url),
            Arc::clone(&bodies),
            Arc::clone(&reported),
        );
        async move {
            let sku = (mix(w as u64, n) % bodies.len() as u64) as usize;
            let sent = client
                .post(url.as_str())
                .header("authorization", bearer.as_str())
                .header("content-type", "application/json")
                .body(bodies[sku].clone())
                .send()
                .await;
            let (status, body) = match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match response.text().await {
                        Ok(body) => (status, body),
                        Err(error) => (0, format!("reading the body: {}", error_chain(&error))),
                    }
                }
                Err(error) => (0, error_chain(&error)),
            };
            if !matches!(status, 201 | 409 | 202)
                && reported.fetch_add(1, Ordering::Relaxed) < REPORT_AT_MOST
            {
                eprintln!("client {w} request {n}: status {status}: {body}");
            }
            status
        }
    })
    .await;
    let measured = run.measured;
    eprintln!("  HTTP reservations     {:>8.0}/s", measured.rate);

    let in_window = StatusCounts::from_statuses(run.in_window.iter().copied());
    let outside = StatusCounts::from_statuses(run.outside.iter().copied());

    // Requests answered 202 are still queued: give the workers a moment before counting.
    let mut tally = queue_tally(&db).await;
    for _ in 0..100 {
        if tally.pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        tally = queue_tally(&db).await;
    }
    let mut reserved_units = 0u64;
    for variant in &shop.variants {
        let level = api
            .app
            .inventory
            .stock_level(shop.tenant, shop.location, *variant)
            .await
            .expect("read stock level")
            .expect("stock level exists");
        reserved_units += level.reserved();
    }
    api.stop().await;

    println!();
    let mut table = Table::new(&[
        "clients",
        "measured",
        "reservations/s",
        "p50",
        "p99",
        "ceiling: raw INSERT rows/s",
        "raw p50",
        "raw p99",
        "ratio",
    ])
    .left_aligned(2);
    table.row(vec![
        clients.to_string(),
        "POST /inventory/reservations".into(),
        per_sec(measured.rate),
        ms(measured.p50),
        ms(measured.p99),
        per_sec(raw.rate),
        ms(raw.p50),
        ms(raw.p99),
        ratio(measured.rate, raw.rate),
    ]);
    table.row(vec![
        clients.to_string(),
        "(info) raw INSERT + pg_notify".into(),
        per_sec(raw_notify.rate),
        ms(raw_notify.p50),
        ms(raw_notify.p99),
        per_sec(raw.rate),
        ms(raw.p50),
        ms(raw.p99),
        ratio(raw_notify.rate, raw.rate),
    ]);
    table.print();
    println!();

    let mut answers = Table::new(&["answers", "201", "409", "202", "other / none", "total"]);
    for (label, counts) in [
        ("in the window", &in_window),
        ("warm-up and in flight at the end", &outside),
    ] {
        answers.row(vec![
            label.into(),
            counts.created.to_string(),
            counts.conflict.to_string(),
            counts.accepted.to_string(),
            counts.other_summary(),
            counts.total().to_string(),
        ]);
    }
    answers.print();
    println!();
    let created = in_window.created + outside.created;
    println!(
        "queue: {} requests, {} still pending; {} reserved events in {} appends ({:.1} per append); units reserved in the stock levels: {reserved_units} (stored 201 answers: {}, 201s received: {created})",
        tally.requests,
        tally.pending,
        tally.reserved_events,
        tally.appends,
        tally.reserved_events as f64 / tally.appends.max(1) as f64,
        tally.created,
    );
    println!("p50/p99: one request as its client saw it (send → body read), pool and queue waits included; raw: one INSERT (autocommit).");
    println!("A reservation commits two notifying transactions (its enqueue, and its batch's answer) when batches hold one request.");

    // Functional guard, not a timing assertion.
    let failed = in_window.other.len() + outside.other.len();
    assert_eq!(
        in_window.server_errors() + outside.server_errors(),
        0,
        "5xx answers"
    );
    assert_eq!(failed, 0, "answers other than 201/409/202, or none");
    assert_eq!(tally.pending, 0, "queued requests never answered");
    assert_eq!(
        tally.requests as usize,
        in_window.total() + outside.total(),
        "queued requests vs requests sent"
    );
    assert_eq!(
        reserved_units, tally.created as u64,
        "units reserved vs stored 201 answers"
    );
    assert_eq!(
        created + in_window.accepted + outside.accepted,
        tally.created as usize,
        "201s received (and 202s decided later) vs stored 201 answers"
    );
}
