//! The event codec: CRM's domain events to and from the wire envelope on the log, and the
//! profile's wire form (checked), shared with `api.rs`. This and `api.rs` are the only
//! places where CRM's own types meet prost types.

use waybill_eventlog::NewEvent;
use waybill_proto::convert::{self, FieldViolations};
use waybill_proto::envelope::{self, Belongs, Envelope, EventMeta};
use waybill_proto::v1::{self, crm_event};
use waybill_types::CustomerId;

use crate::domain::{CreditRating, CustomerKind, Event, Profile};

/// Payload schema version of CRM's events.
pub const SCHEMA_VERSION: u32 = 1;
/// Most contacts, and most addresses, one profile may list.
pub const MAX_PROFILE_ENTRIES: usize = 20;

/// Why stored bytes are not one of CRM's events (shared by every codec).
pub use waybill_proto::envelope::DecodeError as CodecError;

#[derive(Clone, Debug)]
pub struct DecodedEvent {
    pub customer_id: CustomerId,
    pub meta: EventMeta,
    pub event_type: String,
    pub event: Event,
}

pub fn encode(customer_id: &CustomerId, event: &Event, meta: &EventMeta) -> NewEvent {
    let id = customer_id.to_string();
    envelope::encode(meta, Belongs::aggregate(&id), event.event_type(), SCHEMA_VERSION, event_to_wire(event))
}

pub fn decode(payload: &[u8]) -> Result<DecodedEvent, CodecError> {
    let Envelope { header, event: wire } = envelope::decode_owned::<crm_event::Event>(payload)?;
    let customer_id =
        CustomerId::parse(&header.aggregate_id).map_err(|error| CodecError::BadField(error.to_string()))?;
    let meta = header.meta()?;
    let event = event_from_wire(wire, &customer_id)?;
    Ok(DecodedEvent { customer_id, meta, event_type: header.event_type, event })
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
    let mut violations = FieldViolations::for_stored();
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
            Err(CodecError::BadField(fields.join(", ")))
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
    let value = violations.required(field, value)?;
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
    let contacts = entries(violations, &format!("{field}.contacts"), &value.contacts, convert::contact);
    let addresses = entries(violations, &format!("{field}.addresses"), &value.addresses, convert::address);
    Some(Profile { kind: kind?, name, industry, contacts, addresses })
}

/// Each entry of one of a profile's lists, checked as `field[index]`; an entry that fails
/// is left out (what was wrong is in `violations`).
fn entries<W, T>(
    violations: &mut FieldViolations,
    field: &str,
    values: &[W],
    check: impl Fn(&mut FieldViolations, &str, Option<&W>) -> Option<T>,
) -> Vec<T> {
    values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| check(violations, &format!("{field}[{index}]"), Some(value)))
        .collect()
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
