//! Intake's events on the wire: the bytes integrators read are pinned, so a change to the
//! codec that changes them fails here (they were taken from the codec before the shared
//! envelope builder replaced its hand-built envelope).

use uuid::Uuid;
use waybill_intake::codec;
use waybill_intake::domain::{Event, OrderDetails, Quote, QuoteLine, Zone};
use waybill_proto::envelope::{pinned_meta, wire_form};
use waybill_types::{
    Address, CargoCategory, CargoLine, Contact, Currency, CustomerId, Money, OrderId, Party, ServiceLevel,
};

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::parse("EUR").expect("EUR"))
}

fn party(name: &str, city: &str) -> Party {
    Party {
        contact: Contact { name: name.into(), phone: "+49 30 1234".into(), email: "a@example.com".into() },
        address: Address {
            lines: vec!["Hauptstrasse 1".into()],
            city: city.into(),
            region: "BE".into(),
            postal_code: "10115".into(),
            country_code: "DE".into(),
            coordinates: None,
        },
    }
}

#[test]
fn an_order_placed_is_encoded_as_main_encoded_it() {
    let order_id = OrderId(Uuid::from_u128(7));
    let event = Event::Placed {
        order_id,
        details: OrderDetails {
            customer_id: CustomerId::parse("cust-1").expect("customer id"),
            shipper: party("Shipper", "Berlin"),
            consignee: party("Consignee", "Munich"),
            cargo: vec![CargoLine {
                description: "books".into(),
                quantity: 2,
                weight_grams: 1_500,
                length_cm: 30,
                width_cm: 20,
                height_cm: 10,
                declared_value: eur(5_000),
                category: CargoCategory::Fragile,
                hazard_declaration: None,
            }],
            service_level: ServiceLevel::Express,
        },
        quote: Quote {
            chargeable_weight_grams: 3_000,
            zone: Zone::National,
            lines: vec![QuoteLine { code: "base".into(), amount: eur(1_200) }],
            total: eur(1_200),
        },
    };
    let encoded = codec::encode(order_id, &event, &pinned_meta());
    assert_eq!(
        wire_form(&encoded),
        concat!(
            "01900000-0000-7000-8000-000000000001 waybill.intake.order_placed.v1 00000000-0000-0000-0000-000000000007 2026-03-02T09:00:00.000Z ",
            "0a2430313930303030302d303030302d373030302d383030302d303030303030303030303031121e",
            "77617962696c6c2e696e74616b652e6f726465725f706c616365642e76311a243030303030303030",
            "2d303030302d303030302d303030302d303030303030303030303037222430303030303030302d30",
            "3030302d303030302d303030302d3030303030303030303030372a060890a395cd06320972657175",
            "6573742d313a0d636f7272656c6174696f6e2d31420a080112066465736b2d374801a201f6010af3",
            "010a06637573742d3112500a250a0753686970706572120b2b343920333020313233341a0d614065",
            "78616d706c652e636f6d12270a0e486175707473747261737365203112064265726c696e1a024245",
            "220531303131352a0244451a520a270a09436f6e7369676e6565120b2b343920333020313233341a",
            "0d61406578616d706c652e636f6d12270a0e486175707473747261737365203112064d756e696368",
            "1a024245220531303131352a024445221e0a05626f6f6b73100218dc0b201e2814300a3a08088827",
            "120345555240022802322108b81710031a100a0462617365120808b0091203455552220808b00912",
            "03455552",
        )
    );
}
