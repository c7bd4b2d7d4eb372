use crate::values::OrderStatus;
use chrono::NaiveDate;
use optical_kernel::{Currency, PatientId, ReservationId};
use thiserror::Error;

/// A value that cannot exist: raised when a value object is constructed or deserialised.
#[derive(Debug, Error, PartialEq)]
pub enum ValueError {
    #[error("a quantity must be a positive number of units")]
    QuantityNotPositive,
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters, got {actual}")]
    TooLong {
        field: &'static str,
        max: usize,
        actual: usize,
    },
    #[error("`{0}` is not an e-mail address")]
    InvalidEmail(String),
    #[error("`{0}` is not a phone number")]
    InvalidPhone(String),
    #[error("a prescription cannot expire ({expires_on}) before it was issued ({issued_on})")]
    ExpiresBeforeIssued {
        issued_on: NaiveDate,
        expires_on: NaiveDate,
    },
}

impl ValueError {
    /// A stable, snake_case code for API error bodies; messages may change, codes do not.
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::QuantityNotPositive => "quantity_not_positive",
            ValueError::Empty { .. } => "empty",
            ValueError::TooLong { .. } => "too_long",
            ValueError::InvalidEmail(_) => "invalid_email",
            ValueError::InvalidPhone(_) => "invalid_phone",
            ValueError::ExpiresBeforeIssued { .. } => "expires_before_issued",
        }
    }
}

/// Why an order command was refused.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum OrderError {
    /// Also answered for another tenant's order, so that ids do not leak across tenants.
    #[error("order not found")]
    OrderNotFound,
    #[error("the order was already placed, with other contents")]
    OrderAlreadyPlaced,
    #[error("an order needs at least one line")]
    NoLines,
    #[error("line {line} is priced in {actual}, the order in {expected}")]
    CurrencyMismatch {
        line: usize,
        expected: Currency,
        actual: Currency,
    },
    #[error("reservation {0} appears on more than one line")]
    DuplicateReservation(ReservationId),
    #[error("ophthalmic lenses and prescriptions need the patient they are for")]
    PatientRequired,
    #[error("ophthalmic lenses need a prescription")]
    PrescriptionRequired,
    #[error("the prescription is patient {prescription_subject}'s, not patient {patient}'s")]
    PrescriptionSubjectMismatch {
        patient: PatientId,
        prescription_subject: PatientId,
    },
    #[error("the prescription expired on {expires_on}")]
    PrescriptionExpired {
        expires_on: NaiveDate,
        today: NaiveDate,
    },
    #[error("patient {0} was erased; their data cannot be ordered against")]
    PatientErased(PatientId),
    #[error("the order total does not fit in 64 bits of minor units")]
    AmountOverflow,
    #[error("cannot {attempted} an order that is {status}")]
    InvalidTransition {
        status: OrderStatus,
        attempted: &'static str,
    },
    #[error("the order has no ophthalmic lenses: there is nothing for the lab to make")]
    LabNotNeeded,
    #[error("the order's lenses must be made in the lab before it is ready")]
    LabRequired,
    #[error("reservation {0} is not on any line of the order")]
    UnknownReservation(ReservationId),
}

impl OrderError {
    /// A stable, snake_case code for `application/problem+json`; messages may change, codes do not.
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::OrderNotFound => "order_not_found",
            OrderError::OrderAlreadyPlaced => "order_already_placed",
            OrderError::NoLines => "no_lines",
            OrderError::CurrencyMismatch { .. } => "currency_mismatch",
            OrderError::DuplicateReservation(_) => "duplicate_reservation",
            OrderError::PatientRequired => "patient_required",
            OrderError::PrescriptionRequired => "prescription_required",
            OrderError::PrescriptionSubjectMismatch { .. } => "prescription_subject_mismatch",
            OrderError::PrescriptionExpired { .. } => "prescription_expired",
            OrderError::PatientErased(_) => "patient_erased",
            OrderError::AmountOverflow => "amount_overflow",
            OrderError::InvalidTransition { .. } => "invalid_transition",
            OrderError::LabNotNeeded => "lab_not_needed",
            OrderError::LabRequired => "lab_required",
            OrderError::UnknownReservation(_) => "unknown_reservation",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_snake_case() {
        let eur: Currency = "EUR".parse().unwrap();
        let usd: Currency = "USD".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let patient = PatientId::new();
        let reservation = ReservationId::new();
        let errors = [
            OrderError::OrderNotFound,
            OrderError::OrderAlreadyPlaced,
            OrderError::NoLines,
            OrderError::CurrencyMismatch {
                line: 0,
                expected: eur,
                actual: usd,
            },
            OrderError::DuplicateReservation(reservation),
            OrderError::PatientRequired,
            OrderError::PrescriptionRequired,
            OrderError::PrescriptionSubjectMismatch {
                patient,
                prescription_subject: patient,
            },
            OrderError::PrescriptionExpired {
                expires_on: day,
                today: day,
            },
            OrderError::PatientErased(patient),
            OrderError::AmountOverflow,
            OrderError::InvalidTransition {
                status: OrderStatus::Shipped,
                attempted: "cancel",
            },
            OrderError::LabNotNeeded,
            OrderError::LabRequired,
            OrderError::UnknownReservation(reservation),
        ];
        let values = [
            ValueError::QuantityNotPositive,
            ValueError::Empty { field: "carrier" },
            ValueError::TooLong {
                field: "carrier",
                max: 1,
                actual: 2,
            },
            ValueError::InvalidEmail(String::new()),
            ValueError::InvalidPhone(String::new()),
            ValueError::ExpiresBeforeIssued {
                issued_on: day,
                expires_on: day,
            },
        ];
        let codes: Vec<&str> = errors.iter().map(OrderError::code).collect();
        assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), codes.len());
        let value_codes: Vec<&str> = values.iter().map(ValueError::code).collect();
        assert_eq!(
            value_codes.iter().collect::<BTreeSet<_>>().len(),
            value_codes.len()
        );
        for code in codes.into_iter().chain(value_codes) {
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
        assert_eq!(
            OrderError::InvalidTransition {
                status: OrderStatus::Shipped,
                attempted: "cancel"
            }
            .to_string(),
            "cannot cancel an order that is shipped"
        );
    }
}
