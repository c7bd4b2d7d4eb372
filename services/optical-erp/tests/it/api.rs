//! The HTTP command API against real PostgreSQL: authentication and scopes, tenant isolation,
//! input errors, idempotency keys, reservations under contention and their expiry.
use optical_kernel::{FixedClock, TenantId, VariantId};
use optical_testkit::api::{all_scopes, token, ApiOptions, TestApi, SECRET};
use optical_testkit::{eventually, TestDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// A test's own database and API, and one tenant with every scope.
pub(crate) struct Fixture {
    pub(crate) db: TestDatabase,
    pub(crate) api: TestApi,
    pub(crate) http: reqwest::Client,
    pub(crate) tenant: TenantId,
    pub(crate) token: String,
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
    pub(crate) raw: Vec<u8>,
}

impl Reply {
    pub(crate) fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl Fixture {
    pub(crate) async fn new() -> Self {
        Self::with(ApiOptions::default()).await
    }

    pub(crate) async fn with(options: ApiOptions) -> Self {
        let db = TestDatabase::create().await;
        let api = TestApi::spawn(&db.url, options).await;
        let tenant = TenantId::new();
        Self {
            token: token(tenant, &all_scopes()),
            db,
            api,
            http: reqwest::Client::new(),
            tenant,
        }
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.http.request(method, self.api.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response.bytes().await.unwrap().to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            raw,
        }
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Reply {
        let bytes = serde_json::to_vec(&body).unwrap();
        self.send(Method::POST, path, Some(&self.token), Some(&bytes), &[])
            .await
    }

    pub(crate) async fn post_with_key(&self, path: &str, body: Value, key: &str) -> Reply {
        let bytes = serde_json::to_vec(&body).unwrap();
        self.send(
            Method::POST,
            path,
            Some(&self.token),
            Some(&bytes),
            &[("Idempotency-Key", key)],
        )
        .await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, Some(&self.token), None, &[])
            .await
    }

    /// The caller's tenant (single brand, EUR), a store and a location; returns the location.
    pub(crate) async fn tenant_with_location(&self) -> String {
        let created = self
            .post(
                "/tenancy/tenant",
                json!({"name": "Brillenhaus", "kind": "single_brand", "default_currency": "EUR"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let store = self
            .post("/tenancy/stores", json!({"name": "Mitte", "code": "BER-1"}))
            .await;
        assert_eq!(store.status, StatusCode::CREATED, "{:?}", store.body);
        let store_id = store.body["id"].as_str().unwrap();
        let location = self
            .post(
                &format!("/tenancy/stores/{store_id}/locations"),
                json!({"name": "Back room", "kind": "back_room"}),
            )
            .await;
        assert_eq!(location.status, StatusCode::CREATED, "{:?}", location.body);
        location.body["id"].as_str().unwrap().to_owned()
    }

    /// A frame variant of the caller's tenant, added through the catalog service.
    pub(crate) async fn variant(&self) -> VariantId {
        crate::helpers::add_variant(&self.api.app.catalog, self.tenant).await
    }

    pub(crate) async fn receive(&self, location: &str, variant: VariantId, quantity: u32) {
        let received = self
            .post(
                &format!("/inventory/stock-levels/{location}/{variant}/receipts"),
                json!({"quantity": quantity, "reference": "DN-1"}),
            )
            .await;
        assert_eq!(received.status, StatusCode::OK, "{:?}", received.body);
    }

    pub(crate) async fn reserve(&self, location: &str, variant: VariantId, quantity: u32) -> Reply {
        self.post(
            "/inventory/reservations",
            json!({"location_id": location, "variant_id": variant.to_string(), "quantity": quantity}),
        )
        .await
    }

    pub(crate) async fn stock(&self, location: &str, variant: VariantId) -> Value {
        let reply = self
            .get(&format!("/inventory/stock-levels/{location}/{variant}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.body
    }

    pub(crate) async fn count_events(&self, event_type: &str) -> i64 {
        let client = self.db.client().await;
        client
            .query_one(
                "SELECT count(*) FROM events WHERE event_type = $1",
                &[&event_type],
            )
            .await
            .unwrap()
            .get(0)
    }
}

pub(crate) fn assert_problem(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(
        reply.headers["content-type"], "application/problem+json",
        "{:?}",
        reply.body
    );
    assert_eq!(reply.code(), code, "{:?}", reply.body);
    assert_eq!(reply.body["status"], status.as_u16());
    assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(reply.body["trace_id"]
        .as_str()
        .is_some_and(|t| t.len() == 32));
}

/// A HS256 token with arbitrary claims, for the cases `mint_hs256` refuses to make.
fn forged(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn requests_without_a_valid_token_answer_401_with_a_challenge() {
    let f = Fixture::new().await;
    let body = br#"{"name":"x","kind":"mall","default_currency":"EUR"}"#;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({"sub": "mallory", "tenant_id": f.tenant.to_string(), "scope": "tenancy:admin", "exp": exp});
    let cases = [
        (None, "missing_token"),
        (Some("not-a-jwt".to_owned()), "malformed_token"),
        (
            Some(forged(
                "another-secret-of-at-least-32-bytes!!",
                claims(now + 600),
            )),
            "bad_signature",
        ),
        (Some(forged(SECRET, claims(now - 3600))), "token_expired"),
    ];
    for (token, code) in cases {
        let reply = f
            .send(
                Method::POST,
                "/tenancy/tenant",
                token.as_deref(),
                Some(body),
                &[],
            )
            .await;
        assert_problem(&reply, StatusCode::UNAUTHORIZED, code);
        assert!(reply.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
    }
    assert_eq!(f.count_events("tenancy.tenant.created").await, 0);
}

/// Replaces `{name}` path parameters with fresh ids.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                if segment == "{request_id}" {
                    "1".to_owned()
                } else {
                    uuid::Uuid::now_v7().to_string()
                }
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_endpoint_answers_403_to_a_token_without_its_scope() {
    let f = Fixture::new().await;
    let endpoints = optical_api::endpoints();
    let mut checked = 0;
    for endpoint in &endpoints {
        let Some(scope) = endpoint.scope else {
            continue;
        };
        let others: Vec<&str> = all_scopes().into_iter().filter(|s| *s != scope).collect();
        let token = token(f.tenant, &others);
        let method = Method::from_bytes(endpoint.method.as_str().as_bytes()).unwrap();
        let reply = f
            .send(
                method,
                &concrete(endpoint.path),
                Some(&token),
                Some(b"{}"),
                &[],
            )
            .await;
        assert_problem(&reply, StatusCode::FORBIDDEN, "insufficient_scope");
        assert!(reply.body["detail"].as_str().unwrap().contains(scope));
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} endpoints declare a scope");
}

#[tokio::test]
async fn ids_of_another_tenant_answer_404_and_change_nothing() {
    let f = Fixture::new().await;
    let location = f.tenant_with_location().await;
    let variant = f.variant().await;
    f.receive(&location, variant, 5).await;
    let store_event: String =
        f.db.client()
            .await
            .query_one(
                "SELECT aggregate_id FROM events WHERE event_type = 'tenancy.store.opened'",
                &[],
            )
            .await
            .unwrap()
            .get(0);

    let intruder = TenantId::new();
    let intruder_token = token(intruder, &all_scopes());
    let created = f
        .send(
            Method::POST,
            "/tenancy/tenant",
            Some(&intruder_token),
            Some(br#"{"name":"Other","kind":"single_brand","default_currency":"EUR"}"#),
            &[],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);

    let as_intruder = |method: Method, path: String, body: Value| {
        let token = intruder_token.clone();
        let f = &f;
        async move {
            let bytes = serde_json::to_vec(&body).unwrap();
            f.send(method, &path, Some(&token), Some(&bytes), &[]).await
        }
    };
    let renamed = as_intruder(
        Method::PUT,
        format!("/tenancy/stores/{store_event}/name"),
        json!({"name": "Mine now"}),
    )
    .await;
    assert_problem(&renamed, StatusCode::NOT_FOUND, "store_not_found");
    let stock = f
        .send(
            Method::GET,
            &format!("/inventory/stock-levels/{location}/{variant}"),
            Some(&intruder_token),
            None,
            &[],
        )
        .await;
    assert_problem(&stock, StatusCode::NOT_FOUND, "stock_level_not_found");
    let reserved = as_intruder(
        Method::POST,
        "/inventory/reservations".into(),
        json!({"location_id": location, "variant_id": variant.to_string(), "quantity": 1}),
    )
    .await;
    assert_problem(&reserved, StatusCode::NOT_FOUND, "location_not_found");
    let received = as_intruder(
        Method::POST,
        format!("/inventory/stock-levels/{location}/{variant}/receipts"),
        json!({"quantity": 100}),
    )
    .await;
    assert_problem(&received, StatusCode::NOT_FOUND, "location_not_found");

    assert_eq!(f.stock(&location, variant).await["on_hand"], 5);
    assert_eq!(f.count_events("tenancy.store.renamed").await, 0);
}

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_fields_answer_400_naming_the_field() {
    let f = Fixture::new().await;
    let cases: [(&[u8], &str, &str, &str); 5] = [
        (br#"{"name": "A", "kind": "mall""#, "malformed_json", "/", "malformed_json"),
        (
            br#"{"name": 5, "kind": "mall", "default_currency": "EUR"}"#,
            "invalid_body",
            "/name",
            "invalid_type",
        ),
        (br#"{"name": "A", "kind": "mall"}"#, "invalid_body", "/default_currency", "missing"),
        (
            br#"{"name": "A", "kind": "mall", "default_currency": "EUR", "settings": {"reservation_ttl_seconds": "soon"}}"#,
            "invalid_body",
            "/settings/reservation_ttl_seconds",
            "invalid_type",
        ),
        (
            br#"{"name": "A", "kind": "franchise", "default_currency": "EUR"}"#,
            "invalid_body",
            "/kind",
            "invalid_value",
        ),
    ];
    for (body, code, field, kind) in cases {
        let reply = f
            .send(
                Method::POST,
                "/tenancy/tenant",
                Some(&f.token),
                Some(body),
                &[],
            )
            .await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, code);
        assert_eq!(reply.body["errors"][0]["field"], field, "{:?}", reply.body);
        assert_eq!(reply.body["errors"][0]["code"], kind, "{:?}", reply.body);
    }

    // Well-formed but invalid values: every bad field is named at once.
    let reply = f
        .post(
            "/tenancy/tenant",
            json!({"name": "", "kind": "mall", "default_currency": "EURO"}),
        )
        .await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["/name", "/default_currency"]);

    let text = f
        .send(
            Method::POST,
            "/tenancy/tenant",
            Some(&f.token),
            None,
            &[("content-type", "text/plain")],
        )
        .await;
    assert_problem(
        &text,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert_eq!(f.count_events("tenancy.tenant.created").await, 0);
}

#[tokio::test]
async fn an_oversized_body_answers_413() {
    let f = Fixture::new().await;
    let huge = json!({"name": "x".repeat(100 * 1024), "kind": "mall", "default_currency": "EUR"});
    let reply = f.post("/tenancy/tenant", huge).await;
    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(f.count_events("tenancy.tenant.created").await, 0);
}

#[tokio::test]
async fn an_idempotent_replay_returns_the_identical_response_and_another_body_answers_422() {
    let f = Fixture::new().await;
    f.tenant_with_location().await;
    let store = json!({"name": "Kreuzberg", "code": "BER-2"});
    let first = f
        .post_with_key("/tenancy/stores", store.clone(), "open-ber-2")
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let again = f
        .post_with_key("/tenancy/stores", store, "open-ber-2")
        .await;
    assert_eq!(again.status, first.status);
    assert_eq!(again.raw, first.raw, "byte-identical body");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(
        f.count_events("tenancy.store.opened").await,
        2,
        "one by the fixture, one here"
    );

    let other = f
        .post_with_key(
            "/tenancy/stores",
            json!({"name": "Pankow", "code": "BER-3"}),
            "open-ber-2",
        )
        .await;
    assert_problem(
        &other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
    assert_eq!(f.count_events("tenancy.store.opened").await, 2);

    // The same key from another tenant is another key.
    let stranger = TenantId::new();
    let reply = f
        .send(
            Method::POST,
            "/tenancy/tenant",
            Some(&token(stranger, &all_scopes())),
            Some(br#"{"name":"S","kind":"mall","default_currency":"EUR"}"#),
            &[("Idempotency-Key", "open-ber-2")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_carry_out_the_command_once() {
    let f = Fixture::new().await;
    let location = f.tenant_with_location().await;
    let variant = f.variant().await;
    let path = format!("/inventory/stock-levels/{location}/{variant}/receipts");
    let replies = futures::future::join_all(
        (0..8).map(|_| f.post_with_key(&path, json!({"quantity": 3}), "delivery-77")),
    )
    .await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.raw, replies[0].raw);
    }
    assert_eq!(f.stock(&location, variant).await["on_hand"], 3);

    // Reservations go through the queue; a replayed key reserves once, too.
    let body = json!({"location_id": location, "variant_id": variant.to_string(), "quantity": 2});
    let replies = futures::future::join_all(
        (0..4).map(|_| f.post_with_key("/inventory/reservations", body.clone(), "cart-9")),
    )
    .await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        assert_eq!(reply.body, replies[0].body);
    }
    assert_eq!(f.stock(&location, variant).await["reserved"], 2);
}

#[tokio::test]
async fn two_hundred_concurrent_reservations_for_the_last_ten_units_reserve_exactly_ten() {
    let f = Fixture::new().await;
    let location = f.tenant_with_location().await;
    let variant = f.variant().await;
    let bystander = f.variant().await;
    f.receive(&location, variant, 10).await;
    f.receive(&location, bystander, 3).await;

    let replies = futures::future::join_all((0..200).map(|i| {
        let v = if i % 50 == 0 { bystander } else { variant };
        let location = location.clone();
        let f = &f;
        async move { (v, f.reserve(&location, v, 1).await) }
    }))
    .await;
    // (reserved, out of stock) per SKU
    let (mut hot, mut other) = ((0, 0), (0, 0));
    for (v, reply) in &replies {
        let tally = if *v == variant { &mut hot } else { &mut other };
        match reply.status {
            StatusCode::CREATED => tally.0 += 1,
            StatusCode::CONFLICT => {
                assert_problem(reply, StatusCode::CONFLICT, "out_of_stock");
                tally.1 += 1;
            }
            status => panic!("unexpected {status}: {:?}", reply.body),
        }
    }
    assert_eq!(hot, (10, 186));
    assert_eq!(other, (3, 1), "the other SKU was served beside the hot one");
    let stock = f.stock(&location, variant).await;
    assert_eq!(
        (
            stock["on_hand"].as_u64(),
            stock["reserved"].as_u64(),
            stock["available"].as_u64()
        ),
        (Some(10), Some(10), Some(0))
    );
    // No event ever recorded a negative or over-reserved level.
    let client = f.db.client().await;
    let rows = client
        .query(
            "SELECT payload FROM events WHERE aggregate_type = 'inventory.stock_level' ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let mut on_hand = 0;
    for row in rows {
        let payload: Value = row.get(0);
        let body = payload.as_object().unwrap().values().next().unwrap();
        if let Some(n) = body["on_hand"].as_i64() {
            on_hand = n;
        }
        assert!(on_hand >= 0);
        if let Some(reserved) = body["reserved"].as_i64() {
            assert!((0..=on_hand.max(10)).contains(&reserved), "{body}");
        }
    }
    assert_eq!(f.count_events("inventory.stock.reserved").await, 13);
}

#[tokio::test]
async fn expired_reservations_are_released_by_the_worker_and_can_be_reserved_again() {
    let clock = Arc::new(FixedClock::at(chrono::Utc::now()));
    let f = Fixture::with(ApiOptions {
        clock: clock.clone(),
        ..ApiOptions::default()
    })
    .await;
    let location = f.tenant_with_location().await;
    let variant = f.variant().await;
    f.receive(&location, variant, 1).await;
    let held = f
        .post(
            "/inventory/reservations",
            json!({"location_id": location, "variant_id": variant.to_string(), "quantity": 1, "ttl_seconds": 60}),
        )
        .await;
    assert_eq!(held.status, StatusCode::CREATED, "{:?}", held.body);
    assert_problem(
        &f.reserve(&location, variant, 1).await,
        StatusCode::CONFLICT,
        "out_of_stock",
    );

    clock.advance(chrono::Duration::seconds(61));
    let released = eventually(Duration::from_secs(20), || async {
        f.stock(&location, variant).await["available"] == 1
    })
    .await;
    assert!(released, "the worker expired the reservation");
    assert_eq!(f.count_events("inventory.reservation.expired").await, 1);
    let again = f.reserve(&location, variant, 1).await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    let reservation = held.body["reservation_id"].as_str().unwrap();
    let release = f
        .post(
            &format!("/inventory/reservations/{reservation}/release"),
            json!({}),
        )
        .await;
    assert_problem(&release, StatusCode::NOT_FOUND, "reservation_not_found");
}

#[tokio::test]
async fn reservations_are_released_or_committed_to_an_order() {
    let f = Fixture::new().await;
    let location = f.tenant_with_location().await;
    let variant = f.variant().await;
    f.receive(&location, variant, 5).await;
    let first = f.reserve(&location, variant, 2).await;
    let second = f.reserve(&location, variant, 3).await;
    assert_eq!(
        (first.status, second.status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(f.stock(&location, variant).await["available"], 0);

    let id = |r: &Reply| r.body["reservation_id"].as_str().unwrap().to_owned();
    let released = f
        .post(
            &format!("/inventory/reservations/{}/release", id(&first)),
            json!({}),
        )
        .await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    assert!(released.body["consistency_token"].as_str().is_some());
    let order = uuid::Uuid::now_v7().to_string();
    let committed = f
        .post(
            &format!("/inventory/reservations/{}/commit", id(&second)),
            json!({"order_id": order}),
        )
        .await;
    assert_eq!(committed.status, StatusCode::OK, "{:?}", committed.body);
    let stock = f.stock(&location, variant).await;
    assert_eq!(
        (stock["on_hand"].as_u64(), stock["available"].as_u64()),
        (Some(2), Some(2))
    );

    let twice = f
        .post(
            &format!("/inventory/reservations/{}/release", id(&second)),
            json!({}),
        )
        .await;
    assert_problem(&twice, StatusCode::NOT_FOUND, "reservation_not_found");
    let short = f
        .post(
            &format!("/inventory/stock-levels/{location}/{variant}/adjustments"),
            json!({"delta": -3, "reason": "damaged"}),
        )
        .await;
    assert_problem(&short, StatusCode::CONFLICT, "insufficient_stock");
}

#[tokio::test]
async fn responses_carry_the_request_id_and_problems_the_trace_id() {
    let f = Fixture::new().await;
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let reply = f
        .send(
            Method::POST,
            "/tenancy/stores",
            Some(&f.token),
            Some(b"{}"),
            &[
                ("X-Request-Id", "req-42"),
                ("traceparent", &format!("00-{trace}-b7ad6b7169203331-01")),
            ],
        )
        .await;
    assert_eq!(reply.headers["x-request-id"], "req-42");
    assert_eq!(reply.body["trace_id"], trace);
    let unnamed = f.get("/openapi.json").await;
    assert!(!unnamed.headers["x-request-id"].is_empty());
    let missing = f.get("/no/such/thing").await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "no_such_endpoint");
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint_with_its_scope_and_passes_a_validator() {
    let f = Fixture::new().await;
    let reply = f.send(Method::GET, "/openapi.json", None, None, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.body;
    for endpoint in optical_api::endpoints() {
        let path = format!("/api/v1{}", endpoint.path);
        let method = endpoint.method.as_str().to_ascii_lowercase();
        let operation = &document["paths"][&path][&method];
        assert!(operation.is_object(), "{method} {path} is documented");
        match endpoint.scope {
            Some(scope) => {
                assert_eq!(operation["x-required-scope"], scope);
                assert_eq!(operation["security"][0]["bearerAuth"][0], scope);
            }
            None => assert_eq!(operation["security"], json!([])),
        }
        if endpoint.request.is_some() {
            assert!(operation["requestBody"]["content"]["application/json"]["schema"].is_object());
        }
    }
    let file = std::env::temp_dir().join(format!("openapi-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, &reply.raw).unwrap();
    let output = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "openapi-spec-validator (installed by scripts/services.sh) rejects the document:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The README's walkthrough, step by step: token → tenant → store and location → product →
/// variant → receive stock → reserve.
#[tokio::test]
async fn the_readme_walkthrough_reserves_a_frame_from_a_new_tenant() {
    let f = Fixture::new().await;
    let location = f.tenant_with_location().await;
    let product = f
        .post(
            "/catalog/products",
            json!({"kind": "frame", "name": "Aurora 52", "brand": "Lumen Optics"}),
        )
        .await;
    assert_eq!(product.status, StatusCode::CREATED, "{:?}", product.body);
    let product_id = product.body["id"].as_str().unwrap();
    let shown = f.get(&format!("/catalog/products/{product_id}")).await;
    assert_eq!(
        (&shown.body["name"], &shown.body["status"]),
        (&json!("Aurora 52"), &json!("draft"))
    );
    let variant = f
        .post(
            &format!("/catalog/products/{product_id}/variants"),
            json!({
                "sku": "AUR-52-HAV",
                "attributes": {"frame": {
                    "box_width_mm": 52, "box_height_mm": 40, "distance_between_lenses_mm": 18,
                    "effective_diameter_mm": 56, "temple_length_mm": 140,
                    "colour": "Havana", "shape": "round", "material": "acetate"}},
                "price": {"amount_minor": 12900}
            }),
        )
        .await;
    assert_eq!(variant.status, StatusCode::CREATED, "{:?}", variant.body);
    assert!(variant.body["consistency_token"].as_str().is_some());
    let variant_id: VariantId = variant.body["id"].as_str().unwrap().parse().unwrap();
    let shown = f.get(&format!("/catalog/variants/{variant_id}")).await;
    assert_eq!(
        shown.body["price"],
        json!({"amount_minor": 12900, "currency": "EUR"})
    );

    f.receive(&location, variant_id, 4).await;
    let reserved = f
        .post_with_key(
            "/inventory/reservations",
            json!({"location_id": location, "variant_id": variant_id.to_string(), "quantity": 1}),
            "walkthrough-1",
        )
        .await;
    assert_eq!(reserved.status, StatusCode::CREATED, "{:?}", reserved.body);
    assert_eq!(reserved.body["quantity"], 1);
    assert!(reserved.body["expires_at"].as_str().is_some());
    assert_eq!(f.stock(&location, variant_id).await["available"], 3);

    // A price in another currency than the tenant's is refused at the field.
    let usd = f
        .send(
            Method::PUT,
            &format!("/catalog/variants/{variant_id}/price"),
            Some(&f.token),
            Some(br#"{"price": {"amount_minor": 100, "currency": "USD"}}"#),
            &[],
        )
        .await;
    assert_problem(&usd, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(usd.body["errors"][0]["field"], "/price/currency");
}

/// Workers hold a claim's session while their append needs a connection: with as many workers
/// as pooled connections, claims from the shared pool once deadlocked every reservation.
#[tokio::test]
async fn more_reservation_workers_than_pooled_connections_still_answer_every_request() {
    let f = Fixture::with(ApiOptions {
        workers: optical_app::WorkerConfig {
            reservation_workers: 24,
            ..ApiOptions::default().workers
        },
        ..ApiOptions::default()
    })
    .await;
    let location = f.tenant_with_location().await;
    let mut variants = Vec::new();
    for _ in 0..24 {
        let variant = f.variant().await;
        f.receive(&location, variant, 2).await;
        variants.push(variant);
    }
    let replies = futures::future::join_all(
        variants
            .iter()
            .flat_map(|v| [*v, *v])
            .map(|v| f.reserve(&location, v, 1)),
    )
    .await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }
}

/// An API process without workers and a worker process beside it: the request is announced by
/// NOTIFY and the answer comes back by NOTIFY (in one process both are handed over in memory).
#[tokio::test]
async fn reservations_queued_by_an_api_without_workers_are_decided_by_another_process() {
    let f = Fixture::with(ApiOptions {
        workers: optical_app::WorkerConfig {
            reservation_workers: 0,
            ..ApiOptions::default().workers
        },
        reservation_wait: Duration::from_secs(20),
        ..ApiOptions::default()
    })
    .await;
    let location = f.tenant_with_location().await;
    let variant = f.variant().await;
    f.receive(&location, variant, 3).await;
    let elsewhere = optical_app::App::new(
        f.db.pool(4),
        Arc::new(optical_kernel::SystemClock),
        optical_app::PersonalData::ephemeral(),
    );
    let workers = optical_app::ReservationWorkers::spawn(
        elsewhere.inventory.clone(),
        f.db.url.clone(),
        optical_api::reservation_responder(),
        optical_app::WorkerConfig {
            // No polling to fall back on: only the notification can wake this worker in time.
            poll_interval: Duration::from_secs(3600),
            ..optical_app::WorkerConfig::default()
        },
    );
    let started = std::time::Instant::now();
    let replies = futures::future::join_all((0..4).map(|_| f.reserve(&location, variant, 1))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        1,
        "{statuses:?}"
    );
    // A liveness check, not a performance one: a missed request notification leaves the
    // requests to the hour-long poll (202 after 20 s), a missed answer notification leaves
    // each caller waiting the whole 20 s bound.
    assert!(started.elapsed() < Duration::from_secs(15));
    workers.stop().await;
}
