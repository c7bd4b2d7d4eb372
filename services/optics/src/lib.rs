//! Optical vocabulary shared by Customers, Orders and Lab: the values of a prescription
//! ([`Sphere`], [`Cylinder`], [`Axis`], [`Addition`], [`Prism`], [`PupillaryDistance`],
//! [`SegmentHeight`]), one eye's [`EyeRx`] and the two-eye [`Refraction`], their validation,
//! and transposition between plus- and minus-cylinder form.
//!
//! Owns: the optical rules of a prescription. Powers come in 0.25 D steps (0.125 D for lab
//! data, see [`Precision`]); sphere and cylinder stay within configured
//! [`PrescriptionLimits`]; an axis of 1–180 is present exactly when the cylinder is not zero;
//! an add is +0.75…+4.00 D; PD is 50–80 mm binocular or 25–40 mm per eye; a segment height is
//! 10–35 mm. A [`Refraction`] is stored canonically in minus-cylinder form; plus-cylinder input
//! is transposed. Values are exact integers inside (micro-dioptres, tenths of a millimetre),
//! never floats; every value is validated when built and again when deserialised.
//! [`Refraction::parse`] turns raw input into a refraction and reports every invalid field
//! at once, each under its JSON pointer (`/right/sphere`, `/left/axis`, `/pd`, …).
//!
//! Must never: perform I/O, read a clock, or depend on another context's crate: it is pure
//! vocabulary, used by aggregates and adapters alike. Whose prescription it is, when it was
//! issued and whether it is still valid belong to Customers, not here.
//!
//! The spectacle-lens vocabulary ([`LensMaterial`], [`LensDesign`], [`LensCoating`], the
//! offered [`LensIndex`] and a [`Tint`]) lives here too, so that Catalog (what is sold) and Lab
//! (what is made) speak of the same lens without depending on each other.
//!
//! For the lab it computes lens geometry — frame PD, per-eye [`Decentration`], minimum blank
//! size and the prism decentration induces (Prentice), see [`LensGeometry::compute`] — and
//! inspects a finished lens against ANSI Z80.1-2015 tolerances ([`inspect_eye`]), recording
//! the applied [`Tolerance`] and a verdict per value.
//!
//! The [`samples`] module gives typical refractions for other crates' tests.

mod distance;
mod error;
mod geometry;
mod lens;
mod power;
mod refraction;
pub mod samples;
mod tolerance;
mod values;

pub use distance::{
    BinocularPd, Millimetres, MonocularPd, NearBinocularPd, NearMonocularPd, NearPupillaryDistance,
    PdInput, PupillaryDistance, SegmentHeight,
};
pub use error::{FieldError, OpticsError};
pub use geometry::{
    decentration, horizontal_power, induced_prism, minimum_blank, BoxingMeasurements, Decentration,
    EyeGeometry, InducedPrism, LensGeometry,
};
pub use lens::{LensCoating, LensDesign, LensIndex, LensMaterial, Tint};
pub use power::{Addition, Cylinder, Dioptres, Precision, PrescriptionLimits, PrismAmount, Sphere};
pub use refraction::{CylinderForm, EyeInput, EyeRx, PrismInput, Refraction, RefractionInput};
pub use tolerance::{
    add_tolerance, axis_tolerance, cylinder_tolerance, inspect_eye, prism_tolerance,
    sphere_tolerance, AxisCheck, EyeInspection, InspectionError, MeasuredEye, MeasuredPrism,
    PowerCheck, PrismCheck, Tolerance, ToleranceTable,
};
pub use values::{Axis, Eye, Prism, PrismBase};
