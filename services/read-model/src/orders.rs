//! The orders read model: one row per order for the back office's order list (status, dates,
//! totals, which patient), filtered and sorted without loading aggregates.
//!
//! No personal data is stored: an order's patient and prescription snapshots travel in
//! `Personal` envelopes, and the projection forgets their content before it even decodes the
//! event, keeping only the patient's id. So it applies the same whether the runtime handed the
//! payload opened, still sealed or erased.
use crate::page::{Cursor, Page};
use crate::projection::{ApplyError, ProjectedEvent, Projection};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use optical_kernel::personal::{CIPHERTEXT, ERASED, PLAINTEXT, SEALED_FOR};
use optical_orders::{OrderEvent, OrderStatus};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row, Transaction};
use uuid::Uuid;

pub use crate::catalog::QueryError;

pub struct OrdersProjection;

pub const NAME: &str = "orders";

const ORDER: &str = "orders.order";

#[async_trait]
impl Projection for OrdersProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn contexts(&self) -> &'static [&'static str] {
        &["orders"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["read_orders", "read_orders_versions"]
    }

    async fn apply(&self, tx: &Transaction<'_>, event: &ProjectedEvent) -> Result<(), ApplyError> {
        if event.aggregate_type != ORDER {
            return Ok(());
        }
        let mut payload = event.payload.clone();
        forget_personal_data(&mut payload);
        let decoded: OrderEvent = serde_json::from_value(payload).map_err(|e| {
            ApplyError::Malformed(format!("{} payload does not decode: {e}", event.event_type))
        })?;
        let at = event.occurred_at;
        let status = match decoded {
            OrderEvent::OrderPlaced {
                order_id,
                store_id,
                currency,
                payment_method,
                lines,
                subtotal,
                patient,
                status,
                placed_at,
                ..
            } => {
                let patient_id = patient.as_ref().map(|p| *p.subject().as_uuid());
                let line_count = i32::try_from(lines.len()).map_err(|_| {
                    ApplyError::Malformed(format!("order {order_id} has too many lines"))
                })?;
                tx.execute(
                    "INSERT INTO read_orders
                        (tenant_id, order_id, store_id, status, patient_id, placed_at,
                         total_minor, currency, line_count, payment_method, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (order_id) DO NOTHING",
                    &[
                        &event.tenant_id,
                        order_id.as_uuid(),
                        store_id.as_uuid(),
                        &status.as_str(),
                        &patient_id,
                        &placed_at,
                        &subtotal.amount_minor(),
                        &currency.as_str(),
                        &line_count,
                        &payment_method.as_str(),
                        &at,
                    ],
                )
                .await?;
                return Ok(());
            }
            OrderEvent::OrderPaid { .. } => Some(OrderStatus::Paid),
            OrderEvent::OrderSentToLab { .. } => Some(OrderStatus::InLab),
            OrderEvent::OrderReady { .. } => Some(OrderStatus::Ready),
            OrderEvent::OrderShipped { .. } => Some(OrderStatus::Shipped),
            OrderEvent::OrderCompleted { .. } => Some(OrderStatus::Completed),
            OrderEvent::OrderCancelled { .. } => Some(OrderStatus::Cancelled),
            // Changes the order (a line could not be committed) but not where it stands.
            OrderEvent::OrderStockShortfallRecorded { .. } => None,
        };
        let order_id = event.aggregate_id.parse::<Uuid>().map_err(|_| {
            ApplyError::Malformed(format!(
                "{}: aggregate id {} is not an order id",
                event.event_type, event.aggregate_id
            ))
        })?;
        tx.execute(
            "UPDATE read_orders SET status = coalesce($3, status), updated_at = $4
              WHERE order_id = $1 AND tenant_id = $2",
            &[
                &order_id,
                &event.tenant_id,
                &status.map(OrderStatus::as_str),
                &at,
            ],
        )
        .await?;
        Ok(())
    }
}

/// Replaces every personal-data envelope in `value` (revealed, sealed or erased) by its
/// erased form: the subject stays, the data goes.
fn forget_personal_data(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let is_envelope = object.contains_key(SEALED_FOR)
                && [PLAINTEXT, CIPHERTEXT, ERASED]
                    .iter()
                    .any(|k| object.contains_key(*k));
            if is_envelope {
                let subject = object.get(SEALED_FOR).cloned().unwrap_or(Value::Null);
                let mut erased = Map::new();
                erased.insert(SEALED_FOR.to_owned(), subject);
                erased.insert(ERASED.to_owned(), Value::Bool(true));
                *object = erased;
            } else {
                object.values_mut().for_each(forget_personal_data);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(forget_personal_data),
        _ => {}
    }
}

// ---- queries ----

/// An order as the back office lists it: no personal data, only the patient's id.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct OrderRow {
    pub order_id: Uuid,
    pub store_id: Uuid,
    /// `pending_payment`, `pending_shipment`, `paid`, `in_lab`, `ready`, `shipped`,
    /// `completed` or `cancelled`.
    pub status: String,
    /// The patient the order is for, if any.
    pub patient_id: Option<Uuid>,
    pub placed_at: DateTime<Utc>,
    /// What the customer owes, in minor units of `currency`.
    pub total_minor: i64,
    pub currency: String,
    pub line_count: i32,
    /// `bank_transfer` or `cod`.
    pub payment_method: String,
    /// When the order last changed.
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub patient_id: Option<Uuid>,
    /// Placed at or after.
    pub placed_from: Option<DateTime<Utc>>,
    /// Placed strictly before.
    pub placed_to: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderSort {
    /// Newest first (the default).
    #[default]
    PlacedDesc,
    /// Oldest first.
    PlacedAsc,
}

impl OrderSort {
    fn query(self) -> &'static str {
        match self {
            OrderSort::PlacedDesc => "orders.placed_desc",
            OrderSort::PlacedAsc => "orders.placed_asc",
        }
    }
}

const ROW_COLUMNS: &str = "order_id, store_id, status, patient_id, placed_at, total_minor,
    currency, line_count, payment_method, updated_at";

fn order_row(row: &Row) -> Result<OrderRow, tokio_postgres::Error> {
    Ok(OrderRow {
        order_id: row.try_get("order_id")?,
        store_id: row.try_get("store_id")?,
        status: row.try_get("status")?,
        patient_id: row.try_get("patient_id")?,
        placed_at: row.try_get("placed_at")?,
        total_minor: row.try_get("total_minor")?,
        currency: row.try_get("currency")?,
        line_count: row.try_get("line_count")?,
        payment_method: row.try_get("payment_method")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// One page of the tenant's orders matching `filter`, in `sort` order (ties by order id).
pub async fn list(
    client: &impl GenericClient,
    tenant_id: Uuid,
    filter: &OrderFilter,
    sort: OrderSort,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<OrderRow>, QueryError> {
    let query = sort.query();
    let after: Option<(DateTime<Utc>, Uuid)> = cursor
        .map(|text| Cursor::decode(query, text).map(|c| c.after))
        .transpose()?;
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(tenant_id)];
    let mut conditions = vec!["tenant_id = $1".to_owned()];
    let mut bind = |value: Box<dyn ToSql + Sync + Send>, condition: &str| {
        params.push(value);
        conditions.push(condition.replace('?', &format!("${}", params.len())));
    };
    if let Some(status) = filter.status {
        bind(Box::new(status.as_str()), "status = ?");
    }
    if let Some(patient) = filter.patient_id {
        bind(Box::new(patient), "patient_id = ?");
    }
    if let Some(from) = filter.placed_from {
        bind(Box::new(from), "placed_at >= ?");
    }
    if let Some(to) = filter.placed_to {
        bind(Box::new(to), "placed_at < ?");
    }
    let (order, cmp) = match sort {
        OrderSort::PlacedDesc => ("DESC", "<"),
        OrderSort::PlacedAsc => ("ASC", ">"),
    };
    if let Some((placed_at, order_id)) = after {
        params.push(Box::new(placed_at));
        params.push(Box::new(order_id));
        conditions.push(format!(
            "(placed_at, order_id) {cmp} (${}, ${})",
            params.len() - 1,
            params.len()
        ));
    }
    params.push(Box::new(i64::from(limit) + 1));
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM read_orders
          WHERE {}
          ORDER BY placed_at {order}, order_id {order}
          LIMIT ${}",
        conditions.join(" AND "),
        params.len()
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(&sql, &refs).await?;
    let items = rows.iter().map(order_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(query, items, limit, |r| {
        (r.placed_at, r.order_id)
    }))
}

/// One order of the tenant; `None` for an unknown order and for another tenant's.
pub async fn get(
    client: &impl GenericClient,
    tenant_id: Uuid,
    order_id: Uuid,
) -> Result<Option<OrderRow>, tokio_postgres::Error> {
    let sql =
        format!("SELECT {ROW_COLUMNS} FROM read_orders WHERE tenant_id = $1 AND order_id = $2");
    let row = client.query_opt(&sql, &[&tenant_id, &order_id]).await?;
    row.as_ref().map(order_row).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn personal_data_is_forgotten_in_every_form_and_the_subject_kept() {
        let subject = "0192d6a0-0000-7000-8000-000000000001";
        let mut payload = json!({"OrderPlaced": {
            "patient": {"sealed_for": subject, "plaintext": {"full_name": "Ana"}},
            "prescription": {"prescription_id": "x",
                             "snapshot": {"sealed_for": subject, "ciphertext": "AAAA"}},
            "lines": [{"note": {"sealed_for": subject, "erased": true}}],
            "store_id": "s"
        }});
        forget_personal_data(&mut payload);
        let erased = json!({"sealed_for": subject, "erased": true});
        assert_eq!(payload["OrderPlaced"]["patient"], erased);
        assert_eq!(payload["OrderPlaced"]["prescription"]["snapshot"], erased);
        assert_eq!(
            payload["OrderPlaced"]["prescription"]["prescription_id"],
            "x"
        );
        assert_eq!(payload["OrderPlaced"]["lines"][0]["note"], erased);
        assert_eq!(payload["OrderPlaced"]["store_id"], "s");
        assert!(!payload.to_string().contains("Ana"));
    }

    #[test]
    fn every_sample_order_event_decodes_once_its_personal_data_is_forgotten() {
        for event in optical_orders::samples::order_events() {
            let mut payload = serde_json::to_value(&event).unwrap();
            forget_personal_data(&mut payload);
            let decoded: OrderEvent = serde_json::from_value(payload).unwrap();
            assert_eq!(decoded.order_id(), event.order_id());
        }
    }
}
