//! The Meilisearch wire against a stub server: the exact calls, task polling, retries, the
//! forced tenant filter and tenant tokens. No real Meilisearch is needed.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use base64::Engine as _;
use optical_search::{
    Facet, MeilisearchConfig, ProductDocument, ProductIndex, SearchError, SearchRequest,
};
use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::matchers::{body_json, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const API_KEY: &str = "a19b6ec84ee31324efa560cd1f7e6939";
const KEY_UID: &str = "76cf8b87-fd12-4688-ad34-260d930ca4f4";

fn tenant_a() -> Uuid {
    Uuid::parse_str("0190aaaa-0000-7000-8000-00000000000a").unwrap()
}

fn tenant_b() -> Uuid {
    Uuid::parse_str("0190bbbb-0000-7000-8000-00000000000b").unwrap()
}

fn config(url: &str) -> MeilisearchConfig {
    let mut config = MeilisearchConfig::new(url);
    config.api_key = Some(API_KEY.to_owned());
    config.tenant_token_key_uid = Some(KEY_UID.to_owned());
    config.request_timeout = Duration::from_secs(5);
    config.task_timeout = Duration::from_secs(5);
    config.poll_interval = Duration::from_millis(1);
    config.max_retries = 3;
    config.retry_base = Duration::from_millis(1);
    config
}

fn index(server: &MockServer) -> ProductIndex {
    ProductIndex::new(config(&server.uri())).unwrap()
}

fn document(id: &str, tenant: Uuid, name: &str, brand: &str) -> ProductDocument {
    ProductDocument {
        id: id.to_owned(),
        tenant_id: tenant.to_string(),
        product_id: format!("product-{id}"),
        sku: format!("SKU-{id}"),
        name: name.to_owned(),
        brand: brand.to_owned(),
        description: None,
        kind: "frame".to_owned(),
        price_minor: 12_900,
        currency: "EUR".to_owned(),
        compare_at_minor: None,
        available: true,
        available_quantity: 3,
        frame_shape: Some("round".to_owned()),
        frame_material: Some("acetate".to_owned()),
        colour: Some("black".to_owned()),
        lens_design: None,
        lens_material: None,
        lens_index: None,
        version: 1,
    }
}

/// Meilisearch's 202 answer to a write.
fn accepted(task_uid: u32, kind: &str) -> ResponseTemplate {
    ResponseTemplate::new(202).set_body_json(json!({
        "taskUid": task_uid,
        "indexUid": "products",
        "status": "enqueued",
        "type": kind,
        "enqueuedAt": "2026-05-01T10:00:00.000000Z"
    }))
}

/// `GET /tasks/{uid}` in one of its states.
fn task(uid: u32, kind: &str, status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(task_body(uid, kind, status))
}

fn task_body(uid: u32, kind: &str, status: &str) -> Value {
    let mut body = json!({
        "uid": uid,
        "batchUid": uid,
        "indexUid": "products",
        "status": status,
        "type": kind,
        "canceledBy": null,
        "error": null,
        "enqueuedAt": "2026-05-01T10:00:00.000000Z"
    });
    if status != "enqueued" {
        body["startedAt"] = json!("2026-05-01T10:00:00.010000Z");
    }
    if status == "succeeded" || status == "failed" {
        body["duration"] = json!("PT0.020S");
        body["finishedAt"] = json!("2026-05-01T10:00:00.030000Z");
    }
    body
}

fn failed_task(uid: u32, kind: &str, code: &str, message: &str) -> ResponseTemplate {
    let mut body = task_body(uid, kind, "failed");
    body["error"] = json!({
        "message": message,
        "code": code,
        "type": "invalid_request",
        "link": format!("https://docs.meilisearch.com/errors#{code}")
    });
    ResponseTemplate::new(200).set_body_json(body)
}

fn meilisearch_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "message": message,
        "code": code,
        "type": "invalid_request",
        "link": format!("https://docs.meilisearch.com/errors#{code}")
    }))
}

async fn mount_task(server: &MockServer, uid: u32, response: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/tasks/{uid}")))
        .respond_with(response)
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

/// `METHOD /path` of every request the stub received, in order.
async fn calls(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r: &Request| format!("{} {}", r.method, r.url.path()))
        .collect()
}

fn expected_settings() -> Value {
    json!({
        "searchableAttributes": [
            "name", "brand", "sku", "description", "kind", "frame_shape", "frame_material",
            "colour", "lens_design", "lens_material"
        ],
        "filterableAttributes": [
            "tenant_id", "kind", "brand", "frame_shape", "frame_material", "colour",
            "lens_design", "lens_material", "lens_index", "available"
        ],
        "sortableAttributes": ["price_minor", "name"],
        "faceting": { "maxValuesPerFacet": 100, "sortFacetValuesBy": { "*": "count" } }
    })
}

// ---------------------------------------------------------------------------------------------
// configure

#[tokio::test]
async fn configure_creates_the_index_with_primary_key_id_then_sets_settings_and_waits() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes"))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .and(body_json(json!({ "uid": "products", "primaryKey": "id" })))
        .respond_with(accepted(1, "indexCreation"))
        .expect(1)
        .mount(&server)
        .await;
    mount_task(&server, 1, task(1, "indexCreation", "enqueued"), 1).await;
    mount_task(&server, 1, task(1, "indexCreation", "succeeded"), 1).await;
    Mock::given(method("PATCH"))
        .and(path("/indexes/products/settings"))
        .and(body_json(expected_settings()))
        .respond_with(accepted(2, "settingsUpdate"))
        .expect(1)
        .mount(&server)
        .await;
    mount_task(&server, 2, task(2, "settingsUpdate", "processing"), 2).await;
    mount_task(&server, 2, task(2, "settingsUpdate", "succeeded"), 1).await;

    index(&server).configure().await.unwrap();

    assert_eq!(
        calls(&server).await,
        [
            "POST /indexes",
            "GET /tasks/1",
            "GET /tasks/1",
            "PATCH /indexes/products/settings",
            "GET /tasks/2",
            "GET /tasks/2",
            "GET /tasks/2",
        ]
    );
    server.verify().await;
}

#[tokio::test]
async fn configure_accepts_an_existing_index_whose_primary_key_is_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes"))
        .respond_with(accepted(1, "indexCreation"))
        .expect(1)
        .mount(&server)
        .await;
    mount_task(
        &server,
        1,
        failed_task(
            1,
            "indexCreation",
            "index_already_exists",
            "Index `products` already exists.",
        ),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/indexes/products"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "uid": "products",
            "primaryKey": "id",
            "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-01-01T00:00:00Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/indexes/products/settings"))
        .and(body_json(expected_settings()))
        .respond_with(accepted(2, "settingsUpdate"))
        .expect(1)
        .mount(&server)
        .await;
    mount_task(&server, 2, task(2, "settingsUpdate", "succeeded"), 1).await;

    index(&server).configure().await.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn configure_refuses_an_existing_index_with_another_primary_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes"))
        .respond_with(accepted(1, "indexCreation"))
        .mount(&server)
        .await;
    mount_task(
        &server,
        1,
        failed_task(1, "indexCreation", "index_already_exists", "exists"),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/indexes/products"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "uid": "products",
            "primaryKey": "sku",
            "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-01-01T00:00:00Z"
        })))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(accepted(2, "settingsUpdate"))
        .expect(0)
        .mount(&server)
        .await;

    let error = index(&server).configure().await.unwrap_err();
    assert!(
        matches!(&error, SearchError::Config(m) if m.contains("sku")),
        "{error:?}"
    );
    assert!(!error.is_transient());
    server.verify().await;
}

#[tokio::test]
async fn configure_fails_when_the_settings_task_fails() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes"))
        .respond_with(accepted(1, "indexCreation"))
        .mount(&server)
        .await;
    mount_task(&server, 1, task(1, "indexCreation", "succeeded"), 1).await;
    Mock::given(method("PATCH"))
        .and(path("/indexes/products/settings"))
        .respond_with(accepted(2, "settingsUpdate"))
        .expect(1)
        .mount(&server)
        .await;
    mount_task(
        &server,
        2,
        failed_task(
            2,
            "settingsUpdate",
            "invalid_settings_filterable_attributes",
            "bad filterable attributes",
        ),
        1,
    )
    .await;

    let error = index(&server).configure().await.unwrap_err();
    match &error {
        SearchError::TaskFailed { task_uid, code, .. } => {
            assert_eq!(*task_uid, 2);
            assert_eq!(code, "invalid_settings_filterable_attributes");
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
    assert!(!error.is_transient());
    server.verify().await;
}

// ---------------------------------------------------------------------------------------------
// upsert and delete

#[tokio::test]
async fn upsert_names_the_primary_key_and_returns_only_after_the_task_succeeded() {
    let server = MockServer::start().await;
    let documents = vec![
        document("v-1", tenant_a(), "Wayfarer", "Ray-Ban"),
        document("v-2", tenant_a(), "Clubmaster", "Ray-Ban"),
    ];
    Mock::given(method("POST"))
        .and(path("/indexes/products/documents"))
        .and(query_param("primaryKey", "id"))
        .and(header("content-type", "application/json"))
        .and(body_json(serde_json::to_value(&documents).unwrap()))
        .respond_with(accepted(7, "documentAdditionOrUpdate"))
        .expect(1)
        .mount(&server)
        .await;
    mount_task(
        &server,
        7,
        task(7, "documentAdditionOrUpdate", "enqueued"),
        1,
    )
    .await;
    mount_task(
        &server,
        7,
        task(7, "documentAdditionOrUpdate", "processing"),
        2,
    )
    .await;
    mount_task(
        &server,
        7,
        task(7, "documentAdditionOrUpdate", "succeeded"),
        1,
    )
    .await;

    index(&server).upsert(&documents).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), Some("primaryKey=id"));
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent[0]["id"], "v-1");
    assert_eq!(sent[0]["tenant_id"], tenant_a().to_string());
    assert_eq!(sent[0]["description"], Value::Null);
    assert_eq!(
        calls(&server).await,
        [
            "POST /indexes/products/documents",
            "GET /tasks/7",
            "GET /tasks/7",
            "GET /tasks/7",
            "GET /tasks/7",
        ]
    );
    server.verify().await;
}

#[tokio::test]
async fn a_failed_task_is_task_failed_with_meilisearchs_code_and_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/documents"))
        .respond_with(accepted(8, "documentAdditionOrUpdate"))
        .expect(1)
        .mount(&server)
        .await;
    mount_task(
        &server,
        8,
        task(8, "documentAdditionOrUpdate", "processing"),
        1,
    )
    .await;
    mount_task(
        &server,
        8,
        failed_task(
            8,
            "documentAdditionOrUpdate",
            "invalid_document_id",
            "Document identifier `a b` is invalid.",
        ),
        1,
    )
    .await;

    let error = index(&server)
        .upsert(&[document("a b", tenant_a(), "Wayfarer", "Ray-Ban")])
        .await
        .unwrap_err();
    match &error {
        SearchError::TaskFailed {
            task_uid,
            code,
            message,
        } => {
            assert_eq!(*task_uid, 8);
            assert_eq!(code, "invalid_document_id");
            assert!(message.contains("is invalid"));
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
    assert!(!error.is_transient());
    server.verify().await;
}

#[tokio::test]
async fn a_503_is_retried_and_the_write_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/documents"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/documents"))
        .and(query_param("primaryKey", "id"))
        .respond_with(accepted(9, "documentAdditionOrUpdate"))
        .expect(1)
        .mount(&server)
        .await;
    mount_task(
        &server,
        9,
        task(9, "documentAdditionOrUpdate", "succeeded"),
        1,
    )
    .await;

    index(&server)
        .upsert(&[document("v-1", tenant_a(), "Wayfarer", "Ray-Ban")])
        .await
        .unwrap();
    assert_eq!(
        calls(&server).await,
        [
            "POST /indexes/products/documents",
            "POST /indexes/products/documents",
            "GET /tasks/9",
        ]
    );
    server.verify().await;
}

#[tokio::test]
async fn a_429_while_polling_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/documents"))
        .respond_with(accepted(10, "documentAdditionOrUpdate"))
        .expect(1)
        .mount(&server)
        .await;
    mount_task(
        &server,
        10,
        meilisearch_error(429, "too_many_requests", "slow down"),
        2,
    )
    .await;
    mount_task(
        &server,
        10,
        task(10, "documentAdditionOrUpdate", "succeeded"),
        1,
    )
    .await;

    index(&server)
        .upsert(&[document("v-1", tenant_a(), "Wayfarer", "Ray-Ban")])
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn a_request_that_times_out_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/documents"))
        .respond_with(accepted(11, "documentAdditionOrUpdate").set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/documents"))
        .respond_with(accepted(11, "documentAdditionOrUpdate"))
        .expect(1)
        .mount(&server)
        .await;
    mount_task(
        &server,
        11,
        task(11, "documentAdditionOrUpdate", "succeeded"),
        1,
    )
    .await;

    let mut config = config(&server.uri());
    config.request_timeout = Duration::from_millis(300);
    ProductIndex::new(config)
        .unwrap()
        .upsert(&[document("v-1", tenant_a(), "Wayfarer", "Ray-Ban")])
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn transient_failures_are_retried_max_retries_times_then_returned() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/documents"))
        .respond_with(meilisearch_error(503, "internal", "overloaded"))
        .expect(3)
        .mount(&server)
        .await;

    let mut config = config(&server.uri());
    config.max_retries = 2;
    let error = ProductIndex::new(config)
        .unwrap()
        .upsert(&[document("v-1", tenant_a(), "Wayfarer", "Ray-Ban")])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SearchError::Http { status: 503, code: Some(c), .. } if c == "internal"),
        "{error:?}"
    );
    assert!(error.is_transient());
    server.verify().await;
}

#[tokio::test]
async fn a_4xx_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/documents"))
        .respond_with(meilisearch_error(
            403,
            "invalid_api_key",
            "The provided API key is invalid.",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let error = index(&server)
        .upsert(&[document("v-1", tenant_a(), "Wayfarer", "Ray-Ban")])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SearchError::Http { status: 403, code: Some(c), .. } if c == "invalid_api_key"),
        "{error:?}"
    );
    assert!(!error.is_transient());
    server.verify().await;
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_and_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut config = config(&url);
    config.max_retries = 1;

    let error = ProductIndex::new(config)
        .unwrap()
        .upsert(&[document("v-1", tenant_a(), "Wayfarer", "Ray-Ban")])
        .await
        .unwrap_err();
    assert!(matches!(error, SearchError::Unreachable(_)), "{error:?}");
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_task_that_never_finishes_times_out_transiently() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/documents"))
        .respond_with(accepted(12, "documentAdditionOrUpdate"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tasks/12"))
        .respond_with(task(12, "documentAdditionOrUpdate", "processing"))
        .mount(&server)
        .await;

    let mut config = config(&server.uri());
    config.task_timeout = Duration::from_millis(100);
    config.poll_interval = Duration::from_millis(10);
    let error = ProductIndex::new(config)
        .unwrap()
        .upsert(&[document("v-1", tenant_a(), "Wayfarer", "Ray-Ban")])
        .await
        .unwrap_err();
    assert!(
        matches!(error, SearchError::TaskTimeout { task_uid: 12, .. }),
        "{error:?}"
    );
    assert!(error.is_transient());
}

#[tokio::test]
async fn delete_sends_the_ids_and_waits_for_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/documents/delete-batch"))
        .and(body_json(json!(["v-1", "v-2"])))
        .respond_with(accepted(13, "documentDeletion"))
        .expect(1)
        .mount(&server)
        .await;
    mount_task(&server, 13, task(13, "documentDeletion", "processing"), 1).await;
    mount_task(&server, 13, task(13, "documentDeletion", "succeeded"), 1).await;

    index(&server)
        .delete(&["v-1".to_owned(), "v-2".to_owned()])
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn empty_writes_send_nothing() {
    let server = MockServer::start().await;
    let index = index(&server);
    index.upsert(&[]).await.unwrap();
    index.delete(&[]).await.unwrap();
    assert!(calls(&server).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// search

fn search_answer(hits: Vec<ProductDocument>, facets: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "hits": hits,
        "query": "ray",
        "processingTimeMs": 1,
        "limit": 20,
        "offset": 0,
        "estimatedTotalHits": 42,
        "facetDistribution": facets
    }))
}

#[tokio::test]
async fn search_forces_the_tenant_filter_ands_the_callers_filters_and_maps_facets() {
    let server = MockServer::start().await;
    let tenant = tenant_a();
    let expected_filter = format!(
        r#"tenant_id = "{tenant}" AND (brand = "Ray-Ban" OR brand = "Ray \"X\" \\ Co") AND (available = "true")"#
    );
    let mine = document("v-1", tenant, "Wayfarer", "Ray-Ban");
    Mock::given(method("POST"))
        .and(path("/indexes/products/search"))
        .and(body_json(json!({
            "q": "ray",
            "filter": expected_filter,
            "facets": ["brand", "frame_shape"],
            "limit": 20,
            "offset": 40
        })))
        .respond_with(search_answer(
            vec![mine.clone()],
            json!({
                "brand": { "Ray-Ban": 30, "Ray \"X\" \\ Co": 12 },
                "frame_shape": { "round": 40, "square": 2 },
                "colour": { "black": 42 }
            }),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let page = index(&server)
        .search(&SearchRequest {
            tenant_id: tenant,
            q: "ray".to_owned(),
            filters: vec![
                (
                    Facet::Brand,
                    vec!["Ray-Ban".to_owned(), r#"Ray "X" \ Co"#.to_owned()],
                ),
                (Facet::Available, vec!["true".to_owned()]),
            ],
            facets: vec![Facet::Brand, Facet::FrameShape, Facet::Brand],
            limit: 20,
            offset: 40,
        })
        .await
        .unwrap();

    assert_eq!(page.hits, vec![mine]);
    assert_eq!(page.estimated_total, 42);
    let distribution = serde_json::to_value(&page.facet_distribution).unwrap();
    assert_eq!(
        distribution,
        json!({
            "brand": { "Ray-Ban": 30, "Ray \"X\" \\ Co": 12 },
            "frame_shape": { "round": 40, "square": 2 }
        })
    );
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert!(sent["filter"]
        .as_str()
        .unwrap()
        .starts_with(&format!("tenant_id = \"{tenant}\" AND (")));
    server.verify().await;
}

#[tokio::test]
async fn search_without_filters_or_facets_is_still_tenant_filtered_and_clamps_the_limit() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/search"))
        .and(body_json(json!({
            "q": "",
            "filter": format!(r#"tenant_id = "{}""#, tenant_b()),
            "limit": 100,
            "offset": 0
        })))
        .respond_with(search_answer(vec![], json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/search"))
        .and(body_partial_json(json!({ "limit": 1 })))
        .respond_with(search_answer(vec![], json!({})))
        .expect(1)
        .mount(&server)
        .await;

    let index = index(&server);
    let mut request = SearchRequest {
        tenant_id: tenant_b(),
        q: String::new(),
        filters: vec![],
        facets: vec![],
        limit: 1_000,
        offset: 0,
    };
    let page = index.search(&request).await.unwrap();
    assert!(page.hits.is_empty());
    assert!(page.facet_distribution.is_empty());
    request.limit = 0;
    index.search(&request).await.unwrap();
    server.verify().await;
}

#[tokio::test]
async fn a_hit_of_another_tenant_is_never_returned() {
    let server = MockServer::start().await;
    let mine = document("v-1", tenant_a(), "Wayfarer", "Ray-Ban");
    let theirs = document("v-2", tenant_b(), "Wayfarer", "Ray-Ban");
    Mock::given(method("POST"))
        .and(path("/indexes/products/search"))
        .respond_with(search_answer(vec![theirs, mine.clone()], json!({})))
        .mount(&server)
        .await;

    let page = index(&server)
        .search(&SearchRequest {
            tenant_id: tenant_a(),
            q: "ray".to_owned(),
            filters: vec![],
            facets: vec![Facet::Colour],
            limit: 20,
            offset: 0,
        })
        .await
        .unwrap();
    assert_eq!(page.hits, vec![mine]);
    // A requested facet Meilisearch did not count is present and empty.
    assert_eq!(
        serde_json::to_value(&page.facet_distribution).unwrap(),
        json!({ "colour": {} })
    );
}

#[tokio::test]
async fn a_rejected_search_is_a_permanent_http_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/indexes/products/search"))
        .respond_with(meilisearch_error(
            400,
            "invalid_search_filter",
            "Attribute `lens_index` is not filterable.",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let error = index(&server)
        .search(&SearchRequest {
            tenant_id: tenant_a(),
            q: String::new(),
            filters: vec![(Facet::LensIndex, vec!["1.67".to_owned()])],
            facets: vec![],
            limit: 20,
            offset: 0,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SearchError::Http { status: 400, code: Some(c), .. } if c == "invalid_search_filter"),
        "{error:?}"
    );
    assert!(!error.is_transient());
    server.verify().await;
}

// ---------------------------------------------------------------------------------------------
// tenant tokens

fn decode_part(part: &str) -> Value {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn a_tenant_token_restricts_the_index_to_the_tenant() {
    let index = ProductIndex::new(config("http://localhost:7700")).unwrap();
    let tenant = tenant_a();
    let expires_at = chrono::Utc::now() + chrono::Duration::minutes(15);

    let token = index.tenant_token(tenant, expires_at).unwrap();

    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(decode_part(parts[0])["alg"], "HS256");
    let payload = decode_part(parts[1]);
    assert_eq!(
        payload["searchRules"],
        json!({ "products": { "filter": format!(r#"tenant_id = "{tenant}""#) } })
    );
    assert_eq!(payload["apiKeyUid"], KEY_UID);
    assert_eq!(payload["exp"], expires_at.timestamp());

    // Signed with the API key (what Meilisearch checks).
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.required_spec_claims.clear();
    let verified = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(API_KEY.as_bytes()),
        &validation,
    )
    .unwrap();
    assert_eq!(verified.claims, payload);
    assert!(jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(b"another key entirely"),
        &validation,
    )
    .is_err());
}

#[test]
fn a_tenant_token_uses_the_configured_index_uid() {
    let mut config = config("http://localhost:7700");
    config.index_uid = "products_v2".to_owned();
    let index = ProductIndex::new(config).unwrap();
    let token = index
        .tenant_token(tenant_b(), chrono::Utc::now() + chrono::Duration::hours(1))
        .unwrap();
    let payload = decode_part(token.split('.').nth(1).unwrap());
    let rules = payload["searchRules"].as_object().unwrap();
    assert_eq!(rules.keys().collect::<Vec<_>>(), ["products_v2"]);
    assert_eq!(
        rules["products_v2"]["filter"],
        format!(r#"tenant_id = "{}""#, tenant_b())
    );
}

#[test]
fn a_tenant_token_needs_a_key_its_uid_and_a_future_expiry() {
    let soon = chrono::Utc::now() + chrono::Duration::minutes(5);

    let mut no_key = config("http://localhost:7700");
    no_key.api_key = None;
    let error = ProductIndex::new(no_key)
        .unwrap()
        .tenant_token(tenant_a(), soon)
        .unwrap_err();
    assert!(matches!(error, SearchError::Token(_)), "{error:?}");

    let mut no_uid = config("http://localhost:7700");
    no_uid.tenant_token_key_uid = None;
    let error = ProductIndex::new(no_uid)
        .unwrap()
        .tenant_token(tenant_a(), soon)
        .unwrap_err();
    assert!(matches!(error, SearchError::Token(_)), "{error:?}");

    let mut not_v4 = config("http://localhost:7700");
    not_v4.tenant_token_key_uid = Some(tenant_a().to_string()); // a UUIDv7
    let error = ProductIndex::new(not_v4)
        .unwrap()
        .tenant_token(tenant_a(), soon)
        .unwrap_err();
    assert!(matches!(error, SearchError::Token(_)), "{error:?}");

    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    let error = ProductIndex::new(config("http://localhost:7700"))
        .unwrap()
        .tenant_token(tenant_a(), past)
        .unwrap_err();
    assert!(matches!(error, SearchError::Token(_)), "{error:?}");
}

/// The projector and the query API run these on a multi-threaded runtime.
#[test]
fn the_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let index = ProductIndex::new(config("http://localhost:7700")).unwrap();
    let documents = [document("v-1", tenant_a(), "Wayfarer", "Ray-Ban")];
    let ids = ["v-1".to_owned()];
    let request = SearchRequest {
        tenant_id: tenant_a(),
        q: String::new(),
        filters: vec![],
        facets: vec![],
        limit: 1,
        offset: 0,
    };
    send(&index.configure());
    send(&index.upsert(&documents));
    send(&index.delete(&ids));
    send(&index.search(&request));
    send(&index.delete_index());
}
