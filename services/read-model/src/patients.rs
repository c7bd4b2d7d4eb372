//! The patients read model: one row per patient for the back office's patient list, with
//! their name, date of birth and contacts (personal data, wiped when the patient is erased),
//! how many prescriptions they hold and when the latest one expires.
//!
//! Prescriptions are a stream of their own, so their events may be applied before or after
//! the patient's registration: they are kept in `read_patients_prescriptions`, and the
//! patient's counts are recomputed from it whenever either side changes.
//!
//! Every row returned by these queries is patient data: the API records each one in the
//! access audit before answering.
use crate::page::{Cursor, Page};
use crate::projection::{ApplyError, ProjectedEvent, Projection};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use optical_customers::{PatientDetails, PatientEvent, Personal, PrescriptionEvent};
use schemars::JsonSchema;
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row, Transaction};
use uuid::Uuid;

pub use crate::catalog::QueryError;

pub struct PatientsProjection;

pub const NAME: &str = "patients";

const PATIENT: &str = "customers.patient";
const PRESCRIPTION: &str = "customers.prescription";

#[async_trait]
impl Projection for PatientsProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn contexts(&self) -> &'static [&'static str] {
        &["customers"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "read_patients",
            "read_patients_prescriptions",
            "read_patients_versions",
        ]
    }

    async fn apply(&self, tx: &Transaction<'_>, event: &ProjectedEvent) -> Result<(), ApplyError> {
        match event.aggregate_type.as_str() {
            PATIENT => apply_patient(tx, event).await,
            PRESCRIPTION => apply_prescription(tx, event).await,
            _ => Ok(()),
        }
    }
}

/// The personal columns of a row, as the details give them.
struct PersonalColumns {
    given_name: String,
    family_name: String,
    display_name: String,
    date_of_birth: NaiveDate,
    email: Option<String>,
    phone: Option<String>,
}

fn personal_columns(details: &PatientDetails) -> PersonalColumns {
    let given_name = details.given_name.as_str().to_owned();
    let family_name = details.family_name.as_str().to_owned();
    PersonalColumns {
        display_name: format!("{given_name} {family_name}"),
        given_name,
        family_name,
        date_of_birth: details.date_of_birth,
        email: details
            .contacts
            .email
            .as_ref()
            .map(|e| e.as_str().to_owned()),
        phone: details
            .contacts
            .phone
            .as_ref()
            .map(|p| p.as_str().to_owned()),
    }
}

async fn apply_patient(tx: &Transaction<'_>, event: &ProjectedEvent) -> Result<(), ApplyError> {
    let at = event.occurred_at;
    match event.decode::<PatientEvent>()? {
        PatientEvent::PatientRegistered {
            patient_id,
            tenant_id,
            details,
        } => {
            let patient_id = *patient_id.as_uuid();
            // Replayed after an erasure, the details come erased: the row is born erased.
            let (columns, erased) = match &details {
                Personal::Revealed { data, .. } => (Some(personal_columns(data)), false),
                Personal::Erased { .. } => (None, true),
            };
            let c = columns.as_ref();
            tx.execute(
                "INSERT INTO read_patients
                    (tenant_id, patient_id, given_name, family_name, display_name,
                     date_of_birth, email, phone, erased, registered_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
                 ON CONFLICT (patient_id) DO NOTHING",
                &[
                    tenant_id.as_uuid(),
                    &patient_id,
                    &c.map(|c| c.given_name.as_str()),
                    &c.map(|c| c.family_name.as_str()),
                    &c.map(|c| c.display_name.as_str()),
                    &c.map(|c| c.date_of_birth),
                    &c.and_then(|c| c.email.as_deref()),
                    &c.and_then(|c| c.phone.as_deref()),
                    &erased,
                    &at,
                ],
            )
            .await?;
            refresh_prescriptions(tx, patient_id).await?;
        }
        PatientEvent::PatientDetailsUpdated {
            patient_id,
            details,
        } => match &details {
            Personal::Revealed { data, .. } => {
                let c = personal_columns(data);
                tx.execute(
                    "UPDATE read_patients
                        SET given_name = $2, family_name = $3, display_name = $4,
                            date_of_birth = $5, email = $6, phone = $7, updated_at = $8
                      WHERE patient_id = $1 AND NOT erased",
                    &[
                        patient_id.as_uuid(),
                        &c.given_name,
                        &c.family_name,
                        &c.display_name,
                        &c.date_of_birth,
                        &c.email,
                        &c.phone,
                        &at,
                    ],
                )
                .await?;
            }
            Personal::Erased { .. } => erase(tx, *patient_id.as_uuid(), at).await?,
        },
        PatientEvent::ConsentRecorded { patient_id, .. } => {
            tx.execute(
                "UPDATE read_patients SET updated_at = $2 WHERE patient_id = $1",
                &[patient_id.as_uuid(), &at],
            )
            .await?;
        }
        PatientEvent::PatientErased { patient_id, .. } => {
            erase(tx, *patient_id.as_uuid(), at).await?;
        }
    }
    Ok(())
}

/// Wipes the personal columns: the row keeps only ids, counts and times.
async fn erase(
    tx: &Transaction<'_>,
    patient_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), ApplyError> {
    tx.execute(
        "UPDATE read_patients
            SET erased = true, given_name = NULL, family_name = NULL, display_name = NULL,
                date_of_birth = NULL, email = NULL, phone = NULL, updated_at = $2
          WHERE patient_id = $1",
        &[&patient_id, &at],
    )
    .await?;
    Ok(())
}

async fn apply_prescription(
    tx: &Transaction<'_>,
    event: &ProjectedEvent,
) -> Result<(), ApplyError> {
    let at = event.occurred_at;
    match event.decode::<PrescriptionEvent>()? {
        PrescriptionEvent::PrescriptionRecorded {
            prescription_id,
            tenant_id,
            patient_id,
            issued_on,
            expires_on,
            ..
        } => {
            tx.execute(
                "INSERT INTO read_patients_prescriptions
                    (tenant_id, prescription_id, patient_id, issued_on, expires_on, voided,
                     recorded_at)
                 VALUES ($1, $2, $3, $4, $5, false, $6)
                 ON CONFLICT (prescription_id) DO NOTHING",
                &[
                    tenant_id.as_uuid(),
                    prescription_id.as_uuid(),
                    patient_id.as_uuid(),
                    &issued_on,
                    &expires_on,
                    &at,
                ],
            )
            .await?;
            refresh_prescriptions(tx, *patient_id.as_uuid()).await?;
        }
        PrescriptionEvent::ScanAttached { .. } => {}
        PrescriptionEvent::PrescriptionVoided {
            prescription_id, ..
        } => {
            let row = tx
                .query_opt(
                    "UPDATE read_patients_prescriptions SET voided = true
                      WHERE prescription_id = $1 RETURNING patient_id",
                    &[prescription_id.as_uuid()],
                )
                .await?;
            if let Some(row) = row {
                let patient_id: Uuid = row.try_get(0)?;
                refresh_prescriptions(tx, patient_id).await?;
            }
        }
    }
    Ok(())
}

/// Recomputes the patient's prescription facts from the prescriptions applied so far.
async fn refresh_prescriptions(tx: &Transaction<'_>, patient_id: Uuid) -> Result<(), ApplyError> {
    tx.execute(
        "UPDATE read_patients p
            SET prescriptions_count = s.active, latest_prescription_expires_on = s.latest
           FROM (SELECT count(*)::int AS active, max(expires_on) AS latest
                   FROM read_patients_prescriptions
                  WHERE patient_id = $1 AND NOT voided) s
          WHERE p.patient_id = $1",
        &[&patient_id],
    )
    .await?;
    Ok(())
}

// ---- queries ----

/// A patient as the patient list shows them. Once erased, only ids, counts and times remain:
/// the personal fields are absent.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct PatientRow {
    pub patient_id: Uuid,
    pub erased: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Given and family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Prescriptions recorded and not voided (expired ones included).
    pub prescriptions_count: i32,
    /// The latest expiry among those prescriptions; null without any.
    pub latest_prescription_expires_on: Option<NaiveDate>,
    pub registered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatientFilter {
    /// Case-insensitive prefix of the family or the given name.
    pub name_prefix: Option<String>,
    pub erased: Option<bool>,
}

const COLUMNS: &str = "patient_id, erased, given_name, family_name, display_name, date_of_birth,
    email, phone, prescriptions_count, latest_prescription_expires_on, registered_at, updated_at";

const LIST_QUERY: &str = "patients.by_family_name";

fn patient(row: &Row) -> Result<PatientRow, tokio_postgres::Error> {
    Ok(PatientRow {
        patient_id: row.try_get("patient_id")?,
        erased: row.try_get("erased")?,
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        display_name: row.try_get("display_name")?,
        date_of_birth: row.try_get("date_of_birth")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        prescriptions_count: row.try_get("prescriptions_count")?,
        latest_prescription_expires_on: row.try_get("latest_prescription_expires_on")?,
        registered_at: row.try_get("registered_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// `text` as a LIKE pattern matching itself literally.
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// One page of the tenant's patients, by family name (case-insensitive; erased patients,
/// having none, first), then patient id.
pub async fn list(
    client: &impl GenericClient,
    tenant_id: Uuid,
    filter: &PatientFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<PatientRow>, QueryError> {
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(tenant_id)];
    let mut conditions = vec!["tenant_id = $1".to_owned()];
    let bind = |value: Box<dyn ToSql + Sync + Send>, params: &mut Vec<_>| {
        params.push(value);
        format!("${}", params.len())
    };
    if let Some(erased) = filter.erased {
        let p = bind(Box::new(erased), &mut params);
        conditions.push(format!("erased = {p}"));
    }
    if let Some(prefix) = filter
        .name_prefix
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let pattern = format!("{}%", like_escaped(prefix));
        let p = bind(Box::new(pattern), &mut params);
        conditions.push(format!(
            "(family_key LIKE lower({p}) ESCAPE '\\' OR lower(given_name) LIKE lower({p}) ESCAPE '\\')"
        ));
    }
    if let Some(text) = cursor {
        let after: Cursor<(String, Uuid)> = Cursor::decode(LIST_QUERY, text)?;
        let (key, id) = after.after;
        let pk = bind(Box::new(key), &mut params);
        let pi = bind(Box::new(id), &mut params);
        conditions.push(format!("(family_key, patient_id) > ({pk}, {pi})"));
    }
    let lp = bind(Box::new(i64::from(limit) + 1), &mut params);
    let sql = format!(
        "SELECT {COLUMNS}, family_key FROM read_patients
          WHERE {} ORDER BY family_key, patient_id LIMIT {lp}",
        conditions.join(" AND ")
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(&sql, &refs).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let key: String = row.try_get("family_key")?;
        items.push((patient(row)?, key));
    }
    Ok(Page::from_rows(LIST_QUERY, items, limit, |(p, key)| {
        (key.clone(), p.patient_id)
    })
    .map(|(p, _)| p))
}

/// One patient of the tenant.
pub async fn get(
    client: &impl GenericClient,
    tenant_id: Uuid,
    patient_id: Uuid,
) -> Result<Option<PatientRow>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {COLUMNS} FROM read_patients WHERE tenant_id = $1 AND patient_id = $2"
            ),
            &[&tenant_id, &patient_id],
        )
        .await?;
    row.as_ref().map(patient).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_their_text_literally() {
        assert_eq!(like_escaped("o'neil"), "o'neil");
        assert_eq!(like_escaped("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
