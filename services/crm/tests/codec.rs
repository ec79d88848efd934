//! CRM's events on the wire: the bytes integrators read are pinned, so a change to the
//! codec that changes them fails here (they were taken from the codec before the shared
//! envelope builder replaced its hand-built envelope).

use waybill_crm::codec;
use waybill_crm::domain::{CustomerKind, Event, Profile};
use waybill_proto::envelope::{pinned_meta, wire_form};
use waybill_types::{Contact, CustomerId};

use waybill_fixtures::pinned_address as address;

#[test]
fn a_customer_registered_is_encoded_as_main_encoded_it() {
    let customer_id = CustomerId::parse("cust-1").expect("customer id");
    let event = Event::Registered {
        customer_id: customer_id.clone(),
        profile: Profile {
            kind: CustomerKind::Organisation,
            name: "Acme".into(),
            industry: "retail".into(),
            contacts: vec![Contact {
                name: "Ann".into(),
                phone: "+49 30 1".into(),
                email: "ann@acme.example".into(),
            }],
            addresses: vec![address("Berlin")],
        },
    };
    let encoded = codec::encode(&customer_id, &event, &pinned_meta());
    assert_eq!(
        wire_form(&encoded),
        concat!(
            "01900000-0000-7000-8000-000000000001 waybill.crm.customer_registered.v1 cust-1 2026-03-02T09:00:00.000Z ",
            "0a2430313930303030302d303030302d373030302d383030302d3030303030303030303030311222",
            "77617962696c6c2e63726d2e637573746f6d65725f726567697374657265642e76311a0663757374",
            "2d312a060890a395cd063209726571756573742d313a0d636f7272656c6174696f6e2d31420a0801",
            "12066465736b2d374801c201600a5e0a5c0801120441636d651a0672657461696c22210a03416e6e",
            "12082b343920333020311a10616e6e4061636d652e6578616d706c652a270a0e4861757074737472",
            "61737365203112064265726c696e1a024245220531303131352a024445",
        )
    );
}
