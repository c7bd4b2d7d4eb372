//! **flash_sale** — what a flash sale on one SKU does to everybody else's reservations.
//!
//! Measured: reservations of other SKUs arrive at a steady `BENCH_STEADY_RATE` (open loop:
//! each request is sent on its schedule, whether or not earlier ones were answered), spread
//! over `BENCH_SKUS` SKUs with plenty of stock, through `POST /api/v1/inventory/reservations`
//! of the API as `optical-erp api` wires it (`optical_testkit::api::TestApi`: actix-web, 2 HTTP
//! workers, a pool of 16 connections, 4 reservation workers, batch 32). Two phases on the same
//! running API, each a warm-up then a measuring window:
//!
//! (a) the steady stream alone — the ceiling the second phase is compared with;
//! (b) the same stream while, `BENCH_FLASH_AT_SECONDS` into the window, `BENCH_FLASH_REQUESTS`
//!     reservation requests for one hot SKU that has only `BENCH_FLASH_STOCK` units are
//!     released at once (each its own task, already spawned and waiting on one signal; new
//!     connections, as a crowd of shoppers would open).
//!
//! A steady request's latency runs from its scheduled send time to its body being read, so a
//! client that falls behind schedule is not hidden. Its p50/p99 over requests scheduled in the
//! window are printed for both phases side by side with their ratio.
//!
//! The flash sale's own outcome is checked (functional, not a timing assertion): exactly
//! `BENCH_FLASH_STOCK` answers 201, every other one 409 `out_of_stock`, none lost or 5xx (a 202
//! is followed on its `status_url` until decided); the hot stock level ends with all of its
//! units reserved. Also printed: how long after the release the first, median and last flash
//! answers arrived.
//!
//! Environment: `BENCH_STEADY_RATE` (requests/s, default 100), `BENCH_SKUS` (steady SKUs,
//! default 64), `BENCH_SECONDS` (measuring window per phase, default 5),
//! `BENCH_WARMUP_SECONDS` (default 1), `BENCH_FLASH_REQUESTS` (default 1000),
//! `BENCH_FLASH_STOCK` (default 10), `BENCH_FLASH_AT_SECONDS` (default 1), `BENCH_STOCK` (units
//! per steady SKU, default 10000), `BENCH_HTTP_WORKERS` (default 2),
//! `BENCH_RESERVATION_WORKERS` (default 4), `BENCH_BATCH_SIZE` (default 32),
//! `BENCH_RESERVATION_WAIT_MS` (default 10000, as `API_RESERVATION_WAIT_MS`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use optical_benches::ApiKnobs;
use optical_benches::{
    env_f64, env_secs, env_usize, error_chain, http_client, ms, percentile, print_context,
    queue_tally, reserve_body, seed_shop, StatusCounts, Table,
};
use optical_testkit::api::token;
use optical_testkit::TestDatabase;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Unexpected answers printed in full before going quiet.
const REPORT_AT_MOST: usize = 5;

/// Where and as whom the requests go.
struct Target {
    client: reqwest::Client,
    bearer: String,
    /// `http://127.0.0.1:port`, to which a 202's `status_url` is relative.
    origin: String,
    reserve_url: String,
    reported: AtomicUsize,
}

/// One answer as the client got it.
struct Answer {
    /// The first answer's status (0: none — a transport error or the client's timeout).
    first: u16,
    /// After following a 202's `status_url` until decided (equal to `first` otherwise).
    last: u16,
    /// The problem `code` of a non-2xx answer.
    code: Option<String>,
    /// When the (last) answer's body had been read.
    at: Instant,
}

impl Target {
    async fn call(&self, request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
        let (status, text) = match request.header("authorization", &self.bearer).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.text().await {
                    Ok(text) => (status, text),
                    Err(error) => (0, format!("reading the body: {}", error_chain(&error))),
                }
            }
            Err(error) => (0, error_chain(&error)),
        };
        if !matches!(status, 201 | 202 | 409)
            && self.reported.fetch_add(1, Ordering::Relaxed) < REPORT_AT_MOST
        {
            eprintln!("unexpected answer: status {status}: {text}");
        }
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// Reserves one unit; with `follow`, a 202 is polled on its `status_url` until decided.
    async fn reserve(&self, body: String, follow: bool) -> Answer {
        let request = self
            .client
            .post(&self.reserve_url)
            .header("content-type", "application/json")
            .body(body);
        let (first, mut json) = self.call(request).await;
        let mut last = first;
        if follow && first == 202 {
            let url = format!(
                "{}{}",
                self.origin,
                json["status_url"].as_str().unwrap_or_default()
            );
            for _ in 0..1200 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                (last, json) = self.call(self.client.get(&url)).await;
                if last != 202 {
                    break;
                }
            }
        }
        Answer {
            first,
            last,
            code: json["code"].as_str().map(str::to_owned),
            at: Instant::now(),
        }
    }
}

/// One steady request.
struct Sample {
    /// Its scheduled send time, from the start of the phase.
    scheduled: Duration,
    /// Scheduled send time → body read.
    latency: Duration,
    /// How late the request actually left (the client's own scheduling delay).
    lag: Duration,
    status: u16,
}

/// The flash sale of phase (b).
struct Flash {
    requests: usize,
    body: String,
    /// From the start of the phase.
    at: Duration,
}

struct FlashResult {
    answers: Vec<Answer>,
    /// From the start of the phase.
    fired: Duration,
    fired_at: Instant,
}

struct Phase {
    samples: Vec<Sample>,
    flash: Option<FlashResult>,
}

/// Sends the steady stream for `length` from a common start and, if given, the flash sale.
async fn run_phase(
    target: &Arc<Target>,
    steady: &Arc<Vec<String>>,
    rate: f64,
    length: Duration,
    flash: Option<Flash>,
) -> Phase {
    // The flash tasks wait, already spawned, for one signal.
    let (release, released) = watch::channel(false);
    let mut flash_tasks = Vec::new();
    if let Some(flash) = &flash {
        for _ in 0..flash.requests {
            let (target, body, mut released) =
                (Arc::clone(target), flash.body.clone(), released.clone());
            flash_tasks.push(tokio::spawn(async move {
                released.wait_for(|go| *go).await.unwrap();
                target.reserve(body, true).await
            }));
        }
    }
    let start = Instant::now() + Duration::from_millis(20);
    let sender = {
        let (target, steady) = (Arc::clone(target), Arc::clone(steady));
        tokio::spawn(async move {
            let mut requests = Vec::new();
            for i in 0u64.. {
                let offset = Duration::from_secs_f64(i as f64 / rate);
                if offset >= length {
                    break;
                }
                let scheduled = start + offset;
                tokio::time::sleep_until(scheduled).await;
                let body = steady[(i as usize) % steady.len()].clone();
                let target = Arc::clone(&target);
                requests.push(tokio::spawn(async move {
                    let lag = scheduled.elapsed();
                    let answer = target.reserve(body, false).await;
                    Sample {
                        scheduled: offset,
                        latency: answer.at - scheduled,
                        lag,
                        status: answer.first,
                    }
                }));
            }
            let mut samples = Vec::new();
            for request in requests {
                samples.push(request.await.unwrap());
            }
            samples
        })
    };
    let flash = match flash {
        Some(flash) => {
            tokio::time::sleep_until(start + flash.at).await;
            let fired_at = Instant::now();
            release.send(true).unwrap();
            let mut answers = Vec::new();
            for task in flash_tasks {
                answers.push(task.await.unwrap());
            }
            Some(FlashResult {
                answers,
                fired: fired_at - start,
                fired_at,
            })
        }
        None => None,
    };
    Phase {
        samples: sender.await.unwrap(),
        flash,
    }
}

/// Latency figures of the steady requests scheduled in `from..to` (from the phase start).
struct Steady {
    count: usize,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
    max_lag: Duration,
    statuses: StatusCounts,
}

fn steady_figures(samples: &[Sample], from: Duration, to: Duration) -> Steady {
    let chosen: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.scheduled >= from && s.scheduled < to)
        .collect();
    let mut latencies: Vec<Duration> = chosen.iter().map(|s| s.latency).collect();
    latencies.sort_unstable();
    Steady {
        count: chosen.len(),
        p50: percentile(&latencies, 50.0),
        p90: percentile(&latencies, 90.0),
        p99: percentile(&latencies, 99.0),
        max: latencies.last().copied().unwrap_or_default(),
        max_lag: chosen.iter().map(|s| s.lag).max().unwrap_or_default(),
        statuses: StatusCounts::from_statuses(chosen.iter().map(|s| s.status)),
    }
}

fn times(figure: Duration, ceiling: Duration) -> String {
    if ceiling.is_zero() {
        "n/a".into()
    } else {
        format!("{:.1}×", figure.as_secs_f64() / ceiling.as_secs_f64())
    }
}

fn statuses(counts: &StatusCounts) -> String {
    format!(
        "{} / {} / {} / {}",
        counts.created,
        counts.conflict,
        counts.accepted,
        counts.other_summary()
    )
}

#[tokio::main]
async fn main() {
    let rate = env_f64("BENCH_STEADY_RATE", 100.0);
    let skus = env_usize("BENCH_SKUS", 64).max(1);
    let window = env_secs("BENCH_SECONDS", 5.0);
    let warmup = env_secs("BENCH_WARMUP_SECONDS", 1.0);
    let flash_requests = env_usize("BENCH_FLASH_REQUESTS", 1000);
    let flash_stock = env_usize("BENCH_FLASH_STOCK", 10).max(1);
    let flash_at = env_secs("BENCH_FLASH_AT_SECONDS", 1.0);
    let stock = u32::try_from(env_usize("BENCH_STOCK", 10_000)).unwrap();
    let knobs = ApiKnobs::from_env();
    let (http_workers, workers, wait) = (knobs.http_workers, knobs.workers.clone(), knobs.wait);

    optical_benches::init_logging();
    print_context("flash_sale");
    println!(
        "steady: {rate:.0} reservations/s open loop over {skus} SKUs ({stock} units each); per phase {:.1} s warm-up + {:.1} s window",
        warmup.as_secs_f64(),
        window.as_secs_f64()
    );
    println!(
        "flash sale: {flash_requests} requests for 1 SKU with {flash_stock} units, released at once {:.1} s into the window of phase (b)",
        flash_at.as_secs_f64()
    );
    println!(
        "API: {http_workers} HTTP workers, pool 16, {} reservation workers, batch {}, reservation wait {} ms",
        workers.reservation_workers,
        workers.batch_size,
        wait.as_millis()
    );

    let db = TestDatabase::create().await;
    let api = knobs.spawn(&db.url).await;
    let mut units = vec![stock; skus];
    units.push(u32::try_from(flash_stock).unwrap());
    let seeding = std::time::Instant::now();
    let shop = seed_shop(&api.app, &units, 8).await;
    eprintln!(
        "  seeded {} SKUs in {:.1} s",
        shop.variants.len(),
        seeding.elapsed().as_secs_f64()
    );
    let hot = *shop.variants.last().unwrap();
    let steady: Arc<Vec<String>> = Arc::new(
        shop.variants[..skus]
            .iter()
            .map(|v| reserve_body(shop.location, *v))
            .collect(),
    );
    let origin = api
        .base
        .strip_suffix("/api/v1")
        .expect("base ends in /api/v1")
        .to_owned();
    let target = Arc::new(Target {
        client: http_client(wait + Duration::from_secs(30)),
        bearer: format!("Bearer {}", token(shop.tenant, &["inventory:reserve"])),
        origin,
        reserve_url: api.url("/inventory/reservations"),
        reported: AtomicUsize::new(0),
    });
    let length = warmup + window;

    let calm = run_phase(&target, &steady, rate, length, None).await;
    let a = steady_figures(&calm.samples, warmup, length);
    eprintln!("  (a) steady alone          p99 {}", ms(a.p99));

    let sale = run_phase(
        &target,
        &steady,
        rate,
        length,
        Some(Flash {
            requests: flash_requests,
            body: reserve_body(shop.location, hot),
            at: warmup + flash_at,
        }),
    )
    .await;
    let b = steady_figures(&sale.samples, warmup, length);
    eprintln!("  (b) steady + flash sale   p99 {}", ms(b.p99));
    let flash = sale.flash.expect("phase (b) has a flash sale");

    let mut after: Vec<Duration> = flash
        .answers
        .iter()
        .map(|a| a.at - flash.fired_at)
        .collect();
    after.sort_unstable();
    let last_answer = after.last().copied().unwrap_or_default();
    // The steady requests sent while the flash sale was being answered.
    let during = steady_figures(&sale.samples, flash.fired, flash.fired + last_answer);

    let flash_first = StatusCounts::from_statuses(flash.answers.iter().map(|a| a.first));
    let flash_final = StatusCounts::from_statuses(flash.answers.iter().map(|a| a.last));
    let out_of_stock = flash
        .answers
        .iter()
        .filter(|a| a.last == 409 && a.code.as_deref() == Some("out_of_stock"))
        .count();

    let hot_level = api
        .app
        .inventory
        .stock_level(shop.tenant, shop.location, hot)
        .await
        .expect("read the hot stock level")
        .expect("hot stock level exists");
    let tally = queue_tally(&db).await;
    api.stop().await;

    println!();
    let mut table = Table::new(&[
        "steady reservations (other SKUs)",
        "(b) with flash sale",
        "ceiling: (a) without",
        "ratio (b)/(a)",
        "(b) while the flash sale was answered (info)",
    ]);
    table.row(vec![
        "requests scheduled in the window".into(),
        b.count.to_string(),
        a.count.to_string(),
        String::new(),
        during.count.to_string(),
    ]);
    for (label, fb, fa, fd) in [
        ("p50", b.p50, a.p50, during.p50),
        ("p90", b.p90, a.p90, during.p90),
        ("p99", b.p99, a.p99, during.p99),
        ("max", b.max, a.max, during.max),
    ] {
        table.row(vec![label.into(), ms(fb), ms(fa), times(fb, fa), ms(fd)]);
    }
    table.row(vec![
        "sender's worst lag behind schedule".into(),
        ms(b.max_lag),
        ms(a.max_lag),
        String::new(),
        ms(during.max_lag),
    ]);
    table.row(vec![
        "answers 201 / 409 / 202 / other".into(),
        statuses(&b.statuses),
        statuses(&a.statuses),
        String::new(),
        statuses(&during.statuses),
    ]);
    table.print();
    println!();

    let mut outcome = Table::new(&["flash sale", "requests / time"]);
    outcome.row(vec![
        "requests released at once".into(),
        flash.answers.len().to_string(),
    ]);
    outcome.row(vec![
        format!("201 reserved (stock {flash_stock})"),
        flash_final.created.to_string(),
    ]);
    outcome.row(vec!["409 out_of_stock".into(), out_of_stock.to_string()]);
    outcome.row(vec![
        "first answered 202 (then followed to the decision)".into(),
        flash_first.accepted.to_string(),
    ]);
    outcome.row(vec![
        "other answers, 5xx, lost".into(),
        (flash_final.total() - flash_final.created - out_of_stock).to_string(),
    ]);
    outcome.row(vec![
        "first answer after release".into(),
        ms(after.first().copied().unwrap_or_default()),
    ]);
    outcome.row(vec![
        "median answer after release".into(),
        ms(percentile(&after, 50.0)),
    ]);
    outcome.row(vec!["last answer after release".into(), ms(last_answer)]);
    outcome.print();
    println!();
    println!(
        "hot stock level after the sale: on hand {}, reserved {}, available {}; queue: {} requests in all, {} pending; {} reserved events in {} appends",
        hot_level.on_hand(),
        hot_level.reserved(),
        hot_level.available(),
        tally.requests,
        tally.pending,
        tally.reserved_events,
        tally.appends
    );
    println!("steady latency: scheduled send → body read; percentiles over requests scheduled in the window.");

    // Functional guard, not a timing assertion.
    assert_eq!(flash_final.created, flash_stock, "flash sale: 201 answers");
    assert_eq!(
        out_of_stock,
        flash_requests - flash_stock,
        "flash sale: 409 out_of_stock answers"
    );
    assert_eq!(hot_level.reserved(), flash_stock as u64, "hot SKU reserved");
    for (phase, samples) in [("(a)", &calm.samples), ("(b)", &sale.samples)] {
        let all = StatusCounts::from_statuses(samples.iter().map(|s| s.status));
        assert_eq!(all.server_errors(), 0, "steady {phase}: 5xx answers");
        assert!(
            all.other.is_empty(),
            "steady {phase}: answers other than 201/409/202, or none: {}",
            all.other_summary()
        );
        assert_eq!(
            all.conflict, 0,
            "steady {phase}: 409 for SKUs with plenty of stock"
        );
    }
}
