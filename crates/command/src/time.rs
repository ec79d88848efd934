//! Time sanity, once for every service: a fact's time never comes before the facts it
//! follows, and a time a client reports is never in the future.
//!
//! Two kinds of time reach a decider. A client *reports* some (a courier's `delivered_at`
//! from its device); the rest the service *records* from its own clock (pickup, arrival,
//! receipt, resolution, ...). Both are checked against the stored facts they follow (the
//! departure before a handover, the filing before a resolution), because a device's clock,
//! a replica on another host, or a clock stepped back can put them out of order, and then
//! lead times, resolution times and on-time figures downstream come out negative or wrong.
//! Clocks drift, so each check allows the one configured skew (`--clock-skew`,
//! [`Context::clock_skew`]) either way; beyond it:
//!
//! - a reported time in the future is INVALID_ARGUMENT naming the field (the request is
//!   wrong whatever is stored);
//! - a time before a stored fact it follows is FAILED_PRECONDITION naming the field and the
//!   fact (the request is refused because of what is stored).
//!
//! Nothing is written either way. Deciders call [`Context::reported`] and
//! [`Context::recorded`]; their rejections carry a [`TimeRejection`], which becomes a
//! status here, the same in every service.

use tonic::Status;
use waybill_proto::status;
use waybill_types::{FieldViolation, Timestamp};

use crate::Context;

/// The clock skew allowed when `--clock-skew` does not say (and in deciders' tests).
pub const DEFAULT_CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// A stored fact a new one follows: what it is, for the rejection, and when it happened.
pub type Earlier = (&'static str, Timestamp);

/// Why a fact's time cannot stand.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeRejection {
    /// A reported time later than the server's clock, beyond the allowed skew.
    #[error(
        "{field} ({at}) is in the future: the server's clock reads {now}, allowing {skew_seconds} s of skew"
    )]
    InFuture { field: &'static str, at: String, now: String, skew_seconds: i64 },
    /// A time before a stored fact it follows, beyond the allowed skew.
    #[error("{field} ({at}) is before {follows} ({earlier}), allowing {skew_seconds} s of skew")]
    BeforeFact { field: &'static str, at: String, follows: &'static str, earlier: String, skew_seconds: i64 },
}

impl TimeRejection {
    /// The request field (or recorded fact) the rejection is about.
    pub fn field(&self) -> &'static str {
        match self {
            TimeRejection::InFuture { field, .. } | TimeRejection::BeforeFact { field, .. } => field,
        }
    }
}

/// A service's rejection that may be a [`TimeRejection`] (for tests and callers that
/// single these out).
pub trait TimeRejected {
    fn time_rejection(&self) -> Option<&TimeRejection>;
}

/// The field a decision's time rejection names, if it was one (for tests).
pub fn refused_field<T, R: TimeRejected>(decided: &Result<T, R>) -> Option<&'static str> {
    decided.as_ref().err().and_then(TimeRejected::time_rejection).map(TimeRejection::field)
}

impl<P> Context<'_, P> {
    /// `at`, a time a client reported for `field`: not after now, not before any of the
    /// `earlier` facts, each beyond [`Context::clock_skew`].
    pub fn reported(
        &self,
        field: &'static str,
        at: Timestamp,
        earlier: &[Earlier],
    ) -> Result<(), TimeRejection> {
        if at > self.now + self.clock_skew {
            return Err(TimeRejection::InFuture {
                field,
                at: at.to_rfc3339(),
                now: self.now.to_rfc3339(),
                skew_seconds: self.clock_skew.num_seconds(),
            });
        }
        self.not_before(field, at, earlier)
    }

    /// The clock's reading as the time of the fact `field` records: not before any of the
    /// `earlier` facts beyond [`Context::clock_skew`] (another replica's clock, or a clock
    /// stepped back, may be behind the one that recorded them).
    pub fn recorded(&self, field: &'static str, earlier: &[Earlier]) -> Result<(), TimeRejection> {
        self.not_before(field, self.now, earlier)
    }

    fn not_before(
        &self,
        field: &'static str,
        at: Timestamp,
        earlier: &[Earlier],
    ) -> Result<(), TimeRejection> {
        match earlier.iter().find(|(_, earlier)| at + self.clock_skew < *earlier) {
            Some((follows, earlier)) => Err(TimeRejection::BeforeFact {
                field,
                at: at.to_rfc3339(),
                follows,
                earlier: earlier.to_rfc3339(),
                skew_seconds: self.clock_skew.num_seconds(),
            }),
            None => Ok(()),
        }
    }
}

impl From<TimeRejection> for Status {
    fn from(rejection: TimeRejection) -> Self {
        let field = rejection.field();
        match rejection {
            TimeRejection::InFuture { .. } => {
                status::invalid_argument(vec![FieldViolation::new(field, rejection.to_string())])
            }
            TimeRejection::BeforeFact { .. } => {
                status::failed_precondition_on("TIME_ORDER", field, rejection.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    fn at(minute: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).single().expect("valid time") + Duration::minutes(minute)
    }

    #[test]
    fn a_reported_time_within_the_skew_stands() {
        let context = Context::new(at(0), &());
        assert_eq!(context.reported("proof.delivered_at", at(4), &[("the departure", at(3))]), Ok(()));
        assert_eq!(context.reported("proof.delivered_at", at(-2), &[("the departure", at(2))]), Ok(()));
    }

    #[test]
    fn a_reported_time_in_the_future_is_an_invalid_argument_naming_the_field() {
        let context = Context::new(at(0), &());
        let rejection = context.reported("proof.delivered_at", at(6), &[]).expect_err("in the future");
        let status = Status::from(rejection);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(status::field_violations(&status)[0].field, "proof.delivered_at");
    }

    #[test]
    fn a_time_before_a_fact_it_follows_is_a_failed_precondition_naming_field_and_fact() {
        let context = Context::new(at(0), &());
        let rejection =
            context.recorded("arrived_at", &[("the pickup", at(10))]).expect_err("before the pickup");
        assert_eq!(rejection.field(), "arrived_at");
        let status = Status::from(rejection);
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert!(
            status.message().contains("arrived_at") && status.message().contains("the pickup"),
            "{status:?}"
        );
        assert_eq!(status::precondition_subjects(&status), ["arrived_at"]);
    }

    #[test]
    fn the_skew_is_the_contexts() {
        let context = Context::new(at(0), &()).with_clock_skew(Duration::zero());
        assert!(context.recorded("arrived_at", &[("the pickup", at(1))]).is_err());
        assert!(context.reported("proof.delivered_at", at(1), &[]).is_err());
        assert_eq!(context.recorded("arrived_at", &[("the pickup", at(0))]), Ok(()));
    }
}
