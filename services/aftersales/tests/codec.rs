//! Every after-sales event survives the trip through the wire envelope unchanged, with the
//! envelope's order id set (so replay rebuilds exactly what was decided).

use chrono::{TimeZone, Utc};
use prost::Message;
use uuid::Uuid;
use waybill_aftersales::codec::{self, Decoded};
use waybill_aftersales::domain::{
    CaseEvent, CaseId, ClaimEvent, ClaimKind, ComplaintCategory, ComplaintEvent, LedgerEvent, Load,
    ReturnEvent, ReturnLine, Severity, SlaBreach,
};
use waybill_command::EventMeta;
use waybill_proto::envelope::{pinned_meta, wire_form};
use waybill_proto::v1;
use waybill_types::{Actor, Currency, Money, OrderId, ServiceLevel, Timestamp};

fn at() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid time")
}

fn meta() -> EventMeta {
    EventMeta {
        event_id: Uuid::now_v7(),
        occurred_at: at(),
        causation_id: "request-1".into(),
        correlation_id: "request-1".into(),
        actor: Actor::user("agent"),
    }
}

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::parse("EUR").expect("EUR"))
}

use waybill_fixtures::pinned_address as address;

fn order_id() -> OrderId {
    OrderId(Uuid::from_u128(7))
}

fn case_id() -> CaseId {
    CaseId(Uuid::from_u128(8))
}

fn envelope_order_id(payload: &[u8]) -> String {
    v1::EventEnvelope::decode(payload).expect("envelope").order_id
}

/// Closing and the survey, the events every case shares, as a case with `order_id` writes them.
fn case_events<O>(order_id: O, (csat, nps, comment): (u32, u32, &str)) -> [CaseEvent<O>; 3] {
    [
        CaseEvent::Closed,
        CaseEvent::SurveyRequested { customer_id: "cust-1".into(), order_id },
        CaseEvent::SurveyAnswered { customer_id: "cust-1".into(), csat, nps, comment: comment.into() },
    ]
}

fn return_requested() -> ReturnEvent {
    ReturnEvent::Requested {
        return_id: case_id(),
        order_id: order_id(),
        customer_id: "cust-1".into(),
        reason: "too many".into(),
        lines: vec![ReturnLine { cargo_index: 0, quantity: 1, description: "books".into() }],
        delivered_at: at(),
        window_ends_at: at() + chrono::Duration::days(14),
    }
}

#[test]
fn return_events_round_trip() {
    let events = [
        return_requested(),
        ReturnEvent::Approved { note: "ok".into() },
        ReturnEvent::PickupRequested {
            order_id: order_id(),
            return_id: case_id(),
            pickup: address("Munich"),
            destination: address("Berlin"),
            load: Load { weight_grams: 3_000, volume_cm3: 24_000 },
            service_level: ServiceLevel::Express,
        },
        ReturnEvent::Rejected { reason: "worn".into() },
        ReturnEvent::Received { note: "fine".into() },
        ReturnEvent::Refunded { amount: eur(100), total_refunded: eur(300) },
    ]
    .into_iter()
    .chain(case_events(order_id(), (4, 8, "ok")).map(ReturnEvent::Case));
    for event in events {
        let encoded = codec::encode_return(case_id(), order_id(), &event, &meta());
        assert_eq!(envelope_order_id(&encoded.payload), order_id().to_string());
        match codec::decode(&encoded.payload).expect("decodes") {
            Decoded::Return { id, event: decoded, .. } => {
                assert_eq!((id, decoded), (case_id(), event));
            }
            other => panic!("decoded as {other:?}"),
        }
    }
}

#[test]
fn claim_and_ledger_events_round_trip() {
    let events = [
        ClaimEvent::Opened {
            claim_id: case_id(),
            order_id: order_id(),
            customer_id: "cust-1".into(),
            kind: ClaimKind::DamagedPartial,
            description: "dented".into(),
            claimed: None,
            declared_value: Some(eur(10_000)),
            automatic: true,
            source_event_id: "e-1".into(),
        },
        ClaimEvent::Assessed { amount: eur(2_000), note: "one book".into() },
        ClaimEvent::Approved { amount: eur(2_000) },
        ClaimEvent::Paid { amount: eur(2_000) },
        ClaimEvent::Rejected { reason: "not ours".into() },
    ]
    .into_iter()
    .chain(case_events(order_id(), (1, 0, "")).map(ClaimEvent::Case));
    for event in events {
        let encoded = codec::encode_claim(case_id(), order_id(), &event, &meta());
        match codec::decode(&encoded.payload).expect("decodes") {
            Decoded::Claim { id, event: decoded, .. } => assert_eq!((id, decoded), (case_id(), event)),
            other => panic!("decoded as {other:?}"),
        }
    }
    for event in [
        LedgerEvent::RefundIssued {
            return_id: case_id(),
            amount: eur(1),
            total_refunded: eur(2),
            charged: eur(3),
        },
        LedgerEvent::ClaimPaymentIssued {
            claim_id: case_id(),
            amount: eur(1),
            total_paid: eur(2),
            declared_value: eur(3),
        },
    ] {
        let encoded = codec::encode_ledger(order_id(), &event, &meta());
        match codec::decode(&encoded.payload).expect("decodes") {
            Decoded::Ledger { order_id: id, event: decoded, .. } => {
                assert_eq!((id, decoded), (order_id(), event))
            }
            other => panic!("decoded as {other:?}"),
        }
    }
}

#[test]
fn complaint_events_round_trip_with_and_without_an_order() {
    for order in [None, Some(order_id())] {
        let events = [
            ComplaintEvent::Filed {
                complaint_id: case_id(),
                customer_id: "cust-1".into(),
                order_id: order,
                category: ComplaintCategory::StaffConduct,
                severity: Severity::Critical,
                description: "rude".into(),
                acknowledge_by: at(),
                resolve_by: at() + chrono::Duration::hours(8),
            },
            ComplaintEvent::Acknowledged { note: "sorry".into(), within_sla: true },
            ComplaintEvent::Escalated {
                reason: "acknowledge deadline missed".into(),
                automatic: true,
                breach: Some(SlaBreach::Acknowledge),
                deadline: Some(at()),
            },
            ComplaintEvent::Escalated {
                reason: "VIP".into(),
                automatic: false,
                breach: None,
                deadline: None,
            },
            ComplaintEvent::Resolved {
                resolution: "refunded".into(),
                compensation: Some(eur(500)),
                within_sla: false,
            },
        ]
        .into_iter()
        .chain(case_events(order, (5, 10, "great")).map(ComplaintEvent::Case));
        for event in events {
            let encoded = codec::encode_complaint(case_id(), order, &event, &meta());
            assert_eq!(
                envelope_order_id(&encoded.payload),
                order.map(|id| id.to_string()).unwrap_or_default()
            );
            match codec::decode(&encoded.payload).expect("decodes") {
                Decoded::Complaint { id, event: decoded, .. } => {
                    assert_eq!((id, decoded), (case_id(), event))
                }
                other => panic!("decoded as {other:?}"),
            }
        }
    }
}

// The bytes integrators read are pinned: they were taken from the codec before the shared
// envelope builder replaced its hand-built envelope.
#[test]
fn a_return_requested_is_encoded_as_main_encoded_it() {
    let encoded = codec::encode_return(case_id(), order_id(), &return_requested(), &pinned_meta());
    assert_eq!(
        wire_form(&encoded),
        concat!(
            "01900000-0000-7000-8000-000000000001 waybill.aftersales.return_requested.v1 00000000-0000-0000-0000-000000000008 2026-03-02T09:00:00.000Z ",
            "0a2430313930303030302d303030302d373030302d383030302d3030303030303030303030311226",
            "77617962696c6c2e616674657273616c65732e72657475726e5f7265717565737465642e76311a24",
            "30303030303030302d303030302d303030302d303030302d30303030303030303030303822243030",
            "3030303030302d303030302d303030302d303030302d3030303030303030303030372a060890a395",
            "cd063209726571756573742d313a0d636f7272656c6174696f6e2d31420a080112066465736b2d37",
            "4801ba01550a530a2430303030303030302d303030302d303030302d303030302d30303030303030",
            "30303030371206637573742d311a08746f6f206d616e79220910011a05626f6f6b732a060890a395",
            "cd06320608908ddfcd06",
        )
    );
}

#[test]
fn a_refund_on_the_ledger_is_encoded_as_main_encoded_it() {
    let event = LedgerEvent::RefundIssued {
        return_id: case_id(),
        amount: eur(100),
        total_refunded: eur(300),
        charged: eur(1_200),
    };
    let encoded = codec::encode_ledger(order_id(), &event, &pinned_meta());
    assert_eq!(
        wire_form(&encoded),
        concat!(
            "01900000-0000-7000-8000-000000000001 waybill.aftersales.refund_issued.v1 00000000-0000-0000-0000-000000000007 2026-03-02T09:00:00.000Z ",
            "0a2430313930303030302d303030302d373030302d383030302d3030303030303030303030311223",
            "77617962696c6c2e616674657273616c65732e726566756e645f6973737565642e76311a24303030",
            "30303030302d303030302d303030302d303030302d30303030303030303030303722243030303030",
            "3030302d303030302d303030302d303030302d3030303030303030303030372a060890a395cd0632",
            "09726571756573742d313a0d636f7272656c6174696f6e2d31420a080112066465736b2d374801ba",
            "014542430a2430303030303030302d303030302d303030302d303030302d30303030303030303030",
            "30381207086412034555521a0808ac021203455552220808b0091203455552",
        )
    );
}

#[test]
fn a_complaint_without_an_order_is_encoded_as_main_encoded_it() {
    let event = ComplaintEvent::Filed {
        complaint_id: case_id(),
        customer_id: "cust-1".into(),
        order_id: None,
        category: ComplaintCategory::BillingError,
        severity: Severity::High,
        description: "charged twice".into(),
        acknowledge_by: at() + chrono::Duration::hours(4),
        resolve_by: at() + chrono::Duration::days(3),
    };
    let encoded = codec::encode_complaint(case_id(), None, &event, &pinned_meta());
    assert_eq!(
        wire_form(&encoded),
        concat!(
            "01900000-0000-7000-8000-000000000001 waybill.aftersales.complaint_filed.v1 00000000-0000-0000-0000-000000000008 2026-03-02T09:00:00.000Z ",
            "0a2430313930303030302d303030302d373030302d383030302d3030303030303030303030311225",
            "77617962696c6c2e616674657273616c65732e636f6d706c61696e745f66696c65642e76311a2430",
            "303030303030302d303030302d303030302d303030302d3030303030303030303030382a060890a3",
            "95cd063209726571756573742d313a0d636f7272656c6174696f6e2d31420a080112066465736b2d",
            "374801ba012e82012b0a06637573742d31180520032a0d63686172676564207477696365320608d0",
            "9396cd063a0608908ca5cd06",
        )
    );
}
