//! Value objects of the lab. Every value is validated when built, and deserialisation goes
//! through the same checks, so an invalid value can neither enter through a command nor come
//! back from storage.

use crate::error::ValueError;
use optical_optics::{
    BoxingMeasurements, LensCoating, LensDesign, LensGeometry, LensIndex, LensMaterial, Refraction,
    Tint, ToleranceTable,
};
use serde::{Deserialize, Serialize};
use std::fmt;

optical_kernel::typed_id!(
    /// Identifies a lab work order: one pair of lenses made for one frame.
    WorkOrderId
);
optical_kernel::typed_id!(
    /// Identifies a lab station (a bench, a machine, a desk) and its printer.
    StationId
);

wire_enum!(
    /// Where a work order is. The production stages run in declaration order from `received`
    /// to `shipped`; `on_hold` pauses one of them and `cancelled` ends the job.
    LabStage {
        Received => "received",
        /// Generating the prescription on the back surface of a semi-finished blank.
        Surfacing => "surfacing",
        Coating => "coating",
        /// Cutting the lens to the frame's shape.
        Edging => "edging",
        Mounting => "mounting",
        FinalInspection => "final_inspection",
        Completed => "completed",
        Shipped => "shipped",
        OnHold => "on_hold",
        Cancelled => "cancelled",
    }
);

impl LabStage {
    /// The production stages, in the only order a job may move through them.
    pub const PRODUCTION: [LabStage; 8] = [
        LabStage::Received,
        LabStage::Surfacing,
        LabStage::Coating,
        LabStage::Edging,
        LabStage::Mounting,
        LabStage::FinalInspection,
        LabStage::Completed,
        LabStage::Shipped,
    ];

    /// The position of a production stage; `None` for `on_hold` and `cancelled`.
    pub fn rank(self) -> Option<usize> {
        Self::PRODUCTION.iter().position(|s| *s == self)
    }

    pub fn is_production(self) -> bool {
        self.rank().is_some()
    }

    /// Stages a lens may not need and so may be skipped; every other stage must be passed.
    pub fn is_skippable(self) -> bool {
        matches!(
            self,
            LabStage::Surfacing | LabStage::Coating | LabStage::Edging | LabStage::Mounting
        )
    }
}

wire_enum!(
    /// Why a work order is made again.
    RemakeReason {
        /// The patient was measured wrongly (PD, heights).
        Measurement => "measurement",
        /// The lenses' powers are wrong.
        Power => "power",
        /// The glasses do not fit the frame or the face.
        Fit => "fit",
        /// The patient cannot adapt to the lenses (typically a progressive design).
        NonAdapt => "non_adapt",
        Breakage => "breakage",
        LabError => "lab_error",
        DoctorError => "doctor_error",
    }
);

bounded_text!(
    /// Who did something in the lab: the user's subject from the token, or `system:<process>`.
    Actor, field = "actor", max = 200
);

impl Actor {
    /// The actor of facts a process decides on its own.
    pub fn system(process: &str) -> Self {
        Self(format!("system:{process}"))
    }
}

bounded_text!(
    /// Why a job was held or cancelled, in the staff's words.
    Reason, field = "reason", max = 500
);

bounded_text!(
    /// Free-text notes for the bench (edging notes, remake details).
    Notes, field = "notes", max = 1000
);

bounded_text!(
    /// A station's name as the lab knows it ("Edger 2", "Front desk").
    StationName, field = "station name", max = 100
);

bounded_text!(
    /// A frame's brand or model as printed on the ticket.
    FrameLabel, field = "frame brand or model", max = 100
);

bounded_text!(
    /// The lens product as sold (name and SKU), for the bench and the ticket.
    LensLabel, field = "lens description", max = 300
);

/// The human number of a work order, `WO-000042`: unique per tenant, printed as a barcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkOrderNumber(u32);

impl WorkOrderNumber {
    const PREFIX: &'static str = "WO-";

    pub fn new(value: u32) -> Result<Self, ValueError> {
        if value == 0 {
            return Err(ValueError::WorkOrderNumberZero);
        }
        Ok(Self(value))
    }

    pub fn value(self) -> u32 {
        self.0
    }
}

impl fmt::Display for WorkOrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:06}", Self::PREFIX, self.0)
    }
}

impl TryFrom<String> for WorkOrderNumber {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let digits = s
            .strip_prefix(Self::PREFIX)
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| ValueError::InvalidWorkOrderNumber(s.clone()))?;
        let value = digits
            .parse()
            .map_err(|_| ValueError::InvalidWorkOrderNumber(s.clone()))?;
        Self::new(value)
    }
}

impl From<WorkOrderNumber> for String {
    fn from(number: WorkOrderNumber) -> String {
        number.to_string()
    }
}

/// A patient's initials, the only trace of their name on paper in the lab ("J. D.").
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PatientInitials(String);

impl PatientInitials {
    /// The initials of each word of a full name, at most four: "Jana van Dijk" → "J. V. D.".
    pub fn of_name(full_name: &str) -> Result<Self, ValueError> {
        let initials: Vec<String> = full_name
            .split_whitespace()
            .filter_map(|word| word.chars().find(|c| c.is_alphabetic()))
            .flat_map(char::to_uppercase)
            .take(4)
            .map(|c| format!("{c}."))
            .collect();
        if initials.is_empty() {
            return Err(ValueError::Empty {
                field: "patient initials",
            });
        }
        Ok(Self(initials.join(" ")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PatientInitials {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        // Stored initials are re-derived, so a full name can never hide in this field.
        let valid = !value.is_empty()
            && value.chars().count() <= 11
            && value
                .split(' ')
                .all(|part| part.chars().count() == 2 && part.ends_with('.'));
        if valid {
            Ok(Self(value))
        } else {
            Err(ValueError::InvalidInitials(value))
        }
    }
}

impl From<PatientInitials> for String {
    fn from(value: PatientInitials) -> String {
        value.0
    }
}

impl fmt::Display for PatientInitials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The frame the lenses are made for: its boxing measurements and, when known, what it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FrameSpec {
    pub boxing: BoxingMeasurements,
    pub brand: Option<FrameLabel>,
    pub model: Option<FrameLabel>,
}

/// The lenses to make, as chosen on the order (or at the lab counter).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "LensSpecRepr")]
pub struct LensSpec {
    description: Option<LensLabel>,
    material: LensMaterial,
    index: LensIndex,
    design: LensDesign,
    coatings: Vec<LensCoating>,
    tint: Option<Tint>,
}

#[derive(Deserialize)]
struct LensSpecRepr {
    description: Option<LensLabel>,
    material: LensMaterial,
    index: LensIndex,
    design: LensDesign,
    coatings: Vec<LensCoating>,
    tint: Option<Tint>,
}

impl TryFrom<LensSpecRepr> for LensSpec {
    type Error = ValueError;
    fn try_from(r: LensSpecRepr) -> Result<Self, Self::Error> {
        Self::new(
            r.description,
            r.material,
            r.index,
            r.design,
            r.coatings,
            r.tint,
        )
    }
}

impl LensSpec {
    /// Coatings are a set: one listed twice is refused, as Catalog does.
    pub fn new(
        description: Option<LensLabel>,
        material: LensMaterial,
        index: LensIndex,
        design: LensDesign,
        coatings: Vec<LensCoating>,
        tint: Option<Tint>,
    ) -> Result<Self, ValueError> {
        for (i, coating) in coatings.iter().enumerate() {
            if coatings[..i].contains(coating) {
                return Err(ValueError::DuplicateCoating(coating.as_str()));
            }
        }
        Ok(Self {
            description,
            material,
            index,
            design,
            coatings,
            tint,
        })
    }

    pub fn description(&self) -> Option<&LensLabel> {
        self.description.as_ref()
    }

    pub fn material(&self) -> LensMaterial {
        self.material
    }

    pub fn index(&self) -> LensIndex {
        self.index
    }

    pub fn design(&self) -> LensDesign {
        self.design
    }

    pub fn coatings(&self) -> &[LensCoating] {
        &self.coatings
    }

    pub fn tint(&self) -> Option<&Tint> {
        self.tint.as_ref()
    }

    /// The ANSI Z80.1 table the finished lenses are inspected against.
    pub fn tolerance_table(&self) -> ToleranceTable {
        match self.design {
            LensDesign::Progressive => ToleranceTable::Progressive,
            LensDesign::SingleVision | LensDesign::Bifocal => {
                ToleranceTable::SingleVisionMultifocal
            }
        }
    }

    /// Bifocal and progressive lenses are made to an addition.
    pub fn needs_addition(&self) -> bool {
        !matches!(self.design, LensDesign::SingleVision)
    }
}

/// The personal part of a work order, sealed for the patient in storage and on the wire:
/// whose initials go on the ticket, the prescription to make, and the geometry derived from
/// the patient's PD.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabJob {
    pub patient_initials: PatientInitials,
    pub refraction: Refraction,
    /// Decentration, minimum blank and induced prism per eye; `None` until the frame is known.
    pub geometry: Option<LensGeometry>,
}

/// Where a work order came from: an order's lenses, a walk-in job, or a remake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RemakeOrigin {
    pub work_order_id: WorkOrderId,
    pub number: WorkOrderNumber,
    pub reason: RemakeReason,
}
