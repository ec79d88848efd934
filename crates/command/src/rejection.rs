//! What every service's `Rejection` has beside its own cases: `Invalid { violations }`, the
//! business-rule problems of a command's data by field path, and (in a service whose decider
//! checks times) `Time(TimeRejection)`. [`rejection_parts!`] writes their constructor and the
//! traits callers and tests single them out by, once; before it, three services carried the
//! same twenty lines.

use waybill_types::FieldViolation;

/// A service's rejection that may name invalid fields (for tests and callers that single
/// these out).
pub trait InvalidFields {
    fn invalid_fields(&self) -> Option<&[FieldViolation]>;
}

/// `rejection_parts!(Rejection)` for an enum with an `Invalid { violations:
/// Vec<FieldViolation> }` variant: `Rejection::invalid(field, description)` and
/// [`InvalidFields`]; `rejection_parts!(Rejection, time)` when it also has
/// `Time(TimeRejection)`: [`crate::time::TimeRejected`] as well.
#[macro_export]
macro_rules! rejection_parts {
    ($rejection:ident) => {
        impl $rejection {
            /// One business-rule problem with one field.
            pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
                $rejection::Invalid {
                    violations: vec![::waybill_types::FieldViolation::new(field, description)],
                }
            }
        }

        impl $crate::rejection::InvalidFields for $rejection {
            fn invalid_fields(&self) -> Option<&[::waybill_types::FieldViolation]> {
                match self {
                    $rejection::Invalid { violations } => Some(violations),
                    _ => None,
                }
            }
        }
    };
    ($rejection:ident, time) => {
        $crate::rejection_parts!($rejection);

        impl $crate::time::TimeRejected for $rejection {
            fn time_rejection(&self) -> Option<&$crate::TimeRejection> {
                match self {
                    $rejection::Time(time) => Some(time),
                    _ => None,
                }
            }
        }
    };
}
