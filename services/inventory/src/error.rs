use crate::values::StockLevelKey;
use chrono::{DateTime, Utc};
use optical_kernel::ReservationId;
use thiserror::Error;

/// A value that cannot exist: raised when a value object is constructed or deserialised.
#[derive(Debug, Error, PartialEq)]
pub enum ValueError {
    #[error("a quantity must be a positive number of units")]
    QuantityNotPositive,
    #[error("a stock adjustment must change the stock: delta 0 is not allowed")]
    ZeroDelta,
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters, got {actual}")]
    TooLong {
        field: &'static str,
        max: usize,
        actual: usize,
    },
    #[error("`{0}` is not a stock level key; expected `<location id>/<variant id>` (UUIDv7s)")]
    InvalidStockLevelKey(String),
}

impl ValueError {
    /// A stable, snake_case code for API error bodies; messages may change, codes do not.
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::QuantityNotPositive => "quantity_not_positive",
            ValueError::ZeroDelta => "zero_delta",
            ValueError::Empty { .. } => "empty",
            ValueError::TooLong { .. } => "too_long",
            ValueError::InvalidStockLevelKey(_) => "invalid_stock_level_key",
        }
    }
}

/// Why an inventory command was refused.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum InventoryError {
    /// Also answered for another tenant's stock level, so that ids do not leak across tenants.
    #[error("stock level not found")]
    StockLevelNotFound,
    #[error("the command is for stock level {actual} but was sent to stock level {expected}")]
    KeyMismatch {
        expected: StockLevelKey,
        actual: StockLevelKey,
    },
    #[error(
        "adjusting by {delta} would leave {on_hand} on hand below the {reserved} reserved units \
         (or below zero)"
    )]
    InsufficientStock {
        on_hand: u64,
        reserved: u64,
        delta: i64,
    },
    #[error("adding {delta} units to {on_hand} on hand exceeds the stock limit")]
    StockLimitExceeded { on_hand: u64, delta: i64 },
    #[error("{requested} units requested but only {available} available")]
    OutOfStock { requested: u32, available: u64 },
    #[error("reservation {0} already exists or existed (reservation ids are never reused)")]
    ReservationAlreadyExists(ReservationId),
    #[error("a reservation must expire after now ({now}), not at {expires_at}")]
    ExpiryNotInFuture {
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("reservation {0} not found (it never existed or was already released, expired or committed)")]
    ReservationNotFound(ReservationId),
    #[error("reservation {reservation_id} expired at {expired_at}")]
    ReservationExpired {
        reservation_id: ReservationId,
        expired_at: DateTime<Utc>,
    },
    /// Restocking needs a reservation committed to the named order: not active, released,
    /// expired, unknown, or committed to another order.
    #[error("reservation {0} is not committed to this order, so there is nothing to restock")]
    ReservationNotCommitted(ReservationId),
}

impl InventoryError {
    /// A stable, snake_case code for `application/problem+json`; messages may change, codes do not.
    pub fn code(&self) -> &'static str {
        match self {
            InventoryError::StockLevelNotFound => "stock_level_not_found",
            InventoryError::KeyMismatch { .. } => "key_mismatch",
            InventoryError::InsufficientStock { .. } => "insufficient_stock",
            InventoryError::StockLimitExceeded { .. } => "stock_limit_exceeded",
            InventoryError::OutOfStock { .. } => "out_of_stock",
            InventoryError::ReservationAlreadyExists(_) => "reservation_already_exists",
            InventoryError::ExpiryNotInFuture { .. } => "expiry_not_in_future",
            InventoryError::ReservationNotFound(_) => "reservation_not_found",
            InventoryError::ReservationExpired { .. } => "reservation_expired",
            InventoryError::ReservationNotCommitted(_) => "reservation_not_committed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_snake_case() {
        let id = ReservationId::new();
        let now = Utc::now();
        let key = StockLevelKey {
            location_id: optical_kernel::LocationId::new(),
            variant_id: optical_kernel::VariantId::new(),
        };
        let errors = [
            InventoryError::StockLevelNotFound,
            InventoryError::KeyMismatch {
                expected: key,
                actual: key,
            },
            InventoryError::InsufficientStock {
                on_hand: 1,
                reserved: 1,
                delta: -1,
            },
            InventoryError::StockLimitExceeded {
                on_hand: 1,
                delta: 1,
            },
            InventoryError::OutOfStock {
                requested: 1,
                available: 0,
            },
            InventoryError::ReservationAlreadyExists(id),
            InventoryError::ExpiryNotInFuture {
                expires_at: now,
                now,
            },
            InventoryError::ReservationNotFound(id),
            InventoryError::ReservationExpired {
                reservation_id: id,
                expired_at: now,
            },
            InventoryError::ReservationNotCommitted(id),
        ];
        let values = [
            ValueError::QuantityNotPositive,
            ValueError::ZeroDelta,
            ValueError::Empty { field: "note" },
            ValueError::TooLong {
                field: "note",
                max: 1,
                actual: 2,
            },
            ValueError::InvalidStockLevelKey(String::new()),
        ];
        let codes: Vec<&str> = errors.iter().map(InventoryError::code).collect();
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
            InventoryError::OutOfStock {
                requested: 3,
                available: 2
            }
            .to_string(),
            "3 units requested but only 2 available"
        );
    }
}
