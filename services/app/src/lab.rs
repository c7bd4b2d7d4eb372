//! Lab use cases: stations, work orders created from orders (by the saga) or at the lab
//! counter, their stages, frame measurements, inspections and remakes, and the DCS export.
//!
//! Whether a station exists and serves a stage is checked here, where stations can be loaded;
//! the work order itself only knows the station's id. When a move names no station, the
//! tenant's first station (by creation) that serves the new stage is recorded, so that the
//! lab-print consumer knows where the ticket goes; with none, the move has no station.
use crate::catalog::{CatalogApp, CACHE_CAPACITY};
use crate::command::{execute, load_fresh, AppError, Idempotency, Receipt};
use crate::customers::CustomersApp;
use crate::orders::{OrderRejection, OrdersApp};
use optical_catalog::VariantAttributes;
use optical_event_store::{
    stream_ids, CachedEventStore, PgEventRepository, Pool, PrintJob as SpooledTicket, PrintSpool,
    WorkOrderNumbers,
};
use optical_kernel::{
    Clock, EventMetadata, OrderId, PatientId, Personal, PrescriptionId, TenantId, VariantId,
};
use optical_lab::{
    Actor, CreateWorkOrder, FrameLabel, FrameSpec, LabJob, LabStage, LensLabel, LensSpec, Notes,
    PatientInitials, PrintJob, PrintJobCommand, PrintJobError, PrintJobId, Reason,
    RecordPrintFailure, RemakeOrigin, RemakeReason, Station, StationCommand, StationError,
    StationId, StationSettings, WorkOrder, WorkOrderCommand, WorkOrderError, WorkOrderId,
    WorkOrderNumber,
};
use optical_optics::{BoxingMeasurements, MeasuredEye};
use optical_orders::{LineKind, Order, OrderLine};
use std::sync::Arc;

/// Why a lab use case was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LabRejection {
    #[error(transparent)]
    WorkOrder(#[from] WorkOrderError),
    #[error(transparent)]
    Station(#[from] StationError),
    #[error(transparent)]
    PrintJob(#[from] PrintJobError),
    #[error("station {0} not found")]
    StationNotFound(StationId),
    #[error("station {station} does not serve `{stage}`")]
    StationDoesNotServe { station: StationId, stage: LabStage },
    #[error("patient not found")]
    PatientNotFound,
    #[error("prescription not found")]
    PrescriptionNotFound,
    #[error("the prescription was voided")]
    PrescriptionVoided,
    #[error("the prescription belongs to another patient")]
    PrescriptionOfAnotherPatient,
    #[error("the prescription expired on {0}")]
    PrescriptionExpired(chrono::NaiveDate),
    #[error("the patient {0} was erased")]
    PatientErased(PatientId),
    #[error("order not found")]
    OrderNotFound,
    #[error("the order has no lenses to make")]
    OrderWithoutLenses,
    #[error("{0}")]
    Unusable(String),
}

impl LabRejection {
    pub fn code(&self) -> &'static str {
        match self {
            LabRejection::WorkOrder(e) => e.code(),
            LabRejection::Station(e) => e.code(),
            LabRejection::PrintJob(e) => e.code(),
            LabRejection::StationNotFound(_) => "station_not_found",
            LabRejection::StationDoesNotServe { .. } => "station_does_not_serve_stage",
            LabRejection::PatientNotFound => "patient_not_found",
            LabRejection::PrescriptionNotFound => "prescription_not_found",
            LabRejection::PrescriptionVoided => "prescription_voided",
            LabRejection::PrescriptionOfAnotherPatient => "prescription_subject_mismatch",
            LabRejection::PrescriptionExpired(_) => "prescription_expired",
            LabRejection::PatientErased(_) => "patient_erased",
            LabRejection::OrderNotFound => "order_not_found",
            LabRejection::OrderWithoutLenses => "order_without_lenses",
            LabRejection::Unusable(_) => "job_data_unusable",
        }
    }
}

type Rejection = AppError<LabRejection>;

fn rejected(rejection: LabRejection) -> Rejection {
    AppError::Rejected(rejection)
}

/// A walk-in job at the lab counter: the patient and prescription are Customers', the frame
/// and lenses are given.
#[derive(Clone, Debug, PartialEq)]
pub struct NewWorkOrder {
    pub work_order_id: WorkOrderId,
    pub patient_id: PatientId,
    pub prescription_id: PrescriptionId,
    pub frame: Option<FrameSpec>,
    pub lens: LensSpec,
    pub due_on: Option<chrono::NaiveDate>,
    pub notes: Option<Notes>,
}

/// A step of a work order after creation.
#[derive(Clone, Debug, PartialEq)]
pub enum LabStep {
    MoveTo {
        to: LabStage,
        station_id: Option<StationId>,
    },
    Hold(Reason),
    Resume {
        to: Option<LabStage>,
        station_id: Option<StationId>,
    },
    Cancel(Reason),
    MeasureFrame(FrameSpec),
    Inspect {
        right: Option<MeasuredEye>,
        left: Option<MeasuredEye>,
    },
}

/// The work order that makes an order's `index`-th lens line: its id is the line's
/// reservation id, so that creating it again (the saga redelivered) finds the same one.
pub fn work_order_id_of(line: &OrderLine) -> WorkOrderId {
    WorkOrderId::from_uuid(*line.reservation_id.as_uuid())
}

pub struct LabApp {
    work_orders: CachedEventStore<PgEventRepository, WorkOrder>,
    stations: CachedEventStore<PgEventRepository, Station>,
    print_jobs: CachedEventStore<PgEventRepository, PrintJob>,
    spool: PrintSpool,
    repository: PgEventRepository,
    pool: Pool,
    numbers: WorkOrderNumbers,
    orders: Arc<OrdersApp>,
    catalog: Arc<CatalogApp>,
    customers: Arc<CustomersApp>,
    clock: Arc<dyn Clock>,
}

fn actor_of(meta: &EventMetadata) -> Actor {
    meta.actor
        .as_deref()
        .and_then(|a| Actor::new(a).ok())
        .unwrap_or_else(|| Actor::system("unknown"))
}

fn unusable(what: &str, error: impl std::fmt::Display) -> Rejection {
    rejected(LabRejection::Unusable(format!("{what}: {error}")))
}

/// Catalog frames are measured in millimetres with any precision; labs work in tenths.
fn tenths(mm: f64) -> f64 {
    (mm * 10.0).round() / 10.0
}

impl LabApp {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pool: Pool,
        repository: PgEventRepository,
        orders: Arc<OrdersApp>,
        catalog: Arc<CatalogApp>,
        customers: Arc<CustomersApp>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            work_orders: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            stations: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            print_jobs: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            spool: PrintSpool::new(pool.clone()),
            repository,
            numbers: WorkOrderNumbers::new(pool.clone()),
            pool,
            orders,
            catalog,
            customers,
            clock,
        }
    }

    // --- stations ---------------------------------------------------------------------

    pub async fn create_station(
        &self,
        station_id: StationId,
        settings: StationSettings,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let command = StationCommand::CreateStation {
            tenant_id: meta.tenant_id,
            station_id,
            settings,
            now: self.clock.now(),
        };
        self.run_station(station_id, command, meta, idempotency)
            .await
    }

    pub async fn change_station(
        &self,
        station_id: StationId,
        settings: StationSettings,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let command = StationCommand::ChangeStation {
            tenant_id: meta.tenant_id,
            settings,
            now: self.clock.now(),
        };
        self.run_station(station_id, command, meta, idempotency)
            .await
    }

    async fn run_station(
        &self,
        station_id: StationId,
        command: StationCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        execute(
            &self.stations,
            "station",
            station_id.to_string(),
            command.tenant_id(),
            command,
            meta,
            idempotency,
        )
        .await
        .map_err(|e| e.map_rejection(LabRejection::Station))
    }

    /// The station as the tenant may see it, read from its stream.
    pub async fn station(
        &self,
        tenant_id: TenantId,
        station_id: StationId,
    ) -> Result<Option<Station>, Rejection> {
        let station: Station = self.load(&station_id.to_string()).await?;
        Ok((station.tenant_id() == Some(tenant_id)).then_some(station))
    }

    /// The tenant's stations in creation order.
    pub async fn stations(&self, tenant_id: TenantId) -> Result<Vec<Station>, Rejection> {
        let ids = stream_ids(&self.pool, "lab.station", tenant_id)
            .await
            .map_err(|e| AppError::Store(e.to_string()))?;
        let mut stations = Vec::with_capacity(ids.len());
        for id in ids {
            let station: Station = self.load(&id).await?;
            if station.tenant_id() == Some(tenant_id) {
                stations.push(station);
            }
        }
        Ok(stations)
    }

    /// The station a job entering `stage` is recorded at: the named one, which must serve the
    /// stage, or the first that does.
    async fn station_for(
        &self,
        tenant_id: TenantId,
        stage: LabStage,
        requested: Option<StationId>,
    ) -> Result<Option<StationId>, Rejection> {
        if let Some(station_id) = requested {
            let station = self
                .station(tenant_id, station_id)
                .await?
                .ok_or(rejected(LabRejection::StationNotFound(station_id)))?;
            if !station.serves(stage) {
                return Err(rejected(LabRejection::StationDoesNotServe {
                    station: station_id,
                    stage,
                }));
            }
            return Ok(Some(station_id));
        }
        if !stage.is_production() {
            return Ok(None);
        }
        Ok(self
            .stations(tenant_id)
            .await?
            .iter()
            .find(|s| s.serves(stage))
            .and_then(Station::station_id))
    }

    // --- work orders ------------------------------------------------------------------

    async fn load<A>(&self, id: &str) -> Result<A, Rejection>
    where
        A: cqrs_es::Aggregate + Clone,
    {
        load_fresh(&self.repository, id).await
    }

    /// The work order read from its stream (never from the cache, so an erasure elsewhere
    /// shows), as the tenant may see it.
    pub async fn work_order(
        &self,
        tenant_id: TenantId,
        work_order_id: WorkOrderId,
    ) -> Result<Option<WorkOrder>, Rejection> {
        let work_order: WorkOrder = self.load(&work_order_id.to_string()).await?;
        Ok((work_order.tenant_id() == Some(tenant_id)).then_some(work_order))
    }

    async fn existing(
        &self,
        tenant_id: TenantId,
        work_order_id: WorkOrderId,
    ) -> Result<WorkOrder, Rejection> {
        self.work_order(tenant_id, work_order_id)
            .await?
            .ok_or(rejected(LabRejection::WorkOrder(
                WorkOrderError::WorkOrderNotFound,
            )))
    }

    async fn number(
        &self,
        tenant_id: TenantId,
        work_order_id: WorkOrderId,
    ) -> Result<WorkOrderNumber, Rejection> {
        let number = self
            .numbers
            .assign(tenant_id, *work_order_id.as_uuid())
            .await
            .map_err(|e| AppError::Store(e.to_string()))?;
        WorkOrderNumber::new(number).map_err(|e| AppError::Store(e.to_string()))
    }

    async fn run(
        &self,
        work_order_id: WorkOrderId,
        command: WorkOrderCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        execute(
            &self.work_orders,
            "work order",
            work_order_id.to_string(),
            command.tenant_id(),
            command,
            meta,
            idempotency,
        )
        .await
        .map_err(|e| e.map_rejection(LabRejection::WorkOrder))
    }

    /// A walk-in job: the patient's initials and the prescription are copied from Customers;
    /// the prescription must be the patient's, not voided and not expired.
    pub async fn create(
        &self,
        new: NewWorkOrder,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let tenant_id = meta.tenant_id;
        let now = self.clock.now();
        let (patient, prescription) = self
            .customers
            .order_snapshots(tenant_id, new.patient_id, Some(new.prescription_id))
            .await
            .map_err(|e| e.map_rejection(from_order_rejection))?;
        let prescription = prescription.ok_or(rejected(LabRejection::PrescriptionNotFound))?;
        let (Some(patient_data), Some(snapshot)) =
            (patient.revealed(), prescription.snapshot.revealed())
        else {
            return Err(rejected(LabRejection::PatientErased(new.patient_id)));
        };
        if snapshot.is_expired_on(now.date_naive()) {
            return Err(rejected(LabRejection::PrescriptionExpired(
                snapshot.expires_on(),
            )));
        }
        let initials = PatientInitials::of_name(patient_data.full_name.as_str())
            .map_err(|e| unusable("patient initials", e))?;
        let job = Personal::new(
            new.patient_id,
            LabJob {
                patient_initials: initials,
                refraction: snapshot.refraction().clone(),
                geometry: None,
            },
        );
        let number = self.number(tenant_id, new.work_order_id).await?;
        let station_id = self
            .station_for(tenant_id, LabStage::Received, None)
            .await?;
        let command = WorkOrderCommand::CreateWorkOrder(Box::new(CreateWorkOrder {
            tenant_id,
            work_order_id: new.work_order_id,
            number,
            order_id: None,
            prescription_id: new.prescription_id,
            job,
            frame: new.frame,
            lens: new.lens,
            due_on: new.due_on,
            notes: new.notes,
            remake_of: None,
            station_id,
            actor: actor_of(meta),
            now,
        }));
        self.run(new.work_order_id, command, meta, idempotency)
            .await
    }

    /// Creates the work orders of an order sent to the lab, one per lens line, paired with
    /// the order's frame lines in order. Creating them again changes nothing.
    pub async fn create_for_order(
        &self,
        order_id: OrderId,
        meta: &EventMetadata,
    ) -> Result<Vec<Receipt>, Rejection> {
        let tenant_id = meta.tenant_id;
        let order = self
            .orders
            .order(tenant_id, order_id)
            .await
            .map_err(|e| e.map_rejection(from_order_rejection))?
            .ok_or(rejected(LabRejection::OrderNotFound))?;
        let lenses: Vec<&OrderLine> = lines_of(&order, LineKind::OphthalmicLens);
        if lenses.is_empty() {
            return Err(rejected(LabRejection::OrderWithoutLenses));
        }
        let frames: Vec<&OrderLine> = lines_of(&order, LineKind::Frame);
        let (Some(patient), Some(prescription)) = (order.patient(), order.prescription()) else {
            return Err(rejected(LabRejection::PatientNotFound));
        };
        let (Some(patient_data), Some(snapshot)) =
            (patient.revealed(), prescription.snapshot.revealed())
        else {
            return Err(rejected(LabRejection::PatientErased(patient.subject())));
        };
        let initials = PatientInitials::of_name(patient_data.full_name.as_str())
            .map_err(|e| unusable("patient initials", e))?;
        let mut receipts = Vec::with_capacity(lenses.len());
        for (index, lens_line) in lenses.iter().enumerate() {
            let work_order_id = work_order_id_of(lens_line);
            let lens = self.lens_of(tenant_id, lens_line).await?;
            let frame = match frames.get(index) {
                Some(line) => self.frame_of(tenant_id, line.variant_id).await?,
                None => None,
            };
            let number = self.number(tenant_id, work_order_id).await?;
            let station_id = self
                .station_for(tenant_id, LabStage::Received, None)
                .await?;
            let command = WorkOrderCommand::CreateWorkOrder(Box::new(CreateWorkOrder {
                tenant_id,
                work_order_id,
                number,
                order_id: Some(order_id),
                prescription_id: prescription.prescription_id,
                job: Personal::new(
                    patient.subject(),
                    LabJob {
                        patient_initials: initials.clone(),
                        refraction: snapshot.refraction().clone(),
                        geometry: None,
                    },
                ),
                frame,
                lens,
                due_on: None,
                notes: None,
                remake_of: None,
                station_id,
                actor: actor_of(meta),
                now: self.clock.now(),
            }));
            receipts.push(self.run(work_order_id, command, meta, None).await?);
        }
        Ok(receipts)
    }

    /// The work orders that make an order's lenses, each followed to its latest remake.
    pub async fn work_orders_of(
        &self,
        tenant_id: TenantId,
        order: &Order,
    ) -> Result<Vec<WorkOrder>, Rejection> {
        let mut found = Vec::new();
        for line in lines_of(order, LineKind::OphthalmicLens) {
            let mut current = self.work_order(tenant_id, work_order_id_of(line)).await?;
            // Remakes form a chain; a bound keeps a corrupted cycle from looping forever.
            for _ in 0..32 {
                let Some(next) = current
                    .as_ref()
                    .and_then(WorkOrder::remake)
                    .map(|r| r.remake_id)
                else {
                    break;
                };
                match self.work_order(tenant_id, next).await? {
                    Some(remake) => current = Some(remake),
                    None => break,
                }
            }
            found.extend(current);
        }
        Ok(found)
    }

    async fn lens_of(&self, tenant_id: TenantId, line: &OrderLine) -> Result<LensSpec, Rejection> {
        let variant = self
            .catalog
            .variant_state(tenant_id, line.variant_id)
            .await
            .map_err(|e| AppError::Store(e.to_string()))?;
        let Some(VariantAttributes::OphthalmicLens(lens)) =
            variant.as_ref().and_then(|v| v.attributes())
        else {
            return Err(unusable(
                "lens",
                format!("variant {} is not an ophthalmic lens", line.variant_id),
            ));
        };
        LensSpec::new(
            LensLabel::new(line.description.as_str()).ok(),
            lens.material(),
            lens.index(),
            lens.design(),
            lens.coatings().to_vec(),
            lens.tint().cloned(),
        )
        .map_err(|e| unusable("lens", e))
    }

    async fn frame_of(
        &self,
        tenant_id: TenantId,
        variant_id: VariantId,
    ) -> Result<Option<FrameSpec>, Rejection> {
        let store = |e: AppError<_>| AppError::Store(e.to_string());
        let Some(variant) = self
            .catalog
            .variant_state(tenant_id, variant_id)
            .await
            .map_err(store)?
        else {
            return Ok(None);
        };
        let Some(VariantAttributes::Frame(frame)) = variant.attributes() else {
            return Ok(None);
        };
        let g = frame.geometry;
        let boxing = BoxingMeasurements::new(
            tenths(g.a().get()),
            tenths(g.b().get()),
            tenths(g.dbl().get()),
            tenths(g.ed().get()),
        )
        .map_err(|e| unusable("frame", e))?;
        let product = match variant.product_id() {
            Some(product_id) => self
                .catalog
                .product_state(tenant_id, product_id)
                .await
                .map_err(store)?,
            None => None,
        };
        let label = |text: Option<&str>| text.and_then(|t| FrameLabel::new(t).ok());
        Ok(Some(FrameSpec {
            boxing,
            brand: label(product.as_ref().and_then(|p| p.brand()).map(|b| b.as_str())),
            model: label(product.as_ref().and_then(|p| p.name()).map(|n| n.as_str())),
        }))
    }

    /// Runs a step on a work order; moves record the station of the new stage.
    pub async fn step(
        &self,
        work_order_id: WorkOrderId,
        step: LabStep,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let (tenant_id, now, actor) = (meta.tenant_id, self.clock.now(), actor_of(meta));
        let command = match step {
            LabStep::MoveTo { to, station_id } => WorkOrderCommand::MoveToStage {
                tenant_id,
                to,
                station_id: self.station_for(tenant_id, to, station_id).await?,
                actor,
                now,
            },
            LabStep::Hold(reason) => WorkOrderCommand::PutOnHold {
                tenant_id,
                reason,
                actor,
                now,
            },
            LabStep::Resume { to, station_id } => {
                let target = match to {
                    Some(to) => Some(to),
                    None => self.existing(tenant_id, work_order_id).await?.held_from(),
                };
                let station_id = match target {
                    Some(stage) => self.station_for(tenant_id, stage, station_id).await?,
                    None => station_id,
                };
                WorkOrderCommand::Resume {
                    tenant_id,
                    to,
                    station_id,
                    actor,
                    now,
                }
            }
            LabStep::Cancel(reason) => WorkOrderCommand::Cancel {
                tenant_id,
                reason,
                actor,
                now,
            },
            LabStep::MeasureFrame(frame) => WorkOrderCommand::MeasureFrame {
                tenant_id,
                frame,
                actor,
                now,
            },
            LabStep::Inspect { right, left } => WorkOrderCommand::RecordInspection {
                tenant_id,
                right,
                left,
                actor,
                now,
            },
        };
        self.run(work_order_id, command, meta, idempotency).await
    }

    /// Remakes a work order: the original records the remake (and stops), then the new work
    /// order is created from the original's job, frame and lenses. Asking again for the same
    /// reason creates nothing new: the remake recorded on the original is created if missing
    /// and its receipt returned.
    pub async fn remake(
        &self,
        work_order_id: WorkOrderId,
        reason: RemakeReason,
        notes: Option<Notes>,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let tenant_id = meta.tenant_id;
        let command = WorkOrderCommand::RequestRemake {
            tenant_id,
            remake_id: WorkOrderId::new(),
            reason,
            notes: notes.clone(),
            actor: actor_of(meta),
            now: self.clock.now(),
        };
        self.run(work_order_id, command, meta, None).await?;
        let original = self.existing(tenant_id, work_order_id).await?;
        let (Some(remake), Some(number), Some(job), Some(lens), Some(prescription_id)) = (
            original.remake().cloned(),
            original.number(),
            original.job().cloned(),
            original.lens().cloned(),
            original.prescription_id(),
        ) else {
            return Err(rejected(LabRejection::WorkOrder(
                WorkOrderError::WorkOrderNotFound,
            )));
        };
        let remake_number = self.number(tenant_id, remake.remake_id).await?;
        let station_id = self
            .station_for(tenant_id, LabStage::Received, None)
            .await?;
        let command = WorkOrderCommand::CreateWorkOrder(Box::new(CreateWorkOrder {
            tenant_id,
            work_order_id: remake.remake_id,
            number: remake_number,
            order_id: original.order_id(),
            prescription_id,
            job,
            frame: original.frame().cloned(),
            lens,
            due_on: None,
            notes: remake.notes.clone(),
            remake_of: Some(RemakeOrigin {
                work_order_id,
                number,
                reason: remake.reason,
            }),
            station_id,
            actor: actor_of(meta),
            now: self.clock.now(),
        }));
        self.run(remake.remake_id, command, meta, idempotency).await
    }
}

impl LabApp {
    // --- print jobs -------------------------------------------------------------------

    /// The spooler, for the lab-print process.
    pub fn spool(&self) -> &PrintSpool {
        &self.spool
    }

    /// Records that the spooler gave up on a ticket (`lab.print_job.failed`).
    pub async fn record_print_failure(
        &self,
        failure: RecordPrintFailure,
        meta: &EventMetadata,
    ) -> Result<Receipt, Rejection> {
        let print_job_id = failure.print_job_id;
        execute(
            &self.print_jobs,
            "print job",
            print_job_id.to_string(),
            failure.tenant_id,
            PrintJobCommand::RecordFailure(failure),
            meta,
            None,
        )
        .await
        .map_err(|e| e.map_rejection(LabRejection::PrintJob))
    }

    pub async fn print_job(
        &self,
        tenant_id: TenantId,
        print_job_id: PrintJobId,
    ) -> Result<Option<SpooledTicket>, Rejection> {
        self.spool
            .get(tenant_id, *print_job_id.as_uuid())
            .await
            .map_err(|e| AppError::Store(e.to_string()))
    }

    /// A work order's tickets, oldest first.
    pub async fn print_jobs_of(
        &self,
        tenant_id: TenantId,
        work_order_id: WorkOrderId,
    ) -> Result<Vec<SpooledTicket>, Rejection> {
        self.spool
            .for_work_order(tenant_id, *work_order_id.as_uuid())
            .await
            .map_err(|e| AppError::Store(e.to_string()))
    }

    /// Queues a ticket for printing again now (lost, or parked while its printer was away).
    pub async fn reprint(
        &self,
        tenant_id: TenantId,
        print_job_id: PrintJobId,
    ) -> Result<SpooledTicket, Rejection> {
        self.spool
            .reprint(tenant_id, *print_job_id.as_uuid())
            .await
            .map_err(|e| AppError::Store(e.to_string()))?
            .ok_or(rejected(LabRejection::PrintJob(
                PrintJobError::PrintJobNotFound,
            )))
    }
}

fn lines_of(order: &Order, kind: LineKind) -> Vec<&OrderLine> {
    order.lines().iter().filter(|l| l.kind == kind).collect()
}

fn from_order_rejection(rejection: OrderRejection) -> LabRejection {
    match rejection {
        OrderRejection::PatientNotFound => LabRejection::PatientNotFound,
        OrderRejection::PrescriptionNotFound => LabRejection::PrescriptionNotFound,
        OrderRejection::PrescriptionVoided => LabRejection::PrescriptionVoided,
        OrderRejection::PrescriptionOfAnotherPatient => LabRejection::PrescriptionOfAnotherPatient,
        OrderRejection::Order(optical_orders::OrderError::PatientErased(id)) => {
            LabRejection::PatientErased(id)
        }
        OrderRejection::Order(optical_orders::OrderError::OrderNotFound) => {
            LabRejection::OrderNotFound
        }
        other => LabRejection::Unusable(other.to_string()),
    }
}
