//! A minimal Confluent Schema Registry client: register a subject version, fetch by id.
use reqwest::Client;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use thiserror::Error;

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

#[derive(Debug, Error)]
pub enum RegistryError {
    #[error("registry request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("registry answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("registry returned an invalid schema: {0}")]
    InvalidSchema(String),
}

#[derive(Clone)]
pub struct RegistryClient {
    base_url: String,
    http: Client,
    ids_by_subject: Arc<Mutex<HashMap<(String, String), u32>>>,
    schemas_by_id: Arc<Mutex<HashMap<u32, String>>>,
}

#[derive(Deserialize)]
struct IdResponse {
    id: u32,
}

#[derive(Deserialize)]
struct SchemaResponse {
    schema: String,
}

impl RegistryClient {
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            // A registry that hangs must not hang the relay: fail the batch and retry it.
            http: Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            ids_by_subject: Arc::default(),
            schemas_by_id: Arc::default(),
        }
    }

    /// Registers `schema` under `subject` (idempotent at the registry) and returns its id.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let key = (subject.to_owned(), schema.to_owned());
        if let Some(id) = lock(&self.ids_by_subject).get(&key) {
            return Ok(*id);
        }
        let response = self
            .http
            .post(format!("{}/subjects/{}/versions", self.base_url, subject))
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .json(&serde_json::json!({ "schema": schema }))
            .send()
            .await?;
        let id = checked(response).await?.json::<IdResponse>().await?.id;
        lock(&self.ids_by_subject).insert(key, id);
        lock(&self.schemas_by_id).insert(id, schema.to_owned());
        Ok(id)
    }

    pub async fn schema_by_id(&self, id: u32) -> Result<String, RegistryError> {
        if let Some(schema) = lock(&self.schemas_by_id).get(&id) {
            return Ok(schema.clone());
        }
        let response = self
            .http
            .get(format!("{}/schemas/ids/{id}", self.base_url))
            .send()
            .await?;
        let schema = checked(response)
            .await?
            .json::<SchemaResponse>()
            .await?
            .schema;
        lock(&self.schemas_by_id).insert(id, schema.clone());
        Ok(schema)
    }
}

async fn checked(response: reqwest::Response) -> Result<reqwest::Response, RegistryError> {
    if response.status().is_success() {
        Ok(response)
    } else {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        Err(RegistryError::Status { status, body })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Caches hold whole entries only; a poisoned lock still guards consistent data.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
