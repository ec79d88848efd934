//! CRM's read model and the log: an event it cannot apply stops it loudly.
//! (A restart rebuilding the same numbers is in `flow.rs`.)

mod support;

use support::{Crm, alice, registration, start_crm};
use waybill_crm::server::Settings;
use waybill_testkit::NatsServer;

#[tokio::test]
async fn health_stays_not_serving_while_the_read_model_cannot_apply_an_event() {
    let nats = NatsServer::start();
    let first = start_crm(&nats).await;
    first.client(alice()).await.register_customer(registration("reg-1", "cust-1")).await.expect("registered");
    first.stop().await;
    // Something that is not an event on CRM's own subject: skipping it would make replicas
    // disagree, so the model stops there and CRM never claims SERVING.
    waybill_fixtures::foreign::publish_undecodable(nats.client().await, "waybill.crm.customer.cust-1").await;

    let crm = Crm::start_unready(&nats, waybill_crm::server::run, Settings::default()).await;
    crm.assert_not_serving_for(std::time::Duration::from_secs(1)).await;
}
