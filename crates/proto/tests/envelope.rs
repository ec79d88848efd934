//! The envelope's one encoder and decoder: what a reader gets back, and the typed reason
//! when stored bytes are not the event it expected.

use waybill_proto::envelope::{self, DecodeError, EnvelopeBuilder, Service};
use waybill_proto::facts::dispatch::{self, TaskFact};
use waybill_proto::facts::intake;
use waybill_proto::v1::{self, crm_event, dispatch_event, intake_event};

fn arrived(hub: &str) -> dispatch_event::Event {
    dispatch_event::Event::TaskArrivedAtHub(v1::TaskArrivedAtHub { hub: hub.into() })
}

#[test]
fn an_encoded_event_reads_back_with_its_envelope_and_its_owners_event() {
    let order_id = uuid::Uuid::now_v7().to_string();
    let encoded = EnvelopeBuilder::new("waybill.dispatch.task_arrived_at_hub.v1", arrived("MUC"))
        .about_order(&order_id)
        .build();
    let read = envelope::decode_owned::<dispatch_event::Event>(&encoded.payload).expect("decodes");
    assert_eq!(read.event, arrived("MUC"));
    assert_eq!(read.order_id, order_id);
    assert_eq!(read.schema_version, 1);
    let meta = read.meta().expect("a UUID event id");
    assert_eq!(meta.event_id, encoded.event_id);
    assert_eq!(meta.occurred_at, encoded.occurred_at);
    assert!(read.is_about_the_order_itself());
}

#[test]
fn bytes_that_are_no_envelope_say_so() {
    let error = envelope::decode(b"\xff\xff\xff").expect_err("garbage");
    assert!(matches!(error, DecodeError::NotAnEnvelope(_)), "{error}");
}

#[test]
fn another_services_event_is_named_as_the_wrong_service() {
    let encoded = EnvelopeBuilder::new("waybill.dispatch.task_arrived_at_hub.v1", arrived("MUC")).build();
    let error = envelope::decode_owned::<intake_event::Event>(&encoded.payload).expect_err("not intake's");
    assert!(
        matches!(
            error,
            DecodeError::WrongService { expected: Service::Intake, found: Some(Service::Dispatch) }
        ),
        "{error}"
    );
    assert_eq!(error.to_string(), "envelope carries no intake event");
}

#[test]
fn an_empty_event_is_named_as_such() {
    let empty = v1::EventEnvelope {
        event_id: uuid::Uuid::now_v7().to_string(),
        payload: Some(v1::event_envelope::Payload::Crm(v1::CrmEvent { event: None })),
        ..Default::default()
    };
    let bytes = prost::Message::encode_to_vec(&empty);
    let error = envelope::decode_owned::<crm_event::Event>(&bytes).expect_err("empty");
    assert!(matches!(error, DecodeError::NoEvent(Service::Crm)), "{error}");
}

#[test]
fn a_bad_event_id_is_a_bad_field() {
    let stored = v1::EventEnvelope { event_id: "not-a-uuid".into(), ..Default::default() };
    let bytes = prost::Message::encode_to_vec(&stored);
    let error = envelope::decode(&bytes).expect("an envelope").meta().expect_err("bad id");
    assert!(matches!(error, DecodeError::BadField(_)), "{error}");
}

#[test]
fn facts_read_only_their_owners_events_and_leave_the_rest() {
    let order_id = uuid::Uuid::now_v7().to_string();
    let arrival = EnvelopeBuilder::new("t", arrived("MUC")).about_order(&order_id).build();
    let fact = dispatch::read(&arrival.payload).expect("an envelope").expect("a fact");
    assert_eq!(fact.event, TaskFact::ArrivedAtHub { hub: "MUC".into() });
    assert_eq!(intake::read(&arrival.payload).expect("an envelope"), None);
    let packed = EnvelopeBuilder::new("t", dispatch_event::Event::TaskPacked(v1::TaskPacked {})).build();
    assert_eq!(dispatch::read(&packed.payload).expect("an envelope"), None);
    assert!(dispatch::read(b"\xff\xff").is_err());
}
