//! The `products` index: settings, writes that wait for their task, search, tenant tokens.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use meilisearch_sdk::client::Client;
use meilisearch_sdk::errors::Error as SdkError;
use meilisearch_sdk::indexes::Index;
use meilisearch_sdk::search::{SearchQuery, Selectors};
use meilisearch_sdk::settings::{FacetSortValue, FacetingSettings, Settings};
use meilisearch_sdk::task_info::TaskInfo;
use meilisearch_sdk::tasks::Task;

use crate::wire::WireClient;
use crate::{filter_expression, Facet, ProductDocument, SearchError};

/// The primary key, named on every document write.
pub const PRIMARY_KEY: &str = "id";

/// Attributes the query text is matched against, in ranking order.
pub const SEARCHABLE_ATTRIBUTES: [&str; 10] = [
    "name",
    "brand",
    "sku",
    "description",
    "kind",
    "frame_shape",
    "frame_material",
    "colour",
    "lens_design",
    "lens_material",
];

/// `tenant_id` and every [`Facet`], in [`Facet::ALL`] order.
pub const FILTERABLE_ATTRIBUTES: [&str; 10] = [
    "tenant_id",
    "kind",
    "brand",
    "frame_shape",
    "frame_material",
    "colour",
    "lens_design",
    "lens_material",
    "lens_index",
    "available",
];

pub const SORTABLE_ATTRIBUTES: [&str; 2] = ["price_minor", "name"];

/// The largest page [`ProductIndex::search`] asks for.
pub const MAX_LIMIT: u32 = 100;

/// Facet values returned per facet.
const MAX_VALUES_PER_FACET: usize = 100;

/// Where Meilisearch is and how patiently to talk to it.
#[derive(Clone)]
pub struct MeilisearchConfig {
    /// Base URL, e.g. `http://localhost:7700` (a trailing `/` is ignored).
    pub url: String,
    /// The key sent as `Authorization: Bearer …`; it also signs tenant tokens.
    pub api_key: Option<String>,
    /// The uid (a UUIDv4) of `api_key`, needed for tenant tokens.
    pub tenant_token_key_uid: Option<String>,
    /// Default `"products"`.
    pub index_uid: String,
    /// Connect and whole-request timeout of one HTTP call (a timeout is transient).
    pub request_timeout: Duration,
    /// How long a write waits for its task to finish before giving up (transiently).
    pub task_timeout: Duration,
    /// Pause between two polls of a task.
    pub poll_interval: Duration,
    /// Retries of one HTTP call after a transient failure (0: try once).
    pub max_retries: u32,
    /// First back-off delay; it doubles on each retry (with jitter, at most a minute).
    pub retry_base: Duration,
}

impl MeilisearchConfig {
    /// Defaults: index `products`, no key, 10 s per request, 30 s per task polled every
    /// 50 ms, 5 retries from 100 ms.
    pub fn new(url: impl Into<String>) -> Self {
        MeilisearchConfig {
            url: url.into(),
            api_key: None,
            tenant_token_key_uid: None,
            index_uid: "products".to_owned(),
            request_timeout: Duration::from_secs(10),
            task_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(50),
            max_retries: 5,
            retry_base: Duration::from_millis(100),
        }
    }
}

impl fmt::Debug for MeilisearchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeilisearchConfig")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("tenant_token_key_uid", &self.tenant_token_key_uid)
            .field("index_uid", &self.index_uid)
            .field("request_timeout", &self.request_timeout)
            .field("task_timeout", &self.task_timeout)
            .field("poll_interval", &self.poll_interval)
            .field("max_retries", &self.max_retries)
            .field("retry_base", &self.retry_base)
            .finish()
    }
}

/// A search as the query API and the PostgreSQL fallback both understand it.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchRequest {
    pub tenant_id: uuid::Uuid,
    /// Free text (typo-tolerant); empty: every document of the tenant that passes the filters.
    pub q: String,
    /// AND across entries, OR within one entry's values. An entry without values is ignored.
    pub filters: Vec<(Facet, Vec<String>)>,
    /// Facets to count (duplicates are counted once).
    pub facets: Vec<Facet>,
    /// The caller clamps to `1..=100`; [`ProductIndex::search`] clamps again.
    pub limit: u32,
    pub offset: u32,
}

/// One page of hits of one tenant.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SearchPage {
    pub hits: Vec<ProductDocument>,
    pub estimated_total: u64,
    /// facet name → value → count, only for the requested facets (each requested facet is
    /// present, possibly empty).
    pub facet_distribution: BTreeMap<String, BTreeMap<String, u64>>,
}

/// The `products` index of one Meilisearch.
#[derive(Clone)]
pub struct ProductIndex {
    client: Client<WireClient>,
    config: MeilisearchConfig,
}

impl fmt::Debug for ProductIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProductIndex")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ProductIndex {
    /// Checks the configuration and builds the client (no request is sent).
    pub fn new(mut config: MeilisearchConfig) -> Result<Self, SearchError> {
        let url = config.url.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&url)
            .map_err(|e| SearchError::Config(format!("invalid Meilisearch URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(SearchError::Config(format!(
                "the Meilisearch URL must be http or https, not {:?}",
                parsed.scheme()
            )));
        }
        let uid = &config.index_uid;
        if uid.is_empty()
            || uid.len() > 400
            || !uid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SearchError::Config(format!(
                "invalid index uid {uid:?} (ASCII letters, digits, - and _ only)"
            )));
        }
        if config.poll_interval.is_zero() || config.request_timeout.is_zero() {
            return Err(SearchError::Config(
                "poll_interval and request_timeout must be positive".into(),
            ));
        }
        config.url = url;
        let http = WireClient::new(config.api_key.as_deref(), config.request_timeout)?;
        let client = Client::new_with_client(config.url.clone(), config.api_key.clone(), http);
        Ok(ProductIndex { client, config })
    }

    /// The index this adapter reads and writes.
    pub fn index_uid(&self) -> &str {
        &self.config.index_uid
    }

    /// Creates the index with primary key `id` if missing (an existing index must have
    /// primary key `id` or none yet) and applies the settings: searchable
    /// [`SEARCHABLE_ATTRIBUTES`], filterable and facetable [`FILTERABLE_ATTRIBUTES`], sortable
    /// [`SORTABLE_ATTRIBUTES`], facet values sorted by count. Waits for each task to succeed.
    pub async fn configure(&self) -> Result<(), SearchError> {
        let uid = self.config.index_uid.as_str();
        let created = self
            .call("create index", || {
                self.client.create_index(uid, Some(PRIMARY_KEY))
            })
            .await?;
        match self.wait_for(&created).await {
            Ok(()) => {}
            Err(SearchError::TaskFailed { code, .. }) if code == "index_already_exists" => {
                self.check_primary_key().await?;
            }
            Err(error) => return Err(error),
        }
        let settings = index_settings();
        let index = self.index();
        let task = self
            .call("update settings", || index.set_settings(&settings))
            .await?;
        self.wait_for(&task).await
    }

    /// Upserts documents (add or replace, primary key `id` named explicitly) and waits until
    /// the task succeeded. An empty slice sends nothing.
    pub async fn upsert(&self, documents: &[ProductDocument]) -> Result<(), SearchError> {
        if documents.is_empty() {
            return Ok(());
        }
        let index = self.index();
        let task = self
            .call("upsert documents", || {
                index.add_or_replace(documents, Some(PRIMARY_KEY))
            })
            .await?;
        self.wait_for(&task).await
    }

    /// Deletes documents by id and waits until the task succeeded (ids that are not there are
    /// no error). An empty slice sends nothing.
    pub async fn delete(&self, ids: &[String]) -> Result<(), SearchError> {
        if ids.is_empty() {
            return Ok(());
        }
        let index = self.index();
        let task = self
            .call("delete documents", || index.delete_documents(ids))
            .await?;
        self.wait_for(&task).await
    }

    /// Deletes the whole index and waits; an index that is not there is no error. For
    /// rebuilds and tests.
    pub async fn delete_index(&self) -> Result<(), SearchError> {
        let uid = self.config.index_uid.as_str();
        let task = self
            .call("delete index", || self.client.delete_index(uid))
            .await?;
        match self.wait_for(&task).await {
            Err(SearchError::TaskFailed { code, .. }) if code == "index_not_found" => Ok(()),
            other => other,
        }
    }

    /// Searches one tenant's documents: the filter is always `tenant_id = "<tenant>"` AND the
    /// caller's filters ([`filter_expression`]); facet counts for the requested facets. A hit
    /// of another tenant, should Meilisearch ever send one, is dropped.
    pub async fn search(&self, request: &SearchRequest) -> Result<SearchPage, SearchError> {
        let tenant = request.tenant_id.to_string();
        let filter = filter_expression(request.tenant_id, &request.filters);
        let mut facets: Vec<&'static str> = Vec::with_capacity(request.facets.len());
        for facet in &request.facets {
            if !facets.contains(&facet.as_str()) {
                facets.push(facet.as_str());
            }
        }
        let limit = request.limit.clamp(1, MAX_LIMIT) as usize;

        let index = self.index();
        let mut query = SearchQuery::new(&index);
        query
            .with_query(&request.q)
            .with_filter(&filter)
            .with_limit(limit)
            .with_offset(request.offset as usize);
        if !facets.is_empty() {
            query.with_facets(Selectors::Some(&facets));
        }
        let results = self
            .call("search", || index.execute_query::<ProductDocument>(&query))
            .await?;

        let mut hits = Vec::with_capacity(results.hits.len());
        for hit in results.hits {
            if hit.result.tenant_id == tenant {
                hits.push(hit.result);
            } else {
                tracing::error!(
                    index = %self.config.index_uid,
                    document = %hit.result.id,
                    "Meilisearch returned a document of another tenant; dropped"
                );
            }
        }
        let mut distribution = results.facet_distribution.unwrap_or_default();
        let facet_distribution = facets
            .iter()
            .map(|name| {
                let counts = distribution
                    .remove(*name)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(value, count)| (value, count as u64))
                    .collect();
                ((*name).to_owned(), counts)
            })
            .collect();
        let estimated_total = results.estimated_total_hits.unwrap_or(hits.len()) as u64;
        Ok(SearchPage {
            hits,
            estimated_total,
            facet_distribution,
        })
    }

    /// A Meilisearch tenant token restricted to this index with the filter
    /// `tenant_id = "<tenant>"`, expiring at `expires_at` (second precision), signed with
    /// `api_key` and naming `tenant_token_key_uid`. Nothing is sent to Meilisearch.
    pub fn tenant_token(
        &self,
        tenant_id: uuid::Uuid,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, SearchError> {
        if self.config.api_key.is_none() {
            return Err(SearchError::Token("no API key is configured".into()));
        }
        let key_uid =
            self.config.tenant_token_key_uid.clone().ok_or_else(|| {
                SearchError::Token("no tenant_token_key_uid is configured".into())
            })?;
        let expires = time::OffsetDateTime::from_unix_timestamp(expires_at.timestamp())
            .map_err(|e| SearchError::Token(format!("expiry out of range: {e}")))?;
        let mut rules = serde_json::Map::new();
        rules.insert(
            self.config.index_uid.clone(),
            serde_json::json!({ "filter": filter_expression(tenant_id, &[]) }),
        );
        Ok(self.client.generate_tenant_token(
            key_uid,
            serde_json::Value::Object(rules),
            None,
            Some(expires),
        )?)
    }

    fn index(&self) -> Index<WireClient> {
        self.client.index(self.config.index_uid.as_str())
    }

    /// After `index_already_exists`: the index must have primary key `id`, or none yet (the
    /// first upsert names it).
    async fn check_primary_key(&self) -> Result<(), SearchError> {
        let uid = self.config.index_uid.as_str();
        let index = self
            .call("get index", || self.client.get_raw_index(uid))
            .await?;
        match index.get("primaryKey") {
            None | Some(serde_json::Value::Null) => Ok(()),
            Some(serde_json::Value::String(key)) if key == PRIMARY_KEY => Ok(()),
            Some(other) => Err(SearchError::Config(format!(
                "index {uid} has primary key {other}, expected \"{PRIMARY_KEY}\""
            ))),
        }
    }

    /// Polls the task until Meilisearch reports it succeeded (`Ok`) or failed
    /// ([`SearchError::TaskFailed`]), for at most `task_timeout`.
    async fn wait_for(&self, task: &TaskInfo) -> Result<(), SearchError> {
        let task_uid = task.task_uid;
        let started = Instant::now();
        loop {
            match self.call("get task", || self.client.get_task(task)).await? {
                Task::Succeeded { .. } => return Ok(()),
                Task::Failed { content } => {
                    return Err(SearchError::TaskFailed {
                        task_uid,
                        code: content.error.error_code.to_string(),
                        message: content.error.error_message,
                    })
                }
                Task::Enqueued { .. } | Task::Processing { .. } => {}
            }
            let waited = started.elapsed();
            if waited >= self.config.task_timeout {
                return Err(SearchError::TaskTimeout { task_uid, waited });
            }
            tokio::time::sleep(
                self.config
                    .poll_interval
                    .min(self.config.task_timeout - waited),
            )
            .await;
        }
    }

    /// One HTTP call, retried after transient failures with exponential back-off.
    async fn call<T, Fut>(
        &self,
        what: &'static str,
        mut operation: impl FnMut() -> Fut,
    ) -> Result<T, SearchError>
    where
        Fut: Future<Output = Result<T, SdkError>>,
    {
        let attempt = || {
            let pending = operation();
            async move { pending.await.map_err(SearchError::from) }
        };
        attempt
            .retry(self.backoff())
            .when(SearchError::is_transient)
            .notify(|error, delay| {
                tracing::warn!(
                    index = %self.config.index_uid,
                    call = what,
                    retry_in = ?delay,
                    %error,
                    "Meilisearch call failed; retrying"
                );
            })
            .await
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.config.retry_base)
            .with_max_delay(self.config.retry_base.max(Duration::from_secs(60)))
            .with_factor(2.0)
            .with_max_times(self.config.max_retries as usize)
            .with_jitter()
    }
}

fn index_settings() -> Settings {
    Settings::new()
        .with_searchable_attributes(SEARCHABLE_ATTRIBUTES)
        .with_filterable_attributes(FILTERABLE_ATTRIBUTES)
        .with_sortable_attributes(SORTABLE_ATTRIBUTES)
        .with_faceting(FacetingSettings {
            max_values_per_facet: MAX_VALUES_PER_FACET,
            sort_facet_values_by: Some(BTreeMap::from([("*".to_owned(), FacetSortValue::Count)])),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filterable_attributes_are_the_tenant_and_every_facet() {
        let mut expected = vec!["tenant_id"];
        expected.extend(Facet::ALL.iter().map(|f| f.as_str()));
        assert_eq!(FILTERABLE_ATTRIBUTES.to_vec(), expected);
    }

    #[test]
    fn configuration_is_checked() {
        let bad = |edit: fn(&mut MeilisearchConfig)| {
            let mut config = MeilisearchConfig::new("http://localhost:7700");
            edit(&mut config);
            matches!(ProductIndex::new(config), Err(SearchError::Config(_)))
        };
        assert!(bad(|c| c.url = "not a url".into()));
        assert!(bad(|c| c.url = "ftp://localhost:7700".into()));
        assert!(bad(|c| c.index_uid = String::new()));
        assert!(bad(|c| c.index_uid = "products/../keys".into()));
        assert!(bad(|c| c.poll_interval = Duration::ZERO));
        assert!(bad(|c| c.api_key = Some("bad\nkey".into())));
        assert!(!bad(|c| c.url = "https://search.example:7700/".into()));
    }

    #[test]
    fn the_api_key_is_not_in_debug_output() {
        let mut config = MeilisearchConfig::new("http://localhost:7700");
        config.api_key = Some("s3cr3t-master-key".into());
        assert!(!format!("{config:?}").contains("s3cr3t"));
        let index = ProductIndex::new(config).ok();
        assert!(!format!("{index:?}").contains("s3cr3t"));
    }
}
