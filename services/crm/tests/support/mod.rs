//! CRM (and, for the flow tests, intake) in this process for its tests, and the customer
//! its tests register; the host is `waybill_testkit::InProcess`, the fixtures
//! `waybill_fixtures`.

#![allow(dead_code, unused_imports)] // each test file uses a different part of this kit

use waybill_crm::server::{self, Settings};
use waybill_fixtures::{Caller, Role};
pub use waybill_fixtures::{CrmClient as Client, IntakeClient, eur};
use waybill_proto::v1;
use waybill_testkit::{InProcess, NatsServer};

pub type Crm = InProcess<Client>;

/// Alice, a customer-service agent who also does finance: the caller most CRM tests act as.
pub fn alice() -> Caller {
    Caller::with_roles("alice", &[Role::CustomerServiceAgent, Role::Finance])
}

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

/// The customer as GetCustomer shows it once the read model has seen `min_position`.
pub async fn show_customer(
    client: &mut Client,
    customer_id: &str,
    min_position: u64,
) -> v1::GetCustomerResponse {
    let request = v1::GetCustomerRequest { customer_id: customer_id.into(), min_position };
    client.get_customer(request).await.expect("customer shown").into_inner()
}

/// Putting customer `customer_id` on credit hold because of `reason`.
pub fn credit_hold(request_id: &str, customer_id: &str, reason: &str) -> v1::PlaceCreditHoldRequest {
    v1::PlaceCreditHoldRequest {
        request_id: request_id.into(),
        customer_id: customer_id.into(),
        reason: reason.into(),
    }
}

/// Releasing customer `customer_id`'s credit hold, with `note`.
pub fn hold_release(request_id: &str, customer_id: &str, note: &str) -> v1::ReleaseCreditHoldRequest {
    v1::ReleaseCreditHoldRequest {
        request_id: request_id.into(),
        customer_id: customer_id.into(),
        note: note.into(),
    }
}

/// The ids of the customers ListCustomers answers `request` with, in its order.
pub async fn listed_customer_ids(client: &mut Client, request: v1::ListCustomersRequest) -> Vec<String> {
    let listed = client.list_customers(request).await.expect("customers listed").into_inner();
    listed.customers.into_iter().map(|customer| customer.customer_id).collect()
}
