//! Personal data redacted by role, on the wire types: `waybill_auth::privacy` decides which
//! pieces each role needs; this applies that to an order, a delivery or a timeline entry
//! before it leaves a service, and names what it left out in the message's `withheld`.
//! Every read that carries a consignee or a proof of delivery goes through here.

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

    fn consignee(&self, consignee: Option<&mut v1::Party>, withheld: &mut Vec<String>) {
        let Some(consignee) = consignee else { return };
        if self.contact
            && let Some(contact) = consignee.contact.as_mut()
        {
            contact.phone.clear();
            contact.email.clear();
            withheld.extend(["consignee.contact.phone".to_owned(), "consignee.contact.email".to_owned()]);
        }
        if self.address
            && let Some(address) = consignee.address.as_mut()
        {
            address.lines.clear();
            address.postal_code.clear();
            withheld
                .extend(["consignee.address.lines".to_owned(), "consignee.address.postal_code".to_owned()]);
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
        assert_eq!((address.lines.len(), address.postal_code.as_str()), (0, ""));
        assert_eq!((address.city.as_str(), address.country_code.as_str()), ("Munich", "DE"));
        let proof = redacted.proof_of_delivery.as_ref().expect("proof");
        assert!(proof.location.is_none() && proof.signature.is_none() && !proof.id_checked);
        assert_eq!(redacted.withheld.len(), 7, "{:?}", redacted.withheld);
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
}
