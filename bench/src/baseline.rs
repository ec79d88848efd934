//! Baseline (a): the least this architecture can do per order. A bare tonic handler,
//! served through the same stack as the services (`waybill_runtime::serve`: TCP_NODELAY,
//! the metrics layer, the actor interceptor, health), that turns a PlaceOrderRequest into
//! one OrderPlaced envelope of the same shape intake writes, publishes it to JetStream
//! with the same headers and awaits the ack. No validation, no read model, no decider.
//! It runs as its own process (`waybill-bench baseline-server`), like intake does.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, stream};
use prost::Message;
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use waybill_proto::v1::{
    self, intake_service_server::IntakeService, intake_service_server::IntakeServiceServer,
};

/// The stream the baselines write to (same safety settings as `WAYBILL`, other subjects).
pub const STREAM: &str = "BENCH";

/// Creates the baselines' stream with `replicas` replicas (or finds it: whoever comes
/// first sets it up, so the bench creates it before the baseline server starts).
pub async fn ensure_stream(jetstream: &jetstream::Context, replicas: usize) -> anyhow::Result<()> {
    jetstream
        .get_or_create_stream(stream::Config {
            name: STREAM.to_owned(),
            subjects: vec!["bench.>".to_owned()],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            discard: stream::DiscardPolicy::New,
            duplicate_window: Duration::from_secs(30 * 60),
            max_message_size: 64 * 1024,
            allow_direct: true,
            num_replicas: replicas,
            ..Default::default()
        })
        .await
        .map_err(|error| anyhow::anyhow!("cannot create stream {STREAM}: {error}"))?;
    Ok(())
}

/// The headers every Waybill event carries (eventlog's `append`): idempotency key and
/// CloudEvents attributes.
pub fn event_headers(message_id: &str, event_id: &str, event_type: &str, aggregate_id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, message_id);
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-id", event_id);
    headers.insert("ce-source", "/waybill/intake");
    headers.insert("ce-type", event_type);
    headers.insert("ce-time", "2026-11-23T16:00:00.000Z");
    headers.insert("ce-subject", aggregate_id);
    headers.insert("ce-datacontenttype", "application/protobuf");
    headers.insert("content-type", "application/protobuf");
    headers
}

/// An OrderPlaced envelope for `request`, with a fixed quote (intake computes one).
pub fn order_placed(order_id: &str, event_id: &str, request: &v1::PlaceOrderRequest) -> v1::EventEnvelope {
    let money = |amount_minor| Some(v1::Money { amount_minor, currency: "EUR".into() });
    let quote = v1::Quote {
        chargeable_weight_grams: 6_000,
        zone: v1::Zone::National.into(),
        lines: vec![
            v1::QuoteLine { code: "base".into(), amount: money(900) },
            v1::QuoteLine { code: "weight".into(), amount: money(300) },
            v1::QuoteLine { code: "insurance".into(), amount: money(100) },
        ],
        total: money(1_300),
    };
    v1::EventEnvelope {
        event_id: event_id.to_owned(),
        event_type: "waybill.intake.order_placed.v1".into(),
        aggregate_id: order_id.to_owned(),
        order_id: order_id.to_owned(),
        occurred_at: Some(crate::orders::now()),
        causation_id: request.request_id.clone(),
        correlation_id: request.request_id.clone(),
        actor: Some(v1::Actor { kind: v1::actor::Kind::System.into(), id: "bench".into() }),
        schema_version: 1,
        payload: Some(v1::event_envelope::Payload::Intake(v1::IntakeEvent {
            event: Some(v1::intake_event::Event::OrderPlaced(v1::OrderPlaced {
                customer_id: request.customer_id.clone(),
                shipper: request.shipper.clone(),
                consignee: request.consignee.clone(),
                cargo: request.cargo.clone(),
                service_level: request.service_level,
                quote: Some(quote),
            })),
        })),
    }
}

struct BareHandler {
    jetstream: jetstream::Context,
}

#[tonic::async_trait]
impl IntakeService for BareHandler {
    async fn place_order(
        &self,
        request: Request<v1::PlaceOrderRequest>,
    ) -> Result<Response<v1::PlaceOrderResponse>, Status> {
        let request = request.into_inner();
        let order_id = uuid::Uuid::now_v7().to_string();
        let event_id = uuid::Uuid::now_v7().to_string();
        let envelope = order_placed(&order_id, &event_id, &request);
        let headers = event_headers(
            &format!("{order_id}:{}", request.request_id),
            &event_id,
            &envelope.event_type,
            &order_id,
        );
        let ack = self
            .jetstream
            .publish_with_headers(format!("bench.order.{order_id}"), headers, envelope.encode_to_vec().into())
            .await
            .map_err(|error| Status::unavailable(error.to_string()))?
            .await
            .map_err(|error| Status::unavailable(error.to_string()))?;
        let order = v1::Order {
            order_id,
            customer_id: request.customer_id,
            status: v1::OrderStatus::Placed.into(),
            version: ack.sequence,
            ..Default::default()
        };
        Ok(Response::new(v1::PlaceOrderResponse { order: Some(order), position: ack.sequence }))
    }

    async fn review_order(
        &self,
        _: Request<v1::ReviewOrderRequest>,
    ) -> Result<Response<v1::ReviewOrderResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }
    async fn amend_order(
        &self,
        _: Request<v1::AmendOrderRequest>,
    ) -> Result<Response<v1::AmendOrderResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }
    async fn change_consignee_address(
        &self,
        _: Request<v1::ChangeConsigneeAddressRequest>,
    ) -> Result<Response<v1::ChangeConsigneeAddressResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }
    async fn cancel_order(
        &self,
        _: Request<v1::CancelOrderRequest>,
    ) -> Result<Response<v1::CancelOrderResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }
    async fn restore_order(
        &self,
        _: Request<v1::RestoreOrderRequest>,
    ) -> Result<Response<v1::RestoreOrderResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }
    async fn get_order(
        &self,
        _: Request<v1::GetOrderRequest>,
    ) -> Result<Response<v1::GetOrderResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }
    async fn list_orders(
        &self,
        _: Request<v1::ListOrdersRequest>,
    ) -> Result<Response<v1::ListOrdersResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }
    async fn list_review_queue(
        &self,
        _: Request<v1::ListReviewQueueRequest>,
    ) -> Result<Response<v1::ListReviewQueueResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }
    async fn track_order(
        &self,
        _: Request<v1::TrackOrderRequest>,
    ) -> Result<Response<v1::TrackOrderResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }

    type WatchOrderStream = futures::stream::Empty<Result<v1::WatchOrderResponse, Status>>;

    async fn watch_order(
        &self,
        _: Request<v1::WatchOrderRequest>,
    ) -> Result<Response<Self::WatchOrderStream>, Status> {
        Err(Status::unimplemented("baseline"))
    }
}

/// The baseline takes the services' flags (from the environment the bench sets).
#[derive(clap::Parser)]
struct BaselineConfig {
    #[command(flatten)]
    service: waybill_runtime::ServiceFlags,
}

/// Serves the bare handler until SIGTERM/SIGINT, started the way a service is.
pub async fn serve() -> anyhow::Result<()> {
    let config = <BaselineConfig as clap::Parser>::parse_from(["waybill-bench-baseline"]);
    let waybill_runtime::Started { nats, listener, verifier, tls } =
        config.service.start("waybill-bench-baseline", 0).await?;
    let jetstream = jetstream::new(nats);
    ensure_stream(&jetstream, 1).await?;
    let (health, health_service) = waybill_runtime::Health::new::<IntakeServiceServer<BareHandler>>().await;
    let api = IntakeServiceServer::new(BareHandler { jetstream })
        .max_decoding_message_size(waybill_runtime::grpc::MAX_REQUEST_BYTES);
    let routes = Routes::new(health_service).add_service(api);
    health.serving().await;
    waybill_runtime::serve(
        routes,
        listener,
        tls,
        verifier,
        None,
        waybill_runtime::shutdown::signal(),
        Duration::from_secs(1),
    )
    .await
}
