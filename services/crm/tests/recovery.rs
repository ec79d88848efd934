//! CRM's read model and the log: an event it cannot apply stops it loudly.
//! (A restart rebuilding the same numbers is in `flow.rs`.)

mod support;

use support::{Crm, registration, start_crm};
use tonic_health::pb::health_check_response::ServingStatus;
use waybill_crm::server::Settings;
use waybill_testkit::NatsServer;

#[tokio::test]
async fn health_stays_not_serving_while_the_read_model_cannot_apply_an_event() {
    let nats = NatsServer::start();
    let first = start_crm(&nats).await;
    first
        .client("user:alice")
        .await
        .register_customer(registration("reg-1", "cust-1"))
        .await
        .expect("registered");
    first.stop().await;
    // Something that is not an event on CRM's own subject: skipping it would make replicas
    // disagree, so the model stops there and CRM never claims SERVING.
    let jetstream = async_nats::jetstream::new(nats.client().await);
    jetstream
        .publish("waybill.crm.customer.cust-1", "not protobuf".into())
        .await
        .expect("published")
        .await
        .expect("stored");

    let crm = Crm::start_unready(&nats, waybill_crm::server::run, Settings::default()).await;
    for _ in 0..20 {
        assert_eq!(crm.health().await, ServingStatus::NotServing);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
