//! docs/EVENTS.md shows an example of every event type in proto/, and each example has the
//! real JSON shape: it decodes with the proto3 JSON mapping (unknown fields refused) as the
//! owning service's event message, with exactly the event its `ce-type` names set. A new
//! event type without an example fails here, printing a filled-in one to start from.
//!
//! An example is a fenced block whose info string is `json` and the event's `ce-type` (or
//! `waybill.v1.EventEnvelope` for a whole envelope):
//!
//! ````text
//! ```json waybill.intake.order_cancelled.v1
//! {"orderCancelled": {"reason": "customer changed plans"}}
//! ```
//! ````

use std::collections::BTreeMap;

use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

const EVENTS_MD: &str = include_str!("../../docs/EVENTS.md");

/// The one example that is not an event type: a whole envelope.
const ENVELOPE: &str = "waybill.v1.EventEnvelope";

/// Each service's event message: its `event` oneof holds one field per event type, named as
/// the type's `<name>` in `waybill.<service>.<name>.v1`.
const EVENT_MESSAGES: [(&str, &str); 5] = [
    ("intake", "waybill.v1.IntakeEvent"),
    ("dispatch", "waybill.v1.DispatchEvent"),
    ("delivery", "waybill.v1.DeliveryEvent"),
    ("aftersales", "waybill.v1.AfterSalesEvent"),
    ("crm", "waybill.v1.CrmEvent"),
];

/// The examples in docs/EVENTS.md: `ce-type` → the JSON (in order of appearance).
fn documented_examples() -> BTreeMap<String, Vec<String>> {
    let mut examples: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut lines = EVENTS_MD.lines();
    while let Some(line) = lines.next() {
        let Some(event_type) = line.strip_prefix("```json ") else { continue };
        let body: Vec<&str> = lines.by_ref().take_while(|line| !line.starts_with("```")).collect();
        examples.entry(event_type.trim().to_owned()).or_default().push(body.join("\n"));
    }
    examples
}

/// Every event type in proto/: `ce-type` → (its service's event message, the oneof field).
fn event_types(pool: &DescriptorPool) -> BTreeMap<String, (MessageDescriptor, FieldDescriptor)> {
    let mut types = BTreeMap::new();
    for (service, message) in EVENT_MESSAGES {
        let descriptor = pool.get_message_by_name(message).unwrap_or_else(|| panic!("{message} in proto/"));
        let oneof = descriptor.oneofs().find(|oneof| oneof.name() == "event").expect("an `event` oneof");
        for field in oneof.fields() {
            types.insert(format!("waybill.{service}.{}.v1", field.name()), (descriptor.clone(), field));
        }
    }
    types
}

#[test]
fn every_event_type_has_an_example_in_events_md() {
    let pool = DescriptorPool::decode(waybill_proto::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let documented = documented_examples();
    let mut missing = Vec::new();
    for (event_type, (message, field)) in event_types(&pool) {
        if !documented.contains_key(&event_type) {
            missing.push(format!("```json {event_type}\n{}\n```", suggested(&message, &field)));
        }
    }
    assert!(
        missing.is_empty(),
        "{} event types have no example in docs/EVENTS.md; these would do (edit the values):\n\n{}",
        missing.len(),
        missing.join("\n\n")
    );
}

#[test]
fn every_example_in_events_md_decodes_as_the_event_it_names() {
    let pool = DescriptorPool::decode(waybill_proto::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let types = event_types(&pool);
    let documented = documented_examples();
    assert!(!documented.is_empty(), "docs/EVENTS.md has no examples");
    for (event_type, examples) in documented {
        if event_type == ENVELOPE {
            let envelope = pool.get_message_by_name(ENVELOPE).expect("the envelope");
            for json in examples {
                decode(&envelope, &json)
                    .unwrap_or_else(|error| panic!("the envelope does not decode: {error}\n{json}"));
            }
            continue;
        }
        let Some((message, field)) = types.get(&event_type) else {
            panic!("docs/EVENTS.md has an example of {event_type}, which is no event type in proto/");
        };
        for json in examples {
            let decoded = decode(message, &json).unwrap_or_else(|error| {
                panic!("the example of {event_type} does not decode: {error}\n{json}")
            });
            let set: Vec<String> = decoded.fields().map(|(field, _)| field.name().to_owned()).collect();
            assert_eq!(set, [field.name()], "the example of {event_type} sets other events\n{json}");
        }
    }
}

/// `json` as a `message`, by the proto3 JSON mapping; unknown fields are an error.
fn decode(message: &MessageDescriptor, json: &str) -> Result<DynamicMessage, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let decoded = DynamicMessage::deserialize(message.clone(), &mut deserializer)?;
    deserializer.end()?;
    Ok(decoded)
}

/// A filled-in example of `field`'s event, as proto3 JSON: every field set with a value
/// that looks like one (a UUID for an id, money in EUR, ...).
fn suggested(message: &MessageDescriptor, field: &FieldDescriptor) -> String {
    let mut event = DynamicMessage::new(message.clone());
    event.set_field(field, filled(field, 0));
    serde_json::to_string_pretty(&event).expect("serialises")
}

fn filled(field: &FieldDescriptor, depth: usize) -> Value {
    let one = match field.kind() {
        Kind::Message(message) if message.full_name() == "google.protobuf.Timestamp" => {
            let mut timestamp = DynamicMessage::new(message);
            timestamp.set_field_by_name("seconds", Value::I64(1_796_300_098));
            timestamp.set_field_by_name("nanos", Value::I32(805_000_000));
            Value::Message(timestamp)
        }
        Kind::Message(message) => Value::Message(filled_message(&message, depth + 1)),
        Kind::Enum(descriptor) => {
            Value::EnumNumber(descriptor.values().map(|value| value.number()).find(|n| *n != 0).unwrap_or(0))
        }
        Kind::String => Value::String(text_for(field.name())),
        Kind::Bool => Value::Bool(true),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(2),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(2_500),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(2),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(12_000),
        Kind::Double => Value::F64(52.52),
        Kind::Float => Value::F32(1.0),
        Kind::Bytes => Value::Bytes(Default::default()),
    };
    if field.is_list() { Value::List(vec![one]) } else { one }
}

fn filled_message(message: &MessageDescriptor, depth: usize) -> DynamicMessage {
    let mut filled_in = DynamicMessage::new(message.clone());
    if depth > 4 {
        return filled_in;
    }
    for field in message.fields() {
        // One member of a oneof; no byte strings (a signature image) in an example.
        let later_member = field
            .containing_oneof()
            .is_some_and(|oneof| oneof.fields().next().map(|first| first.number()) != Some(field.number()));
        if later_member || field.is_map() || matches!(field.kind(), Kind::Bytes) {
            continue;
        }
        if message.full_name() == "waybill.v1.Money" && field.name() == "currency" {
            filled_in.set_field(&field, Value::String("EUR".into()));
            continue;
        }
        filled_in.set_field(&field, filled(&field, depth));
    }
    filled_in
}

fn text_for(name: &str) -> String {
    match name {
        "country_code" => "DE".into(),
        "currency" => "EUR".into(),
        _ if name.ends_with("_id") || name == "id" => "5c0d1f9e-8a7b-4c3d-9e2f-1a2b3c4d5e6f".into(),
        _ => format!("<{name}>"),
    }
}
