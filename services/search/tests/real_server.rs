//! Against a real Meilisearch: set `MEILISEARCH_URL` (and `MEILISEARCH_API_KEY` when the
//! server has a master key). Without it every test prints `skipped: MEILISEARCH_URL is not
//! set` and returns. Each test uses an index of its own (`products_test_<uuid>`) and deletes
//! it at the end, whether it passed or not.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt as _;
use optical_search::{
    Facet, MeilisearchConfig, ProductDocument, ProductIndex, SearchPage, SearchRequest,
};
use serde_json::Value;
use uuid::Uuid;

struct Server {
    url: String,
    api_key: Option<String>,
}

fn server() -> Option<Server> {
    match std::env::var("MEILISEARCH_URL") {
        Ok(url) if !url.trim().is_empty() => Some(Server {
            url,
            api_key: std::env::var("MEILISEARCH_API_KEY")
                .ok()
                .filter(|key| !key.is_empty()),
        }),
        _ => {
            eprintln!("skipped: MEILISEARCH_URL is not set");
            None
        }
    }
}

fn config(server: &Server, index_uid: &str) -> MeilisearchConfig {
    let mut config = MeilisearchConfig::new(server.url.clone());
    config.api_key = server.api_key.clone();
    config.index_uid = index_uid.to_owned();
    config.task_timeout = Duration::from_secs(60);
    config.poll_interval = Duration::from_millis(20);
    config.max_retries = 3;
    config.retry_base = Duration::from_millis(50);
    config
}

fn tenant_a() -> Uuid {
    Uuid::parse_str("0190aaaa-0000-7000-8000-00000000000a").unwrap()
}

fn tenant_b() -> Uuid {
    Uuid::parse_str("0190bbbb-0000-7000-8000-00000000000b").unwrap()
}

struct Doc<'a> {
    id: &'a str,
    tenant: Uuid,
    name: &'a str,
    brand: &'a str,
    kind: &'a str,
    shape: Option<&'a str>,
    colour: Option<&'a str>,
    lens_index: Option<&'a str>,
    available: bool,
}

fn document(doc: Doc<'_>) -> ProductDocument {
    ProductDocument {
        id: doc.id.to_owned(),
        tenant_id: doc.tenant.to_string(),
        product_id: format!("product-{}", doc.id),
        sku: format!("SKU-{}", doc.id.to_uppercase()),
        name: doc.name.to_owned(),
        brand: doc.brand.to_owned(),
        description: Some(format!("{} by {}", doc.name, doc.brand)),
        kind: doc.kind.to_owned(),
        price_minor: 15_000,
        currency: "EUR".to_owned(),
        compare_at_minor: None,
        available: doc.available,
        available_quantity: i64::from(doc.available) * 4,
        frame_shape: doc.shape.map(str::to_owned),
        frame_material: doc.shape.map(|_| "acetate".to_owned()),
        colour: doc.colour.map(str::to_owned),
        lens_design: doc.lens_index.map(|_| "single_vision".to_owned()),
        lens_material: doc.lens_index.map(|_| "polycarbonate".to_owned()),
        lens_index: doc.lens_index.map(str::to_owned),
        version: 1,
    }
}

/// Tenant A: two Ray-Ban frames, an Oakley frame (not available) and a Zeiss lens.
/// Tenant B: a Ray-Ban frame and a Persol frame.
fn catalogue() -> Vec<ProductDocument> {
    let frame = |id, tenant, name, brand, shape, colour, available| {
        document(Doc {
            id,
            tenant,
            name,
            brand,
            kind: "frame",
            shape: Some(shape),
            colour: Some(colour),
            lens_index: None,
            available,
        })
    };
    vec![
        frame(
            "a-1",
            tenant_a(),
            "Wayfarer",
            "Ray-Ban",
            "square",
            "black",
            true,
        ),
        frame(
            "a-2",
            tenant_a(),
            "Round Metal",
            "Ray-Ban",
            "round",
            "gold",
            true,
        ),
        frame(
            "a-3",
            tenant_a(),
            "Holbrook",
            "Oakley",
            "square",
            "black",
            false,
        ),
        document(Doc {
            id: "a-4",
            tenant: tenant_a(),
            name: "ClearView Single Vision",
            brand: "Zeiss",
            kind: "ophthalmic_lens",
            shape: None,
            colour: None,
            lens_index: Some("1.67"),
            available: true,
        }),
        frame(
            "b-1",
            tenant_b(),
            "Wayfarer Classic",
            "Ray-Ban",
            "square",
            "tortoise",
            true,
        ),
        frame(
            "b-2",
            tenant_b(),
            "Steve McQueen",
            "Persol",
            "square",
            "tortoise",
            true,
        ),
    ]
}

/// Runs `body` against a fresh, configured index holding [`catalogue`], then deletes the
/// index whatever happened.
async fn with_index<F, Fut>(server: &Server, body: F)
where
    F: FnOnce(ProductIndex) -> Fut,
    Fut: Future<Output = ()>,
{
    let uid = format!("products_test_{}", Uuid::new_v4().simple());
    let index = ProductIndex::new(config(server, &uid)).unwrap();
    let outcome = AssertUnwindSafe(async {
        index.configure().await.unwrap();
        index.upsert(&catalogue()).await.unwrap();
        body(index.clone()).await;
    })
    .catch_unwind()
    .await;
    index.delete_index().await.unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn request(tenant: Uuid, q: &str) -> SearchRequest {
    SearchRequest {
        tenant_id: tenant,
        q: q.to_owned(),
        filters: vec![],
        facets: vec![],
        limit: 100,
        offset: 0,
    }
}

fn ids(page: &SearchPage) -> Vec<&str> {
    let mut ids: Vec<&str> = page.hits.iter().map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    ids
}

fn assert_only(page: &SearchPage, tenant: Uuid) {
    for hit in &page.hits {
        assert_eq!(hit.tenant_id, tenant.to_string(), "foreign hit {hit:?}");
    }
}

#[tokio::test]
async fn configure_is_idempotent_and_documents_round_trip() {
    let Some(server) = server() else { return };
    with_index(&server, |index| async move {
        index.configure().await.unwrap();
        let page = index
            .search(&request(tenant_a(), "Holbrook"))
            .await
            .unwrap();
        let expected: Vec<ProductDocument> =
            catalogue().into_iter().filter(|d| d.id == "a-3").collect();
        assert_eq!(page.hits, expected);
    })
    .await;
}

#[tokio::test]
async fn search_is_typo_tolerant() {
    let Some(server) = server() else { return };
    with_index(&server, |index| async move {
        for q in ["rayban", "Ray-Bn", "Ray Bann"] {
            let page = index.search(&request(tenant_a(), q)).await.unwrap();
            assert_only(&page, tenant_a());
            assert!(
                page.hits.iter().any(|d| d.brand == "Ray-Ban"),
                "{q:?} found {:?}",
                ids(&page)
            );
        }
        let page = index.search(&request(tenant_a(), "Wayfarr")).await.unwrap();
        assert_eq!(ids(&page), ["a-1"]);
    })
    .await;
}

#[tokio::test]
async fn facets_count_and_filters_narrow_within_the_tenant() {
    let Some(server) = server() else { return };
    with_index(&server, |index| async move {
        let mut all = request(tenant_a(), "");
        all.facets = vec![
            Facet::Brand,
            Facet::Kind,
            Facet::Available,
            Facet::LensIndex,
        ];
        let page = index.search(&all).await.unwrap();
        assert_eq!(ids(&page), ["a-1", "a-2", "a-3", "a-4"]);
        assert_eq!(page.estimated_total, 4);
        let counts = serde_json::to_value(&page.facet_distribution).unwrap();
        assert_eq!(
            counts,
            serde_json::json!({
                "brand": { "Ray-Ban": 2, "Oakley": 1, "Zeiss": 1 },
                "kind": { "frame": 3, "ophthalmic_lens": 1 },
                "available": { "true": 3, "false": 1 },
                "lens_index": { "1.67": 1 }
            })
        );

        let mut square = request(tenant_a(), "");
        square.filters = vec![
            (Facet::Brand, vec!["Ray-Ban".into(), "Oakley".into()]),
            (Facet::FrameShape, vec!["square".into()]),
        ];
        assert_eq!(ids(&index.search(&square).await.unwrap()), ["a-1", "a-3"]);

        let mut unavailable = request(tenant_a(), "");
        unavailable.filters = vec![(Facet::Available, vec!["false".into()])];
        assert_eq!(ids(&index.search(&unavailable).await.unwrap()), ["a-3"]);

        let mut lens = request(tenant_a(), "");
        lens.filters = vec![(Facet::LensIndex, vec!["1.67".into()])];
        assert_eq!(ids(&index.search(&lens).await.unwrap()), ["a-4"]);

        let mut quoted = request(tenant_a(), "");
        quoted.filters = vec![(Facet::Brand, vec![r#"Ray "Ban" \ Co"#.into()])];
        assert!(index.search(&quoted).await.unwrap().hits.is_empty());

        let mut paged = request(tenant_a(), "");
        paged.limit = 2;
        paged.offset = 2;
        let page = index.search(&paged).await.unwrap();
        assert_eq!(page.hits.len(), 2);
        assert_eq!(page.estimated_total, 4);
    })
    .await;
}

#[tokio::test]
async fn a_tenant_never_sees_another_tenants_documents() {
    let Some(server) = server() else { return };
    with_index(&server, |index| async move {
        for q in ["", "ray", "Wayfarer", "Persol", "tortoise", "square"] {
            let page = index.search(&request(tenant_a(), q)).await.unwrap();
            assert_only(&page, tenant_a());
            let page = index.search(&request(tenant_b(), q)).await.unwrap();
            assert_only(&page, tenant_b());
        }
        assert_eq!(
            ids(&index.search(&request(tenant_b(), "")).await.unwrap()),
            ["b-1", "b-2"]
        );
        assert!(index
            .search(&request(Uuid::now_v7(), ""))
            .await
            .unwrap()
            .hits
            .is_empty());

        let mut counted = request(tenant_a(), "");
        counted.facets = vec![Facet::Brand, Facet::Colour];
        let page = index.search(&counted).await.unwrap();
        assert!(!page.facet_distribution["brand"].contains_key("Persol"));
        assert!(!page.facet_distribution["colour"].contains_key("tortoise"));

        // A value that tries to leave its quotes is just a brand nobody has.
        let mut hostile = request(tenant_a(), "");
        hostile.filters = vec![(
            Facet::Brand,
            vec![format!(r#"x" OR tenant_id = "{}"#, tenant_b())],
        )];
        assert!(index.search(&hostile).await.unwrap().hits.is_empty());
    })
    .await;
}

#[tokio::test]
async fn upsert_replaces_and_delete_removes() {
    let Some(server) = server() else { return };
    with_index(&server, |index| async move {
        let mut renamed = catalogue().remove(0);
        renamed.name = "Wayfarer Ease".to_owned();
        renamed.colour = None;
        renamed.version = 2;
        index.upsert(std::slice::from_ref(&renamed)).await.unwrap();
        let page = index.search(&request(tenant_a(), "Ease")).await.unwrap();
        assert_eq!(page.hits, vec![renamed]);

        index
            .delete(&["a-1".to_owned(), "nope".to_owned()])
            .await
            .unwrap();
        let page = index.search(&request(tenant_a(), "")).await.unwrap();
        assert_eq!(ids(&page), ["a-2", "a-3", "a-4"]);
    })
    .await;
}

/// Needs `MEILISEARCH_API_KEY` (the master key): signs a token with the server's default
/// search key and searches with it directly, even asking for the other tenant.
#[tokio::test]
async fn a_tenant_token_only_finds_its_tenant() {
    let Some(server) = server() else { return };
    let Some(master_key) = server.api_key.clone() else {
        eprintln!("skipped: MEILISEARCH_API_KEY is not set (tenant tokens need keys)");
        return;
    };
    let server = &server;
    with_index(server, |index| async move {
        let http = reqwest::Client::new();
        let base = server.url.trim_end_matches('/');
        let keys: Value = http
            .get(format!("{base}/keys?limit=100"))
            .bearer_auth(&master_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let search_key = keys["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| {
                k["actions"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "search"))
                    && k["indexes"]
                        .as_array()
                        .is_some_and(|i| i.iter().any(|x| x == "*"))
            })
            .expect("a search key on every index (Meilisearch's default search key)");
        let mut signing = config(server, index.index_uid());
        signing.api_key = Some(search_key["key"].as_str().unwrap().to_owned());
        signing.tenant_token_key_uid = Some(search_key["uid"].as_str().unwrap().to_owned());
        let token = ProductIndex::new(signing)
            .unwrap()
            .tenant_token(
                tenant_a(),
                chrono::Utc::now() + chrono::Duration::minutes(5),
            )
            .unwrap();

        for filter in [
            Value::Null,
            Value::from(format!(r#"tenant_id = "{}""#, tenant_b())),
        ] {
            let answer: Value = http
                .post(format!("{base}/indexes/{}/search", index.index_uid()))
                .bearer_auth(&token)
                .json(&serde_json::json!({ "q": "", "filter": filter, "limit": 100 }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let hits = answer["hits"].as_array().expect("hits");
            for hit in hits {
                assert_eq!(hit["tenant_id"], tenant_a().to_string(), "{hit}");
            }
            if filter.is_null() {
                assert_eq!(hits.len(), 4);
            } else {
                assert!(hits.is_empty());
            }
        }
    })
    .await;
}
