//! The intake binary as an operator and a newcomer meet it: configured by env, healthy once
//! caught up, reachable with grpcurl through reflection, and stopped cleanly by SIGTERM.
//! The harness around it is checked here too: ports the service binds itself, a server that
//! is not the test's own refused, and no process left behind.

use std::process::Command;
use std::time::Duration;
use waybill_fixtures::Refusal;

use waybill_proto::v1;
use waybill_proto::v1::intake_service_client::IntakeServiceClient;
use waybill_system_tests::{Service, tool};
use waybill_testkit::NatsServer;

#[tokio::test]
async fn the_binary_serves_places_orders_via_grpcurl_and_stops_on_sigterm() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    // Port 0 for both listeners: the service reports what it bound in its address file.
    let env = [("WAYBILL_LOG_FORMAT", "json"), ("WAYBILL_METRICS_LISTEN", "127.0.0.1:0")];
    let mut intake = Service::start("intake", &nats, &env).await?;
    let listen = intake.listen().to_owned();
    let address = intake.address.clone();
    let metrics_listen = intake
        .process
        .metrics_address()
        .ok_or_else(|| anyhow::anyhow!("intake reported no metrics address"))?
        .to_string();

    // The README's first grpcurl step, for real (skipped only if the tools are not installed).
    if let Some(grpcurl) = tool("grpcurl") {
        let services = Command::new(&grpcurl).args(["-plaintext", &listen, "list"]).output()?;
        let services = String::from_utf8_lossy(&services.stdout);
        assert!(services.contains("waybill.v1.IntakeService"), "reflection lists: {services}");
        // Only what this port serves: the other four services would answer UNIMPLEMENTED here.
        for other in ["DispatchService", "DeliveryService", "AfterSalesService", "CrmService"] {
            assert!(!services.contains(other), "reflection lists {other} on intake's port: {services}");
        }

        let request = serde_json::json!({
            "requestId": "grpcurl-1",
            "customerId": "cust-grpcurl",
            "shipper": {"contact": {"name": "Acme", "phone": "+49 30 1"},
                        "address": {"lines": ["Hauptstr. 1"], "city": "Berlin", "region": "BE", "countryCode": "DE"}},
            "consignee": {"contact": {"name": "Erika", "phone": "+49 89 2"},
                          "address": {"lines": ["Marienplatz 1"], "city": "Munich", "region": "BY", "countryCode": "DE"}},
            "cargo": [{"description": "books", "quantity": 1, "weightGrams": "2000", "lengthCm": 30, "widthCm": 20,
                       "heightCm": 10, "declaredValue": {"amountMinor": "5000", "currency": "EUR"},
                       "category": "CARGO_CATEGORY_GENERAL"}],
            "serviceLevel": "SERVICE_LEVEL_EXPRESS"
        });
        let newcomer = waybill_fixtures::Caller::customer_service("newcomer");
        let placed = Command::new(&grpcurl)
            .args(["-plaintext", "-H", &format!("authorization: {}", newcomer.authorization())])
            .args(["-d", &request.to_string(), &listen])
            .arg("waybill.v1.IntakeService/PlaceOrder")
            .output()?;
        assert!(placed.status.success(), "grpcurl failed: {}", String::from_utf8_lossy(&placed.stderr));
        let placed: serde_json::Value = serde_json::from_slice(&placed.stdout)?;
        assert_eq!(placed["order"]["status"], "ORDER_STATUS_PLACED");
        assert_eq!(placed["order"]["quote"]["total"]["currency"], "EUR");
    } else {
        eprintln!("grpcurl not installed (run `make tools`); skipping the grpcurl part");
    }

    // What operations scrape: the calls made above, and how far the read model got.
    let mut client = IntakeServiceClient::with_interceptor(
        tonic::transport::Channel::from_shared(address.clone())?.connect().await?,
        waybill_system_tests::system::reader(),
    );
    let unknown =
        v1::GetOrderRequest { order_id: "00000000-0000-0000-0000-000000000000".into(), min_position: 0 };
    client.get_order(unknown).await.refused(tonic::Code::NotFound, "no such order");
    let metrics = scrape(&metrics_listen)?;
    assert!(
        metrics.lines().any(|line| line.starts_with("waybill_grpc_requests_total")
            && line.contains(r#"method="/waybill.v1.IntakeService/GetOrder""#)
            && line.contains(r#"code="5""#)
            && line.ends_with(" 1")),
        "GetOrder NOT_FOUND counted once:\n{metrics}"
    );
    assert!(
        metrics.lines().any(|line| line.starts_with("waybill_projection_applied_position")),
        "the read model's position is exported:\n{metrics}"
    );

    // A client that holds its connection and never reacts to the server's GOAWAY (this
    // test's runtime is blocked while `terminate` waits) must not keep intake from exiting:
    // the shutdown grace bounds the wait.
    let _frozen_client = tonic::transport::Channel::from_shared(address)?.connect().await?;
    assert!(intake.terminate(Duration::from_secs(15))?, "intake exited with an error after SIGTERM");
    Ok(())
}

/// `GET /metrics` over a plain TCP connection (HTTP/1.0, so the server closes when done).
fn scrape(address: &str) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    anyhow::ensure!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "metrics answered {head}"
    );
    Ok(body.to_owned())
}
