//! Value objects of customers. Every value is validated when built, and deserialisation goes
//! through the same checks, so an invalid value can neither enter through a command nor come
//! back from storage.
//!
//! Demographics and contacts ([`PatientDetails`]) and what a prescription says
//! ([`PrescriptionDetails`]) are personal data: events carry them only inside an
//! [`optical_kernel::Personal`] envelope, which the event store seals with the patient's key.

use crate::error::ValueError;
use chrono::NaiveDate;
use optical_optics::Refraction;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

optical_kernel::typed_id!(
    /// Identifies a scanned prescription document; the bytes live in object storage under it.
    ScanId
);

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
    /// A given or family name, as the patient writes it.
    PersonName, field = "name", max = 100
);
bounded_text!(
    /// One line of a street address.
    AddressLine, field = "address line", max = 200
);
bounded_text!(
    /// A city, town or village.
    City, field = "city", max = 100
);
bounded_text!(
    /// A postal code, in the country's own format.
    PostalCode, field = "postal code", max = 20
);
bounded_text!(
    /// A state, province or county.
    Region, field = "region", max = 100
);
bounded_text!(
    /// The name of the optometrist or ophthalmologist who issued a prescription.
    PrescriberName, field = "prescriber name", max = 200
);
bounded_text!(
    /// The prescriber's professional licence or registration number.
    LicenceNumber, field = "licence number", max = 50
);

/// An e-mail address: `local@domain`, the domain lowercased.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
        let trimmed = value.as_ref().trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err(ValueError::Empty { field: "email" });
        }
        if chars > Self::MAX_CHARS {
            return Err(ValueError::TooLong {
                field: "email",
                max: Self::MAX_CHARS,
                actual: chars,
            });
        }
        let (local, domain) = trimmed.split_once('@').ok_or(ValueError::InvalidEmail)?;
        let label_ok = |label: &str| {
            (1..=63).contains(&label.chars().count())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        let valid = (1..=64).contains(&local.chars().count())
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && domain.contains('.')
            && domain.split('.').all(label_ok);
        if !valid {
            return Err(ValueError::InvalidEmail);
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> String {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in international (E.164) form: `+` and 8–15 digits. Spaces, dashes, dots
/// and parentheses are dropped when built.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
        let compact: String = value
            .as_ref()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        if compact.is_empty() {
            return Err(ValueError::Empty { field: "phone" });
        }
        let digits = compact
            .strip_prefix('+')
            .ok_or(ValueError::InvalidPhoneNumber)?;
        let valid = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !valid {
            return Err(ValueError::InvalidPhoneNumber);
        }
        Ok(Self(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> String {
        value.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 3166-1 alpha-2 country code, uppercase (`DE`, `FR`). Only the shape is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn as_str(&self) -> &str {
        // Built from two ASCII letters only.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for CountryCode {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Self([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(ValueError::InvalidCountryCode(s.to_owned())),
        }
    }
}

impl TryFrom<String> for CountryCode {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<CountryCode> for String {
    fn from(value: CountryCode) -> String {
        value.as_str().to_owned()
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A postal address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub line1: AddressLine,
    #[serde(default)]
    pub line2: Option<AddressLine>,
    #[serde(default)]
    pub postal_code: Option<PostalCode>,
    pub city: City,
    #[serde(default)]
    pub region: Option<Region>,
    pub country: CountryCode,
}

/// Sex as recorded for clinical purposes; optional, and only what the patient chose to state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Other,
}

/// A way to reach a patient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    Email,
    Sms,
    Phone,
    Post,
}

impl ContactChannel {
    pub const ALL: &'static [ContactChannel] = &[
        ContactChannel::Email,
        ContactChannel::Sms,
        ContactChannel::Phone,
        ContactChannel::Post,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactChannel::Email => "email",
            ContactChannel::Sms => "sms",
            ContactChannel::Phone => "phone",
            ContactChannel::Post => "post",
        }
    }
}

impl fmt::Display for ContactChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a patient can be reached. Every member is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contacts {
    #[serde(default)]
    pub email: Option<Email>,
    #[serde(default)]
    pub phone: Option<PhoneNumber>,
    #[serde(default)]
    pub address: Option<PostalAddress>,
}

impl Contacts {
    /// Whether a contact for `channel` is on file (SMS and calls both use the phone number).
    pub fn reaches(&self, channel: ContactChannel) -> bool {
        match channel {
            ContactChannel::Email => self.email.is_some(),
            ContactChannel::Sms | ContactChannel::Phone => self.phone.is_some(),
            ContactChannel::Post => self.address.is_some(),
        }
    }
}

/// Which channels the patient wants service messages on ("your glasses are ready",
/// recall reminders). Marketing needs a [`ConsentKind`] consent besides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPreferences {
    #[serde(default)]
    pub email: bool,
    #[serde(default)]
    pub sms: bool,
    #[serde(default)]
    pub phone: bool,
    #[serde(default)]
    pub post: bool,
}

impl ContactPreferences {
    pub fn allows(&self, channel: ContactChannel) -> bool {
        match channel {
            ContactChannel::Email => self.email,
            ContactChannel::Sms => self.sms,
            ContactChannel::Phone => self.phone,
            ContactChannel::Post => self.post,
        }
    }

    /// The preferred channels, in [`ContactChannel::ALL`] order.
    pub fn channels(&self) -> impl Iterator<Item = ContactChannel> + '_ {
        ContactChannel::ALL
            .iter()
            .copied()
            .filter(|c| self.allows(*c))
    }
}

/// A patient's demographics and contacts: personal data, sealed in events and forgotten on
/// erasure. Rules that involve the date (date of birth not in the future) or several members
/// (a preferred channel needs its contact) are checked by the Patient aggregate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientDetails {
    pub given_name: PersonName,
    pub family_name: PersonName,
    pub date_of_birth: NaiveDate,
    #[serde(default)]
    pub sex: Option<Sex>,
    #[serde(default)]
    pub contacts: Contacts,
    #[serde(default)]
    pub preferences: ContactPreferences,
}

/// What a patient consents to. Wire codes are the Avro enum symbols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    /// Processing of personal and health data to provide care and sell eyewear.
    DataProcessing,
    MarketingEmail,
    MarketingSms,
    /// Sending prescription and fitting data to an external lab.
    ShareWithLab,
}

impl ConsentKind {
    /// Every value, in declaration order (the order of the Avro enum symbols).
    pub const ALL: &'static [ConsentKind] = &[
        ConsentKind::DataProcessing,
        ConsentKind::MarketingEmail,
        ConsentKind::MarketingSms,
        ConsentKind::ShareWithLab,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentKind::DataProcessing => "data_processing",
            ConsentKind::MarketingEmail => "marketing_email",
            ConsentKind::MarketingSms => "marketing_sms",
            ConsentKind::ShareWithLab => "share_with_lab",
        }
    }
}

impl fmt::Display for ConsentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a consent statement was collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    /// Given to staff in a store (signature pad, tablet).
    InStore,
    /// Through the website or an app.
    Online,
    /// Over the phone, noted by staff.
    Phone,
    /// A signed paper form, scanned or filed.
    PaperForm,
    /// A reply or link in an e-mail (e.g. an unsubscribe link).
    Email,
}

impl ConsentSource {
    /// Every value, in declaration order (the order of the Avro enum symbols).
    pub const ALL: &'static [ConsentSource] = &[
        ConsentSource::InStore,
        ConsentSource::Online,
        ConsentSource::Phone,
        ConsentSource::PaperForm,
        ConsentSource::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentSource::InStore => "in_store",
            ConsentSource::Online => "online",
            ConsentSource::Phone => "phone",
            ConsentSource::PaperForm => "paper_form",
            ConsentSource::Email => "email",
        }
    }
}

impl fmt::Display for ConsentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who issued a prescription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prescriber {
    pub name: PrescriberName,
    pub licence_number: LicenceNumber,
}

/// What a prescription says: personal (health) data, sealed in events with the patient's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrescriptionDetails {
    /// Validated by `optical-optics`, in minus-cylinder form.
    pub refraction: Refraction,
    pub prescriber: Prescriber,
}

/// The media type of a scanned prescription. Serialised as the MIME type itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ScanContentType {
    Jpeg,
    Png,
    Pdf,
}

impl ScanContentType {
    pub const ALL: &'static [ScanContentType] = &[
        ScanContentType::Jpeg,
        ScanContentType::Png,
        ScanContentType::Pdf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScanContentType::Jpeg => "image/jpeg",
            ScanContentType::Png => "image/png",
            ScanContentType::Pdf => "application/pdf",
        }
    }
}

impl FromStr for ScanContentType {
    type Err = ValueError;
    /// Exact MIME types only; parameters and other casings are refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ValueError::UnsupportedContentType(s.to_owned()))
    }
}

impl TryFrom<String> for ScanContentType {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ScanContentType> for String {
    fn from(value: ScanContentType) -> String {
        value.as_str().to_owned()
    }
}

impl fmt::Display for ScanContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The size of a scan in bytes: at least one, at most [`ScanSize::MAX_BYTES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct ScanSize(u64);

impl ScanSize {
    /// 20 MiB: a phone photo or a multi-page PDF fits; anything bigger is not a prescription.
    pub const MAX_BYTES: u64 = 20 * 1024 * 1024;

    pub fn new(bytes: u64) -> Result<Self, ValueError> {
        if bytes == 0 {
            return Err(ValueError::EmptyScan);
        }
        if bytes > Self::MAX_BYTES {
            return Err(ValueError::ScanTooLarge {
                size: bytes,
                max: Self::MAX_BYTES,
            });
        }
        Ok(Self(bytes))
    }

    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for ScanSize {
    type Error = ValueError;
    fn try_from(bytes: u64) -> Result<Self, Self::Error> {
        Self::new(bytes)
    }
}

impl From<ScanSize> for u64 {
    fn from(size: ScanSize) -> u64 {
        size.0
    }
}

impl fmt::Display for ScanSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

/// A SHA-256 digest as 64 lowercase hexadecimal characters (uppercase input is lowercased).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Digest(String);

impl Sha256Digest {
    pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
        let value = value.as_ref();
        if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ValueError::InvalidSha256);
        }
        Ok(Self(value.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sha256Digest {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Sha256Digest> for String {
    fn from(value: Sha256Digest) -> String {
        value.0
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The metadata of a scanned prescription document; the bytes are in object storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scan {
    pub scan_id: ScanId,
    pub content_type: ScanContentType,
    pub size_bytes: ScanSize,
    pub sha256: Sha256Digest,
}

/// Why a prescription was voided. A code rather than free text: voidings stay in clear in the
/// log, where free text could carry personal data that erasure cannot reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoidReason {
    /// Typed in wrongly; a corrected prescription is recorded instead.
    EnteredInError,
    /// The same prescription was recorded twice.
    Duplicate,
    /// Replaced by a newer examination before it expired.
    Superseded,
    /// The prescriber withdrew or corrected it.
    PrescriberCorrection,
    Other,
}

impl VoidReason {
    /// Every value, in declaration order (the order of the Avro enum symbols).
    pub const ALL: &'static [VoidReason] = &[
        VoidReason::EnteredInError,
        VoidReason::Duplicate,
        VoidReason::Superseded,
        VoidReason::PrescriberCorrection,
        VoidReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VoidReason::EnteredInError => "entered_in_error",
            VoidReason::Duplicate => "duplicate",
            VoidReason::Superseded => "superseded",
            VoidReason::PrescriberCorrection => "prescriber_correction",
            VoidReason::Other => "other",
        }
    }
}

impl fmt::Display for VoidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::new("  Zoë ").unwrap().as_str(), "Zoë");
        assert_eq!(
            PersonName::new(" "),
            Err(ValueError::Empty { field: "name" })
        );
        assert!(PersonName::new("é".repeat(100)).is_ok());
        assert_eq!(
            PersonName::new("é".repeat(101)).map_err(|e| e.code()),
            Err("too_long")
        );
        assert!(serde_json::from_value::<PersonName>(json!("")).is_err());
        assert!(LicenceNumber::new("x".repeat(51)).is_err());
    }

    #[test]
    fn emails_are_checked_and_their_domain_lowercased() {
        assert_eq!(
            Email::new(" Ana.Lima+rx@Example.COM ").unwrap().as_str(),
            "Ana.Lima+rx@example.com"
        );
        assert!(Email::new("zoë@exämple.de").is_ok());
        for bad in [
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana@@example.com",
            "ana lima@example.com",
            "ana@exa mple.com",
            "ana@-example.com",
            "ana@example..com",
            ".ana@example.com",
        ] {
            assert_eq!(Email::new(bad), Err(ValueError::InvalidEmail), "{bad}");
        }
        assert_eq!(Email::new(""), Err(ValueError::Empty { field: "email" }));
        assert!(Email::new(format!("{}@example.com", "a".repeat(65))).is_err());
        assert!(serde_json::from_value::<Email>(json!("nope")).is_err());
        assert!(!ValueError::InvalidEmail.to_string().contains('@'));
    }

    #[test]
    fn phone_numbers_are_international() {
        assert_eq!(
            PhoneNumber::new("+49 (30) 1234-5678").unwrap().as_str(),
            "+493012345678"
        );
        assert!(PhoneNumber::new("+12345678").is_ok());
        assert!(PhoneNumber::new("+123456789012345").is_ok());
        for bad in [
            "030 1234567",
            "+1234567",
            "+1234567890123456",
            "+0301234567",
            "+49 30 12a4567",
        ] {
            assert_eq!(
                PhoneNumber::new(bad),
                Err(ValueError::InvalidPhoneNumber),
                "{bad}"
            );
        }
        assert_eq!(
            PhoneNumber::new(" - "),
            Err(ValueError::Empty { field: "phone" })
        );
    }

    #[test]
    fn country_codes_are_two_letters_uppercased() {
        assert_eq!("de".parse::<CountryCode>().unwrap().as_str(), "DE");
        assert_eq!(
            serde_json::to_value("fr".parse::<CountryCode>().unwrap()).unwrap(),
            json!("FR")
        );
        for bad in ["", "D", "DEU", "D1", "ÄB"] {
            assert!(bad.parse::<CountryCode>().is_err(), "{bad}");
        }
        assert!(serde_json::from_value::<CountryCode>(json!("DEU")).is_err());
    }

    #[test]
    fn contacts_reach_channels_and_preferences_list_them() {
        let contacts = Contacts {
            phone: Some(PhoneNumber::new("+4930123456").unwrap()),
            ..Contacts::default()
        };
        assert!(contacts.reaches(ContactChannel::Sms));
        assert!(contacts.reaches(ContactChannel::Phone));
        assert!(!contacts.reaches(ContactChannel::Email));
        assert!(!contacts.reaches(ContactChannel::Post));
        let preferences = ContactPreferences {
            sms: true,
            post: true,
            ..ContactPreferences::default()
        };
        assert_eq!(
            preferences.channels().collect::<Vec<_>>(),
            [ContactChannel::Sms, ContactChannel::Post]
        );
        assert_eq!(
            serde_json::from_value::<ContactPreferences>(json!({"email": true})).unwrap(),
            ContactPreferences {
                email: true,
                ..ContactPreferences::default()
            }
        );
    }

    #[test]
    fn scan_metadata_is_validated() {
        for t in ScanContentType::ALL {
            assert_eq!(t.as_str().parse::<ScanContentType>(), Ok(*t));
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
        assert_eq!(
            "image/gif".parse::<ScanContentType>(),
            Err(ValueError::UnsupportedContentType("image/gif".into()))
        );
        assert!("IMAGE/PNG".parse::<ScanContentType>().is_err());
        assert!(serde_json::from_value::<ScanContentType>(json!("text/plain")).is_err());
        assert_eq!(ScanSize::new(0), Err(ValueError::EmptyScan));
        assert!(ScanSize::new(ScanSize::MAX_BYTES).is_ok());
        assert_eq!(
            ScanSize::new(ScanSize::MAX_BYTES + 1).map_err(|e| e.code()),
            Err("scan_too_large")
        );
        assert!(serde_json::from_value::<ScanSize>(json!(0)).is_err());
        let upper = "AB".repeat(32);
        assert_eq!(Sha256Digest::new(&upper).unwrap().as_str(), "ab".repeat(32));
        for bad in ["", "ab", &"g".repeat(64), &"a".repeat(65)] {
            assert_eq!(Sha256Digest::new(bad), Err(ValueError::InvalidSha256));
        }
        assert!(serde_json::from_value::<Sha256Digest>(json!("abc")).is_err());
    }

    #[test]
    fn enums_use_snake_case_codes() {
        for kind in ConsentKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        for source in ConsentSource::ALL {
            assert_eq!(
                serde_json::to_value(source).unwrap(),
                json!(source.as_str())
            );
        }
        for reason in VoidReason::ALL {
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                json!(reason.as_str())
            );
        }
        for channel in ContactChannel::ALL {
            assert_eq!(
                serde_json::to_value(channel).unwrap(),
                json!(channel.as_str())
            );
        }
        assert!(serde_json::from_value::<ConsentKind>(json!("Marketing")).is_err());
    }
}
