use crate::values::{ContactChannel, ScanId, Sha256Digest};
use chrono::{DateTime, NaiveDate, Utc};
use thiserror::Error;

/// A value that cannot exist: raised when a value object is constructed or deserialised.
///
/// Messages never quote personal data (names, e-mail addresses, phone numbers), since errors
/// end up in logs that erasure cannot reach.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ValueError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters, got {actual}")]
    TooLong {
        field: &'static str,
        max: usize,
        actual: usize,
    },
    #[error("not a valid e-mail address")]
    InvalidEmail,
    #[error("not a valid phone number: expected international format, `+` and 8-15 digits")]
    InvalidPhoneNumber,
    #[error("`{0}` is not an ISO 3166-1 alpha-2 country code")]
    InvalidCountryCode(String),
    #[error("`{0}` is not an accepted scan type (image/jpeg, image/png, application/pdf)")]
    UnsupportedContentType(String),
    #[error("a scan must not be empty")]
    EmptyScan,
    #[error("a scan of {size} bytes exceeds the maximum of {max} bytes")]
    ScanTooLarge { size: u64, max: u64 },
    #[error("a SHA-256 digest is 64 lowercase hexadecimal characters")]
    InvalidSha256,
}

impl ValueError {
    /// A stable, snake_case code for API error bodies; messages may change, codes do not.
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::Empty { .. } => "empty",
            ValueError::TooLong { .. } => "too_long",
            ValueError::InvalidEmail => "invalid_email",
            ValueError::InvalidPhoneNumber => "invalid_phone_number",
            ValueError::InvalidCountryCode(_) => "invalid_country_code",
            ValueError::UnsupportedContentType(_) => "unsupported_content_type",
            ValueError::EmptyScan => "empty_scan",
            ValueError::ScanTooLarge { .. } => "scan_too_large",
            ValueError::InvalidSha256 => "invalid_sha256",
        }
    }
}

/// Why a customers command was refused, or why a prescription cannot be used.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CustomersError {
    /// A value of the command is invalid (e.g. a scan too large); the code is the value's own.
    #[error(transparent)]
    Invalid(#[from] ValueError),
    /// Also answered for another tenant's patient, so that ids do not leak across tenants.
    #[error("patient not found")]
    PatientNotFound,
    #[error("the patient is already registered")]
    PatientAlreadyRegistered,
    /// The patient was erased: nothing about them can change or be used any more.
    #[error("the patient was erased")]
    PatientErased,
    #[error("the date of birth {date_of_birth} is after today ({today})")]
    DateOfBirthInFuture {
        date_of_birth: NaiveDate,
        today: NaiveDate,
    },
    #[error("the date of birth {date_of_birth} is more than {max_years} years ago")]
    DateOfBirthTooEarly {
        date_of_birth: NaiveDate,
        max_years: u32,
    },
    #[error("{channel} is a preferred contact channel, but no {channel} contact is given")]
    ContactMissingForPreference { channel: ContactChannel },
    #[error("consent cannot be recorded as given at {at}, after now ({now})")]
    ConsentInFuture {
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    /// Also answered for another tenant's prescription.
    #[error("prescription not found")]
    PrescriptionNotFound,
    #[error("the prescription is already recorded")]
    PrescriptionAlreadyRecorded,
    #[error(
        "a prescription must expire after it is issued: issued {issued_on}, expires {expires_on}"
    )]
    ExpiryNotAfterIssue {
        issued_on: NaiveDate,
        expires_on: NaiveDate,
    },
    #[error("a prescription cannot be issued in the future: issued {issued_on}, today is {today}")]
    IssuedInFuture {
        issued_on: NaiveDate,
        today: NaiveDate,
    },
    #[error("scan {0} is already attached")]
    ScanAlreadyAttached(ScanId),
    #[error("the same document is already attached as scan {existing} (sha256 {sha256})")]
    DuplicateScan {
        existing: ScanId,
        sha256: Sha256Digest,
    },
    #[error("a prescription holds at most {max} scans")]
    TooManyScans { max: usize },
    #[error("the prescription was voided")]
    PrescriptionVoided,
    #[error("the prescription expired on {expires_on}")]
    PrescriptionExpired { expires_on: NaiveDate },
}

impl CustomersError {
    /// A stable, snake_case code for `application/problem+json`; messages may change, codes do not.
    pub fn code(&self) -> &'static str {
        match self {
            CustomersError::Invalid(error) => error.code(),
            CustomersError::PatientNotFound => "patient_not_found",
            CustomersError::PatientAlreadyRegistered => "patient_already_registered",
            CustomersError::PatientErased => "patient_erased",
            CustomersError::DateOfBirthInFuture { .. } => "date_of_birth_in_future",
            CustomersError::DateOfBirthTooEarly { .. } => "date_of_birth_too_early",
            CustomersError::ContactMissingForPreference { .. } => "contact_missing_for_preference",
            CustomersError::ConsentInFuture { .. } => "consent_in_future",
            CustomersError::PrescriptionNotFound => "prescription_not_found",
            CustomersError::PrescriptionAlreadyRecorded => "prescription_already_recorded",
            CustomersError::ExpiryNotAfterIssue { .. } => "expiry_not_after_issue",
            CustomersError::IssuedInFuture { .. } => "issued_in_future",
            CustomersError::ScanAlreadyAttached(_) => "scan_already_attached",
            CustomersError::DuplicateScan { .. } => "duplicate_scan",
            CustomersError::TooManyScans { .. } => "too_many_scans",
            CustomersError::PrescriptionVoided => "prescription_voided",
            CustomersError::PrescriptionExpired { .. } => "prescription_expired",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_snake_case() {
        let date = NaiveDate::from_ymd_opt(2025, 1, 15).unwrap();
        let now = DateTime::from_timestamp(1_736_937_000, 0).unwrap();
        let scan = ScanId::new();
        let sha = Sha256Digest::new("a".repeat(64)).unwrap();
        let errors = [
            CustomersError::Invalid(ValueError::EmptyScan),
            CustomersError::PatientNotFound,
            CustomersError::PatientAlreadyRegistered,
            CustomersError::PatientErased,
            CustomersError::DateOfBirthInFuture {
                date_of_birth: date,
                today: date,
            },
            CustomersError::DateOfBirthTooEarly {
                date_of_birth: date,
                max_years: 150,
            },
            CustomersError::ContactMissingForPreference {
                channel: ContactChannel::Email,
            },
            CustomersError::ConsentInFuture { at: now, now },
            CustomersError::PrescriptionNotFound,
            CustomersError::PrescriptionAlreadyRecorded,
            CustomersError::ExpiryNotAfterIssue {
                issued_on: date,
                expires_on: date,
            },
            CustomersError::IssuedInFuture {
                issued_on: date,
                today: date,
            },
            CustomersError::ScanAlreadyAttached(scan),
            CustomersError::DuplicateScan {
                existing: scan,
                sha256: sha,
            },
            CustomersError::TooManyScans { max: 1 },
            CustomersError::PrescriptionVoided,
            CustomersError::PrescriptionExpired { expires_on: date },
        ];
        let values = [
            ValueError::Empty { field: "x" },
            ValueError::TooLong {
                field: "x",
                max: 1,
                actual: 2,
            },
            ValueError::InvalidEmail,
            ValueError::InvalidPhoneNumber,
            ValueError::InvalidCountryCode(String::new()),
            ValueError::UnsupportedContentType(String::new()),
            ValueError::EmptyScan,
            ValueError::ScanTooLarge { size: 2, max: 1 },
            ValueError::InvalidSha256,
        ];
        let codes: Vec<&str> = errors.iter().map(CustomersError::code).collect();
        assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), codes.len());
        let value_codes: Vec<&str> = values.iter().map(ValueError::code).collect();
        assert_eq!(
            value_codes.iter().collect::<BTreeSet<_>>().len(),
            value_codes.len()
        );
        for code in codes.into_iter().chain(value_codes) {
            assert!(
                code.starts_with(|c: char| c.is_ascii_lowercase())
                    && code
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{code}"
            );
        }
        assert_eq!(
            CustomersError::from(ValueError::ScanTooLarge { size: 2, max: 1 }).code(),
            "scan_too_large"
        );
        assert_eq!(
            CustomersError::PrescriptionExpired { expires_on: date }.to_string(),
            "the prescription expired on 2025-01-15"
        );
    }
}
