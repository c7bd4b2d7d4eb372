//! Example values and events for tests and codec checks in other crates: at least one
//! instance of every event variant, with every optional field set in one instance and `None`
//! in another.
//!
//! They exercise shapes, not a story. The personal fields are in their revealed form, as
//! domain code writes them; the event store seals them before they are stored or published.

use crate::print_job::{PrintFailure, PrintJobEvent, PrintJobId};
use crate::station::{
    PaperWidth, Printer, PrinterProtocol, StationEvent, StationSettings, StationStages,
    TicketFormat,
};
use crate::values::{
    Actor, FrameLabel, FrameSpec, LabJob, LabStage, LensLabel, LensSpec, Notes, PatientInitials,
    Reason, RemakeOrigin, RemakeReason, StationId, StationName, WorkOrderId, WorkOrderNumber,
};
use crate::work_order::{InspectionResults, WorkOrderEvent};
use chrono::{DateTime, NaiveDate, Utc};
use optical_kernel::{OrderId, PatientId, Personal, PrescriptionId, TenantId};
use optical_optics::{
    inspect_eye, samples as rx, BoxingMeasurements, Dioptres, LensCoating, LensDesign,
    LensGeometry, LensIndex, LensMaterial, MeasuredEye, MeasuredPrism, PrismBase, Refraction, Tint,
    ToleranceTable,
};
use uuid::Uuid;

/// Samples are built from literals known to be valid, so a failure is a bug in this file;
/// this crate's own tests build every sample and would catch it first.
#[allow(clippy::expect_used)]
fn valid<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.expect("sample literals are valid")
}

// Fixed UUIDv7 values, shared with the other contexts' samples where they name the same thing.
const TENANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0001;
const ORDER: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0701;
const PATIENT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0b01;
const PRESCRIPTION: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0c01;
const WORK_ORDER: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0d01;
const REMAKE: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0d02;
const WALK_IN: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0d03;
const STATION: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0e01;
const PRINT_JOB: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0f01;
/// 2025-01-15T10:30:00Z.
const AT_SECONDS: i64 = 1_736_937_000;

pub fn tenant_id() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(TENANT))
}

pub fn order_id() -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(ORDER))
}

pub fn patient_id() -> PatientId {
    PatientId::from_uuid(Uuid::from_u128(PATIENT))
}

pub fn prescription_id() -> PrescriptionId {
    PrescriptionId::from_uuid(Uuid::from_u128(PRESCRIPTION))
}

pub fn work_order_id() -> WorkOrderId {
    WorkOrderId::from_uuid(Uuid::from_u128(WORK_ORDER))
}

pub fn remake_id() -> WorkOrderId {
    WorkOrderId::from_uuid(Uuid::from_u128(REMAKE))
}

/// A walk-in job: no order, a frame of unknown brand and model.
pub fn walk_in_id() -> WorkOrderId {
    WorkOrderId::from_uuid(Uuid::from_u128(WALK_IN))
}

pub fn station_id() -> StationId {
    StationId::from_uuid(Uuid::from_u128(STATION))
}

pub fn number() -> WorkOrderNumber {
    valid(WorkOrderNumber::new(42))
}

pub fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(AT_SECONDS, 0).unwrap_or_default()
}

pub fn actor() -> Actor {
    valid(Actor::new("user:lab-tech-7"))
}

/// The textbook frame: A 52, B 40, DBL 18, ED 56 (frame PD 70).
pub fn boxing() -> BoxingMeasurements {
    valid(BoxingMeasurements::new(52.0, 40.0, 18.0, 56.0))
}

pub fn frame() -> FrameSpec {
    FrameSpec {
        boxing: boxing(),
        brand: Some(valid(FrameLabel::new("Lindberg"))),
        model: Some(valid(FrameLabel::new("Strip 9704"))),
    }
}

/// The textbook frame, of unknown brand and model.
pub fn unlabelled_frame() -> FrameSpec {
    FrameSpec {
        brand: None,
        model: None,
        ..frame()
    }
}

/// A progressive high-index lens with AR and hard coat, no tint.
pub fn progressive_lens() -> LensSpec {
    valid(LensSpec::new(
        Some(valid(LensLabel::new("Varilux X 1.67 (LENS-PAL-167)"))),
        LensMaterial::HighIndex,
        valid(LensIndex::new(1.67)),
        LensDesign::Progressive,
        vec![LensCoating::AntiReflective, LensCoating::HardCoat],
        None,
    ))
}

/// A single-vision polycarbonate lens with a tint and no description.
pub fn single_vision_lens() -> LensSpec {
    valid(LensSpec::new(
        None,
        LensMaterial::Polycarbonate,
        valid(LensIndex::new(1.59)),
        LensDesign::SingleVision,
        vec![],
        Some(valid(Tint::new("grey 15%"))),
    ))
}

pub fn initials() -> PatientInitials {
    valid(PatientInitials::of_name("Jana van Dijk"))
}

/// The progressive sample prescription, with geometry for the textbook frame.
pub fn job() -> Personal<LabJob> {
    job_for(rx::refraction(), Some(&boxing()))
}

pub fn job_for(refraction: Refraction, frame: Option<&BoxingMeasurements>) -> Personal<LabJob> {
    let geometry = frame.map(|f| LensGeometry::compute(f, &refraction));
    Personal::new(
        patient_id(),
        LabJob {
            patient_initials: initials(),
            refraction,
            geometry,
        },
    )
}

/// Lensmeter readings equal to what was ordered on `eye` of `refraction`.
pub fn exact_reading(eye: &optical_optics::EyeRx) -> MeasuredEye {
    MeasuredEye {
        sphere: eye.sphere().dioptres(),
        cylinder: eye.cylinder().dioptres(),
        axis: eye.axis(),
        add: eye.add().map(|a| a.dioptres()),
        prism: eye.prism().map(|p| MeasuredPrism {
            amount: p.amount.dioptres(),
            base: p.base,
        }),
    }
}

pub fn printer() -> Printer {
    valid(Printer::new(
        PrinterProtocol::EscposTcp,
        "10.0.4.21:9100",
        PaperWidth::Roll80,
        vec![TicketFormat::Escpos, TicketFormat::Pdf],
    ))
}

pub fn ipp_printer() -> Printer {
    valid(Printer::new(
        PrinterProtocol::Ipp,
        "ipp://cups.lab.local:631/printers/inspection",
        PaperWidth::A6,
        vec![TicketFormat::Pdf],
    ))
}

pub fn station_settings() -> StationSettings {
    StationSettings {
        name: valid(StationName::new("Edger 2")),
        stages: valid(StationStages::new([LabStage::Edging, LabStage::Mounting])),
        printer: printer(),
    }
}

/// Every work order event shape: every optional field set in one instance and `None` in
/// another.
pub fn work_order_events() -> Vec<WorkOrderEvent> {
    let refraction = rx::refraction();
    let results = InspectionResults {
        right: valid(inspect_eye(
            ToleranceTable::Progressive,
            refraction.right(),
            &exact_reading(refraction.right()),
        )),
        left: valid(inspect_eye(
            ToleranceTable::Progressive,
            refraction.left(),
            &MeasuredEye {
                sphere: Dioptres::from_micro(1_100_000),
                prism: Some(MeasuredPrism {
                    amount: Dioptres::from_micro(250_000),
                    base: PrismBase::Down,
                }),
                ..exact_reading(refraction.left())
            },
        )),
    };
    vec![
        WorkOrderEvent::WorkOrderCreated {
            tenant_id: tenant_id(),
            work_order_id: work_order_id(),
            number: number(),
            order_id: Some(order_id()),
            prescription_id: prescription_id(),
            job: job(),
            frame: Some(frame()),
            lens: progressive_lens(),
            due_on: NaiveDate::from_ymd_opt(2025, 1, 20),
            notes: Some(valid(Notes::new("Thin edges, polish"))),
            remake_of: None,
            created_by: actor(),
            created_at: at(),
        },
        WorkOrderEvent::WorkOrderCreated {
            tenant_id: tenant_id(),
            work_order_id: remake_id(),
            number: valid(WorkOrderNumber::new(43)),
            order_id: None,
            prescription_id: prescription_id(),
            job: job_for(rx::lab_refraction(), None),
            frame: None,
            lens: single_vision_lens(),
            due_on: None,
            notes: None,
            remake_of: Some(RemakeOrigin {
                work_order_id: work_order_id(),
                number: number(),
                reason: RemakeReason::Power,
            }),
            created_by: Actor::system("lab"),
            created_at: at(),
        },
        WorkOrderEvent::WorkOrderCreated {
            tenant_id: tenant_id(),
            work_order_id: walk_in_id(),
            number: valid(WorkOrderNumber::new(44)),
            order_id: None,
            prescription_id: prescription_id(),
            job: job(),
            frame: Some(unlabelled_frame()),
            lens: progressive_lens(),
            due_on: None,
            notes: None,
            remake_of: None,
            created_by: actor(),
            created_at: at(),
        },
        WorkOrderEvent::StageChanged {
            work_order_id: work_order_id(),
            number: number(),
            order_id: Some(order_id()),
            from: None,
            to: LabStage::Received,
            station_id: None,
            actor: actor(),
            reason: None,
            changed_at: at(),
        },
        WorkOrderEvent::StageChanged {
            work_order_id: work_order_id(),
            number: number(),
            order_id: None,
            from: Some(LabStage::Edging),
            to: LabStage::OnHold,
            station_id: Some(station_id()),
            actor: actor(),
            reason: Some(valid(Reason::new("Waiting for the frame"))),
            changed_at: at(),
        },
        WorkOrderEvent::FrameMeasured {
            work_order_id: work_order_id(),
            frame: frame(),
            geometry: Personal::new(patient_id(), LensGeometry::compute(&boxing(), &refraction)),
            measured_by: actor(),
            measured_at: at(),
        },
        WorkOrderEvent::FrameMeasured {
            work_order_id: work_order_id(),
            frame: unlabelled_frame(),
            geometry: Personal::new(patient_id(), LensGeometry::compute(&boxing(), &refraction)),
            measured_by: actor(),
            measured_at: at(),
        },
        WorkOrderEvent::WorkOrderInspected {
            work_order_id: work_order_id(),
            table: ToleranceTable::Progressive,
            passed: results.right.passed && results.left.passed,
            results: Personal::new(patient_id(), results),
            inspected_by: actor(),
            inspected_at: at(),
        },
        WorkOrderEvent::RemakeRequested {
            work_order_id: work_order_id(),
            remake_id: remake_id(),
            reason: RemakeReason::NonAdapt,
            notes: Some(valid(Notes::new("Swims on the stairs"))),
            requested_by: actor(),
            requested_at: at(),
        },
        WorkOrderEvent::RemakeRequested {
            work_order_id: work_order_id(),
            remake_id: remake_id(),
            reason: RemakeReason::Breakage,
            notes: None,
            requested_by: actor(),
            requested_at: at(),
        },
    ]
}

/// Every station event shape.
pub fn station_events() -> Vec<StationEvent> {
    vec![
        StationEvent::StationCreated {
            tenant_id: tenant_id(),
            station_id: station_id(),
            settings: station_settings(),
            created_at: at(),
        },
        StationEvent::StationChanged {
            station_id: station_id(),
            settings: StationSettings {
                name: valid(StationName::new("Final inspection")),
                stages: valid(StationStages::new([LabStage::FinalInspection])),
                printer: ipp_printer(),
            },
            changed_at: at(),
        },
    ]
}

pub fn print_job_id() -> PrintJobId {
    PrintJobId::from_uuid(Uuid::from_u128(PRINT_JOB))
}

/// Every print job event shape.
pub fn print_job_events() -> Vec<PrintJobEvent> {
    vec![PrintJobEvent::PrintJobFailed {
        tenant_id: tenant_id(),
        print_job_id: print_job_id(),
        work_order_id: work_order_id(),
        work_order_number: number(),
        station_id: station_id(),
        stage: LabStage::Edging,
        reprint: 1,
        attempts: 8,
        error: valid(PrintFailure::new("printer not ready: paper end")),
        failed_at: at(),
    }]
}

/// Every event type the lab can emit, `lab.work_order.<past_tense>`,
/// `lab.station.<past_tense>` and `lab.print_job.<past_tense>`.
pub fn all_event_types() -> Vec<&'static str> {
    WorkOrderEvent::EVENT_TYPES
        .into_iter()
        .chain(StationEvent::EVENT_TYPES)
        .chain(PrintJobEvent::EVENT_TYPES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::DomainEvent;
    use optical_contract_check::{
        check_event_schemas, codes, in_schema_order, Contract, Sample, SchemaDir,
    };
    use optical_kernel::personal::seal_all;
    use optical_kernel::PersonalEnvelopeError;
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet};

    /// Every sample of both aggregates: its event type and its stored JSON, revealed.
    fn samples() -> Vec<(String, Value)> {
        fn stored<E: DomainEvent>(events: Vec<E>) -> impl Iterator<Item = (String, Value)> {
            events
                .into_iter()
                .map(|e| (e.event_type(), serde_json::to_value(&e).unwrap()))
        }
        stored(work_order_events())
            .chain(stored(station_events()))
            .chain(stored(print_job_events()))
            .collect()
    }

    /// Personal data sealed as the event store stores and publishes it; how many envelopes.
    fn sealed(mut json: Value) -> (Value, usize) {
        let count = seal_all(&mut json, &mut |_, _| {
            Ok::<_, PersonalEnvelopeError>(String::from("opaque"))
        })
        .unwrap();
        (json, count)
    }

    /// The variant name and the body inside the externally tagged `{"Variant": {…}}`.
    fn untagged(json: Value) -> (String, Value) {
        let Value::Object(map) = json else {
            panic!("events serialise as objects");
        };
        assert_eq!(map.len(), 1, "externally tagged");
        map.into_iter().next().unwrap()
    }

    #[test]
    fn event_types_are_unique_and_named_by_context_aggregate_and_past_tense() {
        let types = all_event_types();
        assert_eq!(types.len(), 8);
        assert_eq!(types.iter().collect::<BTreeSet<_>>().len(), types.len());
        for event_type in types {
            let parts: Vec<&str> = event_type.split('.').collect();
            assert!(
                matches!(parts[..], ["lab", "work_order" | "station" | "print_job", fact] if !fact.is_empty()
                    && fact.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
                "{event_type}"
            );
        }
    }

    #[test]
    fn samples_cover_every_event_type() {
        let sampled: BTreeSet<String> = samples().into_iter().map(|(t, _)| t).collect();
        let all: BTreeSet<String> = all_event_types().into_iter().map(str::to_owned).collect();
        assert_eq!(sampled, all);
    }

    #[test]
    fn personal_fields_are_envelopes_and_everything_else_is_clear() {
        let personal = BTreeMap::from([
            ("lab.work_order.created", "job"),
            ("lab.work_order.frame_measured", "geometry"),
            ("lab.work_order.inspected", "results"),
        ]);
        for (event_type, json) in samples() {
            let (_, body) = untagged(json.clone());
            if let Some(field) = personal.get(event_type.as_str()) {
                assert_eq!(body[field]["sealed_for"], patient_id().to_string());
                assert!(body[field]["plaintext"].is_object(), "{event_type}");
            }
            let (sealed, count) = sealed(json);
            assert_eq!(
                count,
                usize::from(personal.contains_key(event_type.as_str())),
                "{event_type}"
            );
            let text = sealed.to_string();
            for secret in [
                "J. V. D.",
                "patient_initials",
                "refraction",
                "sphere",
                "near_pd",
                "frame_pd_mm",
                "decentration_mm",
                "deviation",
            ] {
                assert!(!text.contains(secret), "{event_type}: {secret} leaks");
            }
        }
    }

    fn schemas() -> SchemaDir {
        SchemaDir::new(env!("CARGO_MANIFEST_DIR"), "lab")
    }

    fn schema_of(event_type: &str) -> (String, Value) {
        schemas().schema_of(event_type)
    }

    #[test]
    fn every_event_type_has_a_schema_that_its_sealed_samples_conform_to() {
        let samples: Vec<Sample> = samples()
            .into_iter()
            .map(|(t, json)| (t, untagged(sealed(json).0)))
            .collect();
        let contract = check_event_schemas(&schemas(), "optical.lab", &all_event_types(), &samples);
        // The lens vocabulary is optics', shared with Catalog: the same symbols as Catalog's
        // enums of the same names.
        contract.assert_enums(BTreeMap::from([
            (
                "optical.lab.LabStage",
                codes(LabStage::ALL, LabStage::as_str),
            ),
            (
                "optical.lab.RemakeReason",
                codes(RemakeReason::ALL, RemakeReason::as_str),
            ),
            (
                "optical.lab.ToleranceTable",
                codes(ToleranceTable::ALL, ToleranceTable::as_str),
            ),
            (
                "optical.lab.LensMaterial",
                codes(LensMaterial::ALL, LensMaterial::as_str),
            ),
            (
                "optical.lab.LensDesign",
                codes(LensDesign::ALL, LensDesign::as_str),
            ),
            (
                "optical.lab.LensCoating",
                codes(LensCoating::ALL, LensCoating::as_str),
            ),
            (
                "optical.lab.PrinterProtocol",
                codes(PrinterProtocol::ALL, PrinterProtocol::as_str),
            ),
            (
                "optical.lab.PaperWidth",
                codes(PaperWidth::ALL, PaperWidth::as_str),
            ),
            (
                "optical.lab.TicketFormat",
                codes(TicketFormat::ALL, TicketFormat::as_str),
            ),
        ]));
        contract.assert_sealed_envelopes(&SEALED_RECORDS);
    }

    /// The Avro records that stand for a sealed [`Personal`] envelope.
    const SEALED_RECORDS: [&str; 3] = [
        "optical.lab.SealedLabJob",
        "optical.lab.SealedLensGeometry",
        "optical.lab.SealedInspectionResults",
    ];

    /// The event with its personal data erased, as a reader sees it after erasure.
    fn erased(mut event: WorkOrderEvent) -> WorkOrderEvent {
        match &mut event {
            WorkOrderEvent::WorkOrderCreated { job, .. } => job.erase(),
            WorkOrderEvent::FrameMeasured { geometry, .. } => geometry.erase(),
            WorkOrderEvent::WorkOrderInspected { results, .. } => results.erase(),
            WorkOrderEvent::StageChanged { .. } | WorkOrderEvent::RemakeRequested { .. } => {}
        }
        event
    }

    #[test]
    fn schema_fields_are_declared_in_the_order_serde_writes_them() {
        let mut contract = Contract::default();
        for event_type in all_event_types() {
            contract.define(&schema_of(event_type).1, "", &mut BTreeSet::new());
        }
        let events = work_order_events()
            .into_iter()
            .map(erased)
            .map(|e| (e.event_type(), serde_json::to_string(&e).unwrap()))
            .chain(
                station_events()
                    .into_iter()
                    .map(|e| (e.event_type(), serde_json::to_string(&e).unwrap())),
            );
        for (event_type, text) in events {
            let (file, schema) = schema_of(&event_type);
            let (variant, body) = untagged(serde_json::from_str(&text).unwrap());
            let rebuilt =
                in_schema_order(&schema, &body, &contract.named, "", &SEALED_RECORDS).unwrap();
            assert_eq!(
                text,
                format!("{{{}:{rebuilt}}}", Value::from(variant)),
                "{file}"
            );
        }
    }
}
