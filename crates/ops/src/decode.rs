//! Events as JSON, one object per event, for people and scripts (`waybill events`,
//! `waybill dead-letters show`).
//!
//! A service's event is a `waybill.v1.EventEnvelope`; it is decoded here through the
//! descriptor set `waybill_proto` carries, so every event of every service, today's and
//! tomorrow's, prints with the field names of proto/ (snake_case) without a line per type.
//! Operators' records (`waybill.ops.*`, waivers and redrive requests) are JSON already and
//! print as they are. Bytes that are neither print as base64 with the reason.

use std::sync::OnceLock;

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::{Map, Value, json};
use waybill_eventlog::RecordedEvent;

/// The envelope's message type in the descriptor set.
const ENVELOPE: &str = "waybill.v1.EventEnvelope";

fn envelope_descriptor() -> Option<&'static MessageDescriptor> {
    static DESCRIPTOR: OnceLock<Option<MessageDescriptor>> = OnceLock::new();
    DESCRIPTOR
        .get_or_init(|| {
            let pool = DescriptorPool::decode(waybill_proto::FILE_DESCRIPTOR_SET).ok()?;
            pool.get_message_by_name(ENVELOPE)
        })
        .as_ref()
}

/// The payload of a message on the log as JSON: the decoded envelope, an operator's JSON
/// record, or `{"undecodable": reason, "base64": ...}`.
pub fn payload_json(subject: &str, payload: &[u8]) -> Value {
    if subject.starts_with(waybill_eventlog::waiver::OPS_SUBJECT_PREFIX)
        && let Ok(record) = serde_json::from_slice::<Value>(payload)
    {
        return record;
    }
    match decode_envelope(payload) {
        Ok(envelope) => envelope,
        Err(reason) => json!({
            "undecodable": reason,
            "base64": base64::engine::general_purpose::STANDARD.encode(payload),
        }),
    }
}

fn decode_envelope(payload: &[u8]) -> Result<Value, String> {
    let descriptor = envelope_descriptor().ok_or("the envelope is missing from the descriptor set")?;
    let message = DynamicMessage::decode(descriptor.clone(), payload).map_err(|error| error.to_string())?;
    if message.fields().next().is_none() {
        return Err("an empty message, not an event envelope".to_owned());
    }
    let options = SerializeOptions::new().use_proto_field_name(true).skip_default_fields(true);
    message.serialize_with_options(serde_json::value::Serializer, &options).map_err(|error| error.to_string())
}

/// One event of the event stream as one JSON object: where, what, when, and the payload.
pub fn event_json(event: &RecordedEvent) -> Value {
    let mut object = Map::new();
    object.insert("position".to_owned(), json!(event.position));
    object.insert("subject".to_owned(), json!(event.subject));
    object.insert("type".to_owned(), json!(event.event_type));
    object.insert("stored_at".to_owned(), json!(timestamp(event.published)));
    object.insert("payload".to_owned(), payload_json(&event.subject, &event.payload));
    Value::Object(object)
}

/// RFC 3339 with milliseconds, UTC.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The short and long names an event type answers to in `--type`: `order_placed` and
/// `waybill.intake.order_placed.v1` both name the latter.
pub fn type_matches(wanted: &str, event_type: &str) -> bool {
    event_type == wanted || event_type.split('.').nth(2) == Some(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_match_by_their_long_or_short_name() {
        assert!(type_matches("order_placed", "waybill.intake.order_placed.v1"));
        assert!(type_matches("waybill.intake.order_placed.v1", "waybill.intake.order_placed.v1"));
        assert!(!type_matches("order", "waybill.intake.order_placed.v1"));
    }

    #[test]
    fn bytes_that_are_no_envelope_say_so() {
        let value = payload_json("waybill.intake.order.o-1", b"not protobuf");
        assert!(value.get("undecodable").is_some(), "{value}");
        let record = payload_json("waybill.ops.waiver.7", br#"{"position":7}"#);
        assert_eq!(record, json!({"position": 7}));
    }
}
