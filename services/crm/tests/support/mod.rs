//! CRM (and, for the flow tests, intake) in this process for its tests, and the customer
//! its tests register; the host is `waybill_testkit::InProcess`, the fixtures
//! `waybill_fixtures`.

#![allow(dead_code, unused_imports)] // each test file uses a different part of this kit

use waybill_crm::server::{self, Settings};
pub use waybill_fixtures::{CrmClient as Client, IntakeClient, eur};
use waybill_proto::v1;
use waybill_testkit::{InProcess, NatsServer};

pub type Crm = InProcess<Client>;

pub async fn start_crm(nats: &NatsServer) -> Crm {
    Crm::start(nats, server::run, Settings::default()).await
}

pub async fn start_intake(nats: &NatsServer) -> InProcess<IntakeClient> {
    InProcess::start(nats, waybill_intake::server::run, Default::default()).await
}

pub fn profile(name: &str) -> v1::CustomerProfile {
    let address = waybill_fixtures::party("Ada", "Berlin").address.into_iter().collect();
    v1::CustomerProfile {
        kind: v1::CustomerKind::Organisation.into(),
        name: name.into(),
        industry: "retail".into(),
        contacts: vec![v1::Contact {
            name: "Ada".into(),
            phone: "+49 30 1234567".into(),
            email: "ada@example.com".into(),
        }],
        addresses: address,
    }
}

pub fn registration(request_id: &str, customer_id: &str) -> v1::RegisterCustomerRequest {
    v1::RegisterCustomerRequest {
        request_id: request_id.into(),
        customer_id: customer_id.into(),
        profile: Some(profile("Acme GmbH")),
    }
}
