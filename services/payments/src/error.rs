use crate::values::{PaymentMethod, PaymentStatus};
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
    #[error("`{0}` is not a refund id; expected a UUID other than the nil UUID")]
    InvalidRefundId(String),
}

impl ValueError {
    /// A stable, snake_case code for API error bodies; messages may change, codes do not.
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::Empty { .. } => "empty",
            ValueError::TooLong { .. } => "too_long",
            ValueError::InvalidRefundId(_) => "invalid_refund_id",
        }
    }
}

/// Why a payment command was refused.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum PaymentError {
    /// Also answered for another tenant's payment, so that ids do not leak across tenants.
    #[error("payment not found")]
    PaymentNotFound,
    #[error("the payment was already requested, with other terms")]
    PaymentAlreadyRequested,
    #[error("an amount must be positive, got {0}")]
    AmountNotPositive(Money),
    #[error("the payment is by {actual}, not by {expected}")]
    MethodMismatch {
        expected: PaymentMethod,
        actual: PaymentMethod,
    },
    #[error("{offered} does not match the {due} due")]
    AmountMismatch { due: Money, offered: Money },
    #[error("the payment is in {expected}, not in {actual}")]
    CurrencyMismatch {
        expected: Currency,
        actual: Currency,
    },
    #[error("the payment was already captured")]
    AlreadyCaptured,
    #[error("the payment was voided")]
    PaymentVoided,
    #[error("the payment is {0}: nothing was captured yet")]
    NotCaptured(PaymentStatus),
    #[error(
        "refunding {requested} would bring the refunds above the {captured} captured \
         ({refunded} refunded so far)"
    )]
    RefundExceedsCaptured {
        captured: Money,
        refunded: Money,
        requested: Money,
    },
}

impl PaymentError {
    /// A stable, snake_case code for `application/problem+json`; messages may change, codes do not.
    pub fn code(&self) -> &'static str {
        match self {
            PaymentError::PaymentNotFound => "payment_not_found",
            PaymentError::PaymentAlreadyRequested => "payment_already_requested",
            PaymentError::AmountNotPositive(_) => "amount_not_positive",
            PaymentError::MethodMismatch { .. } => "method_mismatch",
            PaymentError::AmountMismatch { .. } => "amount_mismatch",
            PaymentError::CurrencyMismatch { .. } => "currency_mismatch",
            PaymentError::AlreadyCaptured => "already_captured",
            PaymentError::PaymentVoided => "payment_voided",
            PaymentError::NotCaptured(_) => "not_captured",
            PaymentError::RefundExceedsCaptured { .. } => "refund_exceeds_captured",
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
        let money = Money::new(100, eur).unwrap();
        let errors = [
            PaymentError::PaymentNotFound,
            PaymentError::PaymentAlreadyRequested,
            PaymentError::AmountNotPositive(money),
            PaymentError::MethodMismatch {
                expected: PaymentMethod::Cod,
                actual: PaymentMethod::BankTransfer,
            },
            PaymentError::AmountMismatch {
                due: money,
                offered: money,
            },
            PaymentError::CurrencyMismatch {
                expected: eur,
                actual: usd,
            },
            PaymentError::AlreadyCaptured,
            PaymentError::PaymentVoided,
            PaymentError::NotCaptured(PaymentStatus::Requested),
            PaymentError::RefundExceedsCaptured {
                captured: money,
                refunded: money,
                requested: money,
            },
        ];
        let values = [
            ValueError::Empty { field: "actor" },
            ValueError::TooLong {
                field: "actor",
                max: 1,
                actual: 2,
            },
            ValueError::InvalidRefundId(String::new()),
        ];
        let codes: Vec<&str> = errors.iter().map(PaymentError::code).collect();
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
            PaymentError::AmountMismatch {
                due: money,
                offered: Money::new(90, eur).unwrap()
            }
            .to_string(),
            "90 EUR does not match the 100 EUR due"
        );
        assert_eq!(
            PaymentError::NotCaptured(PaymentStatus::Requested).to_string(),
            "the payment is requested: nothing was captured yet"
        );
    }
}
