//! The access audit of patient data: one row per read, written before the data is returned.
use deadpool_postgres::Pool;
use optical_kernel::{PatientId, TenantId};

/// Who read which patient's data, through which endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientAccess {
    pub tenant_id: TenantId,
    pub patient_id: PatientId,
    /// The caller's subject (`sub` claim) or the process name.
    pub actor: String,
    /// Method and route template, e.g. `GET /api/v1/customers/patients/{id}`.
    pub endpoint: String,
    pub request_id: Option<String>,
}

/// A recorded access, as an auditor reads it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditedAccess {
    pub access: PatientAccess,
    pub accessed_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, thiserror::Error)]
#[error("access audit: {0}")]
pub struct AuditError(String);

impl From<tokio_postgres::Error> for AuditError {
    fn from(error: tokio_postgres::Error) -> Self {
        AuditError(error.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for AuditError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        AuditError(error.to_string())
    }
}

const INSERT: &str = "
    INSERT INTO customers_access_audit (tenant_id, patient_id, actor, endpoint, request_id)
    SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[])";

const SELECT: &str = "
    SELECT patient_id, actor, endpoint, request_id, accessed_at
      FROM customers_access_audit
     WHERE tenant_id = $1 AND patient_id = $2
     ORDER BY id";

#[derive(Clone)]
pub struct AccessAudit {
    pool: Pool,
}

impl AccessAudit {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// Records reads of several patients' data at once (an order list, say); all in one
    /// statement. Every access must belong to `tenant_id`.
    pub async fn record(&self, accesses: &[PatientAccess]) -> Result<(), AuditError> {
        let Some(first) = accesses.first() else {
            return Ok(());
        };
        if accesses.iter().any(|a| a.tenant_id != first.tenant_id) {
            return Err(AuditError("one audit batch spans several tenants".into()));
        }
        let patients: Vec<uuid::Uuid> = accesses.iter().map(|a| *a.patient_id.as_uuid()).collect();
        let actors: Vec<&str> = accesses.iter().map(|a| a.actor.as_str()).collect();
        let endpoints: Vec<&str> = accesses.iter().map(|a| a.endpoint.as_str()).collect();
        let requests: Vec<Option<&str>> =
            accesses.iter().map(|a| a.request_id.as_deref()).collect();
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(INSERT).await?;
        client
            .execute(
                &statement,
                &[
                    first.tenant_id.as_uuid(),
                    &patients,
                    &actors,
                    &endpoints,
                    &requests,
                ],
            )
            .await?;
        Ok(())
    }

    /// The audit trail of one patient, oldest first.
    pub async fn trail(
        &self,
        tenant_id: TenantId,
        patient_id: PatientId,
    ) -> Result<Vec<AuditedAccess>, AuditError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(SELECT).await?;
        let rows = client
            .query(&statement, &[tenant_id.as_uuid(), patient_id.as_uuid()])
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditedAccess {
                    access: PatientAccess {
                        tenant_id,
                        patient_id: PatientId::from_uuid(row.try_get("patient_id")?),
                        actor: row.try_get("actor")?,
                        endpoint: row.try_get("endpoint")?,
                        request_id: row.try_get("request_id")?,
                    },
                    accessed_at: row.try_get("accessed_at")?,
                })
            })
            .collect()
    }
}
