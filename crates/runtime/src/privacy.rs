//! Personal data redacted by role, on the wire types: `waybill_auth::privacy` decides which
//! pieces each role needs; this applies that to an order, a delivery, a timeline entry, a
//! dispatch task or a CRM customer before it leaves a service, and names what it left out
//! in the message's `withheld`. Every read that carries a consignee, a proof of delivery or
//! a customer's contacts goes through here.

use tonic::Request;
use waybill_auth::{Identity, PersonalData};
use waybill_proto::v1;

/// What one caller may not see.
#[derive(Clone, Copy, Debug)]
pub struct Redaction {
    contact: bool,
    address: bool,
    position: bool,
    signature: bool,
    id_check: bool,
    customer_contact: bool,
}

impl Redaction {
    pub fn for_identity(identity: &Identity) -> Self {
        let hidden = |data| !identity.sees(data);
        Self {
            contact: hidden(PersonalData::ConsigneeContact),
            address: hidden(PersonalData::ConsigneeAddress),
            position: hidden(PersonalData::DeliveryPosition),
            signature: hidden(PersonalData::Signature),
            id_check: hidden(PersonalData::IdCheck),
            customer_contact: hidden(PersonalData::CustomerContact),
        }
    }

    /// The redaction for the caller of `request` (a caller without the auth layer, in a
    /// unit test of an adapter, has no roles and sees none of it).
    pub fn of<T>(request: &Request<T>) -> Self {
        Self::for_identity(&crate::context_of(request).identity)
    }

    pub fn order(&self, order: &mut v1::Order) {
        self.consignee(order.consignee.as_mut(), &mut order.withheld);
    }

    pub fn delivery(&self, delivery: &mut v1::DeliveryTask) {
        self.consignee(delivery.consignee.as_mut(), &mut delivery.withheld);
        self.proof(delivery.proof_of_delivery.as_mut(), &mut delivery.withheld);
    }

    pub fn timeline_entry(&self, entry: &mut v1::TimelineEntry) {
        self.proof(entry.proof_of_delivery.as_mut(), &mut entry.withheld);
    }

    /// A dispatch task's consignee end: the destination of a forward task, the origin (the
    /// pickup) of a reverse one. The shipper's end stays: it is where goods are collected.
    pub fn dispatch_task(&self, task: &mut v1::DispatchTask) {
        if !self.address {
            return;
        }
        let (consignee_end, path) = if task.kind == i32::from(v1::TaskKind::Reverse) {
            (task.origin.as_mut(), "origin")
        } else {
            (task.destination.as_mut(), "destination")
        };
        if let Some(address) = consignee_end {
            clear_street(address);
            task.withheld.extend(paths(path, STREET));
        }
    }

    /// A CRM customer's contacts' phones and e-mails and its addresses' streets.
    pub fn customer(&self, customer: &mut v1::Customer) {
        let Some(profile) = customer.profile.as_mut().filter(|_| self.customer_contact) else { return };
        if !profile.contacts.is_empty() {
            profile.contacts.iter_mut().for_each(clear_phone_and_email);
            customer.withheld.extend(paths("profile.contacts", &["phone", "email"]));
        }
        if !profile.addresses.is_empty() {
            profile.addresses.iter_mut().for_each(clear_street);
            customer.withheld.extend(paths("profile.addresses", STREET));
        }
    }

    fn consignee(&self, consignee: Option<&mut v1::Party>, withheld: &mut Vec<String>) {
        let Some(consignee) = consignee else { return };
        if self.contact
            && let Some(contact) = consignee.contact.as_mut()
        {
            clear_phone_and_email(contact);
            withheld.extend(paths("consignee.contact", &["phone", "email"]));
        }
        if self.address
            && let Some(address) = consignee.address.as_mut()
        {
            clear_street(address);
            withheld.extend(paths("consignee.address", STREET));
        }
    }

    fn proof(&self, proof: Option<&mut v1::ProofOfDelivery>, withheld: &mut Vec<String>) {
        let Some(proof) = proof else { return };
        if self.position {
            proof.location = None;
            withheld.push("proof_of_delivery.location".to_owned());
        }
        if self.signature {
            proof.signature = None;
            withheld.push("proof_of_delivery.signature".to_owned());
        }
        if self.id_check {
            proof.id_checked = false;
            withheld.push("proof_of_delivery.id_checked".to_owned());
        }
    }
}

fn clear_phone_and_email(contact: &mut v1::Contact) {
    contact.phone.clear();
    contact.email.clear();
}

/// What `clear_street` withholds, as `withheld` names it.
const STREET: &[&str] = &["lines", "postal_code", "coordinates"];

/// Clears an address's street lines, postal code and map point (as exact as the street);
/// city, region and country stay.
fn clear_street(address: &mut v1::Address) {
    address.lines.clear();
    address.postal_code.clear();
    address.coordinates = None;
}

/// `withheld` entries: `path.field` for each field.
fn paths<'a>(path: &'a str, fields: &'a [&str]) -> impl Iterator<Item = String> + 'a {
    fields.iter().map(move |field| format!("{path}.{field}"))
}

#[cfg(test)]
mod tests {
    use waybill_auth::Role;

    use super::*;

    fn delivery() -> v1::DeliveryTask {
        v1::DeliveryTask {
            consignee: Some(v1::Party {
                contact: Some(v1::Contact {
                    name: "Erika".into(),
                    phone: "+49 89 2".into(),
                    email: "e@x".into(),
                }),
                address: Some(v1::Address {
                    lines: vec!["Marienplatz 1".into()],
                    city: "Munich".into(),
                    region: "BY".into(),
                    postal_code: "80331".into(),
                    country_code: "DE".into(),
                    coordinates: Some(v1::Coordinates { latitude: 48.137, longitude: 11.575 }),
                }),
            }),
            proof_of_delivery: Some(v1::ProofOfDelivery {
                recipient_name: "Erika".into(),
                location: Some(v1::GeoPoint { latitude: 48.1, longitude: 11.5 }),
                signature: Some(v1::Signature {
                    signature: Some(v1::signature::Signature::Image(vec![1, 2])),
                }),
                id_checked: true,
                ..v1::ProofOfDelivery::default()
            }),
            ..v1::DeliveryTask::default()
        }
    }

    #[test]
    fn an_analyst_gets_the_city_but_no_person() {
        let mut redacted = delivery();
        Redaction::for_identity(&Identity::new("ann", Role::Analyst)).delivery(&mut redacted);
        let consignee = redacted.consignee.as_ref().expect("consignee");
        let contact = consignee.contact.as_ref().expect("contact");
        let address = consignee.address.as_ref().expect("address");
        assert_eq!(
            (contact.name.as_str(), contact.phone.as_str(), contact.email.as_str()),
            ("Erika", "", "")
        );
        assert_eq!((address.lines.len(), address.postal_code.as_str(), address.coordinates), (0, "", None));
        assert_eq!((address.city.as_str(), address.country_code.as_str()), ("Munich", "DE"));
        let proof = redacted.proof_of_delivery.as_ref().expect("proof");
        assert!(proof.location.is_none() && proof.signature.is_none() && !proof.id_checked);
        assert_eq!(redacted.withheld.len(), 8, "{:?}", redacted.withheld);
    }

    #[test]
    fn a_dispatcher_gets_the_consignee_but_not_the_proof() {
        let mut redacted = delivery();
        Redaction::for_identity(&Identity::new("dana", Role::Dispatcher)).delivery(&mut redacted);
        assert_eq!(redacted.consignee, delivery().consignee);
        assert_eq!(
            redacted.withheld,
            ["proof_of_delivery.location", "proof_of_delivery.signature", "proof_of_delivery.id_checked"]
        );
        let mut untouched = delivery();
        Redaction::for_identity(&Identity::new("root", Role::Administrator)).delivery(&mut untouched);
        assert_eq!(untouched, delivery());
    }

    #[test]
    fn a_reverse_task_withholds_its_origin_where_the_consignee_lives() {
        let street = |city: &str| v1::Address {
            lines: vec!["Marienplatz 1".into()],
            city: city.into(),
            postal_code: "80331".into(),
            ..v1::Address::default()
        };
        let task = v1::DispatchTask {
            kind: v1::TaskKind::Reverse.into(),
            origin: Some(street("Munich")),
            destination: Some(street("Berlin")),
            ..v1::DispatchTask::default()
        };
        let mut redacted = task.clone();
        Redaction::for_identity(&Identity::new("feed", Role::Integrator)).dispatch_task(&mut redacted);
        assert_eq!(redacted.destination, task.destination, "the shipper's end stays");
        let origin = redacted.origin.as_ref().expect("origin");
        assert_eq!(
            (origin.lines.len(), origin.postal_code.as_str(), origin.city.as_str()),
            (0, "", "Munich")
        );
        assert_eq!(redacted.withheld, ["origin.lines", "origin.postal_code", "origin.coordinates"]);
        let mut untouched = task.clone();
        Redaction::for_identity(&Identity::new("hub", Role::HubOperator)).dispatch_task(&mut untouched);
        assert_eq!(untouched, task);
    }
}
