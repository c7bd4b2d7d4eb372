//! What distinguishes one variant from another, per product kind: frame geometry and style,
//! spectacle lens options, contact lens parameters. The lens values themselves (material,
//! index, design, coatings, tint) come from `optical-optics`, shared with Lab.

use crate::error::ValueError;
use crate::values::{
    Colour, FrameMaterial, FrameShape, Millimetres, ProductKind, ReplacementSchedule,
};
use optical_optics::{LensCoating, LensDesign, LensIndex, LensMaterial, Tint};
use serde::{Deserialize, Serialize};

/// Frame size in the boxing system (ISO 8624): the box around one lens shape (A wide, B high),
/// the distance between lenses (DBL), the effective diameter (ED, twice the longest radius
/// from the box centre) and the temple length. Labs compute decentration and blank size from it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FrameGeometryRepr")]
pub struct FrameGeometry {
    a_mm: Millimetres,
    b_mm: Millimetres,
    dbl_mm: Millimetres,
    ed_mm: Millimetres,
    temple_mm: Millimetres,
}

#[derive(Deserialize)]
struct FrameGeometryRepr {
    a_mm: f64,
    b_mm: f64,
    dbl_mm: f64,
    ed_mm: f64,
    temple_mm: f64,
}

impl TryFrom<FrameGeometryRepr> for FrameGeometry {
    type Error = ValueError;
    fn try_from(r: FrameGeometryRepr) -> Result<Self, Self::Error> {
        Self::new(r.a_mm, r.b_mm, r.dbl_mm, r.ed_mm, r.temple_mm)
    }
}

impl FrameGeometry {
    /// Validates each measurement against the range frames are made in (all inclusive):
    /// A 30–70, B 15–60, DBL 10–28, ED 30–80 and at least A and B, temple 100–160.
    pub fn new(
        a_mm: f64,
        b_mm: f64,
        dbl_mm: f64,
        ed_mm: f64,
        temple_mm: f64,
    ) -> Result<Self, ValueError> {
        let geometry = Self {
            a_mm: Millimetres::within(a_mm, "A (box width)", 30.0, 70.0)?,
            b_mm: Millimetres::within(b_mm, "B (box height)", 15.0, 60.0)?,
            dbl_mm: Millimetres::within(dbl_mm, "DBL (distance between lenses)", 10.0, 28.0)?,
            ed_mm: Millimetres::within(ed_mm, "ED (effective diameter)", 30.0, 80.0)?,
            temple_mm: Millimetres::within(temple_mm, "temple length", 100.0, 160.0)?,
        };
        // ED is a diameter through the box centre, so it can never be shorter than a box side.
        if ed_mm < a_mm || ed_mm < b_mm {
            return Err(ValueError::EffectiveDiameterTooSmall {
                ed: ed_mm,
                a: a_mm,
                b: b_mm,
            });
        }
        Ok(geometry)
    }

    pub fn a(&self) -> Millimetres {
        self.a_mm
    }

    pub fn b(&self) -> Millimetres {
        self.b_mm
    }

    pub fn dbl(&self) -> Millimetres {
        self.dbl_mm
    }

    pub fn ed(&self) -> Millimetres {
        self.ed_mm
    }

    pub fn temple(&self) -> Millimetres {
        self.temple_mm
    }

    /// Distance between the two box centres (A + DBL), the base of decentration.
    pub fn frame_pd_mm(&self) -> f64 {
        self.a_mm.get() + self.dbl_mm.get()
    }
}

/// A frame variant: its size and its look.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameAttributes {
    pub geometry: FrameGeometry,
    pub colour: Colour,
    pub shape: FrameShape,
    pub frame_material: FrameMaterial,
}

/// A spectacle lens option. Coatings are a set: listing one twice is refused rather than
/// silently merged, because it usually means the caller built the list wrongly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LensAttributesRepr")]
pub struct LensAttributes {
    material: LensMaterial,
    index: LensIndex,
    design: LensDesign,
    coatings: Vec<LensCoating>,
    tint: Option<Tint>,
}

#[derive(Deserialize)]
struct LensAttributesRepr {
    material: LensMaterial,
    index: LensIndex,
    design: LensDesign,
    coatings: Vec<LensCoating>,
    tint: Option<Tint>,
}

impl TryFrom<LensAttributesRepr> for LensAttributes {
    type Error = ValueError;
    fn try_from(r: LensAttributesRepr) -> Result<Self, Self::Error> {
        Self::new(r.material, r.index, r.design, r.coatings, r.tint)
    }
}

impl LensAttributes {
    pub fn new(
        material: LensMaterial,
        index: LensIndex,
        design: LensDesign,
        coatings: Vec<LensCoating>,
        tint: Option<Tint>,
    ) -> Result<Self, ValueError> {
        for (i, coating) in coatings.iter().enumerate() {
            if coatings[..i].contains(coating) {
                return Err(ValueError::DuplicateCoating(*coating));
            }
        }
        Ok(Self {
            material,
            index,
            design,
            coatings,
            tint,
        })
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
}

/// Contact lens parameters that define a distinct product to stock (powers come from the
/// prescription at order time, not from the catalog).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ContactLensAttributesRepr")]
pub struct ContactLensAttributes {
    base_curve_mm: Millimetres,
    diameter_mm: Millimetres,
    replacement_schedule: ReplacementSchedule,
}

#[derive(Deserialize)]
struct ContactLensAttributesRepr {
    base_curve_mm: f64,
    diameter_mm: f64,
    replacement_schedule: ReplacementSchedule,
}

impl TryFrom<ContactLensAttributesRepr> for ContactLensAttributes {
    type Error = ValueError;
    fn try_from(r: ContactLensAttributesRepr) -> Result<Self, Self::Error> {
        Self::new(r.base_curve_mm, r.diameter_mm, r.replacement_schedule)
    }
}

impl ContactLensAttributes {
    /// Base curve 8.0–9.5 mm and diameter 13.0–15.0 mm (inclusive): soft lenses on the market.
    pub fn new(
        base_curve_mm: f64,
        diameter_mm: f64,
        replacement_schedule: ReplacementSchedule,
    ) -> Result<Self, ValueError> {
        Ok(Self {
            base_curve_mm: Millimetres::within(base_curve_mm, "base curve", 8.0, 9.5)?,
            diameter_mm: Millimetres::within(diameter_mm, "contact lens diameter", 13.0, 15.0)?,
            replacement_schedule,
        })
    }

    pub fn base_curve(&self) -> Millimetres {
        self.base_curve_mm
    }

    pub fn diameter(&self) -> Millimetres {
        self.diameter_mm
    }

    pub fn replacement_schedule(&self) -> ReplacementSchedule {
        self.replacement_schedule
    }
}

/// The kind-specific part of a variant.
///
/// On the wire it is a record rather than a tagged union, because partners decode it with
/// Avro: `{"kind": "frame", "frame": {…}, "ophthalmic_lens": null, "contact_lens": null}`,
/// where exactly the member named by `kind` is set (none for accessory and digital).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "VariantAttributesRecord", into = "VariantAttributesRecord")]
pub enum VariantAttributes {
    Frame(FrameAttributes),
    OphthalmicLens(LensAttributes),
    ContactLens(ContactLensAttributes),
    Accessory,
    Digital,
}

impl VariantAttributes {
    /// The product kind these attributes belong to.
    pub fn kind(&self) -> ProductKind {
        match self {
            VariantAttributes::Frame(_) => ProductKind::Frame,
            VariantAttributes::OphthalmicLens(_) => ProductKind::OphthalmicLens,
            VariantAttributes::ContactLens(_) => ProductKind::ContactLens,
            VariantAttributes::Accessory => ProductKind::Accessory,
            VariantAttributes::Digital => ProductKind::Digital,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct VariantAttributesRecord {
    kind: ProductKind,
    frame: Option<FrameAttributes>,
    ophthalmic_lens: Option<LensAttributes>,
    contact_lens: Option<ContactLensAttributes>,
}

impl TryFrom<VariantAttributesRecord> for VariantAttributes {
    type Error = ValueError;
    fn try_from(r: VariantAttributesRecord) -> Result<Self, Self::Error> {
        use ProductKind as K;
        match (r.kind, r.frame, r.ophthalmic_lens, r.contact_lens) {
            (K::Frame, Some(frame), None, None) => Ok(Self::Frame(frame)),
            (K::OphthalmicLens, None, Some(lens), None) => Ok(Self::OphthalmicLens(lens)),
            (K::ContactLens, None, None, Some(contact)) => Ok(Self::ContactLens(contact)),
            (K::Accessory, None, None, None) => Ok(Self::Accessory),
            (K::Digital, None, None, None) => Ok(Self::Digital),
            (kind, ..) => Err(ValueError::AttributesShape(kind)),
        }
    }
}

impl From<VariantAttributes> for VariantAttributesRecord {
    fn from(attributes: VariantAttributes) -> Self {
        let mut record = Self {
            kind: attributes.kind(),
            frame: None,
            ophthalmic_lens: None,
            contact_lens: None,
        };
        match attributes {
            VariantAttributes::Frame(frame) => record.frame = Some(frame),
            VariantAttributes::OphthalmicLens(lens) => record.ophthalmic_lens = Some(lens),
            VariantAttributes::ContactLens(contact) => record.contact_lens = Some(contact),
            VariantAttributes::Accessory | VariantAttributes::Digital => {}
        }
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A 52 □ 18, B 40, ED 55, temple 145: a typical adult frame.
    fn geometry(
        a: f64,
        b: f64,
        dbl: f64,
        ed: f64,
        temple: f64,
    ) -> Result<FrameGeometry, ValueError> {
        FrameGeometry::new(a, b, dbl, ed, temple)
    }

    fn out_of_range(
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    ) -> Result<FrameGeometry, ValueError> {
        Err(ValueError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }

    #[test]
    fn box_width_a_accepts_30_to_70() {
        assert!(geometry(30.0, 25.0, 18.0, 35.0, 145.0).is_ok());
        assert!(geometry(70.0, 40.0, 18.0, 75.0, 145.0).is_ok());
        assert_eq!(
            geometry(29.9, 25.0, 18.0, 35.0, 145.0),
            out_of_range("A (box width)", 29.9, 30.0, 70.0)
        );
        assert_eq!(
            geometry(70.1, 40.0, 18.0, 75.0, 145.0),
            out_of_range("A (box width)", 70.1, 30.0, 70.0)
        );
    }

    #[test]
    fn box_height_b_accepts_15_to_60() {
        assert!(geometry(52.0, 15.0, 18.0, 55.0, 145.0).is_ok());
        assert!(geometry(62.0, 60.0, 18.0, 70.0, 145.0).is_ok());
        assert_eq!(
            geometry(52.0, 14.9, 18.0, 55.0, 145.0),
            out_of_range("B (box height)", 14.9, 15.0, 60.0)
        );
        assert_eq!(
            geometry(62.0, 60.1, 18.0, 70.0, 145.0),
            out_of_range("B (box height)", 60.1, 15.0, 60.0)
        );
    }

    #[test]
    fn bridge_dbl_accepts_10_to_28() {
        assert!(geometry(52.0, 40.0, 10.0, 55.0, 145.0).is_ok());
        assert!(geometry(52.0, 40.0, 28.0, 55.0, 145.0).is_ok());
        let field = "DBL (distance between lenses)";
        assert_eq!(
            geometry(52.0, 40.0, 9.9, 55.0, 145.0),
            out_of_range(field, 9.9, 10.0, 28.0)
        );
        assert_eq!(
            geometry(52.0, 40.0, 28.1, 55.0, 145.0),
            out_of_range(field, 28.1, 10.0, 28.0)
        );
    }

    #[test]
    fn effective_diameter_accepts_30_to_80() {
        assert!(geometry(30.0, 25.0, 18.0, 30.0, 145.0).is_ok());
        assert!(geometry(52.0, 40.0, 18.0, 80.0, 145.0).is_ok());
        let field = "ED (effective diameter)";
        assert_eq!(
            geometry(30.0, 25.0, 18.0, 29.9, 145.0),
            out_of_range(field, 29.9, 30.0, 80.0)
        );
        assert_eq!(
            geometry(52.0, 40.0, 18.0, 80.1, 145.0),
            out_of_range(field, 80.1, 30.0, 80.0)
        );
    }

    #[test]
    fn effective_diameter_below_a_or_b_is_rejected() {
        let too_small = |ed, a, b| Err(ValueError::EffectiveDiameterTooSmall { ed, a, b });
        assert_eq!(
            geometry(52.0, 40.0, 18.0, 51.9, 145.0),
            too_small(51.9, 52.0, 40.0)
        );
        assert_eq!(
            geometry(35.0, 45.0, 18.0, 44.0, 145.0),
            too_small(44.0, 35.0, 45.0)
        );
        assert!(geometry(52.0, 40.0, 18.0, 52.0, 145.0).is_ok());
    }

    #[test]
    fn temple_accepts_100_to_160() {
        assert!(geometry(52.0, 40.0, 18.0, 55.0, 100.0).is_ok());
        assert!(geometry(52.0, 40.0, 18.0, 55.0, 160.0).is_ok());
        assert_eq!(
            geometry(52.0, 40.0, 18.0, 55.0, 99.9),
            out_of_range("temple length", 99.9, 100.0, 160.0)
        );
        assert_eq!(
            geometry(52.0, 40.0, 18.0, 55.0, 160.1),
            out_of_range("temple length", 160.1, 100.0, 160.0)
        );
    }

    #[test]
    fn non_finite_geometry_is_rejected() {
        assert_eq!(
            geometry(-52.0, 40.0, 18.0, 55.0, 145.0),
            Err(ValueError::InvalidMeasurement(-52.0))
        );
        assert!(geometry(52.0, f64::NAN, 18.0, 55.0, 145.0).is_err());
    }

    #[test]
    fn geometry_serialises_as_numbers_and_is_validated_when_read_back() {
        let g = geometry(52.0, 40.0, 18.0, 55.5, 145.0).unwrap();
        let value =
            json!({"a_mm": 52.0, "b_mm": 40.0, "dbl_mm": 18.0, "ed_mm": 55.5, "temple_mm": 145.0});
        assert_eq!(serde_json::to_value(g).unwrap(), value);
        assert_eq!(serde_json::from_value::<FrameGeometry>(value).unwrap(), g);
        assert!(serde_json::from_value::<FrameGeometry>(
            json!({"a_mm": 52.0, "b_mm": 40.0, "dbl_mm": 18.0, "ed_mm": 50.0, "temple_mm": 145.0})
        )
        .is_err());
        assert_eq!(g.frame_pd_mm(), 70.0);
    }

    fn lens(coatings: Vec<LensCoating>) -> Result<LensAttributes, ValueError> {
        LensAttributes::new(
            LensMaterial::HighIndex,
            LensIndex::new(1.67).unwrap(),
            LensDesign::Progressive,
            coatings,
            None,
        )
    }

    #[test]
    fn lens_coatings_must_not_repeat() {
        assert!(lens(vec![LensCoating::AntiReflective, LensCoating::HardCoat]).is_ok());
        assert!(lens(vec![]).is_ok());
        assert_eq!(
            lens(vec![
                LensCoating::HardCoat,
                LensCoating::Mirror,
                LensCoating::HardCoat
            ]),
            Err(ValueError::DuplicateCoating(LensCoating::HardCoat))
        );
        let json = json!({"material": "cr39", "index": 1.5, "design": "single_vision",
            "coatings": ["mirror", "mirror"], "tint": null});
        assert!(serde_json::from_value::<LensAttributes>(json).is_err());
    }

    #[test]
    fn contact_lens_base_curve_accepts_8_to_9_5() {
        assert!(ContactLensAttributes::new(8.0, 14.0, ReplacementSchedule::Daily).is_ok());
        assert!(ContactLensAttributes::new(9.5, 14.0, ReplacementSchedule::Daily).is_ok());
        let err = |v| {
            Err(ValueError::OutOfRange {
                field: "base curve",
                value: v,
                min: 8.0,
                max: 9.5,
            })
        };
        assert_eq!(
            ContactLensAttributes::new(7.9, 14.0, ReplacementSchedule::Daily),
            err(7.9)
        );
        assert_eq!(
            ContactLensAttributes::new(9.6, 14.0, ReplacementSchedule::Daily),
            err(9.6)
        );
    }

    #[test]
    fn contact_lens_diameter_accepts_13_to_15() {
        assert!(ContactLensAttributes::new(8.6, 13.0, ReplacementSchedule::Monthly).is_ok());
        assert!(ContactLensAttributes::new(8.6, 15.0, ReplacementSchedule::Monthly).is_ok());
        let err = |v| {
            Err(ValueError::OutOfRange {
                field: "contact lens diameter",
                value: v,
                min: 13.0,
                max: 15.0,
            })
        };
        assert_eq!(
            ContactLensAttributes::new(8.6, 12.9, ReplacementSchedule::Monthly),
            err(12.9)
        );
        assert_eq!(
            ContactLensAttributes::new(8.6, 15.1, ReplacementSchedule::Monthly),
            err(15.1)
        );
        assert!(serde_json::from_value::<ContactLensAttributes>(
            json!({"base_curve_mm": 8.6, "diameter_mm": 16.0, "replacement_schedule": "daily"})
        )
        .is_err());
    }

    #[test]
    fn variant_attributes_serialise_as_a_record_with_one_member_set() {
        let contact =
            ContactLensAttributes::new(8.6, 14.2, ReplacementSchedule::TwoWeekly).unwrap();
        let attributes = VariantAttributes::ContactLens(contact);
        let json = json!({
            "kind": "contact_lens",
            "frame": null,
            "ophthalmic_lens": null,
            "contact_lens": {"base_curve_mm": 8.6, "diameter_mm": 14.2, "replacement_schedule": "two_weekly"},
        });
        assert_eq!(serde_json::to_value(&attributes).unwrap(), json);
        assert_eq!(
            serde_json::from_value::<VariantAttributes>(json).unwrap(),
            attributes
        );
        assert_eq!(
            serde_json::to_value(VariantAttributes::Accessory).unwrap(),
            json!({"kind": "accessory", "frame": null, "ophthalmic_lens": null, "contact_lens": null})
        );
    }

    #[test]
    fn variant_attributes_with_the_wrong_member_set_are_rejected() {
        let contact =
            json!({"base_curve_mm": 8.6, "diameter_mm": 14.2, "replacement_schedule": "daily"});
        for bad in [
            json!({"kind": "frame", "frame": null, "ophthalmic_lens": null, "contact_lens": contact}),
            json!({"kind": "digital", "frame": null, "ophthalmic_lens": null, "contact_lens": contact}),
            json!({"kind": "contact_lens", "frame": null, "ophthalmic_lens": null, "contact_lens": null}),
        ] {
            assert!(serde_json::from_value::<VariantAttributes>(bad).is_err());
        }
        let record = VariantAttributesRecord {
            kind: ProductKind::Frame,
            frame: None,
            ophthalmic_lens: None,
            contact_lens: None,
        };
        assert_eq!(
            VariantAttributes::try_from(record),
            Err(ValueError::AttributesShape(ProductKind::Frame))
        );
    }
}
