//! One order's trace across the five binaries (docs/OPERATIONS.md, "Traces").
//!
//! A client that traces the order sends one W3C `traceparent` on every call about it. The
//! services carry that trace on every event they append, and their reactions continue it,
//! so every event about the order on the log names the client's trace, whichever service
//! wrote it and whether a person or a reaction caused it; this holds with export off. With
//! an OTLP endpoint configured, the services' spans of that trace reach the collector, here a
//! tiny OTLP/gRPC receiver inside the test; a call refused with an error status and a
//! reaction's event that fails are error spans there, and timers' ticks spans of their own.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use waybill_proto::v1;
use waybill_system_tests::system::{Settings, System, eur, reader};
use waybill_testkit::NatsServer;

/// The trace the test's client sends (the W3C specification's own example ids).
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN_ID: &str = "00f067aa0ba902b7";

fn traceparent() -> String {
    format!("00-{TRACE_ID}-{CLIENT_SPAN_ID}-01")
}

/// One stored message: its subject and its `traceparent`, if any.
struct Stored {
    position: u64,
    subject: String,
    event_type: String,
    traceparent: Option<String>,
}

/// Every message on the event stream, in log order.
async fn the_log(nats: &NatsServer) -> anyhow::Result<Vec<Stored>> {
    let jetstream = async_nats::jetstream::new(nats.client().await);
    let mut stream = jetstream.get_stream("WAYBILL").await?;
    let last = stream.info().await?.state.last_sequence;
    let mut stored = Vec::new();
    for position in 1..=last {
        let message = match stream.direct_get(position).await {
            Ok(message) => message,
            Err(_) => continue,
        };
        let header = |name: &str| message.headers.get(name).map(|value| value.as_str().to_owned());
        stored.push(Stored {
            position,
            subject: message.subject.to_string(),
            event_type: header("ce-type").unwrap_or_default(),
            traceparent: header("traceparent"),
        });
    }
    Ok(stored)
}

/// Whether `subject` names one of `ids` (the order, its return, its complaint) as a token.
fn about(subject: &str, ids: &BTreeSet<String>) -> bool {
    subject.split('.').any(|token| ids.contains(token))
}

fn trace_id_of(traceparent: &str) -> Option<&str> {
    waybill_eventlog::trace::trace_id_of(traceparent)
}

#[tokio::test]
async fn every_event_about_an_order_carries_the_trace_its_client_sent_across_all_services()
-> anyhow::Result<()> {
    let nats = NatsServer::start();
    let system = System::start(&nats, Settings::default()).await?;
    // The fleet is set up outside the order's trace; its events start traces of their own.
    system.clients().await?.set_up_fleet("traced").await?;
    let clients = system.clients_intercepted_by(reader().in_trace(&traceparent())).await?;
    let customer = "cust-traced";

    // Through dispatch and delivery to the door, back as a return with a refund, and a
    // complaint: every step by a traced client, every reaction by the services themselves.
    let order = clients.deliver_new_order("traced", customer).await?;
    let order_id = order.order_id.clone();
    let refunded = clients.return_and_refund("traced", &order_id, eur(1_000)).await?;
    let complaint =
        clients.complain_of_delay("traced", customer, &order_id, "a day late").await?.complaint_id;
    // CRM has no reactions; it still serves the order's caller in the trace.
    clients.crm.clone().get_kpis(v1::GetKpisRequest::default()).await?;

    let ids: BTreeSet<String> = [order_id.clone(), refunded.return_id.clone(), complaint].into();
    // Reactions may still be writing (a notification, a reverse shipment's progress): read
    // the log once it has stopped growing for a moment.
    let mut log = the_log(&nats).await?;
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let again = the_log(&nats).await?;
        if again.len() == log.len() {
            break;
        }
        log = again;
    }
    let about_order: Vec<Stored> = log.into_iter().filter(|event| about(&event.subject, &ids)).collect();
    let services: BTreeSet<&str> =
        about_order.iter().filter_map(|event| event.subject.split('.').nth(1)).collect();
    assert_eq!(
        services,
        ["aftersales", "delivery", "dispatch", "intake"].into(),
        "the order's events come from every service that writes about orders"
    );
    // Reactions' events among them: the plan, the last mile's schedule, the reverse pickup.
    for reacted in ["waybill.dispatch.task_planned.v1", "waybill.delivery.delivery_scheduled.v1"] {
        assert!(
            about_order.iter().any(|event| event.event_type == reacted),
            "no {reacted} on the log: {:?}",
            about_order.iter().map(|event| &event.event_type).collect::<Vec<_>>()
        );
    }
    let outside: Vec<String> = about_order
        .iter()
        .filter(|event| event.traceparent.as_deref().and_then(trace_id_of) != Some(TRACE_ID))
        .map(|event| {
            format!("{} {} {} {:?}", event.position, event.subject, event.event_type, event.traceparent)
        })
        .collect();
    assert!(outside.is_empty(), "events about the order outside its trace:\n{}", outside.join("\n"));
    Ok(())
}

/// One span as the receiver got it.
#[derive(Clone, Debug)]
struct Received {
    service: String,
    name: String,
    trace_id: String,
    parent_span_id: String,
    /// OTLP's status code: 0 unset, 1 ok, 2 error.
    status_code: i32,
    status_message: String,
    /// Its attributes' values, as text.
    attributes: BTreeMap<String, String>,
}

/// An attribute's value as text (strings bare, numbers in decimal).
fn text_of(value: Option<&any_value::Value>) -> String {
    match value {
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::IntValue(number)) => number.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// An OTLP/gRPC trace receiver: keeps every span it is sent.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let hex = |bytes: &[u8]| bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>();
        let mut received = Vec::new();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .map(|attribute| text_of(attribute.value.as_ref().and_then(|value| value.value.as_ref())))
                .unwrap_or_default();
            for span in resource_spans.scope_spans.into_iter().flat_map(|scope| scope.spans) {
                let status = span.status.unwrap_or_default();
                let attributes = span
                    .attributes
                    .iter()
                    .map(|attribute| {
                        let value = attribute.value.as_ref().and_then(|value| value.value.as_ref());
                        (attribute.key.clone(), text_of(value))
                    })
                    .collect();
                received.push(Received {
                    service: service.clone(),
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    parent_span_id: hex(&span.parent_span_id),
                    status_code: status.code,
                    status_message: status.message,
                    attributes,
                });
            }
        }
        self.spans.lock().map_err(|_| tonic::Status::internal("poisoned"))?.extend(received);
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

#[tokio::test]
async fn the_services_export_their_spans_of_the_orders_trace_over_otlp() -> anyhow::Result<()> {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let serving = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    let nats = NatsServer::start();
    // Batches sent every 100 ms instead of 5 s, so the test need not wait.
    let every = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_BSP_SCHEDULE_DELAY", "100")];
    let system = System::start(&nats, Settings { every: &every, ..Settings::default() }).await?;
    let clients = system.clients_intercepted_by(reader().in_trace(&traceparent())).await?;
    let order = clients.place("exported", "cust-exported").await?;
    // Intake's auto-review accepts it, dispatch's reaction plans the task: two services.
    clients.task_reaches(&order.order_id, v1::TaskStatus::Planned).await?;

    let spans = waybill_system_tests::system::eventually("spans of two services", || async {
        let spans = receiver.spans.lock().ok()?.clone();
        let in_trace: Vec<Received> = spans.into_iter().filter(|span| span.trace_id == TRACE_ID).collect();
        let services: BTreeSet<&str> = in_trace.iter().map(|span| span.service.as_str()).collect();
        (services.contains("waybill-intake") && services.contains("waybill-dispatch")).then_some(in_trace)
    })
    .await?;
    let by_name: BTreeMap<&str, &Received> = spans.iter().map(|span| (span.name.as_str(), span)).collect();
    let placed = by_name
        .get("waybill.v1.IntakeService/PlaceOrder")
        .ok_or_else(|| anyhow::anyhow!("no PlaceOrder span: {spans:?}"))?;
    assert_eq!(placed.service, "waybill-intake");
    assert_eq!(placed.parent_span_id, CLIENT_SPAN_ID, "the RPC's span is a child of the client's");
    let planned = by_name
        .get("process dispatch-orders")
        .ok_or_else(|| anyhow::anyhow!("no span of dispatch's reaction: {spans:?}"))?;
    assert_eq!(planned.service, "waybill-dispatch");
    assert!(
        spans.iter().any(|span| span.service == "waybill-intake" && span.parent_span_id == CLIENT_SPAN_ID),
        "{spans:?}"
    );

    // A call answered with an error status is an error span, with the gRPC code.
    let missing = uuid::Uuid::now_v7().to_string();
    let refused = clients
        .intake
        .clone()
        .get_order(v1::GetOrderRequest { order_id: missing.clone(), min_position: 0 })
        .await
        .expect_err("no such order");
    assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    // A reaction's event that can never be handled (the arrival of an order intake never
    // placed) is dead-lettered by delivery: its span is an error, saying why.
    let log = waybill_fixtures::foreign::open_log(nats.client().await).await;
    waybill_fixtures::foreign::task_arrived_at_hub(&log, &missing).await;
    let (get_order, dead_lettered, tick) =
        waybill_system_tests::system::eventually("the error spans and a timer's tick", || async {
            let spans = receiver.spans.lock().ok()?.clone();
            let find = |wanted: &dyn Fn(&Received) -> bool| spans.iter().find(|span| wanted(span)).cloned();
            let get_order =
                find(&|span| span.name == "waybill.v1.IntakeService/GetOrder" && span.trace_id == TRACE_ID)?;
            let dead_lettered = find(&|span| {
                span.name == "process delivery-arrivals"
                    && span.attributes.get("waybill.aggregate_id") == Some(&missing)
                    && span.status_code == 2
            })?;
            let tick = find(&|span| span.name == "tick sla clock" && span.service == "waybill-delivery")?;
            Some((get_order, dead_lettered, tick))
        })
        .await?;
    assert_eq!(get_order.status_code, 2, "an error span: {get_order:?}");
    assert_eq!(
        get_order.attributes.get("rpc.grpc.status_code").map(String::as_str),
        Some("5"),
        "{get_order:?}"
    );
    assert!(get_order.status_message.starts_with("NotFound"), "{get_order:?}");
    assert!(dead_lettered.status_message.contains("never placed"), "{dead_lettered:?}");
    assert_eq!(placed.status_code, 0, "a call answered OK is no error: {placed:?}");
    // A timer's tick is a span of its own, the root of its trace: time started it.
    assert_eq!(tick.parent_span_id, "", "{tick:?}");
    serving.abort();
    Ok(())
}
