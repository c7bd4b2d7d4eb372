//! **projection_throughput** — events/s applied by the catalog projection, beside a raw
//! multi-row `INSERT` ceiling measured in the same run.
//!
//! Measured: a catalog log generated in memory (`BENCH_EVENTS` events: per product a
//! `catalog.product.created`, its variants' `catalog.variant.added` and a
//! `catalog.product.published`; then `catalog.variant.price_changed` events spread over all
//! variants until the count is reached), each a [`ProjectedEvent`] made by
//! `optical_read_model::rebuild::projected` from a `RecordedEvent` with the payload cqrs-es
//! stores (`{"VariantAdded": {…}}`), applied the way the projector runtime applies a batch:
//! `offsets::claim` once, then per batch of `B` events one transaction holding
//! `apply_event(&tx, &CatalogProjection, &event)` for each event, `Projection::flush` and one
//! `offsets::advance` (`UPDATE projection_offsets`), then `COMMIT`. One client, one
//! partition, a fresh migrated database per round. Then the same events again in the same
//! database (a replay after a rebalance: every one dropped by its version).
//!
//! Ceiling, measured in the same run and database, with the same batch size: the same number
//! of rows written into a plain table with the columns of `read_catalog_variants`
//! (`CREATE TABLE … (LIKE read_catalog_variants)`: no index, no key, no generated column),
//! one prepared multi-row `INSERT` per batch, one transaction per batch — the cheapest way
//! PostgreSQL takes these rows. Row `i` is the variant row event `i` touches as it stands
//! after the event (for a product event, its first variant's). Statements are prepared and
//! rows built before the clock starts.
//!
//! For information, to show where the time goes: the same batches through `apply_event` with
//! a projection that does nothing (the version upsert and the offsets update alone), and the
//! ceiling's rows written one prepared single-row `INSERT` per event. A second table splits
//! the catalog projection's time by step: each `apply_event` call by event type, `BEGIN`, and
//! the batch's end (flush, offsets update, `COMMIT`), each timed with `Instant` around the call.
//!
//! Every figure is the median of `BENCH_ROUNDS` rounds. No assertion on time; the counts of
//! applied and dropped events and of the rows the projection wrote are checked.
//!
//! Environment: `BENCH_EVENTS` (20000), `BENCH_BATCH_SIZES` (`500,100`), `BENCH_ROUNDS` (3),
//! `BENCH_PRODUCTS` (events / 40), `BENCH_VARIANTS_PER_PRODUCT` (10).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use optical_benches::{env_list, env_usize, eur, median, print_context, tenant, Table};
use optical_catalog::{
    Brand, Colour, FrameAttributes, FrameGeometry, FrameMaterial, FrameShape, LensAttributes,
    LensCoating, LensDesign, LensIndex, LensMaterial, ProductDescription, ProductEvent, ProductId,
    ProductKind, ProductName, Sku, VariantAttributes, VariantEvent, VariantId,
};
use optical_kernel::{EventMetadata, EventPosition, RecordedEvent, TenantId};
use optical_read_model::catalog::CatalogProjection;
use optical_read_model::rebuild::projected;
use optical_read_model::{apply_event, offsets, Applied, ApplyError, ProjectedEvent, Projection};
use optical_testkit::TestDatabase;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Transaction};
use uuid::Uuid;

/// The topic the catalog projection reads; one partition here.
const TOPIC: &str = "optical.catalog.v1";
const PARTITION: i32 = 0;

#[tokio::main]
async fn main() {
    let n = env_usize("BENCH_EVENTS", 20_000);
    let batch_sizes = env_list("BENCH_BATCH_SIZES", &[500, 100]);
    let rounds = env_usize("BENCH_ROUNDS", 3).max(1);
    let products = env_usize("BENCH_PRODUCTS", (n / 40).max(1));
    let per_product = env_usize("BENCH_VARIANTS_PER_PRODUCT", 10).max(1);

    print_context("projection_throughput");
    let log = catalog_log(n, products, per_product);
    let mix: Vec<String> = log.mix().iter().map(|(t, c)| format!("{c} {t}")).collect();
    println!(
        "{} catalog events ({}), {} products × {} variants, one tenant; batch sizes {:?}; median of {} rounds, a fresh database per round and batch size",
        log.events.len(),
        mix.join(", "),
        log.products,
        per_product,
        batch_sizes,
        rounds
    );

    // (scenario, batch) → events/s per round; the ceiling by batch.
    let mut figures: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    let mut ceilings: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    // Batch → the catalog projection's steps over every round, and its total time.
    let mut breakdown: BTreeMap<usize, Steps> = BTreeMap::new();
    for round in 1..=rounds {
        for &batch in &batch_sizes {
            let db = TestDatabase::create().await;
            let mut client = db.client().await;

            let ceiling = raw_multi_row(&mut client, &log.rows, batch, "bench_raw_multi").await;
            eprintln!("round {round} batch {batch:>4}  raw multi-row INSERT   {ceiling:>9.0}/s");
            ceilings.entry(batch).or_default().push(ceiling);

            let applied = apply_all(&mut client, &CatalogProjection, &log.events, batch).await;
            assert_eq!(applied.changed, log.events.len(), "every event is new");
            check_rows(&client, &log).await;
            eprintln!(
                "round {round} batch {batch:>4}  catalog projection     {:>9.0}/s",
                applied.rate
            );
            figures.entry((0, batch)).or_default().push(applied.rate);
            let total = breakdown.entry(batch).or_default();
            total.1 += applied.elapsed;
            for (step, (calls, took)) in applied.steps {
                let entry = total.0.entry(step).or_default();
                entry.0 += calls;
                entry.1 += took;
            }

            let replay = apply_all(&mut client, &CatalogProjection, &log.events, batch).await;
            assert_eq!(
                replay.duplicates,
                log.events.len(),
                "every event is a duplicate"
            );
            eprintln!(
                "round {round} batch {batch:>4}  duplicate replay       {:>9.0}/s",
                replay.rate
            );
            figures.entry((1, batch)).or_default().push(replay.rate);

            client
                .batch_execute(&format!(
                    "CREATE TABLE {} (LIKE read_catalog_versions INCLUDING ALL)",
                    optical_read_model::projection::versions_table(&VersionsOnly)
                ))
                .await
                .unwrap();
            let versions = apply_all(&mut client, &VersionsOnly, &log.events, batch).await;
            assert_eq!(versions.changed, log.events.len());
            eprintln!(
                "round {round} batch {batch:>4}  version upsert only    {:>9.0}/s",
                versions.rate
            );
            figures.entry((2, batch)).or_default().push(versions.rate);

            let single = raw_single_row(&mut client, &log.rows, batch).await;
            eprintln!("round {round} batch {batch:>4}  raw single-row INSERT  {single:>9.0}/s");
            figures.entry((3, batch)).or_default().push(single);
        }
    }

    let scenarios = [
        "catalog projection: apply_event + offsets",
        "duplicate replay: all dropped by version",
        "version upsert + offsets only (info)",
        "raw single-row INSERT per event (info)",
    ];
    let mut table = Table::new(&[
        "scenario",
        "batch",
        "events/s",
        "µs/event",
        "ceiling: raw multi-row INSERT rows/s",
        "ratio",
    ])
    .left_aligned(1);
    for (index, scenario) in scenarios.iter().enumerate() {
        for &batch in &batch_sizes {
            let rate = median(figures.get_mut(&(index, batch)).unwrap());
            let ceiling = median(ceilings.get_mut(&batch).unwrap());
            table.row(vec![
                (*scenario).to_owned(),
                batch.to_string(),
                format!("{rate:.0}/s"),
                format!("{:.1}", 1e6 / rate),
                format!("{ceiling:.0}/s"),
                percent(rate, ceiling),
            ]);
        }
    }
    println!();
    table.print();
    println!();
    println!("events/s: events applied (or dropped) per second of wall time, commits included; one client, one transaction per batch.");
    println!();
    println!("Where the catalog projection's time goes (every round together; time inside each call, as the bench saw it):");
    let mut steps = Table::new(&["step", "batch", "calls", "µs per call", "share of time"]);
    for &batch in &batch_sizes {
        let (by_step, total) = &breakdown[&batch];
        for (step, (calls, took)) in by_step {
            steps.row(vec![
                step.clone(),
                batch.to_string(),
                calls.to_string(),
                format!("{:.1}", took.as_secs_f64() * 1e6 / *calls as f64),
                format!("{:.1} %", 100.0 * took.as_secs_f64() / total.as_secs_f64()),
            ]);
        }
    }
    steps.print();
}

/// Steps by name (calls, time) and the total time of the runs.
type Steps = (BTreeMap<String, (usize, Duration)>, Duration);

fn percent(figure: f64, ceiling: f64) -> String {
    let p = 100.0 * figure / ceiling;
    if p < 10.0 {
        format!("{p:.1} %")
    } else {
        format!("{p:.0} %")
    }
}

// ---------------------------------------------------------------------------------------------
// The projector's path.

struct Outcome {
    rate: f64,
    changed: usize,
    duplicates: usize,
    /// Time inside `apply_event` by event type, then `BEGIN` and the batch's end (flush,
    /// offsets update, `COMMIT`): calls and total time.
    steps: BTreeMap<String, (usize, Duration)>,
    elapsed: Duration,
}

const BEGIN: &str = "BEGIN (per batch)";
const BATCH_END: &str = "flush + offsets::advance + COMMIT (per batch)";

fn add_step(steps: &mut BTreeMap<String, (usize, Duration)>, step: &str, took: Duration) {
    let entry = steps.entry(step.to_owned()).or_default();
    entry.0 += 1;
    entry.1 += took;
}

/// Applies `events` in batches of `batch`, each in one transaction with the offsets update,
/// as the projector runtime does after claiming the partition.
async fn apply_all(
    client: &mut Client,
    projection: &dyn Projection,
    events: &[ProjectedEvent],
    batch: usize,
) -> Outcome {
    let partitions = [(TOPIC.to_owned(), PARTITION)];
    let claim = offsets::claim(&*client, projection.name(), "bench", &partitions)
        .await
        .unwrap()
        .remove(0);
    checkpoint(client).await;
    let (mut changed, mut duplicates) = (0, 0);
    let mut steps = BTreeMap::new();
    let started = Instant::now();
    for (k, chunk) in events.chunks(batch).enumerate() {
        let t = Instant::now();
        let tx = client.transaction().await.unwrap();
        add_step(&mut steps, BEGIN, t.elapsed());
        for event in chunk {
            let t = Instant::now();
            match apply_event(&tx, projection, event).await.unwrap() {
                Applied::Changed => changed += 1,
                Applied::Duplicate => duplicates += 1,
            }
            add_step(&mut steps, &event.event_type, t.elapsed());
        }
        let t = Instant::now();
        projection.flush(&tx).await.unwrap();
        let next_offset = i64::try_from(k * batch + chunk.len()).unwrap();
        let current = offsets::advance(
            &tx,
            projection.name(),
            TOPIC,
            PARTITION,
            claim.epoch,
            next_offset,
        )
        .await
        .unwrap();
        assert!(current, "the bench is the partition's only owner");
        tx.commit().await.unwrap();
        add_step(&mut steps, BATCH_END, t.elapsed());
    }
    let elapsed = started.elapsed();
    Outcome {
        rate: events.len() as f64 / elapsed.as_secs_f64(),
        changed,
        duplicates,
        steps,
        elapsed,
    }
}

/// A projection that only records versions: what `apply_event` and the offsets cost alone.
struct VersionsOnly;

#[async_trait]
impl Projection for VersionsOnly {
    fn name(&self) -> &'static str {
        "bench_versions_only"
    }

    fn contexts(&self) -> &'static [&'static str] {
        &["catalog"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["read_bench_versions_only_versions"]
    }

    async fn apply(&self, _: &Transaction<'_>, _: &ProjectedEvent) -> Result<(), ApplyError> {
        Ok(())
    }
}

/// What the projection wrote matches the log: every product and variant, every variant
/// published with its product's name, each at its last price.
async fn check_rows(client: &Client, log: &Log) {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM read_catalog_products),
                    (SELECT count(*) FROM read_catalog_variants),
                    (SELECT count(*) FROM read_catalog_variants
                      WHERE product_status = 'published' AND product_name IS NOT NULL),
                    (SELECT coalesce(sum(price_minor), 0)::bigint FROM read_catalog_variants)",
            &[],
        )
        .await
        .unwrap();
    let (products, variants, complete, prices): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let expected_variants = i64::try_from(log.final_prices.len()).unwrap();
    assert_eq!(products, i64::try_from(log.products_created).unwrap());
    assert_eq!(variants, expected_variants);
    assert_eq!(complete, i64::try_from(log.variants_published).unwrap());
    assert_eq!(prices, log.final_prices.values().sum::<i64>());
}

// ---------------------------------------------------------------------------------------------
// The ceiling: the same number of rows into a plain table.

/// The columns written, in `read_catalog_variants` order (its two generated columns left out).
const COLUMNS: [&str; 22] = [
    "tenant_id",
    "variant_id",
    "product_id",
    "sku",
    "kind",
    "attributes",
    "price_minor",
    "currency",
    "compare_at_minor",
    "status",
    "product_name",
    "brand",
    "description",
    "product_status",
    "frame_shape",
    "frame_material",
    "colour",
    "lens_design",
    "lens_material",
    "lens_index",
    "created_at",
    "updated_at",
];

/// A row of `read_catalog_variants`' shape.
#[derive(Clone, Debug)]
struct Row {
    tenant_id: Uuid,
    variant_id: Uuid,
    product_id: Uuid,
    sku: String,
    kind: String,
    attributes: Value,
    price_minor: i64,
    currency: String,
    compare_at_minor: Option<i64>,
    status: String,
    product_name: Option<String>,
    brand: Option<String>,
    description: Option<String>,
    product_status: Option<String>,
    frame_shape: Option<String>,
    frame_material: Option<String>,
    colour: Option<String>,
    lens_design: Option<String>,
    lens_material: Option<String>,
    lens_index: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn params(&self) -> [&(dyn ToSql + Sync); 22] {
        [
            &self.tenant_id,
            &self.variant_id,
            &self.product_id,
            &self.sku,
            &self.kind,
            &self.attributes,
            &self.price_minor,
            &self.currency,
            &self.compare_at_minor,
            &self.status,
            &self.product_name,
            &self.brand,
            &self.description,
            &self.product_status,
            &self.frame_shape,
            &self.frame_material,
            &self.colour,
            &self.lens_design,
            &self.lens_material,
            &self.lens_index,
            &self.created_at,
            &self.updated_at,
        ]
    }
}

fn insert_sql(table: &str, rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let placeholders: Vec<String> = (1..=COLUMNS.len())
                .map(|c| format!("${}", r * COLUMNS.len() + c))
                .collect();
            format!("({})", placeholders.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        COLUMNS.join(", "),
        values.join(", ")
    )
}

/// A fresh plain table with `read_catalog_variants`' columns: no key, no index.
async fn plain_table(client: &Client, table: &str) {
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (LIKE read_catalog_variants)"
        ))
        .await
        .unwrap();
}

/// Rows/s of one prepared multi-row `INSERT` per batch, one transaction per batch.
async fn raw_multi_row(client: &mut Client, rows: &[Row], batch: usize, table: &str) -> f64 {
    plain_table(client, table).await;
    let full = client.prepare(&insert_sql(table, batch)).await.unwrap();
    let rest = match rows.len() % batch {
        0 => None,
        r => Some(client.prepare(&insert_sql(table, r)).await.unwrap()),
    };
    checkpoint(client).await;
    let started = Instant::now();
    for chunk in rows.chunks(batch) {
        let params: Vec<&(dyn ToSql + Sync)> = chunk.iter().flat_map(Row::params).collect();
        let statement = if chunk.len() == batch {
            &full
        } else {
            rest.as_ref().unwrap()
        };
        let tx = client.transaction().await.unwrap();
        let inserted = tx.execute(statement, &params).await.unwrap();
        assert_eq!(inserted, chunk.len() as u64);
        tx.commit().await.unwrap();
    }
    rows.len() as f64 / started.elapsed().as_secs_f64()
}

/// Rows/s of one prepared single-row `INSERT` per row, one transaction per batch.
async fn raw_single_row(client: &mut Client, rows: &[Row], batch: usize) -> f64 {
    let table = "bench_raw_single";
    plain_table(client, table).await;
    let statement = client.prepare(&insert_sql(table, 1)).await.unwrap();
    checkpoint(client).await;
    let started = Instant::now();
    for chunk in rows.chunks(batch) {
        let tx = client.transaction().await.unwrap();
        for row in chunk {
            tx.execute(&statement, &row.params()).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    rows.len() as f64 / started.elapsed().as_secs_f64()
}

/// Starts each measurement without a checkpoint owed by the one before (needs a superuser or
/// `pg_checkpoint`; skipped otherwise).
async fn checkpoint(client: &Client) {
    let _ = client.batch_execute("CHECKPOINT").await;
}

// ---------------------------------------------------------------------------------------------
// The catalog log.

struct Log {
    events: Vec<ProjectedEvent>,
    /// Row `i` for event `i`, for the ceiling.
    rows: Vec<Row>,
    products: usize,
    products_created: usize,
    variants_published: usize,
    /// Each added variant's price after the whole log.
    final_prices: BTreeMap<Uuid, i64>,
}

impl Log {
    fn mix(&self) -> BTreeMap<&str, usize> {
        let mut mix = BTreeMap::new();
        for event in &self.events {
            *mix.entry(event.event_type.as_str()).or_default() += 1;
        }
        mix
    }
}

/// What the generator knows of a product while writing its events.
struct ProductPlan {
    id: ProductId,
    name: ProductName,
    brand: Brand,
    description: Option<ProductDescription>,
    status: &'static str,
    variants: Vec<Row>,
}

const BRANDS: [&str; 6] = [
    "Ray-Ban",
    "Oakley",
    "Persol",
    "Lindberg",
    "Optical House",
    "Zeiss",
];
const BASE_PRICE: i64 = 15_900;

struct Writer {
    tenant: TenantId,
    start: DateTime<Utc>,
    limit: usize,
    events: Vec<ProjectedEvent>,
    rows: Vec<Row>,
    sequences: BTreeMap<Uuid, u64>,
}

impl Writer {
    fn full(&self) -> bool {
        self.events.len() >= self.limit
    }

    /// The time of the next event: a millisecond after the previous one.
    fn next_at(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::milliseconds(i64::try_from(self.events.len()).unwrap())
    }

    /// Appends the event as the log would hold it, and its ceiling row; `false` when full.
    fn push<E: DomainEvent>(
        &mut self,
        aggregate_type: &str,
        id: Uuid,
        event: &E,
        row: Row,
    ) -> bool {
        if self.full() {
            return false;
        }
        let sequence = self.sequences.entry(id).or_insert(0);
        *sequence += 1;
        let position = i64::try_from(self.events.len()).unwrap() + 1;
        let recorded = RecordedEvent {
            position: EventPosition {
                txid: u64::try_from(position).unwrap(),
                id: position,
            },
            event_id: Uuid::now_v7(),
            aggregate_type: aggregate_type.to_owned(),
            aggregate_id: id.to_string(),
            sequence: *sequence,
            event_type: event.event_type(),
            event_version: event.event_version(),
            payload: serde_json::to_value(event).unwrap(),
            metadata: EventMetadata::new(self.tenant, row.updated_at),
        };
        self.events.push(projected(recorded));
        self.rows.push(row);
        true
    }
}

fn attributes(kind: ProductKind, i: usize) -> VariantAttributes {
    match kind {
        ProductKind::OphthalmicLens => VariantAttributes::OphthalmicLens(
            LensAttributes::new(
                [
                    LensMaterial::Cr39,
                    LensMaterial::Polycarbonate,
                    LensMaterial::HighIndex,
                ][i % 3],
                LensIndex::new([1.5, 1.59, 1.67][i % 3]).unwrap(),
                [LensDesign::SingleVision, LensDesign::Progressive][i % 2],
                [
                    vec![LensCoating::AntiReflective],
                    vec![LensCoating::AntiReflective, LensCoating::BlueLight],
                    vec![
                        LensCoating::AntiReflective,
                        LensCoating::BlueLight,
                        LensCoating::Hydrophobic,
                    ],
                ][i % 3]
                    .clone(),
                None,
            )
            .unwrap(),
        ),
        _ => {
            let a = 48.0 + (i % 8) as f64;
            VariantAttributes::Frame(FrameAttributes {
                geometry: FrameGeometry::new(a, a - 12.0, 18.0, a + 4.0, 140.0).unwrap(),
                colour: Colour::new(["Havana", "Black", "Crystal", "Tortoise", "Gold"][i % 5])
                    .unwrap(),
                shape: [
                    FrameShape::Round,
                    FrameShape::Rectangle,
                    FrameShape::CatEye,
                    FrameShape::Aviator,
                    FrameShape::Browline,
                ][i % 5],
                frame_material: [
                    FrameMaterial::Acetate,
                    FrameMaterial::Metal,
                    FrameMaterial::Titanium,
                ][i % 3],
            })
        }
    }
}

/// The facet columns, read from the attributes' JSON as the projection reads them.
fn text(attributes: &Value, section: &str, field: &str) -> Option<String> {
    attributes
        .get(section)
        .and_then(|s| s.get(field))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A catalog log of `limit` events: per product its creation, its variants' additions and
/// its publication, then price changes spread over every variant until the log is full.
fn catalog_log(limit: usize, products: usize, per_product: usize) -> Log {
    let tenant = tenant();
    let mut w = Writer {
        tenant,
        start: Utc::now() - chrono::Duration::days(1),
        limit,
        events: Vec::with_capacity(limit),
        rows: Vec::with_capacity(limit),
        sequences: BTreeMap::new(),
    };
    let mut plans: Vec<ProductPlan> = Vec::new();
    let (mut products_created, mut variants_published) = (0, 0);
    for p in 0..products {
        if w.full() {
            break;
        }
        let kind = if p % 4 == 3 {
            ProductKind::OphthalmicLens
        } else {
            ProductKind::Frame
        };
        let mut plan = ProductPlan {
            id: ProductId::new(),
            name: ProductName::new(format!("Bench {} {p}", kind.as_str())).unwrap(),
            brand: Brand::new(BRANDS[p % BRANDS.len()]).unwrap(),
            description: p.is_multiple_of(2).then(|| {
                ProductDescription::new(format!("Model {p}, made for the bench.")).unwrap()
            }),
            status: "draft",
            variants: Vec::new(),
        };
        let product_uuid = *plan.id.as_uuid();
        let at = w.next_at();
        // The variants this product will have, as rows not yet written.
        let planned: Vec<(VariantId, VariantAttributes, Sku)> = (0..per_product)
            .map(|v| {
                let id = VariantId::new();
                let i = p * per_product + v;
                let sku = Sku::new(format!("BENCH-{p}-{v}-{}", &id.to_string()[24..])).unwrap();
                (id, attributes(kind, i), sku)
            })
            .collect();
        let row_of =
            |plan: &ProductPlan, (id, attrs, sku): &(VariantId, VariantAttributes, Sku), at| {
                let json = serde_json::to_value(attrs).unwrap();
                Row {
                    tenant_id: *tenant.as_uuid(),
                    variant_id: *id.as_uuid(),
                    product_id: product_uuid,
                    sku: sku.as_str().to_owned(),
                    kind: json
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    frame_shape: text(&json, "frame", "shape"),
                    frame_material: text(&json, "frame", "frame_material"),
                    colour: text(&json, "frame", "colour"),
                    lens_design: text(&json, "ophthalmic_lens", "design"),
                    lens_material: text(&json, "ophthalmic_lens", "material"),
                    lens_index: text(&json, "ophthalmic_lens", "index"),
                    attributes: json,
                    price_minor: BASE_PRICE,
                    currency: "EUR".into(),
                    compare_at_minor: None,
                    status: "draft".into(),
                    product_name: Some(plan.name.as_str().to_owned()),
                    brand: Some(plan.brand.as_str().to_owned()),
                    description: plan.description.as_ref().map(|d| d.as_str().to_owned()),
                    product_status: Some(plan.status.to_owned()),
                    created_at: at,
                    updated_at: at,
                }
            };
        let created = ProductEvent::ProductCreated {
            product_id: plan.id,
            tenant_id: tenant,
            kind,
            name: plan.name.clone(),
            brand: plan.brand.clone(),
            description: plan.description.clone(),
            fulfillment: kind.fulfillment(),
        };
        let row = row_of(&plan, &planned[0], at);
        if w.push("catalog.product", product_uuid, &created, row) {
            products_created += 1;
        }
        for variant in &planned {
            let at = w.next_at();
            let row = row_of(&plan, variant, at);
            let added = VariantEvent::VariantAdded {
                variant_id: variant.0,
                tenant_id: tenant,
                product_id: plan.id,
                sku: variant.2.clone(),
                attributes: variant.1.clone(),
                price: eur(BASE_PRICE),
                compare_at_price: None,
            };
            if !w.push("catalog.variant", *variant.0.as_uuid(), &added, row.clone()) {
                break;
            }
            plan.variants.push(row);
        }
        let at = w.next_at();
        plan.status = "published";
        let published = ProductEvent::ProductPublished {
            product_id: plan.id,
        };
        let mut row = plan
            .variants
            .first()
            .cloned()
            .unwrap_or_else(|| row_of(&plan, &planned[0], at));
        row.product_status = Some("published".into());
        row.updated_at = at;
        if w.push("catalog.product", product_uuid, &published, row) {
            for v in &mut plan.variants {
                v.product_status = Some("published".into());
            }
            variants_published += plan.variants.len();
        }
        plans.push(plan);
    }
    // Price changes, round after round over every variant in a scattered order.
    let mut variants: Vec<&mut Row> = plans
        .iter_mut()
        .flat_map(|p| p.variants.iter_mut())
        .collect();
    let count = variants.len();
    let stride = coprime_stride(count);
    let mut round = 0u64;
    while !w.full() && count > 0 {
        round += 1;
        for k in 0..count {
            let at = w.next_at();
            let variant = &mut variants[(k * stride) % count];
            let price = BASE_PRICE + i64::try_from(round % 5).unwrap() * 100 + 100;
            let compare_at = round.is_multiple_of(3).then_some(price + 2_000);
            let changed = VariantEvent::VariantPriceChanged {
                variant_id: VariantId::from_uuid(variant.variant_id),
                price: eur(price),
                compare_at_price: compare_at.map(eur),
            };
            let mut row = (**variant).clone();
            row.price_minor = price;
            row.compare_at_minor = compare_at;
            row.updated_at = at;
            if !w.push("catalog.variant", variant.variant_id, &changed, row.clone()) {
                break;
            }
            **variant = row;
        }
    }
    let final_prices = variants
        .iter()
        .map(|v| (v.variant_id, v.price_minor))
        .collect();
    Log {
        events: w.events,
        rows: w.rows,
        products: plans.len(),
        products_created,
        variants_published,
        final_prices,
    }
}

/// A step through `0..n` that visits every index once (prime to `n`), so consecutive price
/// changes hit variants of different products.
fn coprime_stride(n: usize) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    (7..)
        .step_by(2)
        .find(|s| gcd(*s, n.max(1)) == 1)
        .unwrap_or(1)
}
