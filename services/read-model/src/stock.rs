//! The stock read model: units on hand, reserved and available per variant and location, for
//! the back office's availability view and the catalog's `available` facet.
//!
//! Every inventory event carries the stock level's totals after it, so applying one is an
//! upsert of the totals it names; no state is kept besides the row itself.
use crate::page::{Cursor, Page};
use crate::projection::{ApplyError, ProjectedEvent, Projection};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use optical_inventory::StockLevelEvent;
use schemars::JsonSchema;
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row, Transaction};
use uuid::Uuid;

pub use crate::catalog::QueryError;

pub struct StockProjection;

pub const NAME: &str = "stock";

/// The aggregate type of stock levels (`<location>/<variant>` streams).
const STOCK_LEVEL: &str = "inventory.stock_level";

#[async_trait]
impl Projection for StockProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn contexts(&self) -> &'static [&'static str] {
        &["inventory"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["read_stock_levels", "read_stock_versions"]
    }

    async fn apply(&self, tx: &Transaction<'_>, event: &ProjectedEvent) -> Result<(), ApplyError> {
        if event.aggregate_type != STOCK_LEVEL {
            return Ok(());
        }
        let event_type = event.event_type.as_str();
        let (location_id, variant_id, on_hand, reserved) =
            match event.decode::<StockLevelEvent>()? {
                StockLevelEvent::StockReceived {
                    location_id,
                    variant_id,
                    on_hand,
                    ..
                }
                | StockLevelEvent::StockAdjusted {
                    location_id,
                    variant_id,
                    on_hand,
                    ..
                }
                | StockLevelEvent::ReservationRestocked {
                    location_id,
                    variant_id,
                    on_hand,
                    ..
                } => (location_id, variant_id, Some(on_hand), None),
                StockLevelEvent::StockReserved {
                    location_id,
                    variant_id,
                    reserved,
                    ..
                }
                | StockLevelEvent::ReservationReleased {
                    location_id,
                    variant_id,
                    reserved,
                    ..
                }
                | StockLevelEvent::ReservationExpired {
                    location_id,
                    variant_id,
                    reserved,
                    ..
                } => (location_id, variant_id, None, Some(reserved)),
                StockLevelEvent::ReservationCommitted {
                    location_id,
                    variant_id,
                    on_hand,
                    reserved,
                    ..
                } => (location_id, variant_id, Some(on_hand), Some(reserved)),
            };
        let units = |n: Option<u64>| {
            n.map(i64::try_from).transpose().map_err(|_| {
                ApplyError::Malformed(format!("{event_type}: a total does not fit in a BIGINT"))
            })
        };
        let (on_hand, reserved) = (units(on_hand)?, units(reserved)?);
        // A stock level starts with its first receipt; an event naming only one total keeps
        // the other. Available never drops below zero, like the aggregate's own figure. The
        // row of another tenant (ids are tenant-scoped, so never in practice) is not touched.
        let changed = tx
            .execute(
                "INSERT INTO read_stock_levels
                    (tenant_id, location_id, variant_id, on_hand, reserved, available, updated_at)
                 VALUES ($1, $2, $3, coalesce($4::bigint, 0), coalesce($5::bigint, 0),
                         greatest(coalesce($4::bigint, 0) - coalesce($5::bigint, 0), 0), $6)
                 ON CONFLICT (location_id, variant_id) DO UPDATE
                    SET on_hand = coalesce($4::bigint, read_stock_levels.on_hand),
                        reserved = coalesce($5::bigint, read_stock_levels.reserved),
                        available = greatest(coalesce($4::bigint, read_stock_levels.on_hand)
                                             - coalesce($5::bigint, read_stock_levels.reserved), 0),
                        updated_at = $6
                  WHERE read_stock_levels.tenant_id = EXCLUDED.tenant_id",
                &[
                    &event.tenant_id,
                    location_id.as_uuid(),
                    variant_id.as_uuid(),
                    &on_hand,
                    &reserved,
                    &event.occurred_at,
                ],
            )
            .await?;
        if changed == 0 {
            return Err(ApplyError::Malformed(format!(
                "{event_type}: stock level {} belongs to another tenant",
                event.aggregate_id
            )));
        }
        Ok(())
    }
}

// ---- queries ----

/// Units of one variant at one location.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct StockRow {
    pub variant_id: Uuid,
    pub location_id: Uuid,
    /// Units physically there.
    pub on_hand: i64,
    /// Units held by active reservations.
    pub reserved: i64,
    /// `on_hand - reserved`: what can still be reserved.
    pub available: i64,
    /// When the last stock movement of this variant at this location happened.
    pub updated_at: DateTime<Utc>,
}

/// Units of one variant over all locations of the tenant.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct VariantTotals {
    pub variant_id: Uuid,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    /// Locations that have held the variant.
    pub locations: i64,
}

const AVAILABILITY: &str = "stock.availability";

fn stock_row(row: &Row) -> Result<StockRow, tokio_postgres::Error> {
    Ok(StockRow {
        variant_id: row.try_get("variant_id")?,
        location_id: row.try_get("location_id")?,
        on_hand: row.try_get("on_hand")?,
        reserved: row.try_get("reserved")?,
        available: row.try_get("available")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// One page of the tenant's stock levels, by variant then location, optionally of one
/// variant and/or one location.
pub async fn availability(
    client: &impl GenericClient,
    tenant_id: Uuid,
    variant_id: Option<Uuid>,
    location_id: Option<Uuid>,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<StockRow>, QueryError> {
    let after: Option<(Uuid, Uuid)> = cursor
        .map(|text| Cursor::decode(AVAILABILITY, text).map(|c| c.after))
        .transpose()?;
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(tenant_id)];
    let mut conditions = vec!["tenant_id = $1".to_owned()];
    if let Some(variant) = variant_id {
        params.push(Box::new(variant));
        conditions.push(format!("variant_id = ${}", params.len()));
    }
    if let Some(location) = location_id {
        params.push(Box::new(location));
        conditions.push(format!("location_id = ${}", params.len()));
    }
    if let Some((variant, location)) = after {
        params.push(Box::new(variant));
        params.push(Box::new(location));
        conditions.push(format!(
            "(variant_id, location_id) > (${}, ${})",
            params.len() - 1,
            params.len()
        ));
    }
    params.push(Box::new(i64::from(limit) + 1));
    let sql = format!(
        "SELECT variant_id, location_id, on_hand, reserved, available, updated_at
           FROM read_stock_levels
          WHERE {}
          ORDER BY variant_id, location_id
          LIMIT ${}",
        conditions.join(" AND "),
        params.len()
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(&sql, &refs).await?;
    let items = rows.iter().map(stock_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(AVAILABILITY, items, limit, |r| {
        (r.variant_id, r.location_id)
    }))
}

/// A variant's units summed over the tenant's locations; `None` when no location ever held it.
pub async fn variant_totals(
    client: &impl GenericClient,
    tenant_id: Uuid,
    variant_id: Uuid,
) -> Result<Option<VariantTotals>, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT sum(on_hand)::bigint AS on_hand, sum(reserved)::bigint AS reserved,
                    sum(available)::bigint AS available, count(*) AS locations
               FROM read_stock_levels
              WHERE tenant_id = $1 AND variant_id = $2",
            &[&tenant_id, &variant_id],
        )
        .await?;
    let locations: i64 = row.try_get("locations")?;
    if locations == 0 {
        return Ok(None);
    }
    Ok(Some(VariantTotals {
        variant_id,
        on_hand: row
            .try_get::<_, Option<i64>>("on_hand")?
            .unwrap_or_default(),
        reserved: row
            .try_get::<_, Option<i64>>("reserved")?
            .unwrap_or_default(),
        available: row
            .try_get::<_, Option<i64>>("available")?
            .unwrap_or_default(),
        locations,
    }))
}
