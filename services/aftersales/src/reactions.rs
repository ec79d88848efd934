//! What after-sales does when other services' events arrive, on a durable consumer shared
//! by every replica (each event is handled once in effect):
//!
//! - `aftersales-claims` (`waybill.delivery.task.>`): a delivery exception of kind
//!   DAMAGED_PARTIAL, DAMAGED_TOTAL or LOST → open a claim for the order.
//!
//! Delivery's events are read through its typed facts (`waybill_proto::facts::delivery`),
//! never through its crate.
//! Idempotent twice over: the claim's id is a UUIDv5 of the causing event's id, and the
//! command's request id is that event's id (`CommandMeta::reacting_to`), so a redelivered
//! or replayed event finds the claim it already opened and writes nothing.

use waybill_command::CommandMeta;
use waybill_eventlog::{ReactionError, ReactionSettings, RecordedEvent};
use waybill_proto::DecodeError;
use waybill_proto::facts::delivery::{self, DeliveryFact};
use waybill_proto::v1;
use waybill_types::Actor;

use crate::commands::{ClaimRunner, CommandError};
use crate::domain::{CaseId, CaseKind, ClaimCommand, ClaimKind};

/// The durable consumer of delivery's task events; shared by all replicas.
pub const CLAIMS_CONSUMER: &str = "aftersales-claims";

pub fn claims_settings() -> ReactionSettings {
    ReactionSettings::durable("aftersales", CLAIMS_CONSUMER, "waybill.delivery.task.>")
}

/// The claim a delivery exception opens: its id derives from the exception event's id.
pub fn claim_id_for(event_id: &str) -> CaseId {
    CaseId::derived(CaseKind::Claim, event_id)
}

/// Opens a claim for a damaged or lost delivery (see the module docs).
pub async fn open_claim_on_exception(
    runner: ClaimRunner,
    recorded: RecordedEvent,
) -> Result<(), ReactionError> {
    let envelope =
        delivery::read(&recorded.payload).map_err(|error| ReactionError::Poison(error.to_string()))?;
    let Some(envelope) = envelope else { return Ok(()) };
    let DeliveryFact::ExceptionRaised { kind, description } = &envelope.event else { return Ok(()) };
    let kind = match kind {
        v1::DeliveryExceptionKind::DamagedPartial => ClaimKind::DamagedPartial,
        v1::DeliveryExceptionKind::DamagedTotal => ClaimKind::DamagedTotal,
        v1::DeliveryExceptionKind::Lost => ClaimKind::Lost,
        _ => return Ok(()),
    };
    let description = description.clone();
    let poison = |error: DecodeError| ReactionError::Poison(format!("event {}: {error}", envelope.event_id));
    let order_id = envelope.order_id().map_err(poison)?;
    let cause = envelope.meta().map_err(poison)?;
    // The order's facts were written before the exception: wait until the model has them.
    runner
        .model
        .wait_for(recorded.position, runner.wait_timeout)
        .await
        .map_err(|error| ReactionError::Transient(error.to_string()))?;
    let order = runner.model.read().order(&order_id).cloned();
    if order.is_none() {
        return Err(ReactionError::Poison(format!(
            "order {order_id} had a delivery exception but intake never placed it"
        )));
    }
    let claim_id = claim_id_for(&envelope.event_id);
    let command = ClaimCommand::Open {
        claim_id,
        order,
        kind,
        description,
        automatic: true,
        source_event_id: envelope.event_id.clone(),
    };
    let meta = CommandMeta::reacting_to(&cause, Actor::service(CLAIMS_CONSUMER));
    match runner.run(claim_id, &command, &meta).await {
        Ok(_) => {
            tracing::info!(%order_id, %claim_id, "delivery exception: claim opened");
            Ok(())
        }
        Err(CommandError::Rejected(rejection)) => Err(ReactionError::Poison(rejection.to_string())),
        Err(error) => Err(ReactionError::Transient(error.to_string())),
    }
}
