//! The WorkOrder aggregate: one pair of lenses made for one frame, from receipt through the
//! lab's stages to final inspection, completion and shipping — or a remake.

use crate::error::WorkOrderError;
use crate::values::{
    Actor, FrameSpec, LabJob, LabStage, LensSpec, Notes, Reason, RemakeOrigin, RemakeReason,
    StationId, WorkOrderId, WorkOrderNumber,
};
use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::{OrderId, PatientId, Personal, PrescriptionId, TenantId};
use optical_optics::{
    inspect_eye, EyeInspection, LensGeometry, MeasuredEye, Refraction, ToleranceTable,
};
use serde::{Deserialize, Serialize};

/// Creates a work order: from an order's lenses, a walk-in job, or a remake of another one.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateWorkOrder {
    pub tenant_id: TenantId,
    pub work_order_id: WorkOrderId,
    pub number: WorkOrderNumber,
    /// The order the lenses were sold on; `None` for a walk-in job.
    pub order_id: Option<OrderId>,
    pub prescription_id: PrescriptionId,
    /// Initials and prescription, sealed for the patient. The geometry given here is ignored:
    /// the work order computes it from the frame and the prescription's PD.
    pub job: Personal<LabJob>,
    /// `None` when the frame is not at hand yet (the patient brings their own).
    pub frame: Option<FrameSpec>,
    pub lens: LensSpec,
    pub due_on: Option<NaiveDate>,
    pub notes: Option<Notes>,
    pub remake_of: Option<RemakeOrigin>,
    /// The station that receives the job, if one serves `received`.
    pub station_id: Option<StationId>,
    pub actor: Actor,
    pub now: DateTime<Utc>,
}

/// Every command names the caller's tenant (another tenant's work order is answered as not
/// found), the actor, and `now`, read by the application from its clock.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkOrderCommand {
    CreateWorkOrder(Box<CreateWorkOrder>),
    /// Moves forward to a later production stage, skipping only stages a lens may not need.
    /// Moving to the current stage again changes nothing.
    MoveToStage {
        tenant_id: TenantId,
        to: LabStage,
        station_id: Option<StationId>,
        actor: Actor,
        now: DateTime<Utc>,
    },
    PutOnHold {
        tenant_id: TenantId,
        reason: Reason,
        actor: Actor,
        now: DateTime<Utc>,
    },
    /// Back to the stage the job was held at, or forward from it (`to`).
    Resume {
        tenant_id: TenantId,
        to: Option<LabStage>,
        station_id: Option<StationId>,
        actor: Actor,
        now: DateTime<Utc>,
    },
    Cancel {
        tenant_id: TenantId,
        reason: Reason,
        actor: Actor,
        now: DateTime<Utc>,
    },
    /// Records (or corrects) the frame before the lenses are edged; the geometry follows.
    MeasureFrame {
        tenant_id: TenantId,
        frame: FrameSpec,
        actor: Actor,
        now: DateTime<Utc>,
    },
    /// The lensmeter readings of both finished lenses, at final inspection.
    RecordInspection {
        tenant_id: TenantId,
        right: Option<MeasuredEye>,
        left: Option<MeasuredEye>,
        actor: Actor,
        now: DateTime<Utc>,
    },
    /// Starts the job over as a new work order (`remake_id`), created by the application
    /// from this one. Asking again for the same reason changes nothing.
    RequestRemake {
        tenant_id: TenantId,
        remake_id: WorkOrderId,
        reason: RemakeReason,
        notes: Option<Notes>,
        actor: Actor,
        now: DateTime<Utc>,
    },
}

impl WorkOrderCommand {
    pub fn tenant_id(&self) -> TenantId {
        match self {
            WorkOrderCommand::CreateWorkOrder(create) => create.tenant_id,
            WorkOrderCommand::MoveToStage { tenant_id, .. }
            | WorkOrderCommand::PutOnHold { tenant_id, .. }
            | WorkOrderCommand::Resume { tenant_id, .. }
            | WorkOrderCommand::Cancel { tenant_id, .. }
            | WorkOrderCommand::MeasureFrame { tenant_id, .. }
            | WorkOrderCommand::RecordInspection { tenant_id, .. }
            | WorkOrderCommand::RequestRemake { tenant_id, .. } => *tenant_id,
        }
    }
}

/// Both lenses' verdicts, sealed for the patient (they quote the prescription).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InspectionResults {
    pub right: EyeInspection,
    pub left: EyeInspection,
}

/// Every event names its work order; `stage_changed` also carries the number and the order
/// so that the lab-print consumer and partners need no state.
// `WorkOrderCreated` is much larger than the other facts; events are short-lived values.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkOrderEvent {
    WorkOrderCreated {
        tenant_id: TenantId,
        work_order_id: WorkOrderId,
        number: WorkOrderNumber,
        order_id: Option<OrderId>,
        prescription_id: PrescriptionId,
        job: Personal<LabJob>,
        frame: Option<FrameSpec>,
        lens: LensSpec,
        due_on: Option<NaiveDate>,
        notes: Option<Notes>,
        remake_of: Option<RemakeOrigin>,
        created_by: Actor,
        created_at: DateTime<Utc>,
    },
    /// Every move, hold, resume and cancellation; `from` is `None` when the job is created.
    StageChanged {
        work_order_id: WorkOrderId,
        number: WorkOrderNumber,
        order_id: Option<OrderId>,
        from: Option<LabStage>,
        to: LabStage,
        station_id: Option<StationId>,
        actor: Actor,
        reason: Option<Reason>,
        changed_at: DateTime<Utc>,
    },
    FrameMeasured {
        work_order_id: WorkOrderId,
        frame: FrameSpec,
        /// Recomputed from the new frame and the prescription's PD.
        geometry: Personal<LensGeometry>,
        measured_by: Actor,
        measured_at: DateTime<Utc>,
    },
    WorkOrderInspected {
        work_order_id: WorkOrderId,
        table: ToleranceTable,
        passed: bool,
        results: Personal<InspectionResults>,
        inspected_by: Actor,
        inspected_at: DateTime<Utc>,
    },
    RemakeRequested {
        work_order_id: WorkOrderId,
        remake_id: WorkOrderId,
        reason: RemakeReason,
        notes: Option<Notes>,
        requested_by: Actor,
        requested_at: DateTime<Utc>,
    },
}

impl WorkOrderEvent {
    pub const EVENT_TYPES: [&'static str; 5] = [
        "lab.work_order.created",
        "lab.work_order.stage_changed",
        "lab.work_order.frame_measured",
        "lab.work_order.inspected",
        "lab.work_order.remake_requested",
    ];

    pub fn work_order_id(&self) -> WorkOrderId {
        let (WorkOrderEvent::WorkOrderCreated { work_order_id, .. }
        | WorkOrderEvent::StageChanged { work_order_id, .. }
        | WorkOrderEvent::FrameMeasured { work_order_id, .. }
        | WorkOrderEvent::WorkOrderInspected { work_order_id, .. }
        | WorkOrderEvent::RemakeRequested { work_order_id, .. }) = self;
        *work_order_id
    }
}

impl DomainEvent for WorkOrderEvent {
    fn event_type(&self) -> String {
        let [created, stage_changed, frame_measured, inspected, remake_requested] =
            Self::EVENT_TYPES;
        match self {
            WorkOrderEvent::WorkOrderCreated { .. } => created,
            WorkOrderEvent::StageChanged { .. } => stage_changed,
            WorkOrderEvent::FrameMeasured { .. } => frame_measured,
            WorkOrderEvent::WorkOrderInspected { .. } => inspected,
            WorkOrderEvent::RemakeRequested { .. } => remake_requested,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// One entry of a work order's stage history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageEntry {
    pub from: Option<LabStage>,
    pub to: LabStage,
    pub station_id: Option<StationId>,
    pub actor: Actor,
    pub reason: Option<Reason>,
    pub at: DateTime<Utc>,
}

/// The latest inspection of a work order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    pub table: ToleranceTable,
    pub passed: bool,
    pub results: Personal<InspectionResults>,
    pub inspected_by: Actor,
    pub inspected_at: DateTime<Utc>,
}

/// The remake that replaced a work order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Remake {
    pub remake_id: WorkOrderId,
    pub reason: RemakeReason,
    pub notes: Option<Notes>,
    pub requested_at: DateTime<Utc>,
}

/// A work order's decision state; `None` until created.
///
/// It holds the job as read — revealed, or erased once the patient's key is destroyed; such
/// aggregates are never snapshotted by the store.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkOrder {
    state: Option<WorkOrderState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct WorkOrderState {
    tenant_id: TenantId,
    work_order_id: WorkOrderId,
    number: WorkOrderNumber,
    order_id: Option<OrderId>,
    prescription_id: PrescriptionId,
    job: Personal<LabJob>,
    frame: Option<FrameSpec>,
    lens: LensSpec,
    due_on: Option<NaiveDate>,
    notes: Option<Notes>,
    remake_of: Option<RemakeOrigin>,
    created_at: DateTime<Utc>,
    stage: LabStage,
    station_id: Option<StationId>,
    /// The stage a held job returns to.
    held_from: Option<LabStage>,
    reached_inspection: bool,
    inspection: Option<Inspection>,
    remake: Option<Remake>,
    history: Vec<StageEntry>,
}

/// What makes two creations the same work order, personal data aside: a replayed creation
/// must be recognised even after the patient was erased.
fn same_creation(state: &WorkOrderState, create: &CreateWorkOrder) -> bool {
    state.work_order_id == create.work_order_id
        && state.order_id == create.order_id
        && state.prescription_id == create.prescription_id
        && state.job.subject() == create.job.subject()
        && state.frame == create.frame
        && state.lens == create.lens
        && state.remake_of == create.remake_of
}

/// The first stage between `from` and `to` (both exclusive) that must not be skipped.
fn unskippable_between(from: LabStage, to: LabStage) -> Option<LabStage> {
    let (Some(from), Some(to)) = (from.rank(), to.rank()) else {
        return None;
    };
    LabStage::PRODUCTION
        .get(from + 1..to)?
        .iter()
        .copied()
        .find(|stage| !stage.is_skippable())
}

impl WorkOrderState {
    fn stage_changed(
        &self,
        to: LabStage,
        station_id: Option<StationId>,
        actor: Actor,
        reason: Option<Reason>,
        now: DateTime<Utc>,
    ) -> WorkOrderEvent {
        WorkOrderEvent::StageChanged {
            work_order_id: self.work_order_id,
            number: self.number,
            order_id: self.order_id,
            from: Some(self.stage),
            to,
            station_id,
            actor,
            reason,
            changed_at: now,
        }
    }

    /// Checks a forward move of a job standing at production stage `from`.
    fn check_forward(&self, from: LabStage, to: LabStage) -> Result<(), WorkOrderError> {
        let (Some(from_rank), Some(to_rank)) = (from.rank(), to.rank()) else {
            return Err(WorkOrderError::NotAProductionStage(to));
        };
        if from == LabStage::Shipped {
            return Err(WorkOrderError::Shipped);
        }
        if to_rank < from_rank {
            return Err(WorkOrderError::StageReversal { from, to });
        }
        if let Some(skipped) = unskippable_between(from, to) {
            return Err(WorkOrderError::StageNotSkippable { skipped, to });
        }
        if to == LabStage::Completed && !self.inspection.as_ref().is_some_and(|i| i.passed) {
            return Err(WorkOrderError::InspectionNotPassed);
        }
        Ok(())
    }

    fn revealed_job(&self) -> Result<&LabJob, WorkOrderError> {
        self.job
            .revealed()
            .ok_or(WorkOrderError::PatientErased(self.job.subject()))
    }

    /// The stage that decides what may still change: the held stage while on hold.
    fn effective_stage(&self) -> LabStage {
        self.held_from.unwrap_or(self.stage)
    }
}

impl WorkOrder {
    pub fn tenant_id(&self) -> Option<TenantId> {
        self.state.as_ref().map(|s| s.tenant_id)
    }

    pub fn work_order_id(&self) -> Option<WorkOrderId> {
        self.state.as_ref().map(|s| s.work_order_id)
    }

    pub fn number(&self) -> Option<WorkOrderNumber> {
        self.state.as_ref().map(|s| s.number)
    }

    pub fn order_id(&self) -> Option<OrderId> {
        self.state.as_ref().and_then(|s| s.order_id)
    }

    pub fn prescription_id(&self) -> Option<PrescriptionId> {
        self.state.as_ref().map(|s| s.prescription_id)
    }

    pub fn patient_id(&self) -> Option<PatientId> {
        self.state.as_ref().map(|s| s.job.subject())
    }

    /// The job (initials, prescription, geometry): revealed, or erased.
    pub fn job(&self) -> Option<&Personal<LabJob>> {
        self.state.as_ref().map(|s| &s.job)
    }

    pub fn refraction(&self) -> Option<&Refraction> {
        self.job()
            .and_then(Personal::revealed)
            .map(|job| &job.refraction)
    }

    pub fn geometry(&self) -> Option<&LensGeometry> {
        self.job()
            .and_then(Personal::revealed)
            .and_then(|job| job.geometry.as_ref())
    }

    pub fn frame(&self) -> Option<&FrameSpec> {
        self.state.as_ref().and_then(|s| s.frame.as_ref())
    }

    pub fn lens(&self) -> Option<&LensSpec> {
        self.state.as_ref().map(|s| &s.lens)
    }

    pub fn due_on(&self) -> Option<NaiveDate> {
        self.state.as_ref().and_then(|s| s.due_on)
    }

    pub fn notes(&self) -> Option<&Notes> {
        self.state.as_ref().and_then(|s| s.notes.as_ref())
    }

    pub fn remake_of(&self) -> Option<&RemakeOrigin> {
        self.state.as_ref().and_then(|s| s.remake_of.as_ref())
    }

    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        self.state.as_ref().map(|s| s.created_at)
    }

    pub fn stage(&self) -> Option<LabStage> {
        self.state.as_ref().map(|s| s.stage)
    }

    /// The station the job is at, when the current stage was entered at one.
    pub fn station_id(&self) -> Option<StationId> {
        self.state.as_ref().and_then(|s| s.station_id)
    }

    /// The stage a held job returns to.
    pub fn held_from(&self) -> Option<LabStage> {
        self.state.as_ref().and_then(|s| s.held_from)
    }

    pub fn inspection(&self) -> Option<&Inspection> {
        self.state.as_ref().and_then(|s| s.inspection.as_ref())
    }

    /// Whether a remake may be requested: the job reached final inspection and was not
    /// remade yet. A failed inspection offers it.
    pub fn remake_possible(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.reached_inspection && s.remake.is_none())
    }

    pub fn remake(&self) -> Option<&Remake> {
        self.state.as_ref().and_then(|s| s.remake.as_ref())
    }

    pub fn history(&self) -> &[StageEntry] {
        self.state.as_ref().map_or(&[], |s| s.history.as_slice())
    }

    fn visible(&self, tenant_id: TenantId) -> Result<Option<&WorkOrderState>, WorkOrderError> {
        match &self.state {
            Some(state) if state.tenant_id != tenant_id => Err(WorkOrderError::WorkOrderNotFound),
            state => Ok(state.as_ref()),
        }
    }

    fn existing(&self, tenant_id: TenantId) -> Result<&WorkOrderState, WorkOrderError> {
        self.visible(tenant_id)?
            .ok_or(WorkOrderError::WorkOrderNotFound)
    }

    fn create(&self, create: CreateWorkOrder) -> Result<Vec<WorkOrderEvent>, WorkOrderError> {
        if let Some(state) = self.visible(create.tenant_id)? {
            return if same_creation(state, &create) {
                Ok(vec![])
            } else {
                Err(WorkOrderError::AlreadyCreated)
            };
        }
        let subject = create.job.subject();
        let Personal::Revealed { data: job, .. } = create.job else {
            return Err(WorkOrderError::PatientErased(subject));
        };
        if create.lens.needs_addition() && !job.refraction.has_addition() {
            return Err(WorkOrderError::AdditionRequired {
                design: create.lens.design().as_str(),
            });
        }
        let geometry = create
            .frame
            .as_ref()
            .map(|frame| LensGeometry::compute(&frame.boxing, &job.refraction));
        let job = Personal::new(subject, LabJob { geometry, ..job });
        Ok(vec![
            WorkOrderEvent::WorkOrderCreated {
                tenant_id: create.tenant_id,
                work_order_id: create.work_order_id,
                number: create.number,
                order_id: create.order_id,
                prescription_id: create.prescription_id,
                job,
                frame: create.frame,
                lens: create.lens,
                due_on: create.due_on,
                notes: create.notes,
                remake_of: create.remake_of,
                created_by: create.actor.clone(),
                created_at: create.now,
            },
            WorkOrderEvent::StageChanged {
                work_order_id: create.work_order_id,
                number: create.number,
                order_id: create.order_id,
                from: None,
                to: LabStage::Received,
                station_id: create.station_id,
                actor: create.actor,
                reason: None,
                changed_at: create.now,
            },
        ])
    }

    fn decide(&self, command: WorkOrderCommand) -> Result<Vec<WorkOrderEvent>, WorkOrderError> {
        match command {
            WorkOrderCommand::CreateWorkOrder(create) => self.create(*create),
            WorkOrderCommand::MoveToStage {
                tenant_id,
                to,
                station_id,
                actor,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                match state.stage {
                    LabStage::Cancelled => return Err(WorkOrderError::Cancelled),
                    LabStage::OnHold => return Err(WorkOrderError::OnHold),
                    current if current == to => return Ok(vec![]),
                    current => state.check_forward(current, to)?,
                }
                Ok(vec![state.stage_changed(to, station_id, actor, None, now)])
            }
            WorkOrderCommand::PutOnHold {
                tenant_id,
                reason,
                actor,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                match state.stage {
                    LabStage::OnHold => Ok(vec![]),
                    LabStage::Cancelled => Err(WorkOrderError::Cancelled),
                    LabStage::Shipped => Err(WorkOrderError::Shipped),
                    _ => Ok(vec![state.stage_changed(
                        LabStage::OnHold,
                        None,
                        actor,
                        Some(reason),
                        now,
                    )]),
                }
            }
            WorkOrderCommand::Resume {
                tenant_id,
                to,
                station_id,
                actor,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                match state.stage {
                    LabStage::Cancelled => return Err(WorkOrderError::Cancelled),
                    LabStage::OnHold => {}
                    _ => return Err(WorkOrderError::NotOnHold),
                }
                let held_from = state.effective_stage();
                let to = to.unwrap_or(held_from);
                if to != held_from {
                    state.check_forward(held_from, to)?;
                }
                Ok(vec![state.stage_changed(to, station_id, actor, None, now)])
            }
            WorkOrderCommand::Cancel {
                tenant_id,
                reason,
                actor,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                match state.stage {
                    LabStage::Cancelled => Ok(vec![]),
                    LabStage::Shipped => Err(WorkOrderError::Shipped),
                    _ => Ok(vec![state.stage_changed(
                        LabStage::Cancelled,
                        None,
                        actor,
                        Some(reason),
                        now,
                    )]),
                }
            }
            WorkOrderCommand::MeasureFrame {
                tenant_id,
                frame,
                actor,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                if state.stage == LabStage::Cancelled {
                    return Err(WorkOrderError::Cancelled);
                }
                if state.frame.as_ref() == Some(&frame) {
                    return Ok(vec![]);
                }
                let stage = state.effective_stage();
                if stage.rank() >= LabStage::Edging.rank() {
                    return Err(WorkOrderError::FrameTooLate(stage));
                }
                let job = state.revealed_job()?;
                let geometry = LensGeometry::compute(&frame.boxing, &job.refraction);
                Ok(vec![WorkOrderEvent::FrameMeasured {
                    work_order_id: state.work_order_id,
                    frame,
                    geometry: Personal::new(state.job.subject(), geometry),
                    measured_by: actor,
                    measured_at: now,
                }])
            }
            WorkOrderCommand::RecordInspection {
                tenant_id,
                right,
                left,
                actor,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                match state.stage {
                    LabStage::Cancelled => return Err(WorkOrderError::Cancelled),
                    LabStage::FinalInspection => {}
                    stage => return Err(WorkOrderError::NotAtFinalInspection(stage)),
                }
                let right = right.ok_or(WorkOrderError::MeasurementsMissing("right"))?;
                let left = left.ok_or(WorkOrderError::MeasurementsMissing("left"))?;
                let job = state.revealed_job()?;
                let table = state.lens.tolerance_table();
                let inspect = |eye: &'static str, ordered, measured| {
                    inspect_eye(table, ordered, measured)
                        .map_err(|error| WorkOrderError::Inspection { eye, error })
                };
                let results = InspectionResults {
                    right: inspect("right", job.refraction.right(), &right)?,
                    left: inspect("left", job.refraction.left(), &left)?,
                };
                Ok(vec![WorkOrderEvent::WorkOrderInspected {
                    work_order_id: state.work_order_id,
                    table,
                    passed: results.right.passed && results.left.passed,
                    results: Personal::new(state.job.subject(), results),
                    inspected_by: actor,
                    inspected_at: now,
                }])
            }
            WorkOrderCommand::RequestRemake {
                tenant_id,
                remake_id,
                reason,
                notes,
                actor,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                if let Some(remake) = &state.remake {
                    return if remake.reason == reason {
                        Ok(vec![])
                    } else {
                        Err(WorkOrderError::AlreadyRemade(remake.reason))
                    };
                }
                if !state.reached_inspection {
                    return Err(WorkOrderError::RemakeBeforeInspection);
                }
                // The remake is made from this job's prescription, so it must still be readable.
                state.revealed_job()?;
                let mut events = vec![WorkOrderEvent::RemakeRequested {
                    work_order_id: state.work_order_id,
                    remake_id,
                    reason,
                    notes,
                    requested_by: actor.clone(),
                    requested_at: now,
                }];
                if !matches!(state.stage, LabStage::Shipped | LabStage::Cancelled) {
                    // The original stops here; its lenses are made again under the new number.
                    let why = Reason::new(format!("remade ({reason})")).ok();
                    events.push(state.stage_changed(LabStage::Cancelled, None, actor, why, now));
                }
                Ok(events)
            }
        }
    }
}

impl Aggregate for WorkOrder {
    const TYPE: &'static str = "lab.work_order";
    type Command = WorkOrderCommand;
    type Event = WorkOrderEvent;
    type Error = WorkOrderError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        if let WorkOrderEvent::WorkOrderCreated {
            tenant_id,
            work_order_id,
            number,
            order_id,
            prescription_id,
            job,
            frame,
            lens,
            due_on,
            notes,
            remake_of,
            created_at,
            ..
        } = event
        {
            if self.state.is_none() {
                self.state = Some(WorkOrderState {
                    tenant_id,
                    work_order_id,
                    number,
                    order_id,
                    prescription_id,
                    job,
                    frame,
                    lens,
                    due_on,
                    notes,
                    remake_of,
                    created_at,
                    stage: LabStage::Received,
                    station_id: None,
                    held_from: None,
                    reached_inspection: false,
                    inspection: None,
                    remake: None,
                    history: Vec::new(),
                });
            }
            return;
        }
        let Some(state) = &mut self.state else {
            return;
        };
        match event {
            WorkOrderEvent::WorkOrderCreated { .. } => {}
            WorkOrderEvent::StageChanged {
                from,
                to,
                station_id,
                actor,
                reason,
                changed_at,
                ..
            } => {
                state.held_from = match to {
                    LabStage::OnHold => Some(state.stage),
                    _ => None,
                };
                if to == LabStage::FinalInspection {
                    state.reached_inspection = true;
                }
                state.stage = to;
                state.station_id = station_id;
                state.history.push(StageEntry {
                    from,
                    to,
                    station_id,
                    actor,
                    reason,
                    at: changed_at,
                });
            }
            WorkOrderEvent::FrameMeasured {
                frame, geometry, ..
            } => {
                state.frame = Some(frame);
                if let (Personal::Revealed { data: job, .. }, Some(geometry)) =
                    (&mut state.job, geometry.revealed())
                {
                    job.geometry = Some(*geometry);
                }
            }
            WorkOrderEvent::WorkOrderInspected {
                table,
                passed,
                results,
                inspected_by,
                inspected_at,
                ..
            } => {
                state.inspection = Some(Inspection {
                    table,
                    passed,
                    results,
                    inspected_by,
                    inspected_at,
                });
            }
            WorkOrderEvent::RemakeRequested {
                remake_id,
                reason,
                notes,
                requested_at,
                ..
            } => {
                state.remake = Some(Remake {
                    remake_id,
                    reason,
                    notes,
                    requested_at,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
