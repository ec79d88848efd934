//! The envelope every event travels in on the log (`waybill.v1.EventEnvelope`), encoded and
//! decoded here and nowhere else.
//!
//! A service's codec turns its domain events into its own `<Service>Event` message and
//! hands it to [`encode`], which fills in the envelope (ids, time, causation, actor,
//! schema version) and returns the [`NewEvent`] the log appends; the log makes the
//! CloudEvents `ce-*` headers from the same fields. Reading back, [`decode`] gives an
//! [`Envelope`] whose `event` is the payload, and [`Envelope::owned_by`] takes out one
//! service's event or says why not, as a [`DecodeError`] a caller can match.
//!
//! Integrators read these bytes: the services' `tests/codec.rs` pin one encoded event
//! of each service byte for byte. (This crate depends on crates/eventlog for `NewEvent`
//! only: what `encode` returns is what the log appends.)

use std::fmt;

use bytes::Bytes;
use prost::Message;
use uuid::Uuid;
use waybill_eventlog::NewEvent;
use waybill_types::{Actor, OrderId, Timestamp};

use crate::convert;
use crate::v1::{self, event_envelope::Payload};

/// What the envelope says about an event beside its payload and ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventMeta {
    pub event_id: Uuid,
    pub occurred_at: Timestamp,
    /// The request id of the command, or the id of the event a reaction handled.
    pub causation_id: String,
    pub correlation_id: String,
    pub actor: Actor,
}

impl EventMeta {
    /// The metadata of a new event: a fresh UUIDv7 as its id. A command's events carry the
    /// request id as their cause; a reaction's, the id of the event it handled.
    pub fn new(
        occurred_at: Timestamp,
        causation_id: impl Into<String>,
        correlation_id: impl Into<String>,
        actor: Actor,
    ) -> Self {
        EventMeta {
            event_id: Uuid::now_v7(),
            occurred_at,
            causation_id: causation_id.into(),
            correlation_id: correlation_id.into(),
            actor,
        }
    }
}

/// The service that owns an event: the envelope's payload field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Intake,
    Dispatch,
    Delivery,
    AfterSales,
    Crm,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Intake => "intake",
            Service::Dispatch => "dispatch",
            Service::Delivery => "delivery",
            Service::AfterSales => "after-sales",
            Service::Crm => "crm",
        })
    }
}

/// Why stored bytes are not the event a reader expected.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a waybill envelope: {0}")]
    NotAnEnvelope(#[from] prost::DecodeError),
    /// The envelope carries no payload, or another service's.
    #[error("envelope carries no {expected} event")]
    WrongService { expected: Service, found: Option<Service> },
    /// The owning service's message is there, but its `oneof` is empty (or a kind this
    /// build does not know).
    #[error("{0} event has no payload")]
    NoEvent(Service),
    /// A field that does not read as what it must be; names the field (and the value).
    #[error("bad field in stored event: {0}")]
    BadField(String),
}

impl DecodeError {
    pub fn field(name: impl Into<String>) -> Self {
        DecodeError::BadField(name.into())
    }
}

/// One service's event as a payload (the `oneof` inside its `<Service>Event`).
pub trait OwnedEvent: Sized {
    const SERVICE: Service;
    /// The event, if `payload` is this service's and not empty.
    fn from_payload(payload: Payload) -> Result<Self, DecodeError>;
    fn into_payload(self) -> Payload;
}

macro_rules! owned_event {
    ($event:ty, $service:expr, $variant:ident, $message:ident) => {
        impl OwnedEvent for $event {
            const SERVICE: Service = $service;
            fn from_payload(payload: Payload) -> Result<Self, DecodeError> {
                match payload {
                    Payload::$variant(message) => message.event.ok_or(DecodeError::NoEvent($service)),
                    other => {
                        Err(DecodeError::WrongService { expected: $service, found: Some(service_of(&other)) })
                    }
                }
            }
            fn into_payload(self) -> Payload {
                Payload::$variant(v1::$message { event: Some(self) })
            }
        }
    };
}

owned_event!(v1::intake_event::Event, Service::Intake, Intake, IntakeEvent);
owned_event!(v1::dispatch_event::Event, Service::Dispatch, Dispatch, DispatchEvent);
owned_event!(v1::delivery_event::Event, Service::Delivery, Delivery, DeliveryEvent);
owned_event!(v1::after_sales_event::Event, Service::AfterSales, Aftersales, AfterSalesEvent);
owned_event!(v1::crm_event::Event, Service::Crm, Crm, CrmEvent);

/// The service whose event `payload` carries.
pub(crate) fn service_of(payload: &Payload) -> Service {
    match payload {
        Payload::Intake(_) => Service::Intake,
        Payload::Dispatch(_) => Service::Dispatch,
        Payload::Delivery(_) => Service::Delivery,
        Payload::Aftersales(_) => Service::AfterSales,
        Payload::Crm(_) => Service::Crm,
    }
}

/// Where an event belongs: its aggregate, and the order it is about (if any).
#[derive(Clone, Copy, Debug)]
pub struct Belongs<'a> {
    /// The last token of the subject.
    pub aggregate_id: &'a str,
    /// Empty when the event is about no order (a vehicle, a courier, a customer).
    pub order_id: &'a str,
}

impl<'a> Belongs<'a> {
    /// An aggregate that is about no order.
    pub fn aggregate(aggregate_id: &'a str) -> Self {
        Belongs { aggregate_id, order_id: "" }
    }
}

/// The envelope for one event, ready to append. `schema_version` is the owning service's
/// payload schema version.
pub fn encode<E: OwnedEvent>(
    meta: &EventMeta,
    belongs: Belongs<'_>,
    event_type: &str,
    schema_version: u32,
    event: E,
) -> NewEvent {
    let envelope = v1::EventEnvelope {
        event_id: meta.event_id.to_string(),
        event_type: event_type.to_owned(),
        aggregate_id: belongs.aggregate_id.to_owned(),
        order_id: belongs.order_id.to_owned(),
        occurred_at: Some(convert::timestamp_to_wire(meta.occurred_at)),
        causation_id: meta.causation_id.clone(),
        correlation_id: meta.correlation_id.clone(),
        actor: Some((&meta.actor).into()),
        schema_version,
        payload: Some(event.into_payload()),
    };
    NewEvent {
        event_id: meta.event_id,
        event_type: event_type.to_owned(),
        aggregate_id: belongs.aggregate_id.to_owned(),
        occurred_at: meta.occurred_at,
        payload: Bytes::from(envelope.encode_to_vec()),
    }
}

/// An event read back from the log: the envelope's fields (its [`Header`], reachable
/// through `Deref`: `envelope.order_id`), and `event`: the payload, or one service's event
/// after [`Envelope::owned_by`], or a fact (`crate::facts`).
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<E = Option<Payload>> {
    pub header: Header,
    pub event: E,
}

/// Everything in an envelope but its event.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// As stored; [`Header::meta`] parses it.
    pub event_id: String,
    pub event_type: String,
    pub aggregate_id: String,
    /// Empty when the event is about no order.
    pub order_id: String,
    /// The epoch when absent (every writer sets it).
    pub occurred_at: Timestamp,
    pub causation_id: String,
    pub correlation_id: String,
    pub actor: Actor,
    pub schema_version: u32,
}

impl<E> std::ops::Deref for Envelope<E> {
    type Target = Header;
    fn deref(&self) -> &Header {
        &self.header
    }
}

/// Reads an envelope; only bytes that are no envelope at all fail here.
pub fn decode(payload: &[u8]) -> Result<Envelope, DecodeError> {
    let envelope = v1::EventEnvelope::decode(payload)?;
    let header = Header {
        occurred_at: convert::timestamp_from_wire(envelope.occurred_at.as_ref()),
        actor: convert::actor_from_wire(envelope.actor.as_ref()),
        event_id: envelope.event_id,
        event_type: envelope.event_type,
        aggregate_id: envelope.aggregate_id,
        order_id: envelope.order_id,
        causation_id: envelope.causation_id,
        correlation_id: envelope.correlation_id,
        schema_version: envelope.schema_version,
    };
    Ok(Envelope { header, event: envelope.payload })
}

/// Reads an envelope that must carry one of `E`'s service's events.
pub fn decode_owned<E: OwnedEvent>(payload: &[u8]) -> Result<Envelope<E>, DecodeError> {
    decode(payload)?.owned_by()
}

impl Envelope {
    /// The envelope with its payload as `E`'s service's event, or why it is not one.
    pub fn owned_by<E: OwnedEvent>(self) -> Result<Envelope<E>, DecodeError> {
        let payload = self.event.ok_or(DecodeError::WrongService { expected: E::SERVICE, found: None })?;
        Ok(Envelope { header: self.header, event: E::from_payload(payload)? })
    }
}

impl<E> Envelope<E> {
    /// The same envelope carrying `event` instead.
    pub fn with_event<F>(self, event: F) -> Envelope<F> {
        Envelope { header: self.header, event }
    }
}

impl Header {
    /// Ids, time, causation and actor; fails only on an event id that is no UUID.
    pub fn meta(&self) -> Result<EventMeta, DecodeError> {
        Ok(EventMeta {
            event_id: Uuid::parse_str(&self.event_id)
                .map_err(|_| DecodeError::BadField(format!("event_id {:?}", self.event_id)))?,
            occurred_at: self.occurred_at,
            causation_id: self.causation_id.clone(),
            correlation_id: self.correlation_id.clone(),
            actor: self.actor.clone(),
        })
    }

    /// The order the event is about; an error when it names none or a bad one.
    pub fn order_id(&self) -> Result<OrderId, DecodeError> {
        OrderId::parse(&self.order_id).map_err(|error| DecodeError::BadField(format!("order_id: {error}")))
    }

    /// The order the event is about, if it names one (`Err` for a bad one).
    pub fn optional_order_id(&self) -> Result<Option<OrderId>, DecodeError> {
        if self.order_id.is_empty() { Ok(None) } else { self.order_id().map(Some) }
    }

    /// True when the event's aggregate is the order's own (its id is the order's): an
    /// order's forward task or delivery, not a return's reverse shipment, which carries the
    /// order id too but has an id of its own.
    pub fn is_about_the_order_itself(&self) -> bool {
        self.aggregate_id == self.order_id
    }
}

/// The fixed metadata of the events the codec tests pin (see [`wire_form`]).
pub fn pinned_meta() -> EventMeta {
    EventMeta {
        event_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
        occurred_at: chrono::DateTime::from_timestamp(1_772_442_000, 0).unwrap_or_default(),
        causation_id: "request-1".into(),
        correlation_id: "correlation-1".into(),
        actor: Actor::user("desk-7"),
    }
}

/// Envelopes for tests: an event as its owning service would have written it, with
/// defaults for everything a test does not care about (a fresh UUIDv7, now, a user actor
/// `tester`, causation and correlation `test-<event id>`, schema version 1).
#[derive(Clone, Debug)]
pub struct EnvelopeBuilder<E> {
    meta: EventMeta,
    aggregate_id: String,
    order_id: String,
    event_type: String,
    event: E,
}

impl<E: OwnedEvent> EnvelopeBuilder<E> {
    pub fn new(event_type: impl Into<String>, event: E) -> Self {
        let mut meta = EventMeta::new(chrono::Utc::now(), "", "", Actor::user("tester"));
        meta.causation_id = format!("test-{}", meta.event_id);
        meta.correlation_id = meta.causation_id.clone();
        EnvelopeBuilder {
            meta,
            aggregate_id: String::new(),
            order_id: String::new(),
            event_type: event_type.into(),
            event,
        }
    }

    /// The aggregate's id (the subject's last token).
    pub fn aggregate_id(mut self, aggregate_id: impl Into<String>) -> Self {
        self.aggregate_id = aggregate_id.into();
        self
    }

    pub fn order_id(mut self, order_id: impl Into<String>) -> Self {
        self.order_id = order_id.into();
        self
    }

    /// An order's own aggregate (its task, its delivery): aggregate and order id alike.
    pub fn about_order(self, order_id: impl Into<String>) -> Self {
        let order_id = order_id.into();
        self.aggregate_id(order_id.clone()).order_id(order_id)
    }

    pub fn meta(mut self, meta: EventMeta) -> Self {
        self.meta = meta;
        self
    }

    pub fn occurred_at(mut self, occurred_at: Timestamp) -> Self {
        self.meta.occurred_at = occurred_at;
        self
    }

    pub fn actor(mut self, actor: Actor) -> Self {
        self.meta.actor = actor;
        self
    }

    /// The event to append.
    pub fn build(self) -> NewEvent {
        let belongs = Belongs { aggregate_id: &self.aggregate_id, order_id: &self.order_id };
        encode(&self.meta, belongs, &self.event_type, 1, self.event)
    }
}

/// An encoded event as integrators see it, in one line: the fields the CloudEvents headers
/// are made of (id, type, aggregate id, time) and the envelope's bytes in hex. Tests pin it.
pub fn wire_form(event: &NewEvent) -> String {
    let hex: String = event.payload.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{} {} {} {} {hex}",
        event.event_id,
        event.event_type,
        event.aggregate_id,
        event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}
