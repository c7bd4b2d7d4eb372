//! A work order as a job in the Vision Council's Data Communication Standard (DCS, the "VCA"
//! format): `LABEL=right;left` text records, CRLF line endings, the format lab management
//! systems and tracers exchange jobs in.
//!
//! Values are written the way DCS expects them: powers in dioptres with two decimals (three
//! for eighth-dioptre lab values), axes in whole degrees, lengths in millimetres with two
//! decimals, prism bases as angles in the 360° notation seen from the front (0° toward the
//! patient's left, 90° up: base in is 0° on the right lens and 180° on the left). A value a
//! job does not have is left empty (`SEGHT=;` on single vision lenses). The lens labels use
//! the codes listed in ADR 0015, since DCS leaves material names to each lab's vocabulary.

use crate::values::{LabJob, LensSpec};
use crate::work_order::WorkOrder;
use optical_kernel::{PatientId, Personal};
use optical_optics::{
    Dioptres, Eye, EyeRx, LensDesign, LensMaterial, Millimetres, NearPupillaryDistance, Prism,
    PrismBase, PupillaryDistance,
};
use std::fmt::{self, Write as _};
use thiserror::Error;

/// Why a job cannot be exported.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DcsError {
    #[error("the work order does not exist")]
    NoWorkOrder,
    #[error("the patient {0} was erased; the prescription can no longer be exported")]
    PatientErased(PatientId),
}

/// One DCS record: a label and its value, or its right and left values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DcsRecord {
    pub label: &'static str,
    pub values: DcsValues,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DcsValues {
    /// One value for the job (`JOB`, `DO`, `DBL`).
    Single(String),
    /// `right;left`.
    PerEye(String, String),
}

/// A job as DCS records, in the order they are written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DcsJob {
    records: Vec<DcsRecord>,
}

impl DcsJob {
    pub fn records(&self) -> &[DcsRecord] {
        &self.records
    }

    /// The value(s) of a label, if the job has it.
    pub fn get(&self, label: &str) -> Option<&DcsValues> {
        self.records
            .iter()
            .find(|r| r.label == label)
            .map(|r| &r.values)
    }
}

/// `LABEL=value` lines, each ended by CR LF.
impl fmt::Display for DcsJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for record in &self.records {
            match &record.values {
                DcsValues::Single(value) => write!(f, "{}={}\r\n", record.label, value)?,
                DcsValues::PerEye(right, left) => {
                    write!(f, "{}={};{}\r\n", record.label, right, left)?;
                }
            }
        }
        Ok(())
    }
}

/// DCS separates with `;` and ends records with CR LF: neither may appear inside a value.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c == ';' || c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn dioptres(value: Dioptres) -> String {
    let micro = value.micro();
    let sign = if micro < 0 { "-" } else { "" };
    let abs = micro.unsigned_abs();
    let (whole, fraction) = (abs / 1_000_000, abs % 1_000_000);
    if fraction % 10_000 == 0 {
        format!("{sign}{whole}.{:02}", fraction / 10_000)
    } else {
        format!("{sign}{whole}.{:03}", fraction / 1_000)
    }
}

fn millimetres(value: Millimetres) -> String {
    let tenths = value.tenths();
    format!("{}.{}0", tenths / 10, tenths % 10)
}

/// Half of a binocular distance, to two decimals (63.5 → 31.75).
fn half(value: Millimetres) -> String {
    let hundredths = value.tenths() * 5;
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

fn per_eye(label: &'static str, f: impl Fn(Eye) -> String) -> DcsRecord {
    DcsRecord {
        label,
        values: DcsValues::PerEye(f(Eye::Right), f(Eye::Left)),
    }
}

fn single(label: &'static str, value: String) -> DcsRecord {
    DcsRecord {
        label,
        values: DcsValues::Single(value),
    }
}

/// The prism base as a DCS angle, seen from the front.
fn base_angle(eye: Eye, base: PrismBase) -> u16 {
    match (eye, base) {
        (Eye::Right, PrismBase::In) | (Eye::Left, PrismBase::Out) => 0,
        (_, PrismBase::Up) => 90,
        (Eye::Right, PrismBase::Out) | (Eye::Left, PrismBase::In) => 180,
        (_, PrismBase::Down) => 270,
    }
}

fn lens_type(design: LensDesign) -> &'static str {
    match design {
        LensDesign::SingleVision => "SV",
        LensDesign::Bifocal => "FT",
        LensDesign::Progressive => "PR",
    }
}

fn material_type(material: LensMaterial) -> &'static str {
    match material {
        LensMaterial::Cr39 => "CR39",
        LensMaterial::Polycarbonate => "POLY",
        LensMaterial::Trivex => "TRIVEX",
        LensMaterial::MidIndex => "MIDINDEX",
        LensMaterial::HighIndex => "HIINDEX",
        LensMaterial::Glass => "GLASS",
    }
}

fn distance_pd(pd: &PupillaryDistance, eye: Eye) -> String {
    match pd {
        PupillaryDistance::Binocular(pd) => half(pd.millimetres()),
        PupillaryDistance::Monocular { right, left } => millimetres(match eye {
            Eye::Right => right.millimetres(),
            Eye::Left => left.millimetres(),
        }),
    }
}

fn near_pd(pd: Option<&NearPupillaryDistance>, eye: Eye) -> String {
    match pd {
        None => String::new(),
        Some(NearPupillaryDistance::Binocular(pd)) => half(pd.millimetres()),
        Some(NearPupillaryDistance::Monocular { right, left }) => millimetres(match eye {
            Eye::Right => right.millimetres(),
            Eye::Left => left.millimetres(),
        }),
    }
}

fn lens_records(lens: &LensSpec, records: &mut Vec<DcsRecord>) {
    let both = |label, value: String| per_eye(label, |_| value.clone());
    records.push(both("LTYP", lens_type(lens.design()).to_owned()));
    if let Some(description) = lens.description() {
        records.push(both("LDNAM", clean(description.as_str())));
    }
    records.push(both("LMATTYPE", material_type(lens.material()).to_owned()));
    records.push(both("LIND", lens.index().to_string()));
    let coatings: Vec<&str> = lens.coatings().iter().map(|c| c.as_str()).collect();
    records.push(both("COAT", clean(&coatings.join(","))));
    records.push(both(
        "TINT",
        lens.tint().map(|t| clean(t.as_str())).unwrap_or_default(),
    ));
}

fn rx_records(job: &LabJob, records: &mut Vec<DcsRecord>) {
    let rx = &job.refraction;
    let eye = |e: Eye| -> &EyeRx { rx.eye(e) };
    records.push(per_eye("SPH", |e| dioptres(eye(e).sphere().dioptres())));
    records.push(per_eye("CYL", |e| dioptres(eye(e).cylinder().dioptres())));
    records.push(per_eye("AX", |e| {
        eye(e)
            .axis()
            .map(|a| a.degrees().to_string())
            .unwrap_or_default()
    }));
    records.push(per_eye("ADD", |e| {
        eye(e)
            .add()
            .map(|a| dioptres(a.dioptres()))
            .unwrap_or_default()
    }));
    let prism = |e: Eye| -> Option<Prism> { eye(e).prism() };
    records.push(per_eye("PRVM", |e| {
        dioptres(prism(e).map_or(Dioptres::ZERO, |p| p.amount.dioptres()))
    }));
    records.push(per_eye("PRVA", |e| {
        prism(e).map_or(0, |p| base_angle(e, p.base)).to_string()
    }));
    records.push(per_eye("IPD", |e| distance_pd(rx.pd(), e)));
    records.push(per_eye("NPD", |e| near_pd(rx.near_pd(), e)));
    records.push(per_eye("SEGHT", |e| {
        eye(e)
            .segment_height()
            .map(|h| millimetres(h.millimetres()))
            .unwrap_or_default()
    }));
}

/// The work order's job in DCS records: `JOB`, `DO`, the lens labels, the prescription, the
/// PDs and heights, and the frame's boxing (empty until the frame is measured).
pub fn job(work_order: &WorkOrder) -> Result<DcsJob, DcsError> {
    let (Some(number), Some(personal), Some(lens)) =
        (work_order.number(), work_order.job(), work_order.lens())
    else {
        return Err(DcsError::NoWorkOrder);
    };
    let job = match personal {
        Personal::Revealed { data, .. } => data,
        Personal::Erased { subject } => return Err(DcsError::PatientErased(*subject)),
    };
    let mut records = vec![single("JOB", number.to_string()), single("DO", "B".into())];
    lens_records(lens, &mut records);
    rx_records(job, &mut records);
    let boxing = work_order.frame().map(|f| f.boxing);
    let frame_value = |f: fn(&optical_optics::BoxingMeasurements) -> Millimetres| {
        boxing
            .as_ref()
            .map(|b| millimetres(f(b)))
            .unwrap_or_default()
    };
    let (hbox, vbox, fed) = (
        frame_value(|b| b.a()),
        frame_value(|b| b.b()),
        frame_value(|b| b.ed()),
    );
    records.push(per_eye("HBOX", |_| hbox.clone()));
    records.push(per_eye("VBOX", |_| vbox.clone()));
    records.push(single("DBL", frame_value(|b| b.dbl())));
    records.push(per_eye("FED", |_| fed.clone()));
    Ok(DcsJob { records })
}

/// The job as DCS text, ready to send or download.
pub fn text(work_order: &WorkOrder) -> Result<String, DcsError> {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write!(out, "{}", job(work_order)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dioptres_are_written_with_two_or_three_decimals() {
        assert_eq!(dioptres(Dioptres::from_eighths(-18)), "-2.25");
        assert_eq!(dioptres(Dioptres::from_eighths(1)), "0.125");
        assert_eq!(dioptres(Dioptres::ZERO), "0.00");
        assert_eq!(dioptres(Dioptres::from_eighths(32)), "4.00");
    }

    #[test]
    fn lengths_are_written_with_two_decimals() {
        assert_eq!(millimetres(Millimetres::from_tenths(315)), "31.50");
        assert_eq!(half(Millimetres::from_tenths(635)), "31.75");
        assert_eq!(half(Millimetres::from_tenths(640)), "32.00");
    }

    #[test]
    fn prism_bases_become_angles_seen_from_the_front() {
        assert_eq!(base_angle(Eye::Right, PrismBase::In), 0);
        assert_eq!(base_angle(Eye::Left, PrismBase::In), 180);
        assert_eq!(base_angle(Eye::Right, PrismBase::Out), 180);
        assert_eq!(base_angle(Eye::Left, PrismBase::Out), 0);
        assert_eq!(base_angle(Eye::Left, PrismBase::Up), 90);
        assert_eq!(base_angle(Eye::Right, PrismBase::Down), 270);
    }

    #[test]
    fn separators_never_leak_into_values() {
        assert_eq!(clean("Varilux; X\r\nseries"), "Varilux  X  series");
    }
}
