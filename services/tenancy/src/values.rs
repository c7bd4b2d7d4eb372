//! Value objects and closed vocabularies (enums) of tenancy.
//!
//! Every value is validated when built, and deserialisation goes through the same checks,
//! so an invalid value can neither enter through a command nor come back from storage.

use crate::error::ValueError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Declares a trimmed, non-empty text value with a maximum length in characters.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, field = $field:literal, max = $max:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
                let trimmed = value.as_ref().trim();
                let chars = trimmed.chars().count();
                if chars == 0 {
                    return Err(ValueError::Empty { field: $field });
                }
                if chars > $max {
                    return Err(ValueError::TooLong { field: $field, max: $max, actual: chars });
                }
                Ok(Self(trimmed.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

bounded_text!(
    /// The tenant's display name (the retail chain or the mall operator).
    TenantName, field = "tenant name", max = 200
);
bounded_text!(
    /// What staff and customers call the store.
    StoreName, field = "store name", max = 200
);
bounded_text!(
    /// What staff call a stock location ("Front window", "Lab shelf B").
    LocationName, field = "location name", max = 200
);
bounded_text!(
    /// The vendor's trading name inside a mall.
    VendorName, field = "vendor name", max = 200
);
bounded_text!(
    /// Why a vendor was suspended, for the audit trail and the vendor's own back office.
    SuspensionReason, field = "suspension reason", max = 500
);

/// Short store code printed on tickets and receipts: 1–20 characters of `A-Z 0-9 -`, stored
/// upper-case so that `ber-1` and `BER-1` are the same code on every printout.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StoreCode(String);

impl StoreCode {
    pub const MAX_CHARS: usize = 20;

    pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
        let raw = value.as_ref();
        // ASCII-only upper-casing: Unicode rules would turn `ß` into a valid `SS`.
        let code = raw.to_ascii_uppercase();
        if code.is_empty() {
            return Err(ValueError::Empty {
                field: "store code",
            });
        }
        if let Some(character) = code
            .chars()
            .find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(ValueError::InvalidStoreCodeCharacter {
                code: raw.to_owned(),
                character,
            });
        }
        // Only ASCII is left, so bytes are characters.
        if code.len() > Self::MAX_CHARS {
            return Err(ValueError::TooLong {
                field: "store code",
                max: Self::MAX_CHARS,
                actual: code.len(),
            });
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StoreCode {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<StoreCode> for String {
    fn from(value: StoreCode) -> String {
        value.0
    }
}

impl fmt::Display for StoreCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A BCP-47-style locale: a 2–3 letter language, optionally `-` and a 2-letter or 3-digit
/// (UN M.49) region, e.g. `en-GB`, `de`, `es-419`. Stored in canonical case (`en-gb` becomes
/// `en-GB`) so that equal locales compare equal. Scripts and variants are not needed for the
/// documents we render, and are refused rather than half-supported.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocaleTag(String);

impl LocaleTag {
    pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
        let raw = value.as_ref();
        let invalid = || ValueError::InvalidLocale(raw.to_owned());
        let (language, region) = match raw.split_once('-') {
            Some((language, region)) => (language, Some(region)),
            None => (raw, None),
        };
        if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic())
        {
            return Err(invalid());
        }
        let mut tag = language.to_ascii_lowercase();
        match region {
            None => {}
            Some(r) if r.len() == 2 && r.chars().all(|c| c.is_ascii_alphabetic()) => {
                tag.push('-');
                tag.push_str(&r.to_ascii_uppercase());
            }
            Some(r) if r.len() == 3 && r.chars().all(|c| c.is_ascii_digit()) => {
                tag.push('-');
                tag.push_str(r);
            }
            Some(_) => return Err(invalid()),
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LocaleTag {
    fn default() -> Self {
        Self("en-GB".to_owned())
    }
}

impl TryFrom<String> for LocaleTag {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<LocaleTag> for String {
    fn from(value: LocaleTag) -> String {
        value.0
    }
}

impl fmt::Display for LocaleTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The share of a sale a mall operator keeps, in basis points (1/100 of a percent, 0–10 000).
/// Integer basis points, never a float, so that commission on minor-unit amounts is exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct CommissionRate(u32);

impl CommissionRate {
    pub const MAX_BASIS_POINTS: u32 = 10_000;
    /// No commission: a store that is its own vendor (single-brand tenants).
    pub const ZERO: CommissionRate = CommissionRate(0);

    pub fn from_basis_points(basis_points: u32) -> Result<Self, ValueError> {
        if basis_points > Self::MAX_BASIS_POINTS {
            return Err(ValueError::OutOfRange {
                field: "commission rate (basis points)",
                value: basis_points,
                min: 0,
                max: Self::MAX_BASIS_POINTS,
            });
        }
        Ok(Self(basis_points))
    }

    pub fn basis_points(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for CommissionRate {
    type Error = ValueError;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::from_basis_points(value)
    }
}

impl From<CommissionRate> for u32 {
    fn from(value: CommissionRate) -> u32 {
        value.0
    }
}

impl fmt::Display for CommissionRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02} %", self.0 / 100, self.0 % 100)
    }
}

/// Per-tenant operating settings. Built only through [`TenantSettings::new`] (or `Default`),
/// and deserialised through the same checks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "TenantSettingsRepr")]
pub struct TenantSettings {
    reservation_ttl_seconds: u32,
    max_reservation_quantity: u32,
    locale: LocaleTag,
}

#[derive(Deserialize)]
struct TenantSettingsRepr {
    reservation_ttl_seconds: u32,
    max_reservation_quantity: u32,
    locale: LocaleTag,
}

impl TryFrom<TenantSettingsRepr> for TenantSettings {
    type Error = ValueError;
    fn try_from(repr: TenantSettingsRepr) -> Result<Self, Self::Error> {
        Self::new(
            repr.reservation_ttl_seconds,
            repr.max_reservation_quantity,
            repr.locale,
        )
    }
}

fn within(field: &'static str, value: u32, min: u32, max: u32) -> Result<u32, ValueError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ValueError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

impl TenantSettings {
    pub const RESERVATION_TTL_SECONDS: std::ops::RangeInclusive<u32> = 60..=86_400;
    pub const DEFAULT_RESERVATION_TTL_SECONDS: u32 = 900;
    pub const MAX_RESERVATION_QUANTITY: std::ops::RangeInclusive<u32> = 1..=1000;
    pub const DEFAULT_MAX_RESERVATION_QUANTITY: u32 = 10;

    pub fn new(
        reservation_ttl_seconds: u32,
        max_reservation_quantity: u32,
        locale: LocaleTag,
    ) -> Result<Self, ValueError> {
        let ttl = Self::RESERVATION_TTL_SECONDS;
        let quantity = Self::MAX_RESERVATION_QUANTITY;
        Ok(Self {
            reservation_ttl_seconds: within(
                "reservation TTL (seconds)",
                reservation_ttl_seconds,
                *ttl.start(),
                *ttl.end(),
            )?,
            max_reservation_quantity: within(
                "max reservation quantity",
                max_reservation_quantity,
                *quantity.start(),
                *quantity.end(),
            )?,
            locale,
        })
    }

    /// How long a cart reservation holds stock before it expires.
    pub fn reservation_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.reservation_ttl_seconds))
    }

    pub fn reservation_ttl_seconds(&self) -> u32 {
        self.reservation_ttl_seconds
    }

    /// The largest quantity one reservation request may hold, so that a single cart cannot
    /// lock a hot item's whole stock.
    pub fn max_reservation_quantity(&self) -> u32 {
        self.max_reservation_quantity
    }

    /// The language and region documents (receipts, tickets, e-mails) are rendered in.
    pub fn locale(&self) -> &LocaleTag {
        &self.locale
    }
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            reservation_ttl_seconds: Self::DEFAULT_RESERVATION_TTL_SECONDS,
            max_reservation_quantity: Self::DEFAULT_MAX_RESERVATION_QUANTITY,
            locale: LocaleTag::default(),
        }
    }
}

/// Declares a closed vocabulary whose wire codes (serde and Avro enum symbols) are spelled out.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order (the order of the Avro enum symbols).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_enum!(
    /// How a tenant trades. Fixed at creation.
    TenantKind {
        /// One retailer: every store is its own vendor and keeps the whole sale.
        SingleBrand = "single_brand",
        /// A mall operator hosting vendors, each paying a commission; orders split per vendor.
        Mall = "mall",
    }
);

code_enum!(
    /// What a stock location is used for.
    LocationKind {
        SalesFloor = "sales_floor",
        BackRoom = "back_room",
        Warehouse = "warehouse",
        Lab = "lab",
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            TenantName::new("  Acme Optics ").unwrap().as_str(),
            "Acme Optics"
        );
        assert_eq!(
            StoreName::new(" "),
            Err(ValueError::Empty {
                field: "store name"
            })
        );
        assert!(LocationName::new("é".repeat(200)).is_ok());
        assert_eq!(
            VendorName::new("é".repeat(201)),
            Err(ValueError::TooLong {
                field: "vendor name",
                max: 200,
                actual: 201
            })
        );
        assert!(TenantName::new("t".repeat(201)).is_err());
        assert!(SuspensionReason::new("r".repeat(500)).is_ok());
        assert!(SuspensionReason::new("r".repeat(501)).is_err());
        assert!(serde_json::from_value::<LocationName>(json!("  ")).is_err());
        assert_eq!(
            serde_json::from_value::<StoreName>(json!(" Mitte ")).unwrap(),
            StoreName::new("Mitte").unwrap()
        );
    }

    #[test]
    fn store_code_is_upper_cased_and_limited_to_20_of_a_z_digits_and_dash() {
        assert_eq!(StoreCode::new("ber-01").unwrap().as_str(), "BER-01");
        assert!(StoreCode::new("A".repeat(20)).is_ok());
        assert_eq!(
            StoreCode::new("A".repeat(21)),
            Err(ValueError::TooLong {
                field: "store code",
                max: 20,
                actual: 21
            })
        );
        assert_eq!(
            StoreCode::new(""),
            Err(ValueError::Empty {
                field: "store code"
            })
        );
        for (bad, character) in [("BER 1", ' '), ("BER_1", '_'), ("straße", 'ß')] {
            assert_eq!(
                StoreCode::new(bad),
                Err(ValueError::InvalidStoreCodeCharacter {
                    code: bad.into(),
                    character
                })
            );
        }
        assert_eq!(
            serde_json::from_value::<StoreCode>(json!("muc-2")).unwrap(),
            StoreCode::new("MUC-2").unwrap()
        );
        assert!(serde_json::from_value::<StoreCode>(json!("MUC.2")).is_err());
    }

    #[test]
    fn locale_accepts_language_and_optional_region_in_canonical_case() {
        for (input, canonical) in [
            ("en-GB", "en-GB"),
            ("de", "de"),
            ("fil", "fil"),
            ("es-419", "es-419"),
            ("PT-br", "pt-BR"),
        ] {
            assert_eq!(LocaleTag::new(input).unwrap().as_str(), canonical);
        }
        for bad in [
            "",
            "e",
            "engl",
            "en-",
            "en-G",
            "en-GBR",
            "en-41",
            "en_GB",
            "zh-Hant-TW",
            "1n",
            "en-4190",
        ] {
            assert_eq!(
                LocaleTag::new(bad),
                Err(ValueError::InvalidLocale(bad.into())),
                "{bad}"
            );
        }
        assert!(serde_json::from_value::<LocaleTag>(json!("en-gb!")).is_err());
        assert_eq!(LocaleTag::default().as_str(), "en-GB");
    }

    #[test]
    fn commission_rate_is_0_to_10000_basis_points_serialised_as_an_integer() {
        assert_eq!(
            CommissionRate::from_basis_points(0),
            Ok(CommissionRate::ZERO)
        );
        let full = CommissionRate::from_basis_points(10_000).unwrap();
        assert_eq!(full.basis_points(), 10_000);
        assert_eq!(
            CommissionRate::from_basis_points(10_001),
            Err(ValueError::OutOfRange {
                field: "commission rate (basis points)",
                value: 10_001,
                min: 0,
                max: 10_000
            })
        );
        let rate = CommissionRate::from_basis_points(1_250).unwrap();
        assert_eq!(rate.to_string(), "12.50 %");
        assert_eq!(serde_json::to_value(rate).unwrap(), json!(1250));
        assert_eq!(
            serde_json::from_value::<CommissionRate>(json!(1250)).unwrap(),
            rate
        );
        assert!(serde_json::from_value::<CommissionRate>(json!(10_001)).is_err());
        assert!(serde_json::from_value::<CommissionRate>(json!(-1)).is_err());
    }

    #[test]
    fn settings_default_to_15_minutes_10_items_and_british_english() {
        let settings = TenantSettings::default();
        assert_eq!(settings.reservation_ttl(), Duration::from_secs(900));
        assert_eq!(settings.max_reservation_quantity(), 10);
        assert_eq!(settings.locale().as_str(), "en-GB");
        assert_eq!(
            serde_json::to_value(&settings).unwrap(),
            json!({"reservation_ttl_seconds": 900, "max_reservation_quantity": 10, "locale": "en-GB"})
        );
    }

    #[test]
    fn settings_bounds_are_inclusive() {
        let locale = LocaleTag::default;
        assert!(TenantSettings::new(60, 1, locale()).is_ok());
        assert!(TenantSettings::new(86_400, 1000, locale()).is_ok());
        assert_eq!(
            TenantSettings::new(59, 10, locale()),
            Err(ValueError::OutOfRange {
                field: "reservation TTL (seconds)",
                value: 59,
                min: 60,
                max: 86_400
            })
        );
        assert!(TenantSettings::new(86_401, 10, locale()).is_err());
        assert_eq!(
            TenantSettings::new(900, 0, locale()),
            Err(ValueError::OutOfRange {
                field: "max reservation quantity",
                value: 0,
                min: 1,
                max: 1000
            })
        );
        assert!(TenantSettings::new(900, 1001, locale()).is_err());
    }

    #[test]
    fn settings_deserialisation_validates() {
        let ok = json!({"reservation_ttl_seconds": 120, "max_reservation_quantity": 2, "locale": "de-de"});
        let settings: TenantSettings = serde_json::from_value(ok).unwrap();
        assert_eq!(settings.locale().as_str(), "de-DE");
        for bad in [
            json!({"reservation_ttl_seconds": 10, "max_reservation_quantity": 2, "locale": "de"}),
            json!({"reservation_ttl_seconds": 120, "max_reservation_quantity": 0, "locale": "de"}),
            json!({"reservation_ttl_seconds": 120, "max_reservation_quantity": 2, "locale": "deutsch"}),
            json!({"reservation_ttl_seconds": 120, "max_reservation_quantity": 2}),
        ] {
            assert!(
                serde_json::from_value::<TenantSettings>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn enums_use_snake_case_codes() {
        assert_eq!(
            serde_json::to_value(TenantKind::SingleBrand).unwrap(),
            json!("single_brand")
        );
        for kind in LocationKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        assert_eq!(LocationKind::BackRoom.to_string(), "back_room");
        assert!(serde_json::from_value::<TenantKind>(json!("Mall")).is_err());
    }
}
