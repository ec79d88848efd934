//! A client's mistake is answered with a client status a default client can read, by the
//! real binary: the answer to a very wrong request stays small.

use tonic::Code;
use waybill_fixtures::Refusal;
use waybill_proto::status::{MAX_REPORTED_VIOLATIONS, field_violations};
use waybill_proto::v1;
use waybill_proto::v1::crm_service_client::CrmServiceClient;
use waybill_proto::v1::dispatch_service_client::DispatchServiceClient;
use waybill_proto::v1::intake_service_client::IntakeServiceClient;
use waybill_system_tests::Service;
use waybill_system_tests::system::{Caller, place_order_request, reader, request};
use waybill_testkit::NatsServer;

#[tokio::test]
async fn a_placement_with_a_hundred_bad_lines_is_answered_invalid_argument_with_the_first_few()
-> anyhow::Result<()> {
    let nats = NatsServer::start();
    let intake = Service::start("intake", &nats, &[]).await?;
    // A default client: its limits on the answer's metadata are the ones integrators have.
    let mut client = IntakeServiceClient::with_interceptor(intake.channel().await?, reader());
    let mut placement = place_order_request("bad-lines", "cust-mistakes");
    let line = placement.cargo[0].clone();
    placement.cargo = (0..100).map(|_| v1_bad_line(&line)).collect();

    let status = client
        .place_order(request(&Caller::customer_service("clerk"), placement))
        .await
        .refused(Code::InvalidArgument, "refused");
    let violations = field_violations(&status);
    assert_eq!(violations.len(), MAX_REPORTED_VIOLATIONS + 1, "{violations:?}");
    assert!(violations[0].field.starts_with("cargo[0]"), "{violations:?}");
    assert!(violations[MAX_REPORTED_VIOLATIONS].description.contains("more invalid fields not listed"));
    Ok(())
}

/// The `name` binary on a nats-server of its own, and a client of it made by `connect`.
async fn started<Client>(
    name: &str,
    connect: fn(tonic::transport::Channel) -> Client,
) -> anyhow::Result<(NatsServer, Service, Client)> {
    let nats = NatsServer::start();
    let service = Service::start(name, &nats.url(), &[]).await?;
    let client = connect(service.channel().await?);
    Ok((nats, service, client))
}

/// Each answer is INVALID_ARGUMENT naming exactly `field`, and nothing was written.
fn assert_names(status: &tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields: Vec<String> = field_violations(status).into_iter().map(|violation| violation.field).collect();
    assert_eq!(fields, [field], "{status:?}");
}

#[tokio::test]
async fn currencies_no_one_pays_in_and_timestamps_outside_year_1_to_9999_are_refused() -> anyhow::Result<()> {
    let (_nats, _intake, mut client) = started("intake", IntakeServiceClient::new).await?;
    for code in ["ZZZ", "XXX", "HRK"] {
        let mut placement = place_order_request(&format!("currency-{code}"), "cust-mistakes");
        placement.cargo[0].declared_value = Some(v1::Money { amount_minor: 100, currency: code.into() });
        let status =
            client.place_order(request(&Caller::customer_service("clerk"), placement)).await.expect_err(code);
        assert_names(&status, "cargo[0].declared_value.currency");
    }
    // google.protobuf.Timestamp's range ends with year 9999; chrono's does not.
    for seconds in [253_402_300_800, -62_135_596_801] {
        let filter = v1::ListOrdersRequest {
            placed_from: Some(prost_types::Timestamp { seconds, nanos: 0 }),
            ..Default::default()
        };
        let status = client
            .list_orders(request(&Caller::customer_service("clerk"), filter))
            .await
            .expect_err("out of range");
        assert_names(&status, "placed_from");
    }
    let listed = client
        .list_orders(request(&Caller::customer_service("clerk"), v1::ListOrdersRequest::default()))
        .await?;
    assert!(listed.into_inner().orders.is_empty(), "nothing was placed");
    Ok(())
}

#[tokio::test]
async fn metadata_over_the_limit_is_invalid_argument_not_unknown() -> anyhow::Result<()> {
    let (_nats, _intake, mut client) = started("intake", IntakeServiceClient::new).await?;
    for size in [16 * 1024, 64 * 1024] {
        let mut call = request(&Caller::customer_service("clerk"), v1::ListOrdersRequest::default());
        call.metadata_mut().insert("x-padding", "a".repeat(size).parse()?);
        let status = client.list_orders(call).await.refused(Code::InvalidArgument, "too much metadata");
        assert!(status.message().contains("metadata"), "{status:?}");
    }
    // The limit leaves room for what real callers send.
    let mut call = request(&Caller::customer_service("clerk"), v1::ListOrdersRequest::default());
    call.metadata_mut().insert("x-padding", "a".repeat(4 * 1024).parse()?);
    client.list_orders(call).await?;
    Ok(())
}

#[tokio::test]
async fn a_list_filter_is_checked_like_the_field_it_filters() -> anyhow::Result<()> {
    let (_nats, _dispatch, mut client) = started("dispatch", DispatchServiceClient::new).await?;
    for depot in ["north\u{7}".to_owned(), "d".repeat(5_000)] {
        let filter = v1::ListVehiclesRequest { depot: depot.clone(), ..Default::default() };
        let status =
            client.list_vehicles(request(&Caller::dispatcher("dana"), filter)).await.expect_err("bad depot");
        assert_names(&status, "depot");
        let filter = v1::ListTasksRequest { depot, ..Default::default() };
        let status =
            client.list_tasks(request(&Caller::dispatcher("dana"), filter)).await.expect_err("bad depot");
        assert_names(&status, "depot");
    }
    Ok(())
}

#[tokio::test]
async fn money_is_bounded_and_in_a_real_currency() -> anyhow::Result<()> {
    let (_nats, _crm, mut client) = started("crm", CrmServiceClient::new).await?;
    let rating = |amount_minor: i64, currency: &str| v1::SetCreditRatingRequest {
        request_id: format!("rating-{amount_minor}-{currency}"),
        customer_id: "cust-credit".into(),
        rating: v1::CreditRating::A.into(),
        credit_limit: Some(v1::Money { amount_minor, currency: currency.into() }),
    };
    let status = client
        .set_credit_rating(request(&Caller::finance("fin"), rating(i64::MAX, "EUR")))
        .await
        .expect_err("huge");
    assert_names(&status, "credit_limit.amount_minor");
    let status = client
        .set_credit_rating(request(&Caller::finance("fin"), rating(1_000, "ZZZ")))
        .await
        .expect_err("ZZZ");
    assert_names(&status, "credit_limit.currency");
    Ok(())
}

/// A cargo line with no weight and no description: two violations each.
fn v1_bad_line(line: &waybill_proto::v1::CargoLine) -> waybill_proto::v1::CargoLine {
    waybill_proto::v1::CargoLine { weight_grams: 0, description: String::new(), ..line.clone() }
}
