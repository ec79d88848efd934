//! Realistic requests: the same shapes as the system test (tests/tests/fulfilment.rs).

use waybill_proto::v1;

pub fn party(name: &str, city: &str, region: &str) -> v1::Party {
    v1::Party {
        contact: Some(v1::Contact {
            name: name.into(),
            phone: "+49 30 1234567".into(),
            email: String::new(),
        }),
        address: Some(v1::Address {
            lines: vec!["Hauptstrasse 1".into()],
            city: city.into(),
            region: region.into(),
            postal_code: "10115".into(),
            country_code: "DE".into(),
        }),
    }
}

pub fn place_order(request_id: String, customer_id: String) -> v1::PlaceOrderRequest {
    v1::PlaceOrderRequest {
        request_id,
        customer_id,
        shipper: Some(party("Acme GmbH", "Berlin", "BE")),
        consignee: Some(party("Erika Mustermann", "Munich", "BY")),
        cargo: vec![v1::CargoLine {
            description: "books".into(),
            quantity: 2,
            weight_grams: 3_000,
            length_cm: 40,
            width_cm: 30,
            height_cm: 20,
            declared_value: Some(v1::Money { amount_minor: 10_000, currency: "EUR".into() }),
            category: v1::CargoCategory::General.into(),
            hazard_declaration: String::new(),
        }],
        service_level: v1::ServiceLevel::Standard.into(),
    }
}

pub fn proof() -> v1::ProofOfDelivery {
    v1::ProofOfDelivery {
        recipient_name: "Erika Mustermann".into(),
        recipient_relation: "consignee".into(),
        signature: Some(v1::Signature {
            signature: Some(v1::signature::Signature::Stored(v1::StoredSignature {
                digest: format!("sha256:{}", "ab".repeat(32)),
                storage_ref: "s3://pod/2026/11/22/signature.png".into(),
            })),
        }),
        photo_ref: "s3://pod/2026/11/22/door.jpg".into(),
        location: Some(v1::GeoPoint { latitude: 48.137, longitude: 11.575 }),
        delivered_at: Some(now()),
        id_checked: true,
        checklist: Some(v1::HandoverChecklist {
            piece_count_matches: true,
            packaging_intact: true,
            recipient_informed_of_contents: true,
        }),
    }
}

pub fn now() -> prost_types::Timestamp {
    let elapsed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp { seconds: elapsed.as_secs() as i64, nanos: elapsed.subsec_nanos() as i32 }
}

/// A request with the caller's identity, as the services expect it.
pub fn request<T>(actor: &'static str, body: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    request.metadata_mut().insert("x-waybill-actor", tonic::metadata::MetadataValue::from_static(actor));
    request
}

pub fn request_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
