use crate::values::{FulfillmentType, LensCoating, ProductKind};
use optical_kernel::{Currency, Money};
use thiserror::Error;

/// A value that cannot exist: raised when a value object is constructed or deserialised.
#[derive(Debug, Error, PartialEq)]
pub enum ValueError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters, got {actual}")]
    TooLong {
        field: &'static str,
        max: usize,
        actual: usize,
    },
    #[error("SKU `{sku}` contains `{character}`; only A-Z, 0-9, `-`, `_` and `.` are allowed")]
    InvalidSkuCharacter { sku: String, character: char },
    #[error("a measurement must be a finite, positive number of millimetres, got {0}")]
    InvalidMeasurement(f64),
    #[error("{field} must be between {min} and {max} mm, got {value}")]
    OutOfRange {
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error(
        "ED ({ed} mm) must be at least A ({a} mm) and B ({b} mm): the lens must fit its own box"
    )]
    EffectiveDiameterTooSmall { ed: f64, a: f64, b: f64 },
    #[error("lens index {0} is not offered; use one of 1.50, 1.53, 1.56, 1.59, 1.60, 1.67, 1.74, 1.80, 1.90")]
    UnsupportedLensIndex(f64),
    #[error("coating `{0}` is listed more than once")]
    DuplicateCoating(LensCoating),
    #[error(
        "variant attributes of kind `{0}` must carry exactly the details of that kind \
         (`frame`, `ophthalmic_lens` or `contact_lens`; none for accessory and digital)"
    )]
    AttributesShape(ProductKind),
}

/// Why a catalog command was refused.
#[derive(Debug, Error, PartialEq)]
pub enum CatalogError {
    #[error("product already exists")]
    ProductAlreadyExists,
    /// Also answered for another tenant's product, so that ids do not leak across tenants.
    #[error("product not found")]
    ProductNotFound,
    #[error("a `{kind}` product must use `{expected}` fulfillment, not `{requested}`")]
    FulfillmentMismatch {
        kind: ProductKind,
        expected: FulfillmentType,
        requested: FulfillmentType,
    },
    #[error("product is already published")]
    ProductAlreadyPublished,
    #[error("product is not published")]
    ProductNotPublished,
    #[error("product is archived and can no longer change")]
    ProductArchived,

    #[error("variant already exists")]
    VariantAlreadyExists,
    /// Also answered for another tenant's variant, so that ids do not leak across tenants.
    #[error("variant not found")]
    VariantNotFound,
    #[error("the product given is not the product this variant belongs to")]
    ProductMismatch,
    #[error("`{attributes}` attributes do not fit a `{product}` product")]
    AttributesKindMismatch {
        product: ProductKind,
        attributes: ProductKind,
    },
    #[error("compare-at price is in {compare_at} but the price is in {price}")]
    CompareAtCurrencyMismatch {
        price: Currency,
        compare_at: Currency,
    },
    #[error("compare-at price ({compare_at}) must be greater than the price ({price})")]
    CompareAtNotAbovePrice { price: Money, compare_at: Money },
    #[error("variant is already published")]
    VariantAlreadyPublished,
    #[error("variant is not published")]
    VariantNotPublished,
    #[error("variant is archived and can no longer change")]
    VariantArchived,
}
