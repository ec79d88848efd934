//! Delivery's events on the wire: the bytes integrators read are pinned, so a change to the
//! codec that changes them fails here (they were taken from the codec before the shared
//! envelope builder replaced its hand-built envelope).

use chrono::{TimeZone, Utc};
use uuid::Uuid;
use waybill_delivery::codec;
use waybill_delivery::domain::{
    CourierEvent, CourierId, DeliveryEvent, GeoPoint, HandoverChecklist, ProofOfDelivery, Signature,
};
use waybill_proto::envelope::{pinned_meta, wire_form};
use waybill_types::OrderId;

#[test]
fn a_delivery_completed_is_encoded_as_main_encoded_it() {
    let event = DeliveryEvent::Completed {
        proof: ProofOfDelivery {
            recipient_name: "Erika Mustermann".into(),
            recipient_relation: "neighbour".into(),
            signature: Signature::Stored {
                digest: format!("sha256:{}", "ab".repeat(32)),
                storage_ref: "s3://sig/1".into(),
            },
            photo_ref: "photo-1".into(),
            location: GeoPoint { latitude: 52.52, longitude: 13.405 },
            delivered_at: Utc.with_ymd_and_hms(2026, 3, 2, 8, 59, 0).single().expect("valid time"),
            id_checked: true,
            checklist: HandoverChecklist {
                piece_count_matches: true,
                packaging_intact: true,
                recipient_informed_of_contents: true,
            },
        },
        on_time: true,
        first_attempt: false,
    };
    let encoded = codec::encode_delivery(OrderId(Uuid::from_u128(7)), &event, &pinned_meta());
    assert_eq!(
        wire_form(&encoded),
        concat!(
            "01900000-0000-7000-8000-000000000001 waybill.delivery.delivery_completed.v1 00000000-0000-0000-0000-000000000007 2026-03-02T09:00:00.000Z ",
            "0a2430313930303030302d303030302d373030302d383030302d3030303030303030303030311226",
            "77617962696c6c2e64656c69766572792e64656c69766572795f636f6d706c657465642e76311a24",
            "30303030303030302d303030302d303030302d303030302d30303030303030303030303722243030",
            "3030303030302d303030302d303030302d303030302d3030303030303030303030372a060890a395",
            "cd063209726571756573742d313a0d636f7272656c6174696f6e2d31420a080112066465736b2d37",
            "4801b201ad0152aa010aa5010a104572696b61204d75737465726d616e6e12096e65696768626f75",
            "721a5712550a477368613235363a6162616261626162616261626162616261626162616261626162",
            "6162616261626162616261626162616261626162616261626162616261626162616261626162120a",
            "73333a2f2f7369672f31220770686f746f2d312a1209c3f5285c8f424a40118fc2f5285ccf2a4032",
            "0608d4a295cd06380142060801100118011001",
        )
    );
}

#[test]
fn a_courier_registered_is_encoded_as_main_encoded_it() {
    let courier_id = CourierId(Uuid::from_u128(11));
    let event = CourierEvent::Registered {
        courier_id,
        name: "Kim".into(),
        zones: vec!["10115".into(), "10117".into()],
    };
    let encoded = codec::encode_courier(courier_id, &event, &pinned_meta());
    assert_eq!(
        wire_form(&encoded),
        concat!(
            "01900000-0000-7000-8000-000000000001 waybill.delivery.courier_registered.v1 00000000-0000-0000-0000-00000000000b 2026-03-02T09:00:00.000Z ",
            "0a2430313930303030302d303030302d373030302d383030302d3030303030303030303030311226",
            "77617962696c6c2e64656c69766572792e636f75726965725f726567697374657265642e76311a24",
            "30303030303030302d303030302d303030302d303030302d3030303030303030303030622a060890",
            "a395cd063209726571756573742d313a0d636f7272656c6174696f6e2d31420a080112066465736b",
            "2d374801b201150a130a034b696d1205313031313512053130313137",
        )
    );
}
