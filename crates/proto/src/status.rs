//! gRPC statuses every service builds the same way.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use waybill_types::FieldViolation;

/// INVALID_ARGUMENT carrying a `google.rpc.BadRequest` with one entry per offending field.
/// The message names the fields too, for clients that do not decode details.
pub fn invalid_argument(violations: Vec<FieldViolation>) -> Status {
    let summary = violations
        .iter()
        .map(|violation| format!("{}: {}", violation.field, violation.description))
        .collect::<Vec<_>>()
        .join("; ");
    let details = ErrorDetails::with_bad_request(
        violations
            .into_iter()
            .map(|violation| tonic_types::FieldViolation::new(violation.field, violation.description))
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(Code::InvalidArgument, format!("invalid request: {summary}"), details)
}

/// The field violations carried by a status, if any (for clients and tests).
pub fn field_violations(status: &Status) -> Vec<FieldViolation> {
    status
        .get_details_bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .into_iter()
                .map(|violation| FieldViolation::new(violation.field, violation.description))
                .collect()
        })
        .unwrap_or_default()
}
