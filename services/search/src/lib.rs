//! Product search: the Meilisearch adapter.
//!
//! This crate owns the Meilisearch wire — index settings, document upserts, task polling,
//! search and tenant tokens — and the search vocabulary ([`Facet`], [`SearchRequest`],
//! [`SearchPage`], [`filter_expression`]) that the PostgreSQL fallback answers too, so that a
//! caller cannot tell which of the two served it (ADR 0021).
//!
//! The rules it keeps:
//!
//! - a write is done only when Meilisearch reports its task `succeeded`; a task that Meilisearch
//!   reports `failed` is an error ([`SearchError::TaskFailed`]) and is never retried;
//! - every document write names the primary key (`id`): Meilisearch cannot infer it from a
//!   document that has both `id` and `tenant_id`;
//! - transient failures (connection refused, timeouts, HTTP 408/429/5xx) are retried with
//!   exponential back-off, a bounded number of times;
//! - every search is filtered by the caller's tenant (`tenant_id = "…" AND (…)`), and a hit of
//!   another tenant is never returned, even if Meilisearch were to send one;
//! - callers filter with [`Facet`]s and plain values, never with Meilisearch filter syntax:
//!   values are quoted and escaped here, so nothing can be injected.
//!
//! **Must never:** do SQL or Kafka, or return a hit of another tenant.

mod document;
mod error;
mod facet;
mod filter;
mod index;
mod wire;

pub use document::ProductDocument;
pub use error::SearchError;
pub use facet::Facet;
pub use filter::{filter_expression, quote};
pub use index::{
    MeilisearchConfig, ProductIndex, SearchPage, SearchRequest, FILTERABLE_ATTRIBUTES, MAX_LIMIT,
    PRIMARY_KEY, SEARCHABLE_ATTRIBUTES, SORTABLE_ATTRIBUTES,
};
