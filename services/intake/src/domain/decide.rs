//! The state machine: which command applies to which status, and what it emits. The rules
//! are listed in the `domain` module docs; each command has one function here, and every
//! status check goes through [`require`], so a rejection always names the status.

use waybill_types::{Address, CargoLine, OrderId, ServiceLevel};

use super::{
    Allowed, AutoReview, Command, Context, CustomerStanding, Event, FailedAttempt, Order, OrderDetails,
    OrderStatus, Policy, Rejection, ReviewDecision, auto_review, cargo_review_reasons, evolve,
    limit_violations, price,
};

use OrderStatus::{
    Accepted, AttemptFailed, Cancelled, Delivered, InReview, OutForDelivery, PickedUp, Placed,
    ReturnedToSender,
};

pub fn decide(
    state: Option<&Order>,
    command: Command,
    context: &Context<'_>,
) -> Result<Vec<Event>, Rejection> {
    let (order, command) = match (state, command) {
        (None, Command::Place { order_id, details }) => return place(order_id, details, context.policy),
        (Some(_), Command::Place { .. }) => return Err(Rejection::AlreadyPlaced),
        (None, _) => return Err(Rejection::NotFound),
        (Some(order), command) => (order, command),
    };
    let policy = context.policy;
    let events = match command {
        // Handled above; repeated so the match stays exhaustive without a wildcard.
        Command::Place { .. } => return Err(Rejection::AlreadyPlaced),
        Command::ReviewAutomatically { standing } => review_automatically(order, standing, policy),
        Command::Review { decision } => review(order, decision, policy),
        Command::Amend { cargo, service_level } => amend(order, cargo, service_level, policy),
        Command::ChangeConsigneeAddress { address } => change_consignee_address(order, address, policy),
        Command::Cancel { reason } => {
            require_allowed(order, "cancel", |allowed| allowed.cancel)?;
            Ok(vec![Event::Cancelled { reason }])
        }
        Command::Restore => restore(order, context),
        Command::RecordPickup { source_event_id } => record_fact(order, Fact::Pickup, source_event_id),
        Command::RecordOutForDelivery { source_event_id } => {
            record_fact(order, Fact::OutForDelivery, source_event_id)
        }
        Command::RecordAttemptFailed { source_event_id, attempt } => {
            record_fact(order, Fact::AttemptFailed(attempt), source_event_id)
        }
        Command::RecordReturnedToSender { source_event_id, attempts } => {
            record_fact(order, Fact::ReturnedToSender(attempts), source_event_id)
        }
        Command::RecordDelivery { source_event_id } => record_fact(order, Fact::Delivery, source_event_id),
    }?;
    debug_assert_applies(order, &events, context);
    Ok(events)
}

/// `InvalidState` naming the order's status unless it is one of `allowed`.
fn require(order: &Order, action: &'static str, allowed: &[OrderStatus]) -> Result<(), Rejection> {
    waybill_command::require_status(order.status, allowed, |status| Rejection::InvalidState {
        action,
        status,
    })
}

/// `InvalidState` naming the order's status unless its row of the status table
/// ([`OrderStatus::allows`]) allows the action.
fn require_allowed(
    order: &Order,
    action: &'static str,
    allowed: impl Fn(Allowed) -> bool,
) -> Result<(), Rejection> {
    if allowed(order.status.allows()) {
        Ok(())
    } else {
        Err(Rejection::InvalidState { action, status: order.status })
    }
}

fn place(order_id: OrderId, details: OrderDetails, policy: &Policy) -> Result<Vec<Event>, Rejection> {
    let quote = price(&details, &policy.tariff)?;
    Ok(vec![Event::Placed { order_id, details, quote }])
}

fn review_automatically(
    order: &Order,
    standing: CustomerStanding,
    policy: &Policy,
) -> Result<Vec<Event>, Rejection> {
    // A human (or an earlier run of the reaction) already decided: nothing left to do.
    if order.status != Placed {
        return Ok(vec![]);
    }
    let event = match auto_review(order, standing, &policy.limits) {
        AutoReview::Accept => Event::Accepted { automatic: true },
        AutoReview::Reject { reason } => Event::Rejected { automatic: true, reason },
        AutoReview::SendToReview { reasons } => Event::SentToReview { reasons },
    };
    Ok(vec![event])
}

fn review(order: &Order, decision: ReviewDecision, policy: &Policy) -> Result<Vec<Event>, Rejection> {
    require(order, "review", &[InReview, Placed])?;
    match decision {
        ReviewDecision::Accept => {
            let violations = limit_violations(&order.details, &order.quote, &policy.limits);
            if !violations.is_empty() {
                return Err(Rejection::LimitsExceeded { violations });
            }
            Ok(vec![Event::Accepted { automatic: false }])
        }
        ReviewDecision::Reject { reason } => {
            if reason.trim().is_empty() {
                return Err(Rejection::invalid("reason", "a rejection needs a reason the customer can read"));
            }
            Ok(vec![Event::Rejected { automatic: false, reason }])
        }
    }
}

fn amend(
    order: &Order,
    cargo: Option<Vec<CargoLine>>,
    service_level: Option<ServiceLevel>,
    policy: &Policy,
) -> Result<Vec<Event>, Rejection> {
    require_allowed(order, "amend", |allowed| allowed.amend)?;
    if cargo.is_none() && service_level.is_none() {
        return Err(Rejection::invalid(
            "cargo",
            "an amendment changes the cargo, the service level, or both",
        ));
    }
    let amended = OrderDetails {
        cargo: cargo.unwrap_or_else(|| order.details.cargo.clone()),
        service_level: service_level.unwrap_or(order.details.service_level),
        ..order.details.clone()
    };
    if amended == order.details {
        return Ok(vec![]);
    }
    let quote = price(&amended, &policy.tariff)?;
    let violations = limit_violations(&amended, &quote, &policy.limits);
    if !violations.is_empty() {
        return Err(Rejection::LimitsExceeded { violations });
    }

    // Reasons the amendment brings that the order did not have (see the module docs).
    let reasons_before = cargo_review_reasons(&order.details, &policy.limits);
    let new_reasons: Vec<String> = cargo_review_reasons(&amended, &policy.limits)
        .into_iter()
        .filter(|reason| !reasons_before.contains(reason) && !order.review_reasons.contains(reason))
        .collect();
    let mut events =
        vec![Event::Amended { cargo: amended.cargo, service_level: amended.service_level, quote }];
    if !new_reasons.is_empty() {
        match order.status {
            Accepted => events.push(Event::SentToReview { reasons: new_reasons }),
            InReview => {
                let reasons = order.review_reasons.iter().cloned().chain(new_reasons).collect();
                events.push(Event::SentToReview { reasons });
            }
            // Not reviewed yet: the automatic review will see the amended order.
            _ => {}
        }
    }
    Ok(events)
}

fn change_consignee_address(
    order: &Order,
    address: Address,
    policy: &Policy,
) -> Result<Vec<Event>, Rejection> {
    require_allowed(order, "change the consignee address of", |allowed| allowed.redirect)?;
    if address == order.details.consignee.address {
        return Ok(vec![]);
    }
    let mut redirected = order.details.clone();
    redirected.consignee.address = address;
    let quote = price(&redirected, &policy.tariff)?;
    let violations = limit_violations(&redirected, &quote, &policy.limits);
    if !violations.is_empty() {
        return Err(Rejection::LimitsExceeded { violations });
    }
    Ok(vec![Event::ConsigneeAddressChanged { address: redirected.consignee.address, quote }])
}

fn restore(order: &Order, context: &Context<'_>) -> Result<Vec<Event>, Rejection> {
    let not_cancelled = Rejection::InvalidState { action: "restore", status: order.status };
    let Some(cancellation) = order.cancellation.as_ref().filter(|_| order.status == Cancelled) else {
        return Err(not_cancelled);
    };
    let window = context.policy.restore_window;
    if context.now.signed_duration_since(cancellation.cancelled_at) > window {
        return Err(Rejection::RestoreWindowPassed { cancelled_at: cancellation.cancelled_at, window });
    }
    Ok(vec![Event::Restored { restored_status: cancellation.previous_status }])
}

/// A fact another service reports about the goods.
#[derive(Clone)]
enum Fact {
    Pickup,
    OutForDelivery,
    AttemptFailed(FailedAttempt),
    ReturnedToSender(u32),
    Delivery,
}

impl Fact {
    /// (action for rejections, statuses it moves on from, statuses that already reflect it)
    fn rules(&self) -> (&'static str, &'static [OrderStatus], &'static [OrderStatus]) {
        match self {
            Fact::Pickup => (
                "record the pickup of",
                &[Accepted],
                &[PickedUp, OutForDelivery, AttemptFailed, ReturnedToSender, Delivered],
            ),
            // Every departure counts, the first and each one after a failed attempt.
            Fact::OutForDelivery => (
                "record the departure for delivery of",
                &[Accepted, PickedUp, AttemptFailed],
                &[OutForDelivery, ReturnedToSender, Delivered],
            ),
            Fact::AttemptFailed(_) => (
                "record a failed delivery attempt of",
                &[Accepted, PickedUp, OutForDelivery],
                &[AttemptFailed, ReturnedToSender, Delivered],
            ),
            Fact::ReturnedToSender(_) => (
                "record the return to the sender of",
                &[Accepted, PickedUp, OutForDelivery, AttemptFailed],
                &[ReturnedToSender],
            ),
            Fact::Delivery => {
                ("record the delivery of", &[Accepted, PickedUp, OutForDelivery, AttemptFailed], &[Delivered])
            }
        }
    }

    fn event(self, source_event_id: String) -> Event {
        match self {
            Fact::Pickup => Event::PickedUp { source_event_id },
            Fact::OutForDelivery => Event::OutForDelivery { source_event_id },
            Fact::AttemptFailed(attempt) => Event::AttemptFailed { source_event_id, attempt },
            Fact::ReturnedToSender(attempts) => Event::ReturnedToSender { source_event_id, attempts },
            Fact::Delivery => Event::Delivered { source_event_id },
        }
    }
}

fn record_fact(order: &Order, fact: Fact, source_event_id: String) -> Result<Vec<Event>, Rejection> {
    let (action, moves_on_from, already_reflected_by) = fact.rules();
    // Facts arrive at least once and not always in order: one the order already shows is no news.
    if already_reflected_by.contains(&order.status) {
        return Ok(vec![]);
    }
    require(order, action, moves_on_from)?;
    if source_event_id.trim().is_empty() {
        return Err(Rejection::invalid(
            "source_event_id",
            "a recorded fact names the event that reported it",
        ));
    }
    Ok(vec![fact.event(source_event_id)])
}

/// Debug builds check that what was decided applies and keeps the order's invariants.
fn debug_assert_applies(order: &Order, events: &[Event], context: &Context<'_>) {
    if !cfg!(debug_assertions) {
        return;
    }
    let after = events.iter().try_fold(order.clone(), |state, event| evolve(Some(state), event, context.now));
    debug_assert!(after.is_some(), "decided events do not apply to order {}", order.id);
    if let Some(after) = after {
        debug_assert!(after.quote.is_consistent(), "inconsistent quote on order {}", after.id);
        debug_assert_eq!(after.cancellation.is_some(), after.status == Cancelled, "cancellation out of step");
        debug_assert!(
            !order.status.is_terminal() || events.is_empty(),
            "a {} order changed: {events:?}",
            order.status
        );
    }
}
