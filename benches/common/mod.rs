//! Shared helpers of the benchmarks in `benches/`: sizes read from the environment, catalog
//! fixtures (variants, their price changes, their stored rows), the cqrs-es stores under test,
//! latency percentiles and the small aligned tables every bench prints.
//!
//! Not a shipped crate: the benches are the only users.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cqrs_es::persist::{PersistedEventStore, SerializedEvent};
use cqrs_es::{CqrsFramework, DomainEvent, EventStore};
use optical_catalog::{
    Colour, FrameAttributes, FrameGeometry, FrameMaterial, FrameShape, ProductId, ProductKind,
    ProductRef, PublicationStatus, Sku, Variant, VariantAttributes, VariantCommand, VariantEvent,
    VariantId,
};
use optical_event_store::{CachedEventStore, PgEventRepository, Pool};
use optical_kernel::{Clock, Currency, EventMetadata, Money, SystemClock, TenantId};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

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
