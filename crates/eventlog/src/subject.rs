//! Subject naming: one subject per aggregate, so `waybill.{service}.>` is "all of a service"
//! and the exact subject is one aggregate's history:
//!
//! - `waybill.{service}.{aggregate_type}.{order_id}.{aggregate_id}` for an aggregate about
//!   one order (the order itself, its tasks, its last mile, its ledger, its returns, claims
//!   and complaints), so `waybill.*.*.{order_id}.*` ([`order_filter`]) is everything about
//!   the order, filtered by the server;
//! - `waybill.{service}.{aggregate_type}.{aggregate_id}` for one about no order (a vehicle,
//!   a hub, a courier, a customer, a complaint about no order).
//!
//! The aggregate id is always the last token. Ids go into subjects, so they are checked
//! here: a token with a '.', a wildcard or whitespace would silently address other
//! aggregates.

/// The first token of every event subject.
pub const ROOT: &str = "waybill";

/// A token that cannot be part of a subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid subject token {token:?}: must be non-empty without '.', '*', '>' or whitespace")]
pub struct InvalidToken {
    pub token: String,
}

/// Checks one subject token: non-empty, no '.', '*', '>' or whitespace.
pub fn validate_token(token: &str) -> Result<(), InvalidToken> {
    let bad =
        token.is_empty() || token.chars().any(|c| c == '.' || c == '*' || c == '>' || c.is_whitespace());
    if bad { Err(InvalidToken { token: token.to_owned() }) } else { Ok(()) }
}

/// Checks a literal subject (no wildcards), e.g. one to append to.
pub fn validate_subject(subject: &str) -> Result<(), InvalidToken> {
    subject.split('.').try_for_each(validate_token)
}

/// Checks a filter: like a subject, but a token may be `*` and the last may be `>`.
pub fn validate_filter(filter: &str) -> Result<(), InvalidToken> {
    let tokens: Vec<&str> = filter.split('.').collect();
    let last = tokens.len() - 1;
    tokens.iter().enumerate().try_for_each(|(index, token)| match *token {
        "*" => Ok(()),
        ">" if index == last => Ok(()),
        token => validate_token(token),
    })
}

/// The subject of one aggregate about no order:
/// `waybill.{service}.{aggregate_type}.{aggregate_id}`.
///
/// Callers pass ids they created (UUIDs, newtypes); an invalid token is a bug, caught by a
/// debug assertion here and refused by [`crate::EventLog::append`] with `InvalidSubject`.
/// Use [`try_aggregate`] for ids from outside the process.
pub fn aggregate(service: &str, aggregate_type: &str, aggregate_id: &str) -> String {
    let subject = format!("{ROOT}.{service}.{aggregate_type}.{aggregate_id}");
    debug_assert!(validate_subject(&subject).is_ok(), "invalid aggregate subject {subject:?}");
    subject
}

/// The subject of one aggregate about order `order_id`:
/// `waybill.{service}.{aggregate_type}.{order_id}.{aggregate_id}` (the order's own
/// aggregates have the order's id twice).
pub fn in_order(service: &str, aggregate_type: &str, order_id: &str, aggregate_id: &str) -> String {
    let subject = format!("{ROOT}.{service}.{aggregate_type}.{order_id}.{aggregate_id}");
    debug_assert!(validate_subject(&subject).is_ok(), "invalid aggregate subject {subject:?}");
    subject
}

/// [`in_order`] when `order_id` is given and not empty, else [`aggregate`].
pub fn scoped(service: &str, aggregate_type: &str, order_id: Option<&str>, aggregate_id: &str) -> String {
    match order_id {
        Some(order_id) if !order_id.is_empty() => in_order(service, aggregate_type, order_id, aggregate_id),
        _ => aggregate(service, aggregate_type, aggregate_id),
    }
}

/// Everything about one order, whichever service wrote it: `waybill.*.*.{order_id}.*`.
pub fn order_filter(order_id: &str) -> String {
    format!("{ROOT}.*.*.{order_id}.*")
}

/// The order a subject is about: its fourth token when it has five.
pub fn order_id_of(subject: &str) -> Option<&str> {
    let mut tokens = subject.split('.');
    let order = tokens.nth(3)?;
    tokens.next()?;
    tokens.next().is_none().then_some(order)
}

/// [`aggregate`], checking every token.
pub fn try_aggregate(
    service: &str,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<String, InvalidToken> {
    validate_token(service)?;
    validate_token(aggregate_type)?;
    validate_token(aggregate_id)?;
    Ok(format!("{ROOT}.{service}.{aggregate_type}.{aggregate_id}"))
}

/// Everything one service wrote: `waybill.{service}.>`.
pub fn service_filter(service: &str) -> String {
    format!("{ROOT}.{service}.>")
}

/// Every aggregate of one type, about an order or not: `waybill.{service}.{aggregate_type}.>`.
pub fn aggregate_type_filter(service: &str, aggregate_type: &str) -> String {
    format!("{ROOT}.{service}.{aggregate_type}.>")
}

/// The aggregate id of a subject: its last token.
pub fn aggregate_id_of(subject: &str) -> &str {
    subject.rsplit('.').next().unwrap_or(subject)
}

/// A parsed filter (`*` = one token, a final `>` = one or more tokens), matched in the
/// process: read models receive the whole log and pick their events here, because
/// nats-server spends far more CPU filtering a stream of many subjects than sending it all
/// (docs/BENCHMARKS.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    tokens: Vec<FilterToken>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum FilterToken {
    Literal(String),
    AnyOne,
    Rest,
}

impl Filter {
    pub fn parse(filter: &str) -> Result<Self, InvalidToken> {
        validate_filter(filter)?;
        let tokens = filter
            .split('.')
            .map(|token| match token {
                "*" => FilterToken::AnyOne,
                ">" => FilterToken::Rest,
                literal => FilterToken::Literal(literal.to_owned()),
            })
            .collect();
        Ok(Filter { tokens })
    }

    pub fn matches(&self, subject: &str) -> bool {
        let mut parts = subject.split('.');
        for token in &self.tokens {
            let Some(part) = parts.next() else { return false };
            match token {
                FilterToken::Rest => return true,
                FilterToken::AnyOne => {}
                FilterToken::Literal(literal) if literal == part => {}
                FilterToken::Literal(_) => return false,
            }
        }
        parts.next().is_none()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_checks_aggregate_subjects() {
        assert_eq!(aggregate("intake", "order", "o-1"), "waybill.intake.order.o-1");
        assert_eq!(aggregate_id_of("waybill.intake.order.o-1"), "o-1");
        for bad in ["", "a.b", "a*", ">", "a b", "tab\t"] {
            assert!(try_aggregate("intake", "order", bad).is_err(), "{bad:?} must be refused");
        }
        assert!(validate_filter("waybill.*.order.>").is_ok());
        assert!(validate_filter("waybill.>.order").is_err());
        assert!(validate_subject("waybill.intake.order.>").is_err());
    }

    #[test]
    fn an_aggregate_about_an_order_carries_it_in_the_fourth_token() {
        let return_subject = in_order("aftersales", "return", "o-1", "r-1");
        assert_eq!(return_subject, "waybill.aftersales.return.o-1.r-1");
        assert_eq!(aggregate_id_of(&return_subject), "r-1");
        assert_eq!(order_id_of(&return_subject), Some("o-1"));
        assert_eq!(order_id_of("waybill.crm.customer.c-1"), None);
        assert_eq!(scoped("aftersales", "complaint", Some(""), "c-1"), "waybill.aftersales.complaint.c-1");
        let about = Filter::parse(&order_filter("o-1")).unwrap();
        assert!(about.matches("waybill.intake.order.o-1.o-1"));
        assert!(about.matches(&return_subject));
        assert!(!about.matches("waybill.aftersales.return.o-2.r-1"));
        assert!(!about.matches("waybill.dispatch.hub.o-1"));
        let returns = Filter::parse(&aggregate_type_filter("aftersales", "complaint")).unwrap();
        assert!(returns.matches("waybill.aftersales.complaint.o-1.c-1"));
        assert!(returns.matches("waybill.aftersales.complaint.c-1"));
    }

    #[test]
    fn filters_match_as_nats_does() {
        let filter = |text: &str| Filter::parse(text).unwrap();
        let cases = [
            ("waybill.>", "waybill.intake.order.o-1", true),
            ("waybill.>", "waybill", false),
            ("waybill.intake.>", "waybill.intake.order.o-1", true),
            ("waybill.intake.>", "waybill.intakes.order.o-1", false),
            ("waybill.intake.order.*", "waybill.intake.order.o-1", true),
            ("waybill.intake.order.*", "waybill.intake.order.o-1.x", false),
            ("waybill.intake.order.*", "waybill.intake.order", false),
            ("waybill.intake.order.>", "waybill.intake.order.o-1.o-1", true),
            ("waybill.*.task.*", "waybill.dispatch.task.t-1", true),
            ("waybill.*.task.*", "waybill.dispatch.vehicle.v-1", false),
            ("waybill.intake.order.o-1", "waybill.intake.order.o-1", true),
            ("waybill.intake.order.o-1", "waybill.intake.order.o-12", false),
        ];
        for (text, subject, expected) in cases {
            assert_eq!(filter(text).matches(subject), expected, "{text} vs {subject}");
        }
        assert!(Filter::parse("waybill.>.order").is_err());
    }
}
