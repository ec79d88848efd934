//! A client's mistake is answered with a client status a default client can read, by the
//! real binary: the answer to a very wrong request stays small.

use tonic::Code;
use waybill_proto::status::{MAX_REPORTED_VIOLATIONS, field_violations};
use waybill_proto::v1::intake_service_client::IntakeServiceClient;
use waybill_system_tests::Service;
use waybill_system_tests::system::{Caller, place_order_request, reader, request};
use waybill_testkit::NatsServer;

#[tokio::test]
async fn a_placement_with_a_hundred_bad_lines_is_answered_invalid_argument_with_the_first_few()
-> anyhow::Result<()> {
    let nats = NatsServer::start();
    let intake = Service::start("intake", &nats.url(), &[]).await?;
    // A default client: its limits on the answer's metadata are the ones integrators have.
    let mut client = IntakeServiceClient::with_interceptor(intake.channel().await?, reader());
    let mut placement = place_order_request("bad-lines", "cust-mistakes");
    let line = placement.cargo[0].clone();
    placement.cargo = (0..100).map(|_| v1_bad_line(&line)).collect();

    let status = client
        .place_order(request(&Caller::customer_service("clerk"), placement))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let violations = field_violations(&status);
    assert_eq!(violations.len(), MAX_REPORTED_VIOLATIONS + 1, "{violations:?}");
    assert!(violations[0].field.starts_with("cargo[0]"), "{violations:?}");
    assert!(violations[MAX_REPORTED_VIOLATIONS].description.contains("more invalid fields not listed"));
    Ok(())
}

/// A cargo line with no weight and no description: two violations each.
fn v1_bad_line(line: &waybill_proto::v1::CargoLine) -> waybill_proto::v1::CargoLine {
    waybill_proto::v1::CargoLine { weight_grams: 0, description: String::new(), ..line.clone() }
}
