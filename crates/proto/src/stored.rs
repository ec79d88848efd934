//! Wire → domain for values already on the log: trusted (the writer checked them when it
//! wrote them) and lenient, so a reader never stops on a value it could not have produced
//! itself. A missing message reads as its default; what has no sensible default (money, a
//! service level) reads as `None`. Requests are checked by [`crate::convert`] instead.

use waybill_types::{
    Address, Contact, Coordinates, Currency, GeoPoint, HandoverChecklist, Money, Party, ProofOfDelivery,
    ServiceLevel, Signature,
};

use crate::{convert, v1};

pub fn address(address: Option<&v1::Address>) -> Address {
    let address = address.cloned().unwrap_or_default();
    Address {
        lines: address.lines,
        city: address.city,
        region: address.region,
        postal_code: address.postal_code,
        country_code: address.country_code,
        coordinates: address.coordinates.as_ref().and_then(coordinates),
    }
}

/// `None` for a point off the map (never written: requests are checked).
pub fn coordinates(value: &v1::Coordinates) -> Option<Coordinates> {
    Coordinates::new(value.latitude, value.longitude)
}

pub fn contact(contact: Option<&v1::Contact>) -> Contact {
    let contact = contact.cloned().unwrap_or_default();
    Contact { name: contact.name, phone: contact.phone, email: contact.email }
}

pub fn party(party: Option<&v1::Party>) -> Party {
    Party {
        contact: contact(party.and_then(|party| party.contact.as_ref())),
        address: address(party.and_then(|party| party.address.as_ref())),
    }
}

/// `None` when absent or in no currency.
pub fn money(value: Option<&v1::Money>) -> Option<Money> {
    let value = value?;
    Currency::from_log(&value.currency).ok().map(|currency| Money::new(value.amount_minor, currency))
}

/// `None` for UNSPECIFIED or a number that is no level.
pub fn service_level(value: i32) -> Option<ServiceLevel> {
    match v1::ServiceLevel::try_from(value) {
        Ok(v1::ServiceLevel::Standard) => Some(ServiceLevel::Standard),
        Ok(v1::ServiceLevel::Express) => Some(ServiceLevel::Express),
        Ok(v1::ServiceLevel::SameDay) => Some(ServiceLevel::SameDay),
        _ => None,
    }
}

/// A stored proof of delivery; `None` only if its signature is missing.
pub fn proof(proof: Option<&v1::ProofOfDelivery>) -> Option<ProofOfDelivery> {
    let proof = proof?;
    let signature = match proof.signature.as_ref()?.signature.as_ref()? {
        v1::signature::Signature::Image(image) => Signature::Image(image.clone()),
        v1::signature::Signature::Stored(stored) => {
            Signature::Stored { digest: stored.digest.clone(), storage_ref: stored.storage_ref.clone() }
        }
    };
    let location = proof.location.unwrap_or_default();
    let checklist = proof.checklist.unwrap_or_default();
    Some(ProofOfDelivery {
        recipient_name: proof.recipient_name.clone(),
        recipient_relation: proof.recipient_relation.clone(),
        signature,
        photo_ref: proof.photo_ref.clone(),
        location: GeoPoint { latitude: location.latitude, longitude: location.longitude },
        delivered_at: convert::timestamp_from_wire(proof.delivered_at.as_ref()),
        id_checked: proof.id_checked,
        checklist: HandoverChecklist {
            piece_count_matches: checklist.piece_count_matches,
            packaging_intact: checklist.packaging_intact,
            recipient_informed_of_contents: checklist.recipient_informed_of_contents,
        },
    })
}
