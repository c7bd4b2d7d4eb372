//! Catalog domain: the Product and Variant aggregates (separate event streams), their
//! commands, events (`catalog.product.*`, `catalog.variant.*`) and the value objects they are
//! made of — SKU, names, frame geometry in the boxing system, lens and contact lens attributes.
//!
//! Owns: the rules that decide whether a catalog change may happen, and the shape of the facts
//! it records. Every value is validated when built and again when deserialised.
//!
//! Must never: perform I/O (no SQL, Kafka, HTTP), read a clock (time travels in event
//! metadata), or depend on another context's crate (`optical-optics` is shared vocabulary,
//! not a context: the lens material, design, coatings, index and tint come from there). Cross-aggregate facts, such as the
//! product a variant belongs to, are passed in by the application as [`ProductRef`].
//!
//! The published Avro contract for these events lives in `schemas/avro/catalog/`; the
//! [`samples`] module gives one instance of every event shape for codec tests.

mod attributes;
mod error;
mod product;
pub mod samples;
mod values;
mod variant;

pub use attributes::{
    ContactLensAttributes, FrameAttributes, FrameGeometry, LensAttributes, VariantAttributes,
};
pub use error::{CatalogError, ValueError};
/// The lens vocabulary is shared with Lab, so it lives in `optical-optics`; re-exported here so
/// that `optical_catalog::LensMaterial` and friends keep working.
pub use optical_optics::{LensCoating, LensDesign, LensIndex, LensMaterial, Tint};
pub use product::{Product, ProductCommand, ProductEvent, ProductId, ProductRef};
pub use values::{
    Brand, Colour, FrameMaterial, FrameShape, FulfillmentType, Millimetres, ProductDescription,
    ProductKind, ProductName, PublicationStatus, ReplacementSchedule, Sku,
};
pub use variant::{Variant, VariantCommand, VariantEvent, VariantId};
