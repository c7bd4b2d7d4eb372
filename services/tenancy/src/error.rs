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
    #[error("{field} must be between {min} and {max}, got {value}")]
    OutOfRange {
        field: &'static str,
        value: u32,
        min: u32,
        max: u32,
    },
    #[error("store code `{code}` contains `{character}`; only A-Z, 0-9 and `-` are allowed")]
    InvalidStoreCodeCharacter { code: String, character: char },
    #[error(
        "`{0}` is not a locale tag: expected a 2-3 letter language, optionally followed by `-` \
         and a 2-letter or 3-digit region (e.g. `en-GB`, `de`, `es-419`)"
    )]
    InvalidLocale(String),
}

impl ValueError {
    /// Stable, machine-readable code (the `code` of a problem+json response).
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::Empty { .. } => "value_empty",
            ValueError::TooLong { .. } => "value_too_long",
            ValueError::OutOfRange { .. } => "value_out_of_range",
            ValueError::InvalidStoreCodeCharacter { .. } => "invalid_store_code",
            ValueError::InvalidLocale(_) => "invalid_locale",
        }
    }
}

/// Why a tenancy command was refused.
///
/// Another tenant's aggregate is always answered with the `*NotFound` of that aggregate, never
/// with a distinct "forbidden", so that ids do not leak across tenants.
#[derive(Debug, Error, PartialEq)]
pub enum TenancyError {
    #[error("tenant already exists")]
    TenantAlreadyExists,
    #[error("tenant not found")]
    TenantNotFound,

    #[error("store already exists")]
    StoreAlreadyExists,
    #[error("store not found")]
    StoreNotFound,
    #[error("store is closed")]
    StoreClosed,

    #[error("location already exists")]
    LocationAlreadyExists,
    #[error("location not found")]
    LocationNotFound,
    #[error("location is inactive")]
    LocationInactive,

    #[error("vendor already exists")]
    VendorAlreadyExists,
    #[error("vendor not found")]
    VendorNotFound,
    #[error("vendor is suspended")]
    VendorSuspended,
    #[error("vendor is not suspended")]
    VendorNotSuspended,
    #[error("a store in a mall tenant must be run by a vendor")]
    VendorRequired,
    #[error(
        "vendors exist only in mall tenants; in a single-brand tenant the store is its own vendor"
    )]
    VendorsRequireMallTenant,
}

impl TenancyError {
    /// Stable, machine-readable code (the `code` of a problem+json response).
    pub fn code(&self) -> &'static str {
        match self {
            TenancyError::TenantAlreadyExists => "tenant_already_exists",
            TenancyError::TenantNotFound => "tenant_not_found",
            TenancyError::StoreAlreadyExists => "store_already_exists",
            TenancyError::StoreNotFound => "store_not_found",
            TenancyError::StoreClosed => "store_closed",
            TenancyError::LocationAlreadyExists => "location_already_exists",
            TenancyError::LocationNotFound => "location_not_found",
            TenancyError::LocationInactive => "location_inactive",
            TenancyError::VendorAlreadyExists => "vendor_already_exists",
            TenancyError::VendorNotFound => "vendor_not_found",
            TenancyError::VendorSuspended => "vendor_suspended",
            TenancyError::VendorNotSuspended => "vendor_not_suspended",
            TenancyError::VendorRequired => "vendor_required",
            TenancyError::VendorsRequireMallTenant => "vendors_require_mall_tenant",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_snake_case() {
        use TenancyError::*;
        let tenancy = [
            TenantAlreadyExists,
            TenantNotFound,
            StoreAlreadyExists,
            StoreNotFound,
            StoreClosed,
            LocationAlreadyExists,
            LocationNotFound,
            LocationInactive,
            VendorAlreadyExists,
            VendorNotFound,
            VendorSuspended,
            VendorNotSuspended,
            VendorRequired,
            VendorsRequireMallTenant,
        ]
        .map(|e| e.code());
        let value = [
            ValueError::Empty { field: "f" },
            ValueError::TooLong {
                field: "f",
                max: 1,
                actual: 2,
            },
            ValueError::OutOfRange {
                field: "f",
                value: 0,
                min: 1,
                max: 2,
            },
            ValueError::InvalidStoreCodeCharacter {
                code: "a b".into(),
                character: ' ',
            },
            ValueError::InvalidLocale("x".into()),
        ]
        .map(|e| e.code());
        let all: Vec<&str> = tenancy.iter().chain(&value).copied().collect();
        assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), all.len());
        for code in all {
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
    }
}
