//! Turning request DTOs into domain values while collecting every field error at once.
use crate::problem::{ApiError, FieldError};
use std::fmt::Display;

#[derive(Default)]
pub struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    /// Keeps the value, or records why `field` (a JSON pointer) is invalid.
    pub fn check<T, E: Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors
                    .push(FieldError::new(field, "invalid_value", error));
                None
            }
        }
    }

    /// Like [`Fields::check`] for an optional input.
    pub fn check_opt<T, E: Display>(
        &mut self,
        field: &str,
        result: Option<Result<T, E>>,
    ) -> Option<Option<T>> {
        match result {
            None => Some(None),
            Some(result) => self.check(field, result).map(Some),
        }
    }

    pub fn reject(&mut self, field: &str, code: &str, message: impl Display) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// 422 with every recorded field error (call when some `check` returned `None`).
    pub fn error(self) -> ApiError {
        ApiError::validation(self.errors)
    }

    /// The recorded field errors, for a caller that answers them in another problem.
    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}
