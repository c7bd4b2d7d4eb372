use super::*;
use crate::samples;
use cqrs_es::test::TestFramework;
use optical_optics::{Dioptres, MeasuredEye};

type Fixture = TestFramework<WorkOrder>;

fn tenant() -> TenantId {
    samples::tenant_id()
}

fn t(minutes: i64) -> DateTime<Utc> {
    samples::at() + chrono::Duration::minutes(minutes)
}

fn actor() -> Actor {
    samples::actor()
}

fn reason(text: &str) -> Reason {
    Reason::new(text).unwrap()
}

fn create_command() -> CreateWorkOrder {
    CreateWorkOrder {
        tenant_id: tenant(),
        work_order_id: samples::work_order_id(),
        number: samples::number(),
        order_id: Some(samples::order_id()),
        prescription_id: samples::prescription_id(),
        job: samples::job_for(samples_refraction(), None),
        frame: Some(samples::frame()),
        lens: samples::progressive_lens(),
        due_on: None,
        notes: None,
        remake_of: None,
        station_id: Some(samples::station_id()),
        actor: actor(),
        now: t(0),
    }
}

fn samples_refraction() -> Refraction {
    optical_optics::samples::refraction()
}

fn create() -> WorkOrderCommand {
    WorkOrderCommand::CreateWorkOrder(Box::new(create_command()))
}

/// The events of a work order created from the sample command.
fn created() -> Vec<WorkOrderEvent> {
    let mut work_order = WorkOrder::default();
    let events = work_order.decide(create()).unwrap();
    for event in events.clone() {
        work_order.apply(event);
    }
    events
}

fn stage_changed(from: Option<LabStage>, to: LabStage, minutes: i64) -> WorkOrderEvent {
    change(from, to, minutes, None, None)
}

fn change(
    from: Option<LabStage>,
    to: LabStage,
    minutes: i64,
    station_id: Option<StationId>,
    reason: Option<Reason>,
) -> WorkOrderEvent {
    WorkOrderEvent::StageChanged {
        work_order_id: samples::work_order_id(),
        number: samples::number(),
        order_id: Some(samples::order_id()),
        from,
        to,
        station_id,
        actor: actor(),
        reason,
        changed_at: t(minutes),
    }
}

fn move_to(to: LabStage) -> WorkOrderCommand {
    WorkOrderCommand::MoveToStage {
        tenant_id: tenant(),
        to,
        station_id: None,
        actor: actor(),
        now: t(10),
    }
}

/// Created, then moved through `stages` in order.
fn at_stages(stages: &[LabStage]) -> Vec<WorkOrderEvent> {
    let mut events = created();
    let mut from = LabStage::Received;
    for (i, to) in stages.iter().enumerate() {
        events.push(stage_changed(Some(from), *to, i as i64 + 1));
        from = *to;
    }
    events
}

fn at_inspection() -> Vec<WorkOrderEvent> {
    at_stages(&[LabStage::Surfacing, LabStage::FinalInspection])
}

fn exact() -> (MeasuredEye, MeasuredEye) {
    let rx = samples_refraction();
    (
        samples::exact_reading(rx.right()),
        samples::exact_reading(rx.left()),
    )
}

fn inspect(right: MeasuredEye, left: MeasuredEye) -> WorkOrderCommand {
    WorkOrderCommand::RecordInspection {
        tenant_id: tenant(),
        right: Some(right),
        left: Some(left),
        actor: actor(),
        now: t(20),
    }
}

/// The inspection event a reading produces (decided on a work order at inspection).
fn inspected(right: MeasuredEye, left: MeasuredEye) -> WorkOrderEvent {
    let mut work_order = WorkOrder::default();
    for event in at_inspection() {
        work_order.apply(event);
    }
    work_order.decide(inspect(right, left)).unwrap().remove(0)
}

fn passed_inspection() -> Vec<WorkOrderEvent> {
    let (right, left) = exact();
    let mut events = at_inspection();
    events.push(inspected(right, left));
    events
}

fn failed_inspection() -> Vec<WorkOrderEvent> {
    let (right, mut left) = exact();
    left.sphere = left.sphere + Dioptres::from_micro(500_000);
    let mut events = at_inspection();
    events.push(inspected(right, left));
    events
}

fn remake(reason: RemakeReason) -> WorkOrderCommand {
    WorkOrderCommand::RequestRemake {
        tenant_id: tenant(),
        remake_id: samples::remake_id(),
        reason,
        notes: None,
        actor: actor(),
        now: t(30),
    }
}

fn replay(events: Vec<WorkOrderEvent>) -> WorkOrder {
    let mut work_order = WorkOrder::default();
    for event in events {
        work_order.apply(event);
    }
    work_order
}

// --- creation ---------------------------------------------------------------------------

#[test]
fn creation_records_the_job_with_its_geometry_and_enters_received() {
    let events = created();
    assert_eq!(events.len(), 2);
    let WorkOrderEvent::WorkOrderCreated { job, frame, .. } = &events[0] else {
        panic!("expected created, got {:?}", events[0]);
    };
    let geometry = job.revealed().unwrap().geometry.unwrap();
    assert_eq!(
        geometry,
        LensGeometry::compute(&frame.as_ref().unwrap().boxing, &samples_refraction())
    );
    assert_eq!(
        events[1],
        change(
            None,
            LabStage::Received,
            0,
            Some(samples::station_id()),
            None
        )
    );
    let work_order = replay(events);
    assert_eq!(work_order.stage(), Some(LabStage::Received));
    assert_eq!(work_order.history().len(), 1);
    assert_eq!(work_order.station_id(), Some(samples::station_id()));
}

#[test]
fn creation_without_a_frame_has_no_geometry_yet() {
    let mut command = create_command();
    command.frame = None;
    let events = WorkOrder::default()
        .decide(WorkOrderCommand::CreateWorkOrder(Box::new(command)))
        .unwrap();
    let work_order = replay(events);
    assert!(work_order.geometry().is_none());
    assert!(work_order.refraction().is_some());
}

#[test]
fn creating_again_with_the_same_contents_changes_nothing() {
    Fixture::with(())
        .given(created())
        .when(create())
        .then_expect_events(vec![]);
}

#[test]
fn creating_again_with_other_contents_is_refused() {
    let mut command = create_command();
    command.lens = samples::single_vision_lens();
    Fixture::with(())
        .given(created())
        .when(WorkOrderCommand::CreateWorkOrder(Box::new(command)))
        .then_expect_error(WorkOrderError::AlreadyCreated);
}

#[test]
fn progressive_lenses_need_an_addition() {
    let mut command = create_command();
    command.job = samples::job_for(optical_optics::samples::single_vision_refraction(), None);
    Fixture::with(())
        .given_no_previous_events()
        .when(WorkOrderCommand::CreateWorkOrder(Box::new(command)))
        .then_expect_error(WorkOrderError::AdditionRequired {
            design: "progressive",
        });
}

#[test]
fn an_erased_patient_cannot_have_lenses_made() {
    let mut command = create_command();
    command.job.erase();
    Fixture::with(())
        .given_no_previous_events()
        .when(WorkOrderCommand::CreateWorkOrder(Box::new(command)))
        .then_expect_error(WorkOrderError::PatientErased(samples::patient_id()));
}

#[test]
fn another_tenants_work_order_is_not_found() {
    Fixture::with(())
        .given(created())
        .when(WorkOrderCommand::MoveToStage {
            tenant_id: TenantId::new(),
            to: LabStage::Surfacing,
            station_id: None,
            actor: actor(),
            now: t(1),
        })
        .then_expect_error(WorkOrderError::WorkOrderNotFound);
}

// --- stages -----------------------------------------------------------------------------

#[test]
fn moving_forward_emits_stage_changed_with_station_and_actor() {
    let station = samples::station_id();
    Fixture::with(())
        .given(created())
        .when(WorkOrderCommand::MoveToStage {
            tenant_id: tenant(),
            to: LabStage::Surfacing,
            station_id: Some(station),
            actor: actor(),
            now: t(5),
        })
        .then_expect_events(vec![change(
            Some(LabStage::Received),
            LabStage::Surfacing,
            5,
            Some(station),
            None,
        )]);
}

#[test]
fn stages_a_lens_does_not_need_may_be_skipped() {
    // A stock lens: no surfacing or coating, straight to edging.
    Fixture::with(())
        .given(created())
        .when(move_to(LabStage::Edging))
        .then_expect_events(vec![stage_changed(
            Some(LabStage::Received),
            LabStage::Edging,
            10,
        )]);
}

#[test]
fn final_inspection_cannot_be_skipped() {
    Fixture::with(())
        .given(at_stages(&[LabStage::Mounting]))
        .when(move_to(LabStage::Completed))
        .then_expect_error(WorkOrderError::StageNotSkippable {
            skipped: LabStage::FinalInspection,
            to: LabStage::Completed,
        });
}

#[test]
fn completion_cannot_be_skipped_on_the_way_to_shipping() {
    Fixture::with(())
        .given(passed_inspection())
        .when(move_to(LabStage::Shipped))
        .then_expect_error(WorkOrderError::StageNotSkippable {
            skipped: LabStage::Completed,
            to: LabStage::Shipped,
        });
}

#[test]
fn stages_are_never_reversed() {
    Fixture::with(())
        .given(at_stages(&[LabStage::Edging]))
        .when(move_to(LabStage::Coating))
        .then_expect_error(WorkOrderError::StageReversal {
            from: LabStage::Edging,
            to: LabStage::Coating,
        });
}

#[test]
fn moving_to_the_current_stage_again_changes_nothing() {
    Fixture::with(())
        .given(at_stages(&[LabStage::Edging]))
        .when(move_to(LabStage::Edging))
        .then_expect_events(vec![]);
}

#[test]
fn hold_and_cancel_are_not_moves() {
    Fixture::with(())
        .given(created())
        .when(move_to(LabStage::OnHold))
        .then_expect_error(WorkOrderError::NotAProductionStage(LabStage::OnHold));
}

#[test]
fn completion_needs_a_passed_inspection() {
    Fixture::with(())
        .given(at_inspection())
        .when(move_to(LabStage::Completed))
        .then_expect_error(WorkOrderError::InspectionNotPassed);
    Fixture::with(())
        .given(failed_inspection())
        .when(move_to(LabStage::Completed))
        .then_expect_error(WorkOrderError::InspectionNotPassed);
}

#[test]
fn a_passed_inspection_completes_and_ships() {
    let mut events = passed_inspection();
    events.push(stage_changed(
        Some(LabStage::FinalInspection),
        LabStage::Completed,
        21,
    ));
    Fixture::with(())
        .given(events)
        .when(move_to(LabStage::Shipped))
        .then_expect_events(vec![stage_changed(
            Some(LabStage::Completed),
            LabStage::Shipped,
            10,
        )]);
}

#[test]
fn a_shipped_work_order_moves_no_more() {
    let mut events = passed_inspection();
    events.push(stage_changed(
        Some(LabStage::FinalInspection),
        LabStage::Completed,
        21,
    ));
    events.push(stage_changed(
        Some(LabStage::Completed),
        LabStage::Shipped,
        22,
    ));
    Fixture::with(())
        .given(events.clone())
        .when(WorkOrderCommand::PutOnHold {
            tenant_id: tenant(),
            reason: reason("late"),
            actor: actor(),
            now: t(30),
        })
        .then_expect_error(WorkOrderError::Shipped);
    Fixture::with(())
        .given(events)
        .when(WorkOrderCommand::Cancel {
            tenant_id: tenant(),
            reason: reason("late"),
            actor: actor(),
            now: t(30),
        })
        .then_expect_error(WorkOrderError::Shipped);
}

// --- hold, resume, cancel ---------------------------------------------------------------

fn hold() -> WorkOrderCommand {
    WorkOrderCommand::PutOnHold {
        tenant_id: tenant(),
        reason: reason("Frame not delivered"),
        actor: actor(),
        now: t(10),
    }
}

fn held_at_coating() -> Vec<WorkOrderEvent> {
    let mut events = at_stages(&[LabStage::Coating]);
    events.push(change(
        Some(LabStage::Coating),
        LabStage::OnHold,
        5,
        None,
        Some(reason("Frame not delivered")),
    ));
    events
}

#[test]
fn holding_records_the_reason() {
    Fixture::with(())
        .given(at_stages(&[LabStage::Coating]))
        .when(hold())
        .then_expect_events(vec![change(
            Some(LabStage::Coating),
            LabStage::OnHold,
            10,
            None,
            Some(reason("Frame not delivered")),
        )]);
}

#[test]
fn holding_again_changes_nothing() {
    Fixture::with(())
        .given(held_at_coating())
        .when(hold())
        .then_expect_events(vec![]);
}

#[test]
fn a_held_work_order_does_not_move_until_resumed() {
    Fixture::with(())
        .given(held_at_coating())
        .when(move_to(LabStage::Edging))
        .then_expect_error(WorkOrderError::OnHold);
}

#[test]
fn resuming_returns_to_the_held_stage() {
    Fixture::with(())
        .given(held_at_coating())
        .when(WorkOrderCommand::Resume {
            tenant_id: tenant(),
            to: None,
            station_id: None,
            actor: actor(),
            now: t(10),
        })
        .then_expect_events(vec![stage_changed(
            Some(LabStage::OnHold),
            LabStage::Coating,
            10,
        )]);
}

#[test]
fn resuming_may_go_forward_but_never_back() {
    let resume = |to| WorkOrderCommand::Resume {
        tenant_id: tenant(),
        to: Some(to),
        station_id: None,
        actor: actor(),
        now: t(10),
    };
    Fixture::with(())
        .given(held_at_coating())
        .when(resume(LabStage::Edging))
        .then_expect_events(vec![stage_changed(
            Some(LabStage::OnHold),
            LabStage::Edging,
            10,
        )]);
    Fixture::with(())
        .given(held_at_coating())
        .when(resume(LabStage::Surfacing))
        .then_expect_error(WorkOrderError::StageReversal {
            from: LabStage::Coating,
            to: LabStage::Surfacing,
        });
}

#[test]
fn resuming_a_work_order_that_is_not_held_is_refused() {
    Fixture::with(())
        .given(created())
        .when(WorkOrderCommand::Resume {
            tenant_id: tenant(),
            to: None,
            station_id: None,
            actor: actor(),
            now: t(10),
        })
        .then_expect_error(WorkOrderError::NotOnHold);
}

fn cancel() -> WorkOrderCommand {
    WorkOrderCommand::Cancel {
        tenant_id: tenant(),
        reason: reason("Order cancelled"),
        actor: actor(),
        now: t(10),
    }
}

fn cancelled() -> Vec<WorkOrderEvent> {
    let mut events = created();
    events.push(change(
        Some(LabStage::Received),
        LabStage::Cancelled,
        3,
        None,
        Some(reason("Order cancelled")),
    ));
    events
}

#[test]
fn cancelling_records_the_reason_also_from_hold() {
    Fixture::with(())
        .given(held_at_coating())
        .when(cancel())
        .then_expect_events(vec![change(
            Some(LabStage::OnHold),
            LabStage::Cancelled,
            10,
            None,
            Some(reason("Order cancelled")),
        )]);
}

#[test]
fn cancelling_again_changes_nothing() {
    Fixture::with(())
        .given(cancelled())
        .when(cancel())
        .then_expect_events(vec![]);
}

#[test]
fn nothing_moves_a_cancelled_work_order() {
    for command in [
        move_to(LabStage::Surfacing),
        hold(),
        WorkOrderCommand::Resume {
            tenant_id: tenant(),
            to: None,
            station_id: None,
            actor: actor(),
            now: t(10),
        },
        WorkOrderCommand::MeasureFrame {
            tenant_id: tenant(),
            frame: samples::frame(),
            actor: actor(),
            now: t(10),
        },
        inspect(exact().0, exact().1),
    ] {
        Fixture::with(())
            .given(cancelled())
            .when(command)
            .then_expect_error(WorkOrderError::Cancelled);
    }
}

// --- frame ------------------------------------------------------------------------------

#[test]
fn measuring_the_frame_recomputes_the_geometry() {
    let frame = FrameSpec {
        boxing: optical_optics::BoxingMeasurements::new(54.0, 38.0, 17.0, 58.0).unwrap(),
        brand: None,
        model: None,
    };
    let geometry = LensGeometry::compute(&frame.boxing, &samples_refraction());
    Fixture::with(())
        .given(created())
        .when(WorkOrderCommand::MeasureFrame {
            tenant_id: tenant(),
            frame: frame.clone(),
            actor: actor(),
            now: t(2),
        })
        .then_expect_events(vec![WorkOrderEvent::FrameMeasured {
            work_order_id: samples::work_order_id(),
            frame: frame.clone(),
            geometry: Personal::new(samples::patient_id(), geometry),
            measured_by: actor(),
            measured_at: t(2),
        }]);
}

#[test]
fn the_frame_cannot_change_once_the_lenses_are_edged() {
    let frame = FrameSpec {
        brand: None,
        ..samples::frame()
    };
    Fixture::with(())
        .given(at_stages(&[LabStage::Edging]))
        .when(WorkOrderCommand::MeasureFrame {
            tenant_id: tenant(),
            frame,
            actor: actor(),
            now: t(2),
        })
        .then_expect_error(WorkOrderError::FrameTooLate(LabStage::Edging));
}

// --- inspection -------------------------------------------------------------------------

#[test]
fn readings_within_tolerance_pass() {
    let (right, left) = exact();
    let event = inspected(right, left);
    let WorkOrderEvent::WorkOrderInspected {
        table,
        passed,
        results,
        ..
    } = &event
    else {
        panic!("expected inspected, got {event:?}");
    };
    assert_eq!(*table, ToleranceTable::Progressive);
    assert!(passed);
    assert!(results.revealed().unwrap().right.passed);
    let work_order = replay(passed_inspection());
    assert!(work_order.inspection().unwrap().passed);
    assert!(work_order.remake_possible());
}

#[test]
fn a_reading_beyond_tolerance_fails_and_offers_a_remake() {
    let work_order = replay(failed_inspection());
    let inspection = work_order.inspection().unwrap();
    assert!(!inspection.passed);
    let results = inspection.results.revealed().unwrap();
    assert!(results.right.passed);
    assert!(!results.left.sphere.passed);
    assert!(work_order.remake_possible());
}

#[test]
fn single_vision_lenses_are_inspected_against_their_own_table() {
    let mut command = create_command();
    command.lens = samples::single_vision_lens();
    let mut work_order = WorkOrder::default();
    for event in work_order
        .decide(WorkOrderCommand::CreateWorkOrder(Box::new(command)))
        .unwrap()
    {
        work_order.apply(event);
    }
    work_order.apply(stage_changed(
        Some(LabStage::Received),
        LabStage::FinalInspection,
        1,
    ));
    let (right, left) = exact();
    let events = work_order.decide(inspect(right, left)).unwrap();
    assert!(matches!(
        events[0],
        WorkOrderEvent::WorkOrderInspected {
            table: ToleranceTable::SingleVisionMultifocal,
            ..
        }
    ));
}

#[test]
fn inspection_without_measurements_is_refused() {
    Fixture::with(())
        .given(at_inspection())
        .when(WorkOrderCommand::RecordInspection {
            tenant_id: tenant(),
            right: Some(exact().0),
            left: None,
            actor: actor(),
            now: t(20),
        })
        .then_expect_error(WorkOrderError::MeasurementsMissing("left"));
}

#[test]
fn inspection_without_the_add_reading_is_refused() {
    let (mut right, left) = exact();
    right.add = None;
    Fixture::with(())
        .given(at_inspection())
        .when(inspect(right, left))
        .then_expect_error(WorkOrderError::Inspection {
            eye: "right",
            error: optical_optics::InspectionError::MissingMeasurement { value: "add" },
        });
}

#[test]
fn inspection_happens_only_at_final_inspection() {
    Fixture::with(())
        .given(at_stages(&[LabStage::Mounting]))
        .when(inspect(exact().0, exact().1))
        .then_expect_error(WorkOrderError::NotAtFinalInspection(LabStage::Mounting));
}

#[test]
fn an_erased_job_cannot_be_inspected() {
    let mut events = at_inspection();
    if let WorkOrderEvent::WorkOrderCreated { job, .. } = &mut events[0] {
        job.erase();
    }
    Fixture::with(())
        .given(events)
        .when(inspect(exact().0, exact().1))
        .then_expect_error(WorkOrderError::PatientErased(samples::patient_id()));
}

// --- remakes ----------------------------------------------------------------------------

#[test]
fn a_failed_work_order_is_remade_and_stops() {
    Fixture::with(())
        .given(failed_inspection())
        .when(remake(RemakeReason::Power))
        .then_expect_events(vec![
            WorkOrderEvent::RemakeRequested {
                work_order_id: samples::work_order_id(),
                remake_id: samples::remake_id(),
                reason: RemakeReason::Power,
                notes: None,
                requested_by: actor(),
                requested_at: t(30),
            },
            change(
                Some(LabStage::FinalInspection),
                LabStage::Cancelled,
                30,
                None,
                Some(reason("remade (power)")),
            ),
        ]);
}

#[test]
fn a_shipped_work_order_is_remade_and_stays_shipped() {
    let mut events = passed_inspection();
    events.push(stage_changed(
        Some(LabStage::FinalInspection),
        LabStage::Completed,
        21,
    ));
    events.push(stage_changed(
        Some(LabStage::Completed),
        LabStage::Shipped,
        22,
    ));
    Fixture::with(())
        .given(events)
        .when(remake(RemakeReason::NonAdapt))
        .then_expect_events(vec![WorkOrderEvent::RemakeRequested {
            work_order_id: samples::work_order_id(),
            remake_id: samples::remake_id(),
            reason: RemakeReason::NonAdapt,
            notes: None,
            requested_by: actor(),
            requested_at: t(30),
        }]);
}

#[test]
fn a_work_order_that_never_reached_inspection_cannot_be_remade() {
    Fixture::with(())
        .given(at_stages(&[LabStage::Edging]))
        .when(remake(RemakeReason::Breakage))
        .then_expect_error(WorkOrderError::RemakeBeforeInspection);
}

#[test]
fn a_remake_is_requested_once() {
    let mut events = failed_inspection();
    events.push(WorkOrderEvent::RemakeRequested {
        work_order_id: samples::work_order_id(),
        remake_id: samples::remake_id(),
        reason: RemakeReason::Power,
        notes: None,
        requested_by: actor(),
        requested_at: t(30),
    });
    Fixture::with(())
        .given(events.clone())
        .when(remake(RemakeReason::Power))
        .then_expect_events(vec![]);
    Fixture::with(())
        .given(events)
        .when(remake(RemakeReason::Fit))
        .then_expect_error(WorkOrderError::AlreadyRemade(RemakeReason::Power));
}

#[test]
fn replay_keeps_the_history_of_every_stage() {
    let work_order = replay(held_at_coating());
    let stages: Vec<LabStage> = work_order.history().iter().map(|e| e.to).collect();
    assert_eq!(
        stages,
        vec![LabStage::Received, LabStage::Coating, LabStage::OnHold]
    );
    assert_eq!(work_order.held_from(), Some(LabStage::Coating));
}

#[test]
fn every_sample_event_survives_a_json_round_trip() {
    for event in samples::work_order_events() {
        let json = serde_json::to_value(&event).unwrap();
        let back: WorkOrderEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
