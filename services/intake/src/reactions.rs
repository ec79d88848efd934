//! What intake does when events arrive: today, the automatic review of placed orders.
//!
//! The reviewer is a process manager on a durable consumer: every replica of intake shares
//! it, so each placement is reviewed once in effect. It is idempotent twice over: the
//! review command's request id is the placing event's id (a redelivery finds the answer it
//! already wrote), and reviewing an order that is no longer `Placed` decides nothing.

use waybill_eventlog::{ReactionError, ReactionSettings, RecordedEvent};
use waybill_types::Actor;

use crate::codec;
use crate::commands::{CommandError, CommandMeta, CommandRunner};
use crate::domain::{Command, CustomerStanding, Event, OrderStatus, Rejection};

/// The durable consumer's name; shared by all replicas.
pub const AUTO_REVIEW_CONSUMER: &str = "intake-auto-review";

pub fn auto_review_settings() -> ReactionSettings {
    ReactionSettings {
        durable_name: AUTO_REVIEW_CONSUMER.to_owned(),
        filters: vec!["waybill.intake.order.*".to_owned()],
        dead_letter_subject: format!("deadletter.intake.{AUTO_REVIEW_CONSUMER}"),
        ..ReactionSettings::default()
    }
}

/// Reviews an order that was just placed, or restored to `Placed`.
pub async fn auto_review(runner: CommandRunner, recorded: RecordedEvent) -> Result<(), ReactionError> {
    let decoded =
        codec::decode(&recorded.payload).map_err(|error| ReactionError::Poison(error.to_string()))?;
    let needs_review = match &decoded.event {
        Event::Placed { .. } => true,
        Event::Restored { restored_status } => *restored_status == OrderStatus::Placed,
        _ => false,
    };
    if !needs_review {
        return Ok(());
    }
    let order_id = decoded.order_id;
    // The reviewer and the read model follow the log independently; judge the customer's
    // standing on a model that has at least seen this event.
    runner
        .model
        .wait_for(recorded.position, runner.wait_timeout)
        .await
        .map_err(|error| ReactionError::Transient(error.to_string()))?;
    let standing = {
        let book = runner.model.read();
        match book.get(&order_id) {
            Some(record) if book.is_on_credit_hold(&record.order.details.customer_id) => {
                CustomerStanding::OnCreditHold
            }
            _ => CustomerStanding::Good,
        }
    };
    let meta = CommandMeta {
        request_id: decoded.meta.event_id.to_string(),
        actor: Actor::service("intake-auto-review"),
        correlation_id: decoded.meta.correlation_id.clone(),
    };
    match runner.run(order_id, &Command::ReviewAutomatically { standing }, &meta).await {
        Ok(outcome) => {
            tracing::info!(%order_id, status = outcome.state.status.as_str(), "order reviewed automatically");
            Ok(())
        }
        // Nothing to review any more (cancelled meanwhile, reviewed by hand, ...).
        Err(CommandError::Rejected(Rejection::InvalidState { .. })) => Ok(()),
        Err(CommandError::Rejected(rejection)) => Err(ReactionError::Poison(rejection.to_string())),
        Err(error) => Err(ReactionError::Transient(error.to_string())),
    }
}
