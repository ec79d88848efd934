//! The Delivery state machine: which command applies to which status, and what it emits.
//! The rules are listed in the `domain` module docs; every status check goes through
//! [`require`], so a rejection always names the status.

use waybill_types::{Address, Party, ServiceLevel, Timestamp};

use super::{
    Context, CourierId, Delivery, DeliveryCommand, DeliveryEvent, DeliveryStatus, ExceptionKind,
    FailureReason, ProofOfDelivery, Rejection, TimeWindow, evolve,
};

use DeliveryStatus::{Assigned, AttemptFailed, Delivered, OutForDelivery, ReturnedToSender, Scheduled};

pub fn decide(
    state: Option<&Delivery>,
    command: DeliveryCommand,
    context: &Context<'_>,
) -> Result<Vec<DeliveryEvent>, Rejection> {
    let (delivery, command) = match (state, command) {
        (
            None,
            DeliveryCommand::Schedule {
                order_id,
                service_level,
                consignee,
                hub,
                arrived_at,
                source_event_id,
            },
        ) => {
            return Ok(schedule(
                order_id,
                service_level,
                consignee,
                hub,
                arrived_at,
                source_event_id,
                context,
            ));
        }
        // Already scheduled: a repeated or redelivered arrival.
        (Some(_), DeliveryCommand::Schedule { .. }) => return Ok(vec![]),
        (None, _) => return Err(Rejection::DeliveryNotFound),
        (Some(delivery), command) => (delivery, command),
    };
    let events = match command {
        DeliveryCommand::Schedule { .. } => Vec::new(),
        DeliveryCommand::UpdateAddress { address, source_event_id } => {
            update_address(delivery, address, source_event_id)
        }
        DeliveryCommand::Assign { courier_id, automatic } => assign(delivery, courier_id, automatic)?,
        DeliveryCommand::Start { redirect } => start(delivery, redirect, context)?,
        DeliveryCommand::RecordFailedAttempt { reason, note, next_window } => {
            failed_attempt(delivery, reason, note, next_window, context)?
        }
        DeliveryCommand::Confirm { proof } => confirm(delivery, proof, context)?,
        DeliveryCommand::ReportException { kind, description } => {
            report_exception(delivery, kind, description)?
        }
        DeliveryCommand::RaiseDelay { window_end } => raise_delay(delivery, window_end, context),
    };
    debug_assert!(applies(delivery, &events, context.now), "decided events must apply");
    Ok(events)
}

/// `InvalidState` naming the delivery's status unless it is one of `allowed`.
fn require(delivery: &Delivery, action: &'static str, allowed: &[DeliveryStatus]) -> Result<(), Rejection> {
    waybill_command::require_status(delivery.status, allowed, |status| Rejection::InvalidState {
        action,
        status,
    })
}

fn schedule(
    order_id: waybill_types::OrderId,
    service_level: ServiceLevel,
    consignee: Party,
    hub: String,
    arrived_at: Timestamp,
    source_event_id: String,
    context: &Context<'_>,
) -> Vec<DeliveryEvent> {
    let window = context.policy.window_for(service_level, arrived_at);
    let zone = consignee.address.city.trim().to_owned();
    let scheduled =
        DeliveryEvent::Scheduled { order_id, service_level, consignee, zone, hub, window, source_event_id };
    vec![scheduled]
}

fn update_address(delivery: &Delivery, address: Address, source_event_id: String) -> Vec<DeliveryEvent> {
    // Before the (next) departure only: after a failed attempt the new address is the one
    // the courier takes next. Out (or done), the order's own rules have refused the change.
    if !matches!(delivery.status, Scheduled | Assigned | AttemptFailed)
        || delivery.consignee.address == address
    {
        return Vec::new();
    }
    let zone = address.city.trim().to_owned();
    vec![DeliveryEvent::AddressUpdated { address, zone, source_event_id }]
}

fn assign(
    delivery: &Delivery,
    courier_id: CourierId,
    automatic: bool,
) -> Result<Vec<DeliveryEvent>, Rejection> {
    require(delivery, "assign a courier to", &[Scheduled, Assigned, AttemptFailed])?;
    if delivery.courier == Some(courier_id) {
        return Ok(Vec::new());
    }
    Ok(vec![DeliveryEvent::CourierAssigned { courier_id, automatic }])
}

fn start(
    delivery: &Delivery,
    redirect: Option<(Address, String)>,
    context: &Context<'_>,
) -> Result<Vec<DeliveryEvent>, Rejection> {
    if delivery.status == Scheduled {
        return Err(Rejection::NoCourierAssigned);
    }
    require(delivery, "start", &[Assigned, AttemptFailed])?;
    context.recorded("departed_at", &[("the delivery's latest event", delivery.updated_at)])?;
    let courier_id = delivery.courier.ok_or(Rejection::NoCourierAssigned)?;
    // A redirect not applied yet goes out with this departure, not after it.
    let mut events = match redirect {
        Some((address, source_event_id)) => update_address(delivery, address, source_event_id),
        None => Vec::new(),
    };
    events.push(DeliveryEvent::Started { courier_id });
    Ok(events)
}

fn failed_attempt(
    delivery: &Delivery,
    reason: FailureReason,
    note: String,
    next_window: Option<TimeWindow>,
    context: &Context<'_>,
) -> Result<Vec<DeliveryEvent>, Rejection> {
    require(delivery, "record a failed attempt of", &[OutForDelivery])?;
    context.recorded("attempted_at", &departure(delivery))?;
    let attempt = u32::try_from(delivery.failed_attempts.len()).unwrap_or(u32::MAX).saturating_add(1);
    let policy = context.policy;
    if attempt >= policy.max_attempts {
        // The last attempt: the goods go back (the consignee hears that, once: `notification`).
        let events = vec![
            DeliveryEvent::AttemptFailed { attempt, reason, note, rescheduled_window: None },
            DeliveryEvent::ReturnedToSender { attempts: attempt },
        ];
        return Ok(events);
    }
    // The next try: the window agreed with the consignee, or one as long as the promised
    // one, `reschedule_after` from now.
    let rescheduled_window = match next_window {
        Some(window) if window.end <= context.now => {
            return Err(Rejection::invalid("next_window.end", "must be in the future"));
        }
        Some(window) => window,
        None => {
            let length = delivery.window.end - delivery.window.start;
            let start = context.now + policy.reschedule_after;
            TimeWindow { start, end: start + length }
        }
    };
    let rescheduled_window = Some(rescheduled_window);
    let failed = DeliveryEvent::AttemptFailed { attempt, reason, note, rescheduled_window };
    Ok(vec![failed])
}

fn confirm(
    delivery: &Delivery,
    proof: ProofOfDelivery,
    context: &Context<'_>,
) -> Result<Vec<DeliveryEvent>, Rejection> {
    require(delivery, "confirm", &[OutForDelivery])?;
    // A handover follows the departure; one reported earlier (or in the future) would make
    // lead times and on-time figures wrong downstream.
    context.reported("proof.delivered_at", proof.delivered_at, &departure(delivery))?;
    let on_time = delivery.on_time(proof.delivered_at);
    let first_attempt = delivery.failed_attempts.is_empty();
    let completed = DeliveryEvent::Completed { proof, on_time, first_attempt };
    Ok(vec![completed])
}

/// The departure an attempt or a handover follows (the latest `Started`).
fn departure(delivery: &Delivery) -> Vec<waybill_command::Earlier> {
    delivery.out_since.map(|left| ("the departure", left)).into_iter().collect()
}

fn report_exception(
    delivery: &Delivery,
    kind: ExceptionKind,
    description: String,
) -> Result<Vec<DeliveryEvent>, Rejection> {
    match kind {
        ExceptionKind::DamagedPartial | ExceptionKind::DamagedTotal => require(
            delivery,
            "report damage of",
            &[Scheduled, Assigned, OutForDelivery, AttemptFailed, Delivered, ReturnedToSender],
        )?,
        ExceptionKind::Lost => {
            require(delivery, "report the loss of", &[Scheduled, Assigned, OutForDelivery, AttemptFailed])?
        }
        ExceptionKind::HandoverDispute => {
            require(delivery, "dispute the handover of", &[OutForDelivery, Delivered])?
        }
        ExceptionKind::Delayed => {
            return Err(Rejection::invalid("kind", "delays are raised by the SLA clock, not reported"));
        }
    }
    let raised = DeliveryEvent::ExceptionRaised { kind, description, missed_window: None };
    Ok(vec![raised])
}

fn raise_delay(delivery: &Delivery, window_end: Timestamp, context: &Context<'_>) -> Vec<DeliveryEvent> {
    // Once per window, while it is still the delivery's window, only after it passed.
    let due = delivery.status.is_open()
        && delivery.window.end == window_end
        && window_end < context.now
        && !delivery.delay_raised_for(window_end);
    if !due {
        return Vec::new();
    }
    let raised = DeliveryEvent::ExceptionRaised {
        kind: ExceptionKind::Delayed,
        description: format!("the promised window ending {} UTC passed", window_end.format("%Y-%m-%d %H:%M")),
        missed_window: Some(delivery.window),
    };
    vec![raised]
}

/// True if every event applies to the delivery in turn (`evolve` never leaves `None`).
fn applies(delivery: &Delivery, events: &[DeliveryEvent], now: Timestamp) -> bool {
    events.iter().try_fold(delivery.clone(), |state, event| evolve(Some(state), event, now)).is_some()
}
