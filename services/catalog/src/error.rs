use crate::values::{FulfillmentType, ProductKind};
use optical_kernel::{Currency, Money};
use optical_optics::{LensCoating, OpticsError};
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
    /// An optical rule from `optical-optics` that has no catalog counterpart of its own.
    #[error(transparent)]
    Optics(OpticsError),
}

/// Lens values are built by `optical-optics`; their errors become the catalog's own variants,
/// so that codes and messages stay what Catalog has always answered.
impl From<OpticsError> for ValueError {
    fn from(error: OpticsError) -> Self {
        match error {
            OpticsError::UnsupportedLensIndex { value } => ValueError::UnsupportedLensIndex(value),
            OpticsError::EmptyText { field } => ValueError::Empty { field },
            OpticsError::TextTooLong { field, max, actual } => {
                ValueError::TooLong { field, max, actual }
            }
            other => ValueError::Optics(other),
        }
    }
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

impl ValueError {
    /// Stable, machine-readable code of the rule broken.
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::Empty { .. } => "value_empty",
            ValueError::TooLong { .. } => "value_too_long",
            ValueError::InvalidSkuCharacter { .. } => "invalid_sku_character",
            ValueError::InvalidMeasurement(_) => "invalid_measurement",
            ValueError::OutOfRange { .. } => "value_out_of_range",
            ValueError::EffectiveDiameterTooSmall { .. } => "effective_diameter_too_small",
            ValueError::UnsupportedLensIndex(_) => "unsupported_lens_index",
            ValueError::DuplicateCoating(_) => "duplicate_coating",
            ValueError::AttributesShape(_) => "attributes_shape_invalid",
            ValueError::Optics(error) => error.code(),
        }
    }
}

impl CatalogError {
    /// Stable, machine-readable code (the `code` of a problem+json response).
    pub fn code(&self) -> &'static str {
        match self {
            CatalogError::ProductAlreadyExists => "product_already_exists",
            CatalogError::ProductNotFound => "product_not_found",
            CatalogError::FulfillmentMismatch { .. } => "fulfillment_mismatch",
            CatalogError::ProductAlreadyPublished => "product_already_published",
            CatalogError::ProductNotPublished => "product_not_published",
            CatalogError::ProductArchived => "product_archived",
            CatalogError::VariantAlreadyExists => "variant_already_exists",
            CatalogError::VariantNotFound => "variant_not_found",
            CatalogError::ProductMismatch => "product_mismatch",
            CatalogError::AttributesKindMismatch { .. } => "attributes_kind_mismatch",
            CatalogError::CompareAtCurrencyMismatch { .. } => "compare_at_currency_mismatch",
            CatalogError::CompareAtNotAbovePrice { .. } => "compare_at_not_above_price",
            CatalogError::VariantAlreadyPublished => "variant_already_published",
            CatalogError::VariantNotPublished => "variant_not_published",
            CatalogError::VariantArchived => "variant_archived",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use optical_optics::{LensIndex, Tint};
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_snake_case() {
        use CatalogError::*;
        use ProductKind as K;
        let eur: Currency = "EUR".parse().unwrap();
        let money = |minor| Money::new(minor, eur).unwrap();
        let catalog = [
            ProductAlreadyExists,
            ProductNotFound,
            FulfillmentMismatch {
                kind: K::Frame,
                expected: FulfillmentType::Physical,
                requested: FulfillmentType::Digital,
            },
            ProductAlreadyPublished,
            ProductNotPublished,
            ProductArchived,
            VariantAlreadyExists,
            VariantNotFound,
            ProductMismatch,
            AttributesKindMismatch {
                product: K::Frame,
                attributes: K::Digital,
            },
            CompareAtCurrencyMismatch {
                price: eur,
                compare_at: "USD".parse().unwrap(),
            },
            CompareAtNotAbovePrice {
                price: money(2),
                compare_at: money(1),
            },
            VariantAlreadyPublished,
            VariantNotPublished,
            VariantArchived,
        ]
        .map(|e| e.code());
        let value = [
            ValueError::Empty { field: "f" },
            ValueError::TooLong {
                field: "f",
                max: 1,
                actual: 2,
            },
            ValueError::InvalidSkuCharacter {
                sku: "a b".into(),
                character: ' ',
            },
            ValueError::InvalidMeasurement(0.0),
            ValueError::OutOfRange {
                field: "f",
                value: 0.0,
                min: 1.0,
                max: 2.0,
            },
            ValueError::EffectiveDiameterTooSmall {
                ed: 1.0,
                a: 2.0,
                b: 1.0,
            },
            ValueError::UnsupportedLensIndex(1.0),
            ValueError::DuplicateCoating(LensCoating::Mirror),
            ValueError::AttributesShape(K::Frame),
            ValueError::Optics(OpticsError::AxisRequired),
        ]
        .map(|e| e.code());
        let all: Vec<&str> = catalog.iter().chain(&value).copied().collect();
        assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), all.len());
        for code in all {
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
    }

    /// Lens values moved to `optical-optics`; their errors must still read and code as before.
    #[test]
    fn lens_value_errors_keep_their_catalog_codes_and_messages() {
        let index: ValueError = LensIndex::new(1.55).unwrap_err().into();
        assert_eq!(index, ValueError::UnsupportedLensIndex(1.55));
        assert_eq!(index.code(), "unsupported_lens_index");
        assert_eq!(
            index.to_string(),
            "lens index 1.55 is not offered; use one of 1.50, 1.53, 1.56, 1.59, 1.60, 1.67, \
             1.74, 1.80, 1.90"
        );
        assert_eq!(
            LensIndex::new(1.55).unwrap_err().to_string(),
            index.to_string()
        );

        let empty: ValueError = Tint::new(" ").unwrap_err().into();
        assert_eq!(empty, ValueError::Empty { field: "tint" });
        assert_eq!(empty.code(), "value_empty");
        assert_eq!(empty.to_string(), "tint must not be empty");

        let long = Tint::new("t".repeat(65)).unwrap_err();
        assert_eq!(
            long.to_string(),
            "tint must be at most 64 characters, got 65"
        );
        let long: ValueError = long.into();
        assert_eq!(
            long,
            ValueError::TooLong {
                field: "tint",
                max: 64,
                actual: 65
            }
        );
        assert_eq!(long.code(), "value_too_long");

        let other: ValueError = OpticsError::AxisRequired.into();
        assert_eq!(other.code(), "axis_required");
        assert_eq!(other.to_string(), OpticsError::AxisRequired.to_string());
    }
}
