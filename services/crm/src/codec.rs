//! The event codec: CRM's domain events to and from the wire envelope on the log, and the
//! profile's wire form (checked), shared with `api.rs`. This and `api.rs` are the only
//! places where CRM's own types meet prost types.

use bytes::Bytes;
use prost::Message;
use uuid::Uuid;
use waybill_command::EventMeta;
use waybill_eventlog::NewEvent;
use waybill_proto::convert::{self, FieldViolations};
use waybill_proto::v1::{self, crm_event, event_envelope::Payload};
use waybill_types::{Currency, CustomerId, Money};

use crate::domain::{CreditRating, CustomerKind, Event, Profile};

/// Payload schema version of CRM's events.
pub const SCHEMA_VERSION: u32 = 1;
/// Most contacts, and most addresses, one profile may list.
pub const MAX_PROFILE_ENTRIES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("not a waybill envelope: {0}")]
    Envelope(#[from] prost::DecodeError),
    #[error("envelope carries no crm event")]
    NotCrm,
    #[error("crm event has no payload")]
    Empty,
    #[error("bad field in stored event: {0}")]
    Field(String),
}

#[derive(Clone, Debug)]
pub struct DecodedEvent {
    pub customer_id: CustomerId,
    pub meta: EventMeta,
    pub event_type: String,
    pub event: Event,
}

pub fn encode(customer_id: &CustomerId, event: &Event, meta: &EventMeta) -> NewEvent {
    let envelope = v1::EventEnvelope {
        event_id: meta.event_id.to_string(),
        event_type: event.event_type().to_owned(),
        aggregate_id: customer_id.to_string(),
        order_id: String::new(),
        occurred_at: Some(convert::timestamp_to_wire(meta.occurred_at)),
        causation_id: meta.causation_id.clone(),
        correlation_id: meta.correlation_id.clone(),
        actor: Some((&meta.actor).into()),
        schema_version: SCHEMA_VERSION,
        payload: Some(Payload::Crm(v1::CrmEvent { event: Some(event_to_wire(event)) })),
    };
    NewEvent {
        event_id: meta.event_id,
        event_type: event.event_type().to_owned(),
        aggregate_id: customer_id.to_string(),
        occurred_at: meta.occurred_at,
        payload: Bytes::from(envelope.encode_to_vec()),
    }
}

pub fn decode(payload: &[u8]) -> Result<DecodedEvent, CodecError> {
    let envelope = v1::EventEnvelope::decode(payload)?;
    let Some(Payload::Crm(crm)) = envelope.payload else { return Err(CodecError::NotCrm) };
    let wire_event = crm.event.ok_or(CodecError::Empty)?;
    let customer_id =
        CustomerId::parse(&envelope.aggregate_id).map_err(|error| CodecError::Field(error.to_string()))?;
    let meta = EventMeta {
        event_id: Uuid::parse_str(&envelope.event_id).map_err(|_| CodecError::Field("event_id".into()))?,
        occurred_at: convert::timestamp_from_wire(envelope.occurred_at.as_ref()),
        causation_id: envelope.causation_id,
        correlation_id: envelope.correlation_id,
        actor: convert::actor_from_wire(envelope.actor.as_ref()),
    };
    let event = event_from_wire(wire_event, &customer_id)?;
    Ok(DecodedEvent { customer_id, meta, event_type: envelope.event_type, event })
}

fn event_to_wire(event: &Event) -> crm_event::Event {
    use crm_event::Event as Wire;
    match event {
        Event::Registered { profile, .. } => {
            Wire::CustomerRegistered(v1::CustomerRegistered { profile: Some(profile_to_wire(profile)) })
        }
        Event::Updated { profile } => {
            Wire::CustomerUpdated(v1::CustomerUpdated { profile: Some(profile_to_wire(profile)) })
        }
        Event::CreditRatingSet { rating, credit_limit } => Wire::CreditRatingSet(v1::CreditRatingSet {
            rating: rating_to_wire(*rating).into(),
            credit_limit: Some(credit_limit.into()),
        }),
        Event::CreditHoldPlaced { reason } => {
            Wire::CreditHoldPlaced(v1::CreditHoldPlaced { reason: reason.clone() })
        }
        Event::CreditHoldReleased { note } => {
            Wire::CreditHoldReleased(v1::CreditHoldReleased { note: note.clone() })
        }
    }
}

fn event_from_wire(event: crm_event::Event, customer_id: &CustomerId) -> Result<Event, CodecError> {
    use crm_event::Event as Wire;
    let mut violations = FieldViolations::new();
    let event = match event {
        Wire::CustomerRegistered(registered) => {
            let profile = profile_from_wire(&mut violations, "profile", registered.profile.as_ref());
            profile.map(|profile| Event::Registered { customer_id: customer_id.clone(), profile })
        }
        Wire::CustomerUpdated(updated) => {
            profile_from_wire(&mut violations, "profile", updated.profile.as_ref())
                .map(|profile| Event::Updated { profile })
        }
        Wire::CreditRatingSet(set) => {
            let rating = rating_from_wire(&mut violations, "rating", set.rating);
            let limit = convert::money(&mut violations, "credit_limit", set.credit_limit.as_ref());
            match (rating, limit) {
                (Some(rating), Some(credit_limit)) => Some(Event::CreditRatingSet { rating, credit_limit }),
                _ => None,
            }
        }
        Wire::CreditHoldPlaced(placed) => Some(Event::CreditHoldPlaced { reason: placed.reason }),
        Wire::CreditHoldReleased(released) => Some(Event::CreditHoldReleased { note: released.note }),
    };
    match event {
        Some(event) if violations.is_empty() => Ok(event),
        _ => {
            let fields: Vec<String> =
                violations.into_vec().into_iter().map(|violation| violation.field).collect();
            Err(CodecError::Field(fields.join(", ")))
        }
    }
}

pub fn profile_to_wire(profile: &Profile) -> v1::CustomerProfile {
    v1::CustomerProfile {
        kind: kind_to_wire(profile.kind).into(),
        name: profile.name.clone(),
        industry: profile.industry.clone(),
        contacts: profile.contacts.iter().map(Into::into).collect(),
        addresses: profile.addresses.iter().map(Into::into).collect(),
    }
}

/// A profile, checked field by field (names every problem under `field`).
pub fn profile_from_wire(
    violations: &mut FieldViolations,
    field: &str,
    value: Option<&v1::CustomerProfile>,
) -> Option<Profile> {
    let Some(value) = value else {
        violations.push(field, "is required");
        return None;
    };
    let kind = match v1::CustomerKind::try_from(value.kind) {
        Ok(v1::CustomerKind::Organisation) => Some(CustomerKind::Organisation),
        Ok(v1::CustomerKind::Person) => Some(CustomerKind::Person),
        _ => {
            violations.push(format!("{field}.kind"), "must be ORGANISATION or PERSON");
            None
        }
    };
    let name = convert::text(violations, &format!("{field}.name"), &value.name, true);
    let industry = convert::text(violations, &format!("{field}.industry"), &value.industry, false);
    if value.contacts.len() > MAX_PROFILE_ENTRIES {
        violations.push(format!("{field}.contacts"), format!("at most {MAX_PROFILE_ENTRIES} contacts"));
    }
    if value.addresses.len() > MAX_PROFILE_ENTRIES {
        violations.push(format!("{field}.addresses"), format!("at most {MAX_PROFILE_ENTRIES} addresses"));
    }
    let contacts = value
        .contacts
        .iter()
        .enumerate()
        .filter_map(|(index, contact)| {
            convert::contact(violations, &format!("{field}.contacts[{index}]"), Some(contact))
        })
        .collect();
    let addresses = value
        .addresses
        .iter()
        .enumerate()
        .filter_map(|(index, address)| {
            convert::address(violations, &format!("{field}.addresses[{index}]"), Some(address))
        })
        .collect();
    Some(Profile { kind: kind?, name, industry, contacts, addresses })
}

pub fn kind_to_wire(kind: CustomerKind) -> v1::CustomerKind {
    match kind {
        CustomerKind::Organisation => v1::CustomerKind::Organisation,
        CustomerKind::Person => v1::CustomerKind::Person,
    }
}

pub fn rating_to_wire(rating: CreditRating) -> v1::CreditRating {
    match rating {
        CreditRating::A => v1::CreditRating::A,
        CreditRating::B => v1::CreditRating::B,
        CreditRating::C => v1::CreditRating::C,
    }
}

pub fn rating_from_wire(violations: &mut FieldViolations, field: &str, value: i32) -> Option<CreditRating> {
    match v1::CreditRating::try_from(value) {
        Ok(v1::CreditRating::A) => Some(CreditRating::A),
        Ok(v1::CreditRating::B) => Some(CreditRating::B),
        Ok(v1::CreditRating::C) => Some(CreditRating::C),
        _ => {
            violations.push(field, "must be A, B or C");
            None
        }
    }
}

/// Money as another service wrote it (already checked there); `None` if unreadable.
pub fn money_from_wire(value: Option<&v1::Money>) -> Option<Money> {
    let value = value?;
    Currency::parse(&value.currency).ok().map(|currency| Money::new(value.amount_minor, currency))
}
