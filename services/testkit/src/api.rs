//! The HTTP API on a free port over a test database, as `optical-erp api` wires it, with the
//! reservation workers; and tokens for it.
use optical_api::auth::{mint_hs256, AuthConfig, Authenticator, TokenRequest};
use optical_api::{ApiConfig, ApiState, DocumentLinks, PrescriptionLimits, WebhookSecrets};
use optical_app::{App, PersonalData, ReservationWorkers, WorkerConfig};
use optical_kernel::{Clock, SystemClock, TenantId};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// The development secret of test APIs.
pub const SECRET: &str = "test-secret-of-at-least-32-bytes-0123456789";

/// The secret test APIs sign scan download links with.
pub const DOCUMENT_LINK_SECRET: &str = "test-document-link-secret-0123456789abcdef";

/// The payment provider test APIs accept webhooks from, and its secret.
pub const WEBHOOK_PROVIDER: &str = "testbank";
pub const WEBHOOK_SECRET: &str = "test-webhook-secret-of-testbank";

pub struct ApiOptions {
    pub clock: Arc<dyn Clock>,
    pub workers: WorkerConfig,
    pub max_body_bytes: usize,
    pub reservation_wait: Duration,
    pub http_workers: usize,
    pub prescription_limits: PrescriptionLimits,
    pub document_links: DocumentLinks,
    pub webhook_secrets: WebhookSecrets,
    /// How long a query with `X-Consistency-Token` waits for its projection.
    pub consistency_wait: Duration,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            workers: WorkerConfig {
                // Tests advance a fixed clock and wait for the worker: keep the wait short.
                expiry_interval: Duration::from_millis(50),
                ..WorkerConfig::default()
            },
            max_body_bytes: 64 * 1024,
            reservation_wait: Duration::from_secs(30),
            http_workers: 2,
            prescription_limits: PrescriptionLimits::default(),
            document_links: DocumentLinks::new(DOCUMENT_LINK_SECRET, DocumentLinks::DEFAULT_TTL)
                .unwrap(),
            webhook_secrets: WebhookSecrets::none()
                .with(WEBHOOK_PROVIDER, WEBHOOK_SECRET)
                .unwrap(),
            consistency_wait: Duration::from_secs(5),
        }
    }
}

/// A running API; stopped when dropped.
pub struct TestApi {
    /// e.g. `http://127.0.0.1:41234/api/v1`
    pub base: String,
    pub app: App,
    handle: actix_web::dev::ServerHandle,
    workers: Option<ReservationWorkers>,
}

impl TestApi {
    pub async fn spawn(database_url: &str, options: ApiOptions) -> Self {
        let pool = optical_event_store::pool(database_url, 16).unwrap();
        let app = App::new(
            pool.clone(),
            options.clock.clone(),
            PersonalData::ephemeral(),
        );
        let state = Arc::new(ApiState {
            app: app.clone(),
            idempotency: optical_event_store::IdempotencyRecords::new(pool.clone()),
            clock: options.clock.clone(),
            reservation_wait: options.reservation_wait,
            prescription_limits: options.prescription_limits,
            document_links: options.document_links,
            webhook_secrets: options.webhook_secrets,
            read: optical_api::read::ReadSide {
                consistency_wait: options.consistency_wait,
                ..optical_api::read::ReadSide::new(pool.clone())
            },
        });
        let authenticator = Authenticator::new(AuthConfig::hs256(SECRET)).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = ApiConfig {
            max_body_bytes: options.max_body_bytes,
            workers: options.http_workers,
        };
        let server = optical_api::serve(listener, state, Arc::new(authenticator), &config).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        // Also with no deciders: it listens for answers made elsewhere.
        let workers = Some(ReservationWorkers::spawn(
            app.inventory.clone(),
            database_url.to_owned(),
            optical_api::reservation_responder(),
            options.workers,
        ));
        Self {
            base: format!("http://127.0.0.1:{port}/api/v1"),
            app,
            handle,
            workers,
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and the workers.
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        if let Some(workers) = self.workers.take() {
            workers.stop().await;
        }
    }
}

impl Drop for TestApi {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { handle.stop(false).await });
        }
    }
}

/// A token for `tenant` with `scopes`, valid for an hour.
pub fn token(tenant: TenantId, scopes: &[&str]) -> String {
    token_with(tenant, scopes, Duration::from_secs(3600))
}

pub fn token_with(tenant: TenantId, scopes: &[&str], ttl: Duration) -> String {
    mint_hs256(
        SECRET,
        &TokenRequest {
            subject: "test".into(),
            tenant_id: tenant,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ttl,
            issuer: None,
            audience: None,
        },
    )
    .unwrap()
}

/// Every scope any endpoint requires.
pub fn all_scopes() -> Vec<&'static str> {
    let mut scopes: Vec<&'static str> = optical_api::endpoints()
        .iter()
        .filter_map(|e| e.scope)
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    scopes
}
