//! The projector runtime against real PostgreSQL and the real broker: consumer groups with
//! offsets and fencing in PostgreSQL, dedupe by aggregate version, dead letters, rebuilds,
//! read-your-writes.
use crate::helpers::{
    add_variant, codec, metadata, relay_config, spawn_pipeline, spawn_relay_task, Pipeline,
};
use futures::StreamExt as _;
use optical_app::CatalogApp;
use optical_bus::tail::{self, StartAt};
use optical_catalog::{VariantCommand, VariantId};
use optical_erp::project::{self, ProjectorConfig};
use optical_kernel::{Currency, Money, TenantId};
use optical_read_model::catalog::CatalogProjection;
use optical_read_model::Projection;
use optical_testkit::eventually;
use rdkafka::message::{Header, Headers as _, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

struct Projector(tokio::task::JoinHandle<()>);

impl Drop for Projector {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn config(pipeline: &Pipeline, app: &optical_app::App, instance: &str) -> ProjectorConfig {
    ProjectorConfig {
        database_url: pipeline.db.url.clone(),
        kafka: pipeline.kafka.clone(),
        codec: codec(),
        keys: app.keys.clone(),
        instance: instance.to_owned(),
        batch_size: 50,
        max_attempts: 2,
        retry_base: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        lag_interval: Duration::from_millis(200),
    }
}

fn spawn_projector(pipeline: &Pipeline, app: &optical_app::App, instance: &str) -> Projector {
    let config = config(pipeline, app, instance);
    Projector(tokio::spawn(project::run(
        vec![Arc::new(CatalogProjection) as Arc<dyn Projection>],
        config,
        std::future::pending(),
    )))
}

fn app(pipeline: &Pipeline) -> optical_app::App {
    optical_app::App::new(
        pipeline.db.pool(8),
        Arc::new(optical_kernel::SystemClock),
        optical_app::PersonalData::ephemeral(),
    )
}

async fn set_price(app: &CatalogApp, tenant: TenantId, variant: VariantId, minor: i64) {
    let command = VariantCommand::ChangeVariantPrice {
        tenant_id: tenant,
        price: Money::new(minor, "EUR".parse::<Currency>().unwrap()).unwrap(),
        compare_at_price: None,
    };
    app.variant(variant, command, &metadata(tenant), None)
        .await
        .unwrap();
}

async fn price_of(pipeline: &Pipeline, variant: VariantId) -> Option<i64> {
    let client = pipeline.db.client().await;
    client
        .query_opt(
            "SELECT price_minor FROM read_catalog_variants WHERE variant_id = $1",
            &[variant.as_uuid()],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

async fn count_variants(pipeline: &Pipeline) -> i64 {
    let client = pipeline.db.client().await;
    client
        .query_one("SELECT count(*) FROM read_catalog_variants", &[])
        .await
        .unwrap()
        .get(0)
}

/// The rows of the catalog tables, in a stable order, as text.
async fn catalog_rows(pipeline: &Pipeline) -> Vec<String> {
    let client = pipeline.db.client().await;
    let mut rows = Vec::new();
    for sql in [
        "SELECT row_to_json(t)::text FROM read_catalog_variants t ORDER BY variant_id",
        "SELECT row_to_json(t)::text FROM read_catalog_products t ORDER BY product_id",
        "SELECT row_to_json(t)::text FROM read_catalog_versions t ORDER BY aggregate_type, aggregate_id",
    ] {
        for row in client.query(sql, &[]).await.unwrap() {
            rows.push(row.get::<_, String>(0));
        }
    }
    rows
}

async fn rebuild(
    pipeline: &Pipeline,
    app: &optical_app::App,
) -> optical_read_model::rebuild::RebuildReport {
    let (mut client, connection) = tokio_postgres::connect(&pipeline.db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    optical_read_model::rebuild::rebuild(&mut client, &CatalogProjection, &app.keys)
        .await
        .unwrap()
}

/// Copies the message of `event_id` from `topic` back onto it: the same event at a new offset.
async fn redeliver(pipeline: &Pipeline, topic: &str, event_id: &str) {
    let consumer = tail::open(&pipeline.kafka, topic, StartAt::Beginning).unwrap();
    let mut stream = consumer.stream();
    let producer: FutureProducer = pipeline.kafka.producer().create().unwrap();
    loop {
        let message = tokio::time::timeout(WAIT, stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let matches = message.headers().is_some_and(|hs| {
            hs.iter()
                .any(|h| h.key == "event_id" && h.value == Some(event_id.as_bytes()))
        });
        if !matches {
            continue;
        }
        let mut headers = OwnedHeaders::new();
        for h in message.headers().unwrap().iter() {
            headers = headers.insert(Header {
                key: h.key,
                value: h.value,
            });
        }
        let record = FutureRecord::to(topic)
            .key(message.key().unwrap())
            .payload(message.payload().unwrap())
            .headers(headers);
        producer
            .send(record, Duration::from_secs(30))
            .await
            .unwrap();
        return;
    }
}

async fn last_event_id(pipeline: &Pipeline, aggregate_id: &str) -> String {
    let client = pipeline.db.client().await;
    client
        .query_one(
            "SELECT event_id::text FROM events WHERE aggregate_id = $1 ORDER BY sequence DESC LIMIT 1",
            &[&aggregate_id],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing_and_a_poison_message_is_dead_lettered() {
    let pipeline = spawn_pipeline().await;
    let app = app(&pipeline);
    let tenant = TenantId::new();
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "r1"));
    let _projector = spawn_projector(&pipeline, &app, "p1");
    let variant = add_variant(&app.catalog, tenant).await;
    set_price(&app.catalog, tenant, variant, 12_000).await;
    let older = last_event_id(&pipeline, &variant.to_string()).await;
    set_price(&app.catalog, tenant, variant, 13_000).await;
    assert!(
        eventually(WAIT, || async {
            price_of(&pipeline, variant).await == Some(13_000)
        })
        .await
    );

    // The 12,000 price change again, at a later offset: applying it would roll the price back.
    let topic = pipeline.topic("catalog");
    redeliver(&pipeline, &topic, &older).await;
    // A message no codec can read, with the key of the variant (same partition, before the next event).
    let producer: FutureProducer = pipeline.kafka.producer().create().unwrap();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "event_id",
            value: Some(uuid::Uuid::now_v7().to_string().as_str()),
        })
        .insert(Header {
            key: "event_type",
            value: Some("catalog.variant.price_changed"),
        })
        .insert(Header {
            key: "tenant_id",
            value: Some(tenant.to_string().as_str()),
        })
        .insert(Header {
            key: "aggregate_type",
            value: Some("catalog.variant"),
        })
        .insert(Header {
            key: "aggregate_id",
            value: Some("poison"),
        })
        .insert(Header {
            key: "sequence",
            value: Some("1"),
        });
    let key = variant.to_string();
    producer
        .send(
            FutureRecord::to(&topic)
                .key(key.as_bytes())
                .payload(&b"not avro"[..])
                .headers(headers),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    // The next real event is applied after both.
    set_price(&app.catalog, tenant, variant, 14_000).await;
    assert!(
        eventually(WAIT, || async {
            price_of(&pipeline, variant).await == Some(14_000)
        })
        .await
    );

    let dead =
        optical_bus::TopicNames::new(&pipeline.kafka.topic_prefix).dead_letter("project-catalog");
    let consumer = tail::open(&pipeline.kafka, &dead, StartAt::Beginning).unwrap();
    let message = tokio::time::timeout(WAIT, consumer.stream().next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(message.payload(), Some(&b"not avro"[..]));
    let error = message
        .headers()
        .unwrap()
        .iter()
        .find(|h| h.key == "error")
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap();
    assert!(!error.is_empty());
    // Versions say the projection holds the variant at its latest sequence (4), not the replay's.
    let client = pipeline.db.client().await;
    let version: i64 = client
        .query_one(
            "SELECT version FROM read_catalog_versions WHERE aggregate_id = $1",
            &[&variant.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 4);
}

#[tokio::test]
async fn two_instances_share_the_partitions_and_a_killed_projector_ends_equal_to_a_rebuild() {
    let pipeline = spawn_pipeline().await;
    let app = app(&pipeline);
    let tenant = TenantId::new();
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "r1"));
    let first = spawn_projector(&pipeline, &app, "p1");
    let _second = spawn_projector(&pipeline, &app, "p2");
    let mut variants = Vec::new();
    for round in 0..30 {
        let variant = add_variant(&app.catalog, tenant).await;
        set_price(&app.catalog, tenant, variant, 20_000 + round).await;
        variants.push(variant);
        if round == 10 {
            // Killed mid-stream: its partitions move to the other instance, which resumes
            // from the offsets committed with the rows.
            drop(first);
            break;
        }
    }
    let _third = spawn_projector(&pipeline, &app, "p3");
    for round in 11..40 {
        let variant = add_variant(&app.catalog, tenant).await;
        set_price(&app.catalog, tenant, variant, 20_000 + round).await;
        variants.push(variant);
    }
    let expected = variants.len() as i64;
    assert!(
        eventually(WAIT * 2, || async {
            count_variants(&pipeline).await == expected
        })
        .await
    );
    let last = *variants.last().unwrap();
    assert!(
        eventually(WAIT, || async {
            price_of(&pipeline, last).await == Some(20_039)
        })
        .await
    );
    // Both live instances own partitions, each under the epoch of its claim.
    let client = pipeline.db.client().await;
    assert!(
        eventually(WAIT, || async {
            let owners: Vec<String> = client
                .query(
                    "SELECT DISTINCT owner FROM projection_offsets WHERE projection = 'catalog' AND owner IS NOT NULL",
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            owners.len() == 2 && !owners.contains(&"p1".to_owned())
        })
        .await
    );
    let projected = catalog_rows(&pipeline).await;
    let report = rebuild(&pipeline, &app).await;
    assert_eq!(report.events_applied as usize, variants.len() * 2);
    assert_eq!(catalog_rows(&pipeline).await, projected);
}

#[tokio::test]
async fn readers_never_see_an_empty_or_half_built_table_during_a_rebuild() {
    let pipeline = spawn_pipeline().await;
    let app = app(&pipeline);
    let tenant = TenantId::new();
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "r1"));
    let _projector = spawn_projector(&pipeline, &app, "p1");
    for _ in 0..60 {
        add_variant(&app.catalog, tenant).await;
    }
    assert!(eventually(WAIT, || async { count_variants(&pipeline).await == 60 }).await);
    let pool = pipeline.db.pool(4);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (pool, stop) = (pool.clone(), stop.clone());
            tokio::spawn(async move {
                let mut reads = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                    let client = pool.get().await.unwrap();
                    let page = optical_read_model::catalog::list(
                        &**client,
                        *tenant.as_uuid(),
                        optical_read_model::catalog::CatalogView::BackOffice,
                        &Default::default(),
                        optical_read_model::catalog::CatalogSort::Name,
                        200,
                        None,
                    )
                    .await
                    .unwrap();
                    assert_eq!(page.items.len(), 60, "a reader saw a partial table");
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for _ in 0..3 {
        rebuild(&pipeline, &app).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        assert!(reader.await.unwrap() > 0);
    }
    // The live projector goes on writing into the swapped-in tables.
    let variant = add_variant(&app.catalog, tenant).await;
    set_price(&app.catalog, tenant, variant, 31_000).await;
    assert!(
        eventually(WAIT, || async {
            price_of(&pipeline, variant).await == Some(31_000)
        })
        .await
    );
}

#[tokio::test]
async fn a_query_with_the_consistency_token_sees_the_write_200_times_in_a_row() {
    let pipeline = spawn_pipeline().await;
    let api = optical_testkit::api::TestApi::spawn(&pipeline.db.url, Default::default()).await;
    let tenant = TenantId::new();
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "r1"));
    let _projector = spawn_projector(&pipeline, &api.app, "p1");
    let variant = add_variant(&api.app.catalog, tenant).await;
    let token = optical_testkit::api::token(tenant, &["catalog:read"]);
    let http = reqwest::Client::new();
    for round in 0..200i64 {
        let price = 40_000 + round;
        let command = VariantCommand::ChangeVariantPrice {
            tenant_id: tenant,
            price: Money::new(price, "EUR".parse::<Currency>().unwrap()).unwrap(),
            compare_at_price: None,
        };
        let receipt = api
            .app
            .catalog
            .variant(variant, command, &metadata(tenant), None)
            .await
            .unwrap();
        // What the command's HTTP response carries as `consistency_token`.
        let consistency = receipt.position.unwrap().to_string();
        // A 503 `stale_read` is the honest answer of a projection still behind (the whole
        // suite shares two cores); a client retries it with the same token. What must never
        // happen is a 200 with the old price.
        let mut tries = 0;
        let page: serde_json::Value = loop {
            let response = http
                .get(api.url("/catalog/variants"))
                .bearer_auth(&token)
                .header("X-Consistency-Token", &consistency)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            if status == 503 && body["code"] == "stale_read" && tries < 5 {
                tries += 1;
                continue;
            }
            assert_eq!(status, 200, "round {round}: {body}");
            break body;
        };
        assert_eq!(
            page["items"][0]["price_minor"], price,
            "round {round}: {page}"
        );
    }
    // A token of another tenant's write is refused, not waited on.
    let other = optical_testkit::api::token(TenantId::new(), &["catalog:read"]);
    let position = {
        let client = pipeline.db.client().await;
        let row = client
            .query_one(
                "SELECT txid::text, id FROM events ORDER BY id DESC LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        format!("{}.{}", row.get::<_, String>(0), row.get::<_, i64>(1))
    };
    let refused = http
        .get(api.url("/catalog/variants"))
        .bearer_auth(&other)
        .header("X-Consistency-Token", position)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
}

#[tokio::test]
async fn a_projection_that_cannot_catch_up_answers_stale_read_instead_of_old_data() {
    let db = optical_testkit::TestDatabase::create().await;
    let options = optical_testkit::api::ApiOptions {
        consistency_wait: Duration::from_millis(200),
        ..Default::default()
    };
    let api = optical_testkit::api::TestApi::spawn(&db.url, options).await;
    let tenant = TenantId::new();
    // No relay and no projector: the write can never reach the read model.
    add_variant(&api.app.catalog, tenant).await;
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT txid::text, id FROM events ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let position = format!("{}.{}", row.get::<_, String>(0), row.get::<_, i64>(1));
    let token = optical_testkit::api::token(tenant, &["catalog:read"]);
    let response = reqwest::Client::new()
        .get(api.url("/catalog/variants"))
        .bearer_auth(&token)
        .header("X-Consistency-Token", position)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "stale_read");
}
