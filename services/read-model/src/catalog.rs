//! The catalog read model: products and their variants, for the storefront (published
//! variants of published products) and the back office (everything), and the PostgreSQL
//! answer to product search when no Meilisearch is configured.
use crate::page::{Cursor, Page, PageError};
use crate::projection::{ApplyError, ProjectedEvent, Projection};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use optical_catalog::{ProductEvent, VariantAttributes, VariantEvent};
use optical_search::{Facet, ProductDocument, SearchPage, SearchRequest};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row, Transaction};
use uuid::Uuid;

pub struct CatalogProjection;

pub const NAME: &str = "catalog";

#[async_trait]
impl Projection for CatalogProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn contexts(&self) -> &'static [&'static str] {
        &["catalog"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "read_catalog_products",
            "read_catalog_variants",
            "read_catalog_versions",
        ]
    }

    async fn apply(&self, tx: &Transaction<'_>, event: &ProjectedEvent) -> Result<(), ApplyError> {
        match event.aggregate_type.as_str() {
            "catalog.product" => apply_product(tx, event).await,
            "catalog.variant" => apply_variant(tx, event).await,
            _ => Ok(()),
        }
    }
}

async fn apply_product(tx: &Transaction<'_>, event: &ProjectedEvent) -> Result<(), ApplyError> {
    let at = event.occurred_at;
    match event.decode::<ProductEvent>()? {
        ProductEvent::ProductCreated {
            product_id,
            tenant_id,
            kind,
            name,
            brand,
            description,
            fulfillment,
        } => {
            let description = description.as_ref().map(|d| d.as_str().to_owned());
            tx.execute(
                "INSERT INTO read_catalog_products
                    (tenant_id, product_id, kind, name, brand, description, fulfillment, status,
                     created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $8)
                 ON CONFLICT (product_id) DO NOTHING",
                &[
                    tenant_id.as_uuid(),
                    product_id.as_uuid(),
                    &kind.as_str(),
                    &name.as_str(),
                    &brand.as_str(),
                    &description,
                    &fulfillment.as_str(),
                    &at,
                ],
            )
            .await?;
            copy_product_to_variants(tx, *product_id.as_uuid()).await?;
        }
        ProductEvent::ProductDetailsUpdated {
            product_id,
            name,
            brand,
            description,
        } => {
            let description = description.as_ref().map(|d| d.as_str().to_owned());
            tx.execute(
                "UPDATE read_catalog_products SET name = $2, brand = $3, description = $4,
                        updated_at = $5 WHERE product_id = $1",
                &[
                    product_id.as_uuid(),
                    &name.as_str(),
                    &brand.as_str(),
                    &description,
                    &at,
                ],
            )
            .await?;
            copy_product_to_variants(tx, *product_id.as_uuid()).await?;
        }
        ProductEvent::ProductPublished { product_id } => {
            product_status(tx, *product_id.as_uuid(), "published", at).await?;
        }
        ProductEvent::ProductUnpublished { product_id } => {
            product_status(tx, *product_id.as_uuid(), "draft", at).await?;
        }
        ProductEvent::ProductArchived { product_id } => {
            product_status(tx, *product_id.as_uuid(), "archived", at).await?;
        }
    }
    Ok(())
}

async fn product_status(
    tx: &Transaction<'_>,
    product_id: Uuid,
    status: &str,
    at: DateTime<Utc>,
) -> Result<(), ApplyError> {
    tx.execute(
        "UPDATE read_catalog_products SET status = $2, updated_at = $3 WHERE product_id = $1",
        &[&product_id, &status, &at],
    )
    .await?;
    copy_product_to_variants(tx, product_id).await
}

/// Variants carry their product's facts; events of the two streams arrive in any order
/// relative to each other, so both sides copy whenever they change.
async fn copy_product_to_variants(
    tx: &Transaction<'_>,
    product_id: Uuid,
) -> Result<(), ApplyError> {
    tx.execute(
        "UPDATE read_catalog_variants v
            SET product_name = p.name, brand = p.brand, description = p.description,
                product_status = p.status
           FROM read_catalog_products p
          WHERE p.product_id = $1 AND v.product_id = p.product_id",
        &[&product_id],
    )
    .await?;
    Ok(())
}

/// The facet columns of a variant's attributes.
struct Facets {
    frame_shape: Option<String>,
    frame_material: Option<String>,
    colour: Option<String>,
    lens_design: Option<String>,
    lens_material: Option<String>,
    lens_index: Option<String>,
}

fn facets(attributes: &Value) -> Facets {
    let text = |section: &str, field: &str| {
        attributes
            .get(section)
            .and_then(|s| s.get(field))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Facets {
        frame_shape: text("frame", "shape"),
        frame_material: text("frame", "frame_material"),
        colour: text("frame", "colour"),
        lens_design: text("ophthalmic_lens", "design"),
        lens_material: text("ophthalmic_lens", "material"),
        lens_index: text("ophthalmic_lens", "index"),
    }
}

fn attributes_json(attributes: &VariantAttributes) -> Result<Value, ApplyError> {
    serde_json::to_value(attributes).map_err(|e| ApplyError::Malformed(e.to_string()))
}

async fn apply_variant(tx: &Transaction<'_>, event: &ProjectedEvent) -> Result<(), ApplyError> {
    let at = event.occurred_at;
    match event.decode::<VariantEvent>()? {
        VariantEvent::VariantAdded {
            variant_id,
            tenant_id,
            product_id,
            sku,
            attributes,
            price,
            compare_at_price,
        } => {
            let attributes = attributes_json(&attributes)?;
            let f = facets(&attributes);
            let kind = attributes
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            tx.execute(
                "INSERT INTO read_catalog_variants
                    (tenant_id, variant_id, product_id, sku, kind, attributes, price_minor,
                     currency, compare_at_minor, status, frame_shape, frame_material, colour,
                     lens_design, lens_material, lens_index, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10, $11, $12, $13, $14,
                         $15, $16, $16)
                 ON CONFLICT (variant_id) DO NOTHING",
                &[
                    tenant_id.as_uuid(),
                    variant_id.as_uuid(),
                    product_id.as_uuid(),
                    &sku.as_str(),
                    &kind,
                    &attributes,
                    &price.amount_minor(),
                    &price.currency().as_str(),
                    &compare_at_price.map(|m| m.amount_minor()),
                    &f.frame_shape,
                    &f.frame_material,
                    &f.colour,
                    &f.lens_design,
                    &f.lens_material,
                    &f.lens_index,
                    &at,
                ],
            )
            .await?;
            copy_product_to_variants(tx, *product_id.as_uuid()).await?;
        }
        VariantEvent::VariantPriceChanged {
            variant_id,
            price,
            compare_at_price,
        } => {
            tx.execute(
                "UPDATE read_catalog_variants SET price_minor = $2, currency = $3,
                        compare_at_minor = $4, updated_at = $5 WHERE variant_id = $1",
                &[
                    variant_id.as_uuid(),
                    &price.amount_minor(),
                    &price.currency().as_str(),
                    &compare_at_price.map(|m| m.amount_minor()),
                    &at,
                ],
            )
            .await?;
        }
        VariantEvent::VariantAttributesUpdated {
            variant_id,
            attributes,
        } => {
            let attributes = attributes_json(&attributes)?;
            let f = facets(&attributes);
            tx.execute(
                "UPDATE read_catalog_variants SET attributes = $2, frame_shape = $3,
                        frame_material = $4, colour = $5, lens_design = $6, lens_material = $7,
                        lens_index = $8, updated_at = $9 WHERE variant_id = $1",
                &[
                    variant_id.as_uuid(),
                    &attributes,
                    &f.frame_shape,
                    &f.frame_material,
                    &f.colour,
                    &f.lens_design,
                    &f.lens_material,
                    &f.lens_index,
                    &at,
                ],
            )
            .await?;
        }
        VariantEvent::VariantPublished { variant_id } => {
            variant_status(tx, *variant_id.as_uuid(), "published", at).await?;
        }
        VariantEvent::VariantUnpublished { variant_id } => {
            variant_status(tx, *variant_id.as_uuid(), "draft", at).await?;
        }
        VariantEvent::VariantArchived { variant_id } => {
            variant_status(tx, *variant_id.as_uuid(), "archived", at).await?;
        }
    }
    Ok(())
}

async fn variant_status(
    tx: &Transaction<'_>,
    variant_id: Uuid,
    status: &str,
    at: DateTime<Utc>,
) -> Result<(), ApplyError> {
    tx.execute(
        "UPDATE read_catalog_variants SET status = $2, updated_at = $3 WHERE variant_id = $1",
        &[&variant_id, &status, &at],
    )
    .await?;
    Ok(())
}

// ---- queries ----

/// A variant as the catalog views list it.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct CatalogItem {
    pub variant_id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    pub kind: String,
    pub name: Option<String>,
    pub brand: Option<String>,
    pub description: Option<String>,
    pub price_minor: i64,
    pub currency: String,
    pub compare_at_minor: Option<i64>,
    pub attributes: Value,
    /// `draft`, `published` or `archived` (back office only; the storefront lists published).
    pub status: String,
    pub product_status: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Who is looking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogView {
    /// Published variants of published products only.
    Storefront,
    /// Every variant, any status.
    BackOffice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CatalogSort {
    /// By product name, then variant id (the default).
    Name,
    PriceAsc,
    PriceDesc,
    /// Most recently changed first.
    UpdatedDesc,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CatalogFilter {
    pub kind: Option<String>,
    pub brand: Option<String>,
    /// Back office only: one status.
    pub status: Option<String>,
    pub product_id: Option<Uuid>,
}

const ITEM_COLUMNS: &str = "variant_id, product_id, sku, kind, product_name, brand, description,
    price_minor, currency, compare_at_minor, attributes, status, product_status, updated_at";

fn item(row: &Row) -> Result<CatalogItem, tokio_postgres::Error> {
    Ok(CatalogItem {
        variant_id: row.try_get("variant_id")?,
        product_id: row.try_get("product_id")?,
        sku: row.try_get("sku")?,
        kind: row.try_get("kind")?,
        name: row.try_get("product_name")?,
        brand: row.try_get("brand")?,
        description: row.try_get("description")?,
        price_minor: row.try_get("price_minor")?,
        currency: row.try_get("currency")?,
        compare_at_minor: row.try_get("compare_at_minor")?,
        attributes: row.try_get("attributes")?,
        status: row.try_get("status")?,
        product_status: row.try_get("product_status")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Page(#[from] PageError),
    #[error("read model: {0}")]
    Db(#[from] tokio_postgres::Error),
}

/// One page of a tenant's catalog as `view` sees it.
pub async fn list(
    client: &impl GenericClient,
    tenant_id: Uuid,
    view: CatalogView,
    filter: &CatalogFilter,
    sort: CatalogSort,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<CatalogItem>, QueryError> {
    let query = match (view, sort) {
        (CatalogView::Storefront, _) => format!("catalog.storefront.{sort:?}"),
        (CatalogView::BackOffice, _) => format!("catalog.back_office.{sort:?}"),
    };
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(tenant_id)];
    let mut conditions = vec!["tenant_id = $1".to_owned()];
    let bind = |value: Box<dyn ToSql + Sync + Send>, params: &mut Vec<_>| {
        params.push(value);
        format!("${}", params.len())
    };
    if view == CatalogView::Storefront {
        conditions.push("status = 'published' AND product_status = 'published'".into());
    } else if let Some(status) = &filter.status {
        let p = bind(Box::new(status.clone()), &mut params);
        conditions.push(format!("status = {p}"));
    }
    if let Some(kind) = &filter.kind {
        let p = bind(Box::new(kind.clone()), &mut params);
        conditions.push(format!("kind = {p}"));
    }
    if let Some(brand) = &filter.brand {
        let p = bind(Box::new(brand.clone()), &mut params);
        conditions.push(format!("brand = {p}"));
    }
    if let Some(product) = filter.product_id {
        let p = bind(Box::new(product), &mut params);
        conditions.push(format!("product_id = {p}"));
    }
    // Keyset: (sort value, variant id) strictly after the cursor's, in the sort's direction.
    let (key_sql, order) = match sort {
        CatalogSort::Name => ("coalesce(product_name, '')", "ASC"),
        CatalogSort::PriceAsc => ("price_minor::text", "ASC"),
        CatalogSort::PriceDesc => ("price_minor::text", "DESC"),
        CatalogSort::UpdatedDesc => ("updated_at::text", "DESC"),
    };
    let numeric = matches!(sort, CatalogSort::PriceAsc | CatalogSort::PriceDesc);
    let sort_expr = if numeric {
        "price_minor"
    } else if sort == CatalogSort::UpdatedDesc {
        "updated_at"
    } else {
        "coalesce(product_name, '')"
    };
    if let Some(text) = cursor {
        let after: Cursor<(String, Uuid)> = Cursor::decode(&query, text)?;
        let (value, id) = after.after;
        let cmp = if order == "ASC" { ">" } else { "<" };
        let cast = if numeric {
            "::bigint"
        } else if sort == CatalogSort::UpdatedDesc {
            "::timestamptz"
        } else {
            ""
        };
        let pv = bind(Box::new(value), &mut params);
        let pi = bind(Box::new(id), &mut params);
        conditions.push(format!(
            "({sort_expr}, variant_id) {cmp} ({pv}::text{cast}, {pi})"
        ));
    }
    let lp = bind(Box::new(i64::from(limit) + 1), &mut params);
    let sql = format!(
        "SELECT {ITEM_COLUMNS}, {key_sql} AS sort_key FROM read_catalog_variants
          WHERE {} ORDER BY {sort_expr} {order}, variant_id {order} LIMIT {lp}",
        conditions.join(" AND ")
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(&sql, &refs).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let sort_key: String = row.try_get("sort_key")?;
        items.push((item(row)?, sort_key));
    }
    Ok(
        Page::from_rows(&query, items, limit, |(i, key)| (key.clone(), i.variant_id))
            .map(|(i, _)| i),
    )
}

/// One variant of the tenant, as `view` may see it.
pub async fn get(
    client: &impl GenericClient,
    tenant_id: Uuid,
    view: CatalogView,
    variant_id: Uuid,
) -> Result<Option<CatalogItem>, tokio_postgres::Error> {
    let visible = match view {
        CatalogView::Storefront => "AND status = 'published' AND product_status = 'published'",
        CatalogView::BackOffice => "",
    };
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM read_catalog_variants
          WHERE tenant_id = $1 AND variant_id = $2 {visible}"
    );
    let row = client.query_opt(&sql, &[&tenant_id, &variant_id]).await?;
    row.as_ref().map(item).transpose()
}

// ---- search fallback ----

/// The column of a facet in `read_catalog_variants` (availability comes from stock).
fn facet_column(facet: Facet) -> &'static str {
    match facet {
        Facet::Kind => "kind",
        Facet::Brand => "brand",
        Facet::FrameShape => "frame_shape",
        Facet::FrameMaterial => "frame_material",
        Facet::Colour => "colour",
        Facet::LensDesign => "lens_design",
        Facet::LensMaterial => "lens_material",
        Facet::LensIndex => "lens_index",
        Facet::Available => "available::text",
    }
}

/// Minimum word similarity (pg_trgm) for a misspelt query to match.
const TYPO_SIMILARITY: f32 = 0.35;

/// Product search over the catalog read model: full-text match, or a trigram word similarity
/// above [`TYPO_SIMILARITY`] for misspellings; published variants of the request's tenant only.
pub async fn search(
    client: &impl GenericClient,
    request: &SearchRequest,
) -> Result<SearchPage, tokio_postgres::Error> {
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![
        Box::new(request.tenant_id),
        Box::new(request.q.trim().to_lowercase()),
        Box::new(TYPO_SIMILARITY),
    ];
    let mut conditions = vec![
        "v.tenant_id = $1".to_owned(),
        "v.status = 'published' AND v.product_status = 'published'".to_owned(),
        "($2 = '' OR v.search_vector @@ websearch_to_tsquery('simple', $2)
              OR word_similarity($2, lower(v.search_text)) >= $3)"
            .to_owned(),
    ];
    for (facet, values) in &request.filters {
        params.push(Box::new(values.clone()));
        conditions.push(format!("{} = ANY(${})", facet_column(*facet), params.len()));
    }
    let base = format!(
        "WITH matched AS (
            SELECT v.*, coalesce(s.available, 0) AS available_quantity,
                   coalesce(s.available, 0) > 0 AS available,
                   ts_rank(v.search_vector, websearch_to_tsquery('simple', $2)) AS rank,
                   word_similarity($2, lower(v.search_text)) AS similarity
              FROM read_catalog_variants v
              LEFT JOIN (SELECT variant_id, sum(available) AS available FROM read_stock_levels
                          WHERE tenant_id = $1 GROUP BY variant_id) s
                     ON s.variant_id = v.variant_id
             WHERE {})",
        conditions.join(" AND ")
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let hits_sql = format!(
        "{base} SELECT *, (SELECT count(*) FROM matched) AS total FROM matched
          ORDER BY rank DESC, similarity DESC, product_name, variant_id
          LIMIT {} OFFSET {}",
        request.limit, request.offset
    );
    let rows = client.query(&hits_sql, &refs).await?;
    let mut estimated_total = 0u64;
    let mut hits = Vec::with_capacity(rows.len());
    for row in &rows {
        let total: i64 = row.try_get("total")?;
        estimated_total = u64::try_from(total).unwrap_or_default();
        hits.push(document(row)?);
    }
    if rows.is_empty() {
        let row = client
            .query_one(&format!("{base} SELECT count(*) FROM matched"), &refs)
            .await?;
        estimated_total = u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or_default();
    }
    let mut facet_distribution = BTreeMap::new();
    for facet in &request.facets {
        let column = facet_column(*facet);
        let rows = client
            .query(
                &format!(
                    "{base} SELECT {column} AS value, count(*) AS n FROM matched
                      WHERE {column} IS NOT NULL GROUP BY 1"
                ),
                &refs,
            )
            .await?;
        let mut counts = BTreeMap::new();
        for row in &rows {
            let value: String = row.try_get("value")?;
            let n: i64 = row.try_get("n")?;
            counts.insert(value, u64::try_from(n).unwrap_or_default());
        }
        facet_distribution.insert(facet.as_str().to_owned(), counts);
    }
    Ok(SearchPage {
        hits,
        estimated_total,
        facet_distribution,
    })
}

fn document(row: &Row) -> Result<ProductDocument, tokio_postgres::Error> {
    let variant_id: Uuid = row.try_get("variant_id")?;
    let tenant_id: Uuid = row.try_get("tenant_id")?;
    let product_id: Uuid = row.try_get("product_id")?;
    Ok(ProductDocument {
        id: variant_id.to_string(),
        tenant_id: tenant_id.to_string(),
        product_id: product_id.to_string(),
        sku: row.try_get("sku")?,
        name: row
            .try_get::<_, Option<String>>("product_name")?
            .unwrap_or_default(),
        brand: row
            .try_get::<_, Option<String>>("brand")?
            .unwrap_or_default(),
        description: row.try_get("description")?,
        kind: row.try_get("kind")?,
        price_minor: row.try_get("price_minor")?,
        currency: row.try_get("currency")?,
        compare_at_minor: row.try_get("compare_at_minor")?,
        available: row.try_get("available")?,
        available_quantity: row.try_get("available_quantity")?,
        frame_shape: row.try_get("frame_shape")?,
        frame_material: row.try_get("frame_material")?,
        colour: row.try_get("colour")?,
        lens_design: row.try_get("lens_design")?,
        lens_material: row.try_get("lens_material")?,
        lens_index: row.try_get("lens_index")?,
        version: 0,
    })
}
