//! The search document.

/// One published variant as frontends search it. Primary key `id` (the variant id).
///
/// Optional attributes are stored as `null` when absent, so a document replaced by a newer
/// version never keeps a stale attribute.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProductDocument {
    /// Variant id (UUID string); the primary key.
    pub id: String,
    /// Tenant UUID string; every search is filtered on it.
    pub tenant_id: String,
    pub product_id: String,
    pub sku: String,
    pub name: String,
    pub brand: String,
    pub description: Option<String>,
    /// `frame` | `ophthalmic_lens` | `contact_lens` | `accessory` | `digital`
    pub kind: String,
    pub price_minor: i64,
    pub currency: String,
    pub compare_at_minor: Option<i64>,
    pub available: bool,
    pub available_quantity: i64,
    pub frame_shape: Option<String>,
    pub frame_material: Option<String>,
    pub colour: Option<String>,
    pub lens_design: Option<String>,
    pub lens_material: Option<String>,
    pub lens_index: Option<String>,
    /// Monotonically increasing per document, set by the projector (which drops stale
    /// events by it; Meilisearch itself has no conditional write).
    pub version: i64,
}
