use crate::refraction::CylinderForm;
use serde::Serialize;
use std::fmt;
use thiserror::Error;

/// An optical value that cannot exist: raised when a value is built or deserialised.
///
/// Numbers are kept as the caller gave them (`f64`), so that a message can quote the input.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum OpticsError {
    #[error("{quantity} must be a finite number")]
    NotFinite { quantity: &'static str },
    #[error("{quantity} {value} {unit} is not a multiple of {step} {unit}")]
    OffStep {
        quantity: &'static str,
        value: f64,
        step: f64,
        unit: &'static str,
    },
    #[error("{quantity} {value} {unit} is outside the allowed range {min} to {max} {unit}")]
    OutOfRange {
        quantity: &'static str,
        value: f64,
        min: f64,
        max: f64,
        unit: &'static str,
    },
    #[error("axis {value} must be a whole number of degrees")]
    AxisNotWhole { value: f64 },
    #[error(
        "axis {value} must be between 1 and 180 degrees (a horizontal axis is written 180, not 0)"
    )]
    AxisOutOfRange { value: f64 },
    #[error("a cylinder needs an axis between 1 and 180 degrees")]
    AxisRequired,
    #[error("an axis is only allowed with a non-zero cylinder")]
    AxisWithoutCylinder,
    #[error(
        "a {found} cylinder does not fit a {form}-cylinder prescription; \
         set the cylinder form to {other}",
        found = form.other().sign_word(),
        other = form.other()
    )]
    CylinderFormMismatch { form: CylinderForm },
    #[error("a stored refraction must be in minus-cylinder form")]
    NotMinusCylinder,
    #[error("near PD {near} mm must not exceed the distance PD {distance} mm")]
    NearPdExceedsDistance { near: f64, distance: f64 },
    #[error("invalid prescription limits: {reason}")]
    InvalidLimits { reason: &'static str },
    #[error(
        "lens index {value} is not offered; use one of 1.50, 1.53, 1.56, 1.59, 1.60, 1.67, 1.74, 1.80, 1.90"
    )]
    UnsupportedLensIndex { value: f64 },
    #[error("{field} must not be empty")]
    EmptyText { field: &'static str },
    #[error("{field} must be at most {max} characters, got {actual}")]
    TextTooLong {
        field: &'static str,
        max: usize,
        actual: usize,
    },
}

impl OpticsError {
    /// A stable, snake_case code for API error bodies; messages may change, codes do not.
    pub fn code(&self) -> &'static str {
        match self {
            OpticsError::NotFinite { .. } => "not_finite",
            OpticsError::OffStep { .. } => "off_step",
            OpticsError::OutOfRange { .. } => "out_of_range",
            OpticsError::AxisNotWhole { .. } => "axis_not_whole",
            OpticsError::AxisOutOfRange { .. } => "axis_out_of_range",
            OpticsError::AxisRequired => "axis_required",
            OpticsError::AxisWithoutCylinder => "axis_without_cylinder",
            OpticsError::CylinderFormMismatch { .. } => "cylinder_form_mismatch",
            OpticsError::NotMinusCylinder => "not_minus_cylinder",
            OpticsError::NearPdExceedsDistance { .. } => "near_pd_exceeds_distance_pd",
            OpticsError::InvalidLimits { .. } => "invalid_limits",
            OpticsError::UnsupportedLensIndex { .. } => "unsupported_lens_index",
            OpticsError::EmptyText { .. } => "empty_text",
            OpticsError::TextTooLong { .. } => "text_too_long",
        }
    }
}

/// One invalid field of an input, as the API reports it: where, a stable code, and why.
///
/// `field` is a JSON pointer into [`crate::RefractionInput`], e.g. `/right/sphere`, `/left/axis`,
/// `/pd`, `/pd/right`, `/near_pd`, `/right/prism/amount`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, error: &OpticsError) -> Self {
        Self {
            field: field.into(),
            code: error.code(),
            reason: error.to_string(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_snake_case() {
        let errors = [
            OpticsError::NotFinite { quantity: "sphere" },
            OpticsError::OffStep {
                quantity: "sphere",
                value: -2.1,
                step: 0.25,
                unit: "D",
            },
            OpticsError::OutOfRange {
                quantity: "sphere",
                value: 31.0,
                min: -30.0,
                max: 30.0,
                unit: "D",
            },
            OpticsError::AxisNotWhole { value: 90.5 },
            OpticsError::AxisOutOfRange { value: 0.0 },
            OpticsError::AxisRequired,
            OpticsError::AxisWithoutCylinder,
            OpticsError::CylinderFormMismatch {
                form: CylinderForm::Minus,
            },
            OpticsError::NotMinusCylinder,
            OpticsError::NearPdExceedsDistance {
                near: 64.0,
                distance: 63.0,
            },
            OpticsError::InvalidLimits { reason: "x" },
            OpticsError::UnsupportedLensIndex { value: 1.55 },
            OpticsError::EmptyText { field: "tint" },
            OpticsError::TextTooLong {
                field: "tint",
                max: 64,
                actual: 65,
            },
        ];
        let codes: Vec<&str> = errors.iter().map(OpticsError::code).collect();
        assert_eq!(codes.iter().collect::<BTreeSet<_>>().len(), codes.len());
        for code in codes {
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
    }

    #[test]
    fn messages_quote_the_input() {
        assert_eq!(
            OpticsError::OffStep {
                quantity: "sphere",
                value: -2.1,
                step: 0.25,
                unit: "D"
            }
            .to_string(),
            "sphere -2.1 D is not a multiple of 0.25 D"
        );
        assert_eq!(
            OpticsError::CylinderFormMismatch {
                form: CylinderForm::Minus
            }
            .to_string(),
            "a positive cylinder does not fit a minus-cylinder prescription; \
             set the cylinder form to plus"
        );
        let field = FieldError::new("/pd", &OpticsError::AxisRequired);
        assert_eq!(field.code, "axis_required");
        assert_eq!(
            field.to_string(),
            "/pd: a cylinder needs an axis between 1 and 180 degrees"
        );
    }
}
