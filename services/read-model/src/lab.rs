//! The lab read model: one row per work order with where it stands (stage, station, hold)
//! and since when, for the queue of each station; and every stage change in order, for the
//! time a job spent in each stage.
//!
//! The job's patient initials are personal data. They come erased when the log is replayed
//! after an erasure; for the live projector, which may have applied the creation before the
//! patient was erased, the projection also reads `customers.patient.erased` and wipes them,
//! and remembers the erasure (`read_lab_erased_patients`) so that the order in which the two
//! topics are read does not matter.
use crate::page::{Cursor, Page};
use crate::projection::{ApplyError, ProjectedEvent, Projection};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use optical_customers::PatientEvent;
use optical_lab::{LabStage, Personal, WorkOrderEvent};
use schemars::JsonSchema;
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row, Transaction};
use uuid::Uuid;

pub use crate::catalog::QueryError;

pub struct LabProjection;

pub const NAME: &str = "lab";

const WORK_ORDER: &str = "lab.work_order";
const PATIENT: &str = "customers.patient";

/// Stages a job no longer waits in: left out of the queue unless asked for by name.
const FINISHED: [LabStage; 2] = [LabStage::Shipped, LabStage::Cancelled];

#[async_trait]
impl Projection for LabProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    /// `customers` only for patients' erasure.
    fn contexts(&self) -> &'static [&'static str] {
        &["lab", "customers"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "read_lab_work_orders",
            "read_lab_stage_history",
            "read_lab_erased_patients",
            "read_lab_versions",
        ]
    }

    async fn apply(&self, tx: &Transaction<'_>, event: &ProjectedEvent) -> Result<(), ApplyError> {
        match event.aggregate_type.as_str() {
            WORK_ORDER => apply_work_order(tx, event).await,
            PATIENT if event.event_type == "customers.patient.erased" => {
                apply_erasure(tx, event).await
            }
            _ => Ok(()),
        }
    }
}

async fn apply_work_order(tx: &Transaction<'_>, event: &ProjectedEvent) -> Result<(), ApplyError> {
    let at = event.occurred_at;
    match event.decode::<WorkOrderEvent>()? {
        WorkOrderEvent::WorkOrderCreated {
            tenant_id,
            work_order_id,
            number,
            order_id,
            job,
            due_on,
            remake_of,
            created_at,
            ..
        } => {
            let patient_id = *job.subject().as_uuid();
            let initials = match &job {
                Personal::Revealed { data, .. } => Some(data.patient_initials.to_string()),
                Personal::Erased { .. } => None,
            };
            tx.execute(
                "INSERT INTO read_lab_work_orders
                    (tenant_id, work_order_id, number, order_id, patient_id, patient_initials,
                     patient_erased, stage, station_id, held, due_on, stage_since, remake_of,
                     created_at, updated_at)
                 SELECT $1, $2, $3, $4, $5, CASE WHEN erased THEN NULL ELSE $6 END,
                        erased, 'received', NULL, false, $7, $8, $9, $8, $10
                   FROM (SELECT $6::text IS NULL OR EXISTS (
                            SELECT 1 FROM read_lab_erased_patients WHERE patient_id = $5)
                            AS erased) e
                 ON CONFLICT (work_order_id) DO NOTHING",
                &[
                    tenant_id.as_uuid(),
                    work_order_id.as_uuid(),
                    &number.to_string(),
                    &order_id.map(|o| *o.as_uuid()),
                    &patient_id,
                    &initials,
                    &due_on,
                    &created_at,
                    &remake_of.map(|r| *r.work_order_id.as_uuid()),
                    &at,
                ],
            )
            .await?;
        }
        WorkOrderEvent::StageChanged {
            work_order_id,
            from,
            to,
            station_id,
            actor,
            reason,
            changed_at,
            ..
        } => {
            let id = *work_order_id.as_uuid();
            let station = station_id.map(|s| *s.as_uuid());
            let held = to == LabStage::OnHold;
            let held_from = if held {
                from.map(LabStage::as_str)
            } else {
                None
            };
            tx.execute(
                "UPDATE read_lab_work_orders
                    SET stage = $2, station_id = $3, held = $4, held_from = $5,
                        stage_since = $6, updated_at = $7
                  WHERE work_order_id = $1",
                &[
                    &id,
                    &to.as_str(),
                    &station,
                    &held,
                    &held_from,
                    &changed_at,
                    &at,
                ],
            )
            .await?;
            tx.execute(
                "INSERT INTO read_lab_stage_history
                    (tenant_id, work_order_id, seq, from_stage, to_stage, station_id, actor,
                     reason, at)
                 SELECT w.tenant_id, w.work_order_id,
                        coalesce((SELECT max(seq) FROM read_lab_stage_history
                                   WHERE work_order_id = $1), 0) + 1,
                        $2, $3, $4, $5, $6, $7
                   FROM read_lab_work_orders w WHERE w.work_order_id = $1",
                &[
                    &id,
                    &from.map(LabStage::as_str),
                    &to.as_str(),
                    &station,
                    &actor.as_str(),
                    &reason.as_ref().map(|r| r.as_str()),
                    &changed_at,
                ],
            )
            .await?;
        }
        WorkOrderEvent::FrameMeasured { work_order_id, .. }
        | WorkOrderEvent::WorkOrderInspected { work_order_id, .. } => {
            tx.execute(
                "UPDATE read_lab_work_orders SET updated_at = $2 WHERE work_order_id = $1",
                &[work_order_id.as_uuid(), &at],
            )
            .await?;
        }
        WorkOrderEvent::RemakeRequested {
            work_order_id,
            remake_id,
            ..
        } => {
            tx.execute(
                "UPDATE read_lab_work_orders SET remade_as = $2, updated_at = $3
                  WHERE work_order_id = $1",
                &[work_order_id.as_uuid(), remake_id.as_uuid(), &at],
            )
            .await?;
        }
    }
    Ok(())
}

async fn apply_erasure(tx: &Transaction<'_>, event: &ProjectedEvent) -> Result<(), ApplyError> {
    let PatientEvent::PatientErased { patient_id, .. } = event.decode::<PatientEvent>()? else {
        return Ok(());
    };
    tx.execute(
        "INSERT INTO read_lab_erased_patients (tenant_id, patient_id, erased_at)
         VALUES ($1, $2, $3) ON CONFLICT (patient_id) DO NOTHING",
        &[&event.tenant_id, patient_id.as_uuid(), &event.occurred_at],
    )
    .await?;
    tx.execute(
        "UPDATE read_lab_work_orders SET patient_initials = NULL, patient_erased = true
          WHERE patient_id = $1",
        &[patient_id.as_uuid()],
    )
    .await?;
    Ok(())
}

// ---- queries ----

/// A work order as the lab's queue shows it.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct WorkOrderRow {
    pub work_order_id: Uuid,
    /// `WO-000042`.
    pub number: String,
    /// The order the lenses were sold on; null for a walk-in job.
    pub order_id: Option<Uuid>,
    pub patient_id: Uuid,
    /// The patient's initials (personal data); absent once the patient was erased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_initials: Option<String>,
    pub patient_erased: bool,
    /// `received`, `surfacing`, … `shipped`, `on_hold` or `cancelled`.
    pub stage: String,
    /// The station the current stage was entered at; null if none.
    pub station_id: Option<Uuid>,
    pub held: bool,
    /// While held: the stage the job was held at.
    pub held_from: Option<String>,
    pub due_on: Option<NaiveDate>,
    /// When the job entered its current stage.
    pub stage_since: DateTime<Utc>,
    /// Seconds since `stage_since`, as of the query.
    pub time_in_stage_seconds: i64,
    /// The work order this one remakes.
    pub remake_of: Option<Uuid>,
    /// The work order that remakes this one.
    pub remade_as: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One stage a work order entered.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct StageRow {
    /// 1 for the first stage (`received`), in the order the changes happened.
    pub seq: i32,
    /// Null for the first entry.
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub station_id: Option<Uuid>,
    /// Who moved it: the user's subject or `system:<process>`.
    pub actor: String,
    /// Why it was held or cancelled.
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    /// Seconds spent in `to_stage`: until the next change, or until now for the current stage.
    pub time_in_stage_seconds: i64,
}

const COLUMNS: &str = "work_order_id, number, order_id, patient_id, patient_initials,
    patient_erased, stage, station_id, held, held_from, due_on, stage_since, remake_of,
    remade_as, created_at, updated_at,
    greatest(0, floor(extract(epoch FROM now() - stage_since)))::bigint AS time_in_stage_seconds";

const QUEUE_QUERY: &str = "lab.queue";

fn work_order(row: &Row) -> Result<WorkOrderRow, tokio_postgres::Error> {
    Ok(WorkOrderRow {
        work_order_id: row.try_get("work_order_id")?,
        number: row.try_get("number")?,
        order_id: row.try_get("order_id")?,
        patient_id: row.try_get("patient_id")?,
        patient_initials: row.try_get("patient_initials")?,
        patient_erased: row.try_get("patient_erased")?,
        stage: row.try_get("stage")?,
        station_id: row.try_get("station_id")?,
        held: row.try_get("held")?,
        held_from: row.try_get("held_from")?,
        due_on: row.try_get("due_on")?,
        stage_since: row.try_get("stage_since")?,
        time_in_stage_seconds: row.try_get("time_in_stage_seconds")?,
        remake_of: row.try_get("remake_of")?,
        remade_as: row.try_get("remade_as")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The tenant's work orders waiting at `station_id` and in `stage`, the one waiting longest
/// first (by `stage_since`, then id). Without a stage, shipped and cancelled jobs are left out.
pub async fn queue(
    client: &impl GenericClient,
    tenant_id: Uuid,
    station_id: Option<Uuid>,
    stage: Option<LabStage>,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<WorkOrderRow>, QueryError> {
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(tenant_id)];
    let mut conditions = vec!["tenant_id = $1".to_owned()];
    let bind = |value: Box<dyn ToSql + Sync + Send>, params: &mut Vec<_>| {
        params.push(value);
        format!("${}", params.len())
    };
    match stage {
        Some(stage) => {
            let p = bind(Box::new(stage.as_str()), &mut params);
            conditions.push(format!("stage = {p}"));
        }
        None => {
            let finished: Vec<&str> = FINISHED.iter().map(|s| s.as_str()).collect();
            let p = bind(Box::new(finished), &mut params);
            conditions.push(format!("stage <> ALL({p})"));
        }
    }
    if let Some(station) = station_id {
        let p = bind(Box::new(station), &mut params);
        conditions.push(format!("station_id = {p}"));
    }
    if let Some(text) = cursor {
        let after: Cursor<(DateTime<Utc>, Uuid)> = Cursor::decode(QUEUE_QUERY, text)?;
        let (since, id) = after.after;
        let ps = bind(Box::new(since), &mut params);
        let pi = bind(Box::new(id), &mut params);
        conditions.push(format!("(stage_since, work_order_id) > ({ps}, {pi})"));
    }
    let lp = bind(Box::new(i64::from(limit) + 1), &mut params);
    let sql = format!(
        "SELECT {COLUMNS} FROM read_lab_work_orders
          WHERE {} ORDER BY stage_since, work_order_id LIMIT {lp}",
        conditions.join(" AND ")
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(&sql, &refs).await?;
    let items = rows.iter().map(work_order).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(QUEUE_QUERY, items, limit, |w| {
        (w.stage_since, w.work_order_id)
    }))
}

/// One work order of the tenant.
pub async fn get(
    client: &impl GenericClient,
    tenant_id: Uuid,
    work_order_id: Uuid,
) -> Result<Option<WorkOrderRow>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {COLUMNS} FROM read_lab_work_orders
                  WHERE tenant_id = $1 AND work_order_id = $2"
            ),
            &[&tenant_id, &work_order_id],
        )
        .await?;
    row.as_ref().map(work_order).transpose()
}

/// A work order of the tenant and every stage it entered, oldest first, with the time it
/// spent in each.
pub async fn history(
    client: &impl GenericClient,
    tenant_id: Uuid,
    work_order_id: Uuid,
) -> Result<Option<(WorkOrderRow, Vec<StageRow>)>, tokio_postgres::Error> {
    let Some(row) = get(client, tenant_id, work_order_id).await? else {
        return Ok(None);
    };
    let rows = client
        .query(
            "SELECT seq, from_stage, to_stage, station_id, actor, reason, at,
                    greatest(0, floor(extract(epoch FROM
                        coalesce(lead(at) OVER (ORDER BY seq), now()) - at)))::bigint
                        AS time_in_stage_seconds
               FROM read_lab_stage_history
              WHERE tenant_id = $1 AND work_order_id = $2
              ORDER BY seq",
            &[&tenant_id, &work_order_id],
        )
        .await?;
    let stages = rows
        .iter()
        .map(|r| {
            Ok(StageRow {
                seq: r.try_get("seq")?,
                from_stage: r.try_get("from_stage")?,
                to_stage: r.try_get("to_stage")?,
                station_id: r.try_get("station_id")?,
                actor: r.try_get("actor")?,
                reason: r.try_get("reason")?,
                at: r.try_get("at")?,
                time_in_stage_seconds: r.try_get("time_in_stage_seconds")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok(Some((row, stages)))
}
