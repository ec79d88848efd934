//! Intake through its gRPC API on a real nats-server: what a calling system sees.

mod support;

use std::collections::HashSet;
use waybill_fixtures::Refusal;
use waybill_fixtures::cancellation;
use waybill_fixtures::{Caller, Role};

use support::{cargo, placement, positions_of, start_intake, track_order, wait_until};
use tonic::Code;
use waybill_proto::status::field_violations;
use waybill_proto::v1::{self, OrderStatus};
use waybill_testkit::NatsServer;

#[tokio::test]
async fn a_placed_order_is_reviewed_by_hand_and_tracked() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let mut client =
        intake.client(Caller::with_roles("alice", &[Role::CustomerServiceAgent, Role::OrderReviewer])).await;

    // Hazardous goods without a declaration need a human.
    let mut request = placement("place-1", "cust-1");
    request.cargo.push(cargo("lithium batteries", 1_000, v1::CargoCategory::Hazardous));
    let placed = client.place_order(request).await.expect("placed").into_inner();
    let order = placed.order.expect("order");
    assert_eq!(order.status(), OrderStatus::Placed);
    assert!(placed.position > 0);
    assert!(
        order
            .quote
            .as_ref()
            .and_then(|quote| quote.total.as_ref())
            .is_some_and(|total| total.amount_minor > 0)
    );

    let in_review =
        wait_until(&mut client, &order.order_id, |order| order.status() == OrderStatus::InReview).await;
    assert!(
        in_review.review_reasons.iter().any(|reason| reason.contains("hazard")),
        "{:?}",
        in_review.review_reasons
    );
    let queue = client
        .list_review_queue(v1::ListReviewQueueRequest { page_size: 10, ..Default::default() })
        .await
        .expect("queue")
        .into_inner();
    assert_eq!(
        queue.orders.iter().map(|order| order.order_id.as_str()).collect::<Vec<_>>(),
        [order.order_id.as_str()]
    );

    // Separation of duties: Alice placed it, so Alice may not accept it, reviewer or not;
    // nor may a reviewer who acts for the order's customer. Nothing is written.
    let review = v1::ReviewOrderRequest {
        request_id: "review-1".into(),
        order_id: order.order_id.clone(),
        decision: v1::ReviewDecision::Accept.into(),
        reason: "declaration checked by phone".into(),
    };
    let own = client.review_order(review.clone()).await.refused(Code::PermissionDenied, "her own order");
    assert!(own.message().contains("separation of duties: nobody reviews an order they placed"), "{own:?}");
    let mut insider =
        intake.client(Caller::with_roles("ivo", &[Role::OrderReviewer]).for_customer("cust-1")).await;
    insider.review_order(review.clone()).await.refused(Code::PermissionDenied, "his customer's order");
    let unchanged = wait_until(&mut client, &order.order_id, |_| true).await;
    assert_eq!(unchanged.version, in_review.version, "a refused review writes nothing");

    let mut reviewer = intake.client(Caller::order_reviewer("rita")).await;
    let reviewed = reviewer.review_order(review).await.expect("reviewed").into_inner();
    assert_eq!(reviewed.order.as_ref().map(v1::Order::status), Some(OrderStatus::Accepted));

    let track = track_order(&mut client, &order.order_id, reviewed.position).await;
    let types: Vec<&str> = track.timeline.iter().map(|entry| entry.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "waybill.intake.order_placed.v1",
            "waybill.intake.order_sent_to_review.v1",
            "waybill.intake.order_accepted.v1"
        ]
    );
    let actors: Vec<String> = track
        .timeline
        .iter()
        .map(|entry| entry.actor.as_ref().map(|a| a.id.clone()).unwrap_or_default())
        .collect();
    assert_eq!(actors, ["alice", "intake-auto-review", "rita"]);
    assert_eq!(v1::OrderStatus::try_from(track.status), Ok(OrderStatus::Accepted));
    let queue =
        client.list_review_queue(v1::ListReviewQueueRequest::default()).await.expect("queue").into_inner();
    assert!(queue.orders.is_empty(), "the accepted order left the queue");
}

#[tokio::test]
async fn a_clean_order_is_accepted_automatically_then_cancelled_and_restored() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let mut client = intake.client(Caller::customer_service("shop")).await;

    let placed = client.place_order(placement("place-2", "cust-2")).await.expect("placed").into_inner();
    let order_id = placed.order.expect("order").order_id;
    wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::Accepted).await;

    let cancel = |request_id: &str| cancellation(request_id, &order_id, "customer changed plans");
    let cancelled = client.cancel_order(cancel("cancel-1")).await.expect("cancelled").into_inner();
    assert_eq!(cancelled.order.as_ref().map(v1::Order::status), Some(OrderStatus::Cancelled));

    // A second, different cancellation is refused, naming the state.
    let error =
        client.cancel_order(cancel("cancel-2")).await.refused(Code::FailedPrecondition, "already cancelled");
    assert!(error.message().contains("cancelled"), "{}", error.message());

    let restored = client
        .restore_order(v1::RestoreOrderRequest { request_id: "restore-1".into(), order_id: order_id.clone() })
        .await
        .expect("restored")
        .into_inner();
    assert_eq!(restored.order.as_ref().map(v1::Order::status), Some(OrderStatus::Accepted));
}

#[tokio::test]
async fn a_retried_request_gets_the_same_answer_and_writes_once() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let client = intake.client(Caller::customer_service("shop")).await;

    // Five copies of one request, all at once, as a client retrying on time-outs would.
    let attempts = (0..5).map(|_| {
        let mut client = client.clone();
        async move { client.place_order(placement("same-request", "cust-3")).await }
    });
    let answers: Vec<_> = futures::future::join_all(attempts).await;
    let answers: Vec<v1::PlaceOrderResponse> =
        answers.into_iter().map(|answer| answer.expect("every attempt succeeds").into_inner()).collect();
    let first = &answers[0];
    for answer in &answers {
        assert_eq!(answer.position, first.position);
        assert_eq!(answer.order.as_ref().map(|o| &o.order_id), first.order.as_ref().map(|o| &o.order_id));
        assert_eq!(answer.order.as_ref().map(v1::Order::status), Some(OrderStatus::Placed));
    }

    // Later, after automatic review, the retry still answers as the first time.
    let mut client = client.clone();
    let order_id = first.order.as_ref().expect("order").order_id.clone();
    wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::Accepted).await;
    let late_retry =
        client.place_order(placement("same-request", "cust-3")).await.expect("retry").into_inner();
    assert_eq!(late_retry.position, first.position);
    assert_eq!(late_retry.order.as_ref().map(v1::Order::status), Some(OrderStatus::Placed));

    let track = track_order(&mut client, &order_id, 0).await;
    let placed_events =
        track.timeline.iter().filter(|entry| entry.event_type == "waybill.intake.order_placed.v1").count();
    assert_eq!(placed_events, 1);

    // The same request id with different content is a client bug, and says so.
    let mut different = placement("same-request", "cust-3");
    different.service_level = v1::ServiceLevel::Express.into();
    let error = client.place_order(different).await.refused(Code::InvalidArgument, "reused id");
    assert_eq!(field_violations(&error).first().map(|v| v.field.as_str()), Some("request_id"));
}

#[tokio::test]
async fn concurrent_amendments_are_serialised_and_none_is_lost() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let mut client =
        intake.client(Caller::with_roles("bob", &[Role::CustomerServiceAgent, Role::OrderReviewer])).await;
    let placed = client.place_order(placement("place-4", "cust-4")).await.expect("placed").into_inner();
    let order_id = placed.order.expect("order").order_id;
    wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::Accepted).await;

    let amendments = (0..8u64).map(|index| {
        let mut client = client.clone();
        let order_id = order_id.clone();
        async move {
            let request = v1::AmendOrderRequest {
                request_id: format!("amend-{index}"),
                order_id,
                cargo: vec![cargo(&format!("books, box {index}"), 1_000 + index, v1::CargoCategory::General)],
                service_level: 0,
            };
            client.amend_order(request).await
        }
    });
    let results = futures::future::join_all(amendments).await;
    let mut positions = HashSet::new();
    let mut succeeded = 0;
    for result in results {
        match result {
            Ok(response) => {
                succeeded += 1;
                assert!(positions.insert(response.into_inner().position), "two amendments share a position");
            }
            Err(status) => assert_eq!(status.code(), Code::Aborted, "only a lost race may fail: {status}"),
        }
    }
    assert!(succeeded >= 1);
    let track = track_order(&mut client, &order_id, positions.iter().copied().max().unwrap_or(0)).await;
    let amended = positions_of(&track.timeline, "waybill.intake.order_amended.v1");
    assert_eq!(amended.len(), succeeded, "every successful amendment is on the log, nothing else");
    assert_eq!(amended.iter().copied().collect::<HashSet<_>>(), positions);
}

#[tokio::test]
async fn bad_requests_name_their_fields_and_change_nothing() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let mut client = intake.client(Caller::customer_service("shop")).await;

    let mut request = placement("", "not a customer id!");
    request.cargo[0].quantity = 0;
    request.cargo[0].declared_value = Some(v1::Money { amount_minor: -5, currency: "euro".into() });
    request.consignee = None;
    request.service_level = 0;
    let error = client.place_order(request).await.refused(Code::InvalidArgument, "invalid");
    let fields: HashSet<String> =
        field_violations(&error).into_iter().map(|violation| violation.field).collect();
    for expected in [
        "request_id",
        "customer_id",
        "consignee",
        "service_level",
        "cargo[0].quantity",
        "cargo[0].declared_value.currency",
        "cargo[0].declared_value.amount_minor",
    ] {
        assert!(fields.contains(expected), "{expected} missing from {fields:?}");
    }

    client
        .cancel_order(cancellation("c", "0190f0f0-0000-7000-8000-000000000000", ""))
        .await
        .refused(Code::NotFound, "unknown order");

    let listed = client.list_orders(v1::ListOrdersRequest::default()).await.expect("list").into_inner();
    assert!(listed.orders.is_empty(), "nothing was written");
}

#[tokio::test]
async fn orders_list_newest_first_with_filters_and_pages() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let mut client = intake.client(Caller::customer_service("shop")).await;
    let mut last_position = 0;
    for index in 0..5 {
        let customer = if index % 2 == 0 { "even" } else { "odd" };
        let placed = client.place_order(placement(&format!("p{index}"), customer)).await.expect("placed");
        last_position = placed.into_inner().position;
    }
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_orders(v1::ListOrdersRequest {
                customer_id: "even".into(),
                page_size: 2,
                page_token: page_token.clone(),
                min_position: last_position,
                ..Default::default()
            })
            .await
            .expect("page")
            .into_inner();
        seen.extend(
            page.orders
                .into_iter()
                .map(|order| (order.placed_at.map(|t| (t.seconds, t.nanos)), order.customer_id)),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|(_, customer)| customer == "even"));
    assert!(seen.windows(2).all(|pair| pair[0].0 >= pair[1].0), "newest first");

    client
        .list_orders(v1::ListOrdersRequest { page_token: "garbage".into(), ..Default::default() })
        .await
        .refused(Code::InvalidArgument, "bad token");
}

#[tokio::test]
async fn a_watched_order_streams_its_state_then_every_change() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let mut client =
        intake.client(Caller::with_roles("erin", &[Role::CustomerServiceAgent, Role::OrderReviewer])).await;
    let placed = client.place_order(placement("watch-1", "cust-w")).await.expect("placed").into_inner();
    let order_id = placed.order.expect("order").order_id;
    wait_until(&mut client, &order_id, |order| order.status() == OrderStatus::Accepted).await;

    let request = v1::WatchOrderRequest { order_id: order_id.clone(), min_position: placed.position };
    let mut updates = client.watch_order(request).await.expect("watching").into_inner();
    // First the order as it is, with the event that made it so.
    let (order, event) = next(&mut updates).await;
    assert_eq!(order.status(), OrderStatus::Accepted);
    assert_eq!(event.event_type, "waybill.intake.order_accepted.v1");

    // Then each change, as it happens, with the position the command answered.
    let cancel = cancellation("watch-cancel", &order_id, "changed plans");
    let cancelled = client.cancel_order(cancel).await.expect("cancelled").into_inner();
    let (order, event) = next(&mut updates).await;
    assert_eq!(order.status(), OrderStatus::Cancelled);
    assert_eq!(event.event_type, "waybill.intake.order_cancelled.v1");
    assert_eq!(event.position, cancelled.position);
    assert_eq!(event.actor.expect("actor").id, "erin");

    let unknown =
        v1::WatchOrderRequest { order_id: "0190f0f0-0000-7000-8000-000000000000".into(), min_position: 0 };
    client.watch_order(unknown).await.refused(Code::NotFound, "no such order");

    // A stopping intake ends open watches with UNAVAILABLE (watch again elsewhere) instead
    // of holding its shutdown until they time out.
    let stopping = tokio::spawn(intake.stop());
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), updates.message())
        .await
        .expect("the watch ends when intake stops");
    match ended {
        Err(status) => assert_eq!(status.code(), Code::Unavailable, "{status}"),
        Ok(update) => panic!("expected the watch to end with UNAVAILABLE, got {update:?}"),
    }
    tokio::time::timeout(std::time::Duration::from_secs(10), stopping)
        .await
        .expect("intake stops within 10 s")
        .expect("stop task");
}

/// The next update of a watch, within 10 s.
async fn next(updates: &mut tonic::Streaming<v1::WatchOrderResponse>) -> (v1::Order, v1::TimelineEntry) {
    let update = tokio::time::timeout(std::time::Duration::from_secs(10), updates.message())
        .await
        .expect("an update within 10 s")
        .expect("a healthy stream")
        .expect("the stream goes on");
    (update.order.expect("order"), update.event.expect("event"))
}

#[tokio::test]
async fn a_request_within_every_field_limit_that_makes_too_large_an_event_is_the_clients_mistake() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let mut client =
        intake.client(Caller::with_roles("alice", &[Role::CustomerServiceAgent, Role::OrderReviewer])).await;
    // 100 lines (the most allowed), each description 256 characters (the most allowed) of a
    // 4-byte character: every field is fine, the event would be ~100 KiB of the log's 64.
    let mut request = placement("place-huge", "cust-huge");
    request.cargo = (0..100).map(|_| cargo(&"𝄞".repeat(256), 1_000, v1::CargoCategory::General)).collect();

    let refused = client.place_order(request).await.refused(Code::InvalidArgument, "too large for the log");
    assert!(refused.message().contains("larger than the log accepts"), "{refused:?}");
    let listed = client
        .list_orders(v1::ListOrdersRequest { customer_id: "cust-huge".into(), ..Default::default() })
        .await
        .expect("listed")
        .into_inner();
    assert!(listed.orders.is_empty(), "nothing was written");
}

#[tokio::test]
async fn bytes_that_are_not_the_methods_message_are_invalid_argument_not_internal() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let channel = tonic::transport::Channel::from_shared(intake.url().to_owned())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    // A Duration's field 1 is a varint; PlaceOrderRequest's field 1 is a string: the bytes
    // are well-formed protobuf that is not this method's message.
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<prost_types::Duration, v1::PlaceOrderResponse>::default();
    let path = http::uri::PathAndQuery::from_static("/waybill.v1.IntakeService/PlaceOrder");
    grpc.unary(
        waybill_fixtures::request(
            &Caller::customer_service("shop"),
            prost_types::Duration { seconds: 5, nanos: 0 },
        ),
        path,
        codec,
    )
    .await
    .refused(Code::InvalidArgument, "undecodable");
}
