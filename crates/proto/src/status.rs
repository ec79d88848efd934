//! gRPC statuses every service builds the same way.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use waybill_types::FieldViolation;

use crate::convert::FieldViolations;

/// How many field violations a status carries at most. A request with hundreds of bad
/// cargo lines once made ~50 KB of message and ~100 KB of details, which a default gRPC
/// client refuses (its metadata limit); the first few name the problem well enough.
pub const MAX_REPORTED_VIOLATIONS: usize = 20;

/// INVALID_ARGUMENT carrying a `google.rpc.BadRequest` with one entry per offending field
/// (the first [`MAX_REPORTED_VIOLATIONS`], and how many more there were). The message names
/// the fields too, for clients that do not decode details.
pub fn invalid_argument(mut violations: Vec<FieldViolation>) -> Status {
    let total = violations.len();
    violations.truncate(MAX_REPORTED_VIOLATIONS);
    let mut summary = violations
        .iter()
        .map(|violation| format!("{}: {}", violation.field, violation.description))
        .collect::<Vec<_>>()
        .join("; ");
    let mut entries: Vec<tonic_types::FieldViolation> = violations
        .into_iter()
        .map(|violation| tonic_types::FieldViolation::new(violation.field, violation.description))
        .collect();
    if total > MAX_REPORTED_VIOLATIONS {
        let more = format!("{} more invalid fields not listed", total - MAX_REPORTED_VIOLATIONS);
        summary.push_str(&format!("; and {more}"));
        entries.push(tonic_types::FieldViolation::new("", more));
    }
    let details = ErrorDetails::with_bad_request(entries);
    Status::with_error_details(Code::InvalidArgument, format!("invalid request: {summary}"), details)
}

/// Where a handler stops checking its request: INVALID_ARGUMENT naming every bad field
/// ([`invalid_argument`]), or `Ok` when there was none.
pub fn require(violations: FieldViolations) -> Result<(), Status> {
    if violations.is_empty() { Ok(()) } else { Err(invalid_argument(violations.into_vec())) }
}

/// A field `require` passed but that is missing all the same: the handler's bug, not the
/// client's, hence INTERNAL.
pub fn unreachable_field() -> Status {
    Status::internal("a checked field is missing")
}

/// FAILED_PRECONDITION about one request field (or recorded fact), refused because of
/// what is stored: a `google.rpc.PreconditionFailure` whose violation has the field as its
/// subject and `kind` as its type, so a client finds the field as in a BadRequest.
pub fn failed_precondition_on(kind: &str, field: &str, message: String) -> Status {
    let violation = tonic_types::PreconditionViolation::new(kind, field, message.clone());
    Status::with_error_details(
        Code::FailedPrecondition,
        message,
        ErrorDetails::with_precondition_failure(vec![violation]),
    )
}

/// The subjects of a FAILED_PRECONDITION's violations, if any (for clients and tests).
pub fn precondition_subjects(status: &Status) -> Vec<String> {
    status
        .get_details_precondition_failure()
        .map(|failure| failure.violations.into_iter().map(|violation| violation.subject).collect())
        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_violations_are_reported_as_the_first_few_and_a_count() {
        let violations: Vec<FieldViolation> = (0..100)
            .map(|line| FieldViolation::new(format!("cargo[{line}].description"), "must not be empty"))
            .collect();
        let status = invalid_argument(violations);
        let reported = field_violations(&status);
        assert_eq!(reported.len(), MAX_REPORTED_VIOLATIONS + 1);
        assert_eq!(reported[0].field, "cargo[0].description");
        assert_eq!(reported[MAX_REPORTED_VIOLATIONS].description, "80 more invalid fields not listed");
        assert!(status.message().contains("and 80 more invalid fields not listed"), "{}", status.message());
        // Small enough for a default client's 16 KiB header budget, details included.
        assert!(status.message().len() + status.details().len() < 8 * 1024, "{}", status.message().len());
    }

    #[test]
    fn a_few_violations_are_all_reported() {
        let status = invalid_argument(vec![FieldViolation::new("customer_id", "must not be empty")]);
        assert_eq!(field_violations(&status), vec![FieldViolation::new("customer_id", "must not be empty")]);
        assert_eq!(status.message(), "invalid request: customer_id: must not be empty");
    }
}
