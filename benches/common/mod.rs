//! Shared helpers of the benchmarks in `benches/`: sizes read from the environment, catalog
//! fixtures (variants, their price changes, their stored rows), the cqrs-es stores under test,
//! latency percentiles and the small aligned tables every bench prints.
//!
//! Not a shipped crate: the benches are the only users.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cqrs_es::persist::{PersistedEventStore, SerializedEvent};
use cqrs_es::{CqrsFramework, DomainEvent, EventStore};
use optical_app::App;
use optical_catalog::{
    Brand, Colour, FrameAttributes, FrameGeometry, FrameMaterial, FrameShape, ProductCommand,
    ProductId, ProductKind, ProductName, ProductRef, PublicationStatus, Sku, Variant,
    VariantAttributes, VariantCommand, VariantEvent, VariantId,
};
use optical_event_store::{CachedEventStore, PgEventRepository, Pool};
use optical_inventory::{Quantity, ReceiptReference};
use optical_kernel::{
    Clock, Currency, EventMetadata, LocationId, Money, StoreId, SystemClock, TenantId,
};
use optical_tenancy::{
    LocationKind, LocationName, StoreCode, StoreName, TenantCommand, TenantKind, TenantName,
    TenantSettings,
};
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Sizes from the environment.

/// `name` as a number, or `default` when unset. A value that does not parse is a mistake
/// worth stopping for.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}

pub fn env_f64(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// A comma-separated list of numbers, e.g. `BENCH_WRITERS=1,8,32`.
pub fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={v:?} is not a list of numbers"))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

pub fn env_secs(name: &str, default: f64) -> Duration {
    Duration::from_secs_f64(env_f64(name, default))
}

// ---------------------------------------------------------------------------------------------
// Catalog fixtures.

/// The tenant every bench writes for.
pub fn tenant() -> TenantId {
    TenantId::from_uuid(uuid::Uuid::from_u128(
        0x0192_0000_0000_7000_8000_0000_0000_0b01,
    ))
}

pub fn eur(amount_minor: i64) -> Money {
    Money::new(amount_minor, "EUR".parse::<Currency>().unwrap()).unwrap()
}

/// The starting price of every bench variant; price changes toggle between it and +1 €.
pub const BASE_PRICE: i64 = 10_000;

/// The price a variant gets on its `round`-th price change (1-based): always different from
/// the current one, so every command records exactly one event.
pub fn toggled_price(round: u64) -> Money {
    eur(if round % 2 == 1 {
        BASE_PRICE + 100
    } else {
        BASE_PRICE
    })
}

/// Metadata as a request handler builds it (correlation, cause, trace, actor).
pub fn metadata(tenant: TenantId) -> EventMetadata {
    EventMetadata::new_request(tenant, SystemClock.now(), "bench-writer")
}

/// The product every bench variant hangs under (the aggregate never reads the product
/// stream: the application passes this reference in).
pub fn product_ref(tenant: TenantId) -> ProductRef {
    ProductRef {
        product_id: ProductId::from_uuid(uuid::Uuid::from_u128(
            0x0192_0000_0000_7000_8000_0000_0000_0c01,
        )),
        tenant_id: tenant,
        kind: ProductKind::Frame,
        status: PublicationStatus::Draft,
    }
}

fn frame_attributes(i: usize) -> VariantAttributes {
    let a = 48.0 + (i % 8) as f64;
    VariantAttributes::Frame(FrameAttributes {
        geometry: FrameGeometry::new(a, a - 12.0, 18.0, a + 4.0, 140.0).unwrap(),
        colour: Colour::new(["Havana", "Black", "Crystal", "Tortoise"][i % 4]).unwrap(),
        shape: [
            FrameShape::Round,
            FrameShape::Rectangle,
            FrameShape::CatEye,
            FrameShape::Aviator,
        ][i % 4],
        frame_material: FrameMaterial::Acetate,
    })
}

pub fn add_variant(tenant: TenantId, variant_id: VariantId, i: usize) -> VariantCommand {
    VariantCommand::AddVariant {
        variant_id,
        tenant_id: tenant,
        product: product_ref(tenant),
        sku: Sku::new(format!("BENCH-{i}-{}", &variant_id.to_string()[24..])).unwrap(),
        attributes: frame_attributes(i),
        price: eur(BASE_PRICE),
        compare_at_price: None,
    }
}

pub fn change_price(tenant: TenantId, round: u64) -> VariantCommand {
    VariantCommand::ChangeVariantPrice {
        tenant_id: tenant,
        price: toggled_price(round),
        compare_at_price: None,
    }
}

/// The events the variant commands above record, as domain values.
pub fn variant_added_event(tenant: TenantId, variant_id: VariantId, i: usize) -> VariantEvent {
    VariantEvent::VariantAdded {
        variant_id,
        tenant_id: tenant,
        product_id: product_ref(tenant).product_id,
        sku: Sku::new(format!("BENCH-{i}-{}", &variant_id.to_string()[24..])).unwrap(),
        attributes: frame_attributes(i),
        price: eur(BASE_PRICE),
        compare_at_price: None,
    }
}

pub fn price_changed_event(variant_id: VariantId, round: u64) -> VariantEvent {
    VariantEvent::VariantPriceChanged {
        variant_id,
        price: toggled_price(round),
        compare_at_price: None,
    }
}

/// A stored event exactly as cqrs-es serialises it for [`PgEventRepository::persist`].
pub fn serialized(
    event: &VariantEvent,
    aggregate_id: &str,
    sequence: usize,
    meta: &EventMetadata,
) -> SerializedEvent {
    SerializedEvent {
        aggregate_id: aggregate_id.to_owned(),
        sequence,
        aggregate_type: <Variant as cqrs_es::Aggregate>::TYPE.to_owned(),
        event_type: event.event_type(),
        event_version: event.event_version(),
        payload: serde_json::to_value(event).unwrap(),
        metadata: serde_json::to_value(meta.to_map()).unwrap(),
    }
}

// ---------------------------------------------------------------------------------------------
// The stores under test.

/// What the application runs (`CatalogApp`): cqrs-es over the cached store.
pub type CachedFramework = CqrsFramework<Variant, CachedEventStore<PgEventRepository, Variant>>;
/// cqrs-es's plain event store over the same repository: every command re-reads the stream.
pub type UncachedFramework =
    CqrsFramework<Variant, PersistedEventStore<PgEventRepository, Variant>>;

/// The application's cache size (`CatalogApp`).
pub const CACHE_CAPACITY: usize = 10_000;

pub fn cached_framework(pool: Pool) -> CachedFramework {
    let capacity = NonZeroUsize::new(CACHE_CAPACITY).unwrap();
    CqrsFramework::new(
        CachedEventStore::new(PgEventRepository::new(pool), capacity),
        vec![],
        (),
    )
}

pub fn uncached_framework(pool: Pool) -> UncachedFramework {
    CqrsFramework::new(
        PersistedEventStore::new_event_store(PgEventRepository::new(pool)),
        vec![],
        (),
    )
}

/// Adds `count` variants through `framework` with `concurrency` writers; returns their ids
/// in order. Through a cached framework this also warms its cache, as a running API would be.
pub async fn seed_variants<ES>(
    framework: &Arc<CqrsFramework<Variant, ES>>,
    count: usize,
    concurrency: usize,
) -> Vec<VariantId>
where
    ES: EventStore<Variant> + 'static,
    ES::AC: Send,
{
    let tenant = tenant();
    let ids: Vec<VariantId> = (0..count).map(|_| VariantId::new()).collect();
    let concurrency = concurrency.max(1);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let framework = Arc::clone(framework);
        let mine: Vec<(usize, VariantId)> = ids
            .iter()
            .copied()
            .enumerate()
            .skip(w)
            .step_by(concurrency)
            .collect();
        tasks.push(tokio::spawn(async move {
            for (i, id) in mine {
                framework
                    .execute_with_metadata(
                        &id.to_string(),
                        add_variant(tenant, id, i),
                        metadata(tenant).to_map(),
                    )
                    .await
                    .expect("seed variant");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    ids
}

// ---------------------------------------------------------------------------------------------
// Concurrent writers and the raw `INSERT` ceiling.

/// How long to warm up and measure, how many aggregates the writers share, the pool size.
#[derive(Clone, Debug)]
pub struct Settings {
    pub window: Duration,
    pub warmup: Duration,
    pub aggregates: usize,
    pub pool_size: usize,
}

/// Throughput and per-operation latency of one configuration.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// What [`run_clients`] saw: the figures of the measuring window, the outputs of the
/// operations completed in it, and those of the operations completed outside it (warm-up,
/// or in flight when the window closed).
pub struct Run<O> {
    pub measured: Measured,
    pub in_window: Vec<O>,
    pub outside: Vec<O>,
}

/// Runs `clients` closed loops of `op(client, n)` (n = 0, 1, …: each client waits for its
/// previous operation), warms up, then counts the operations completed during the measuring
/// window and keeps their latencies and outputs.
pub async fn run_clients<Op, Fut, O>(
    clients: usize,
    window: Duration,
    warmup: Duration,
    op: Op,
) -> Run<O>
where
    Op: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = O> + Send,
    O: Send + 'static,
{
    let op = Arc::new(op);
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let completed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..clients {
        let (op, measuring, stop, completed) = (
            Arc::clone(&op),
            Arc::clone(&measuring),
            Arc::clone(&stop),
            Arc::clone(&completed),
        );
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut in_window, mut outside) = (Vec::new(), Vec::new(), Vec::new());
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let output = op(w, n).await;
                n += 1;
                if measuring.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                    completed.fetch_add(1, Ordering::Relaxed);
                    latencies.push(started.elapsed());
                    in_window.push(output);
                } else {
                    outside.push(output);
                }
            }
            (latencies, in_window, outside)
        }));
    }
    tokio::time::sleep(warmup).await;
    let before = completed.load(Ordering::Relaxed);
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let done = completed.load(Ordering::Relaxed) - before;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (mut latencies, mut in_window, mut outside) = (Vec::new(), Vec::new(), Vec::new());
    for task in tasks {
        let (l, i, o) = task.await.unwrap();
        latencies.extend(l);
        in_window.extend(i);
        outside.extend(o);
    }
    latencies.sort_unstable();
    Run {
        measured: Measured {
            rate: done as f64 / elapsed.as_secs_f64(),
            p50: percentile(&latencies, 50.0),
            p99: percentile(&latencies, 99.0),
        },
        in_window,
        outside,
    }
}

/// [`run_clients`] for operations without an output.
pub async fn run_writers<Op, Fut>(writers: usize, settings: &Settings, op: Op) -> Measured
where
    Op: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    run_clients(writers, settings.window, settings.warmup, op)
        .await
        .measured
}

/// The variants of writer `w`: a contiguous share of `ids`.
pub fn shares(ids: &[VariantId], writers: usize) -> Arc<Vec<Vec<String>>> {
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

pub const RAW_INSERT: &str = "
    INSERT INTO events (event_id, tenant_id, aggregate_type, aggregate_id, sequence,
                        event_type, event_version, payload, metadata, occurred_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// The same row, with a `pg_notify` in the same statement, as the reservation queue's enqueue
/// and answer writes do.
pub const RAW_INSERT_NOTIFY: &str = "
    WITH inserted AS (
        INSERT INTO events (event_id, tenant_id, aggregate_type, aggregate_id, sequence,
                            event_type, event_version, payload, metadata, occurred_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        RETURNING id)
    SELECT pg_notify('bench_raw_insert', id::text) FROM inserted";

/// The ceiling of the write path: `writers` loops each inserting one
/// `catalog.variant.price_changed` row (as the cached store would write it for a price change:
/// same columns, payload and metadata JSON, a fresh event id) into `events` of a fresh
/// migrated database, one statement per round trip, through tokio-postgres behind a deadpool
/// pool of `settings.pool_size`.
pub async fn measure_raw_insert(writers: usize, settings: &Settings) -> Measured {
    raw_insert(writers, settings, RAW_INSERT).await
}

/// [`measure_raw_insert`] with a `NOTIFY` in every insert's transaction ([`RAW_INSERT_NOTIFY`]).
/// PostgreSQL serialises the commits of notifying transactions behind one cluster-wide lock
/// held through the commit's WAL flush, so this shows what that costs at the same concurrency.
pub async fn measure_raw_insert_notify(writers: usize, settings: &Settings) -> Measured {
    raw_insert(writers, settings, RAW_INSERT_NOTIFY).await
}

async fn raw_insert(writers: usize, settings: &Settings, sql: &'static str) -> Measured {
    let db = optical_testkit::TestDatabase::create().await;
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
            let statement = client.prepare_cached(sql).await.unwrap();
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

// ---------------------------------------------------------------------------------------------
// A shop with stock, for the HTTP benches.

/// What [`seed_shop`] created: the bench tenant, a store, its back room and stocked variants.
pub struct Shop {
    pub tenant: TenantId,
    pub store: StoreId,
    pub location: LocationId,
    pub variants: Vec<VariantId>,
}

/// Creates the bench tenant (default settings: reservations of up to 10 units, 900 s TTL), a
/// store with a back room and one published frame product, then adds one published variant
/// per entry of `stock` and receives that many units of it at the back room — through the
/// application services, as `optical-erp demo` seeds, `concurrency` at a time.
pub async fn seed_shop(app: &App, stock: &[u32], concurrency: usize) -> Shop {
    let tenant = tenant();
    let meta = metadata(tenant);
    app.tenancy
        .tenant(
            TenantCommand::CreateTenant {
                tenant_id: tenant,
                name: TenantName::new("Bench Optics").unwrap(),
                kind: TenantKind::SingleBrand,
                default_currency: "EUR".parse().unwrap(),
                settings: TenantSettings::default(),
            },
            &meta,
            None,
        )
        .await
        .expect("create tenant");
    let (store, location) = (StoreId::new(), LocationId::new());
    app.tenancy
        .open_store(
            store,
            StoreName::new("Bench store").unwrap(),
            StoreCode::new("BENCH-1").unwrap(),
            None,
            &meta,
            None,
        )
        .await
        .expect("open store");
    app.tenancy
        .add_location(
            location,
            store,
            LocationName::new("Back room").unwrap(),
            LocationKind::BackRoom,
            &meta,
            None,
        )
        .await
        .expect("add location");
    let product_id = ProductId::new();
    app.catalog
        .product(
            product_id,
            ProductCommand::CreateProduct {
                product_id,
                tenant_id: tenant,
                kind: ProductKind::Frame,
                name: ProductName::new("Bench frame").unwrap(),
                brand: Brand::new("Bench Optics").unwrap(),
                description: None,
                fulfillment: ProductKind::Frame.fulfillment(),
            },
            &meta,
            None,
        )
        .await
        .expect("create product");
    app.catalog
        .product(
            product_id,
            ProductCommand::PublishProduct { tenant_id: tenant },
            &metadata(tenant),
            None,
        )
        .await
        .expect("publish product");
    let product = app
        .catalog
        .product_ref(tenant, product_id)
        .await
        .expect("product ref")
        .expect("product just created");
    let variants: Vec<VariantId> = stock.iter().map(|_| VariantId::new()).collect();
    let concurrency = concurrency.max(1);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let app = app.clone();
        let mine: Vec<(usize, VariantId, u32)> = variants
            .iter()
            .copied()
            .zip(stock.iter().copied())
            .enumerate()
            .skip(w)
            .step_by(concurrency)
            .map(|(i, (id, units))| (i, id, units))
            .collect();
        tasks.push(tokio::spawn(async move {
            for (i, variant_id, units) in mine {
                let add = VariantCommand::AddVariant {
                    variant_id,
                    tenant_id: tenant,
                    product,
                    sku: Sku::new(format!("SHOP-{i}-{}", &variant_id.to_string()[24..])).unwrap(),
                    attributes: frame_attributes(i),
                    price: eur(BASE_PRICE),
                    compare_at_price: None,
                };
                app.catalog
                    .variant(variant_id, add, &metadata(tenant), None)
                    .await
                    .expect("add variant");
                app.catalog
                    .variant(
                        variant_id,
                        VariantCommand::PublishVariant {
                            tenant_id: tenant,
                            product,
                        },
                        &metadata(tenant),
                        None,
                    )
                    .await
                    .expect("publish variant");
                app.inventory
                    .receive(
                        location,
                        variant_id,
                        Quantity::new(units).unwrap(),
                        Some(ReceiptReference::new("BENCH-DELIVERY").unwrap()),
                        &metadata(tenant),
                        None,
                    )
                    .await
                    .expect("receive stock");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    Shop {
        tenant,
        store,
        location,
        variants,
    }
}

/// The JSON body of `POST /inventory/reservations` for one unit of `variant` at `location`.
pub fn reserve_body(location: LocationId, variant: VariantId) -> String {
    serde_json::json!({
        "location_id": location.to_string(),
        "variant_id": variant.to_string(),
        "quantity": 1,
    })
    .to_string()
}

/// A cheap, well-mixed number from two counters (splitmix64), to pick SKUs without a
/// random-number crate.
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// HTTP answers by status, as the benches report them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub created: usize,
    pub conflict: usize,
    pub accepted: usize,
    /// Any other status, or no answer at all (a transport error or the client's timeout,
    /// counted as status 0).
    pub other: Vec<u16>,
}

impl StatusCounts {
    pub fn from_statuses(statuses: impl IntoIterator<Item = u16>) -> Self {
        let mut counts = Self::default();
        for status in statuses {
            counts.add(status);
        }
        counts
    }

    pub fn add(&mut self, status: u16) {
        match status {
            201 => self.created += 1,
            409 => self.conflict += 1,
            202 => self.accepted += 1,
            other => self.other.push(other),
        }
    }

    pub fn total(&self) -> usize {
        self.created + self.conflict + self.accepted + self.other.len()
    }

    pub fn server_errors(&self) -> usize {
        self.other.iter().filter(|s| **s >= 500).count()
    }

    /// `other` summarised, e.g. `0` or `500×3, 0×1`.
    pub fn other_summary(&self) -> String {
        if self.other.is_empty() {
            return "0".into();
        }
        let mut sorted = self.other.clone();
        sorted.sort_unstable();
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < sorted.len() {
            let j = sorted[i..].iter().take_while(|s| **s == sorted[i]).count();
            parts.push(format!("{}×{j}", sorted[i]));
            i += j;
        }
        parts.join(", ")
    }
}

/// What the database holds after a run: every queued request and whether it was answered,
/// and how many `inventory.stock.reserved` events were written in how many appends
/// (transactions) — `events / appends` is the batch size the queue achieved.
#[derive(Clone, Copy, Debug, Default)]
pub struct QueueTally {
    pub requests: i64,
    pub pending: i64,
    /// Requests whose stored answer is 201.
    pub created: i64,
    pub reserved_events: i64,
    pub appends: i64,
}

pub async fn queue_tally(db: &optical_testkit::TestDatabase) -> QueueTally {
    let client = db.client().await;
    let queue = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE answered_at IS NULL),
                    count(*) FILTER (WHERE response_status = 201)
               FROM inventory_reservation_requests",
            &[],
        )
        .await
        .unwrap();
    let events = client
        .query_one(
            "SELECT count(*), count(DISTINCT txid::text) FROM events WHERE event_type = $1",
            &[&optical_inventory::StockLevelEvent::EVENT_TYPES[2]],
        )
        .await
        .unwrap();
    QueueTally {
        requests: queue.get(0),
        pending: queue.get(1),
        created: queue.get(2),
        reserved_events: events.get(0),
        appends: events.get(1),
    }
}

/// An error with its sources, e.g. `error sending request …: operation timed out`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// The HTTP client every bench request goes through: one shared connection pool, no proxy,
/// `TCP_NODELAY`, and `timeout` per request so a hang shows up as a failed request.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .timeout(timeout)
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Statistics and output.

/// The `p`-th percentile (0–100) of sorted samples, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

pub fn per_sec(rate: f64) -> String {
    format!("{rate:.0}/s")
}

pub fn ratio(figure: f64, ceiling: f64) -> String {
    if ceiling > 0.0 {
        format!("{:.0} %", 100.0 * figure / ceiling)
    } else {
        "n/a".into()
    }
}

/// A small aligned table: the first `left` columns (1 unless told) left-aligned, the others
/// right-aligned.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    left: usize,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|s| (*s).to_owned()).collect(),
            rows: Vec::new(),
            left: 1,
        }
    }

    /// Left-aligns the first `columns` columns (labels rather than figures).
    pub fn left_aligned(mut self, columns: usize) -> Self {
        self.left = columns;
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = width - cell.chars().count();
                if i > 0 {
                    out.push_str(" | ");
                }
                if i < self.left {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                } else {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = line(&self.header);
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&rule.join("-|-"));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// Logs of the system under test on stderr when `LOG` (or `RUST_LOG`) holds a filter, e.g.
/// `LOG=info`; silent otherwise, so the tables stay readable.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env());
    if let Ok(filter) = filter {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// `nproc` and the date, printed at the top of each bench so a pasted table says where it ran.
pub fn print_context(bench: &str) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!(
        "# {bench} — {} UTC, {cores} cores",
        chrono::Utc::now().format("%Y-%m-%d %H:%M")
    );
}

/// The API settings both reservation benches read: `BENCH_HTTP_WORKERS` (2),
/// `BENCH_RESERVATION_WORKERS` (4), `BENCH_BATCH_SIZE` (32), `BENCH_RESERVATION_WAIT_MS` (10000).
pub struct ApiKnobs {
    pub http_workers: usize,
    pub workers: optical_app::WorkerConfig,
    pub wait: Duration,
}

impl ApiKnobs {
    pub fn from_env() -> Self {
        Self {
            http_workers: env_usize("BENCH_HTTP_WORKERS", 2),
            workers: optical_app::WorkerConfig {
                reservation_workers: env_usize("BENCH_RESERVATION_WORKERS", 4),
                batch_size: i64::try_from(env_usize("BENCH_BATCH_SIZE", 32)).unwrap(),
                ..optical_app::WorkerConfig::default()
            },
            wait: Duration::from_millis(env_usize("BENCH_RESERVATION_WAIT_MS", 10_000) as u64),
        }
    }

    /// The API with these settings over `database_url`.
    pub async fn spawn(&self, database_url: &str) -> optical_testkit::api::TestApi {
        optical_testkit::api::TestApi::spawn(
            database_url,
            optical_testkit::api::ApiOptions {
                workers: self.workers.clone(),
                reservation_wait: self.wait,
                http_workers: self.http_workers,
                ..optical_testkit::api::ApiOptions::default()
            },
        )
        .await
    }
}
