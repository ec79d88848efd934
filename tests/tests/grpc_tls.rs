//! TLS on the gRPC ports, against the real binaries started as operations start them
//! (`WAYBILL_TLS_CERT`, `WAYBILL_TLS_KEY`, `WAYBILL_TLS_CLIENT_CA`), with certificates made
//! at test time: every service answers a client that trusts the CA and refuses a plaintext
//! one; with a client CA, only callers presenting a certificate that CA signed are served.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use waybill_proto::v1;
use waybill_proto::v1::intake_service_client::IntakeServiceClient;
use waybill_system_tests::{binary, grpc_service, system};
use waybill_testkit::{Launch, NatsAccess, NatsServer, ServiceProcess, TestCertificates};

/// How a test client meets the port.
#[derive(Clone)]
enum Client<'a> {
    Plaintext,
    /// TLS, trusting `ca`, presenting `identity` (cert, key) if any.
    Tls {
        ca: &'a Path,
        identity: Option<(&'a Path, &'a Path)>,
    },
}

async fn channel(address: &str, client: &Client<'_>) -> anyhow::Result<Channel> {
    let endpoint = match client {
        Client::Plaintext => Endpoint::from_shared(format!("http://{address}"))?,
        Client::Tls { ca, identity } => {
            let mut tls = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(std::fs::read(ca)?))
                .domain_name("localhost");
            if let Some((cert, key)) = identity {
                tls = tls.identity(Identity::from_pem(std::fs::read(cert)?, std::fs::read(key)?));
            }
            Endpoint::from_shared(format!("https://{address}"))?.tls_config(tls)?
        }
    };
    let endpoint = endpoint.connect_timeout(Duration::from_secs(2)).timeout(Duration::from_secs(5));
    Ok(endpoint.connect().await?)
}

/// What health answers `client` for `service` at `address`, or why nothing.
async fn health(address: &str, client: &Client<'_>, service: &str) -> Result<ServingStatus, String> {
    let channel = channel(address, client).await.map_err(|error| format!("cannot connect: {error:#}"))?;
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest { service: service.to_owned() })
        .await
        .map_err(|status| format!("{status}"))?;
    ServingStatus::try_from(answer.get_ref().status).map_err(|error| error.to_string())
}

/// Starts `waybill-<name>` with TLS `env` and waits until it is SERVING to `client`.
async fn start(
    name: &str,
    nats: &NatsServer,
    env: &[(&str, &Path)],
    client: &Client<'_>,
) -> anyhow::Result<(ServiceProcess, String)> {
    let mut command = Command::new(binary(&format!("waybill-{name}"))?);
    command.envs(nats.service_env(name)).env("RUST_LOG", "warn").env("WAYBILL_SHUTDOWN_GRACE_SECS", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    let grpc_service = grpc_service(name)?;
    let launch = Launch { grpc_service, listen: "127.0.0.1:0", timeout: Duration::from_secs(30) };
    let mut process = ServiceProcess::spawn(command, &launch).await?;
    let address = process.url().trim_start_matches("http://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = process.process.try_wait()? {
            anyhow::bail!("waybill-{name} exited ({status}) before it was SERVING over TLS");
        }
        match health(&address, client, grpc_service).await {
            Ok(ServingStatus::Serving) => return Ok((process, address)),
            other => anyhow::ensure!(
                Instant::now() < deadline,
                "waybill-{name} not SERVING over TLS in time: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// GetOrder of an order that does not exist, with a reader's token: NOT_FOUND means the
/// call got through TLS, the auth layer and the service.
async fn get_missing_order(address: &str, client: &Client<'_>) -> Result<tonic::Code, String> {
    let channel = channel(address, client).await.map_err(|error| format!("cannot connect: {error:#}"))?;
    let request = v1::GetOrderRequest { order_id: uuid::Uuid::new_v4().to_string(), min_position: 0 };
    match IntakeServiceClient::new(channel).get_order(system::request(&system::reader(), request)).await {
        Ok(_) => Ok(tonic::Code::Ok),
        Err(status) if status.code() == tonic::Code::NotFound => Ok(tonic::Code::NotFound),
        Err(status) => Err(format!("{status}")),
    }
}

#[tokio::test]
async fn every_service_serves_tls_to_a_client_that_trusts_the_ca_and_refuses_plaintext() -> anyhow::Result<()>
{
    let nats = NatsServer::start();
    let dir = tempfile::tempdir()?;
    let certificates = TestCertificates::generate(dir.path())?;
    let env =
        [("WAYBILL_TLS_CERT", certificates.cert.as_path()), ("WAYBILL_TLS_KEY", certificates.key.as_path())];
    let trusting = Client::Tls { ca: &certificates.ca, identity: None };
    let strangers = tempfile::tempdir()?;
    let other_ca = TestCertificates::generate(strangers.path())?;
    let distrusting = Client::Tls { ca: &other_ca.ca, identity: None };

    let mut services = Vec::new();
    for name in ["intake", "dispatch", "delivery", "aftersales", "crm"] {
        let (process, address) = start(name, &nats, &env, &trusting).await?;
        let service = grpc_service(name)?;
        let plaintext = health(&address, &Client::Plaintext, service).await;
        assert!(plaintext.is_err(), "{name} answered a plaintext client: {plaintext:?}");
        let unverified = health(&address, &distrusting, service).await;
        assert!(
            unverified.is_err(),
            "a client trusting another CA accepted {name}'s certificate: {unverified:?}"
        );
        services.push((process, address));
    }
    let (_, intake) = &services[0];
    assert_eq!(get_missing_order(intake, &trusting).await, Ok(tonic::Code::NotFound));
    let plaintext = get_missing_order(intake, &Client::Plaintext).await;
    assert!(plaintext.is_err(), "intake served a plaintext GetOrder: {plaintext:?}");
    Ok(())
}

#[tokio::test]
async fn with_a_client_ca_only_callers_with_a_certificate_it_signed_are_served() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir()?;
    let certificates = TestCertificates::generate(dir.path())?;
    let strangers = tempfile::tempdir()?;
    let other = TestCertificates::generate(strangers.path())?;
    let env = [
        ("WAYBILL_TLS_CERT", certificates.cert.as_path()),
        ("WAYBILL_TLS_KEY", certificates.key.as_path()),
        ("WAYBILL_TLS_CLIENT_CA", certificates.ca.as_path()),
    ];
    let with_certificate =
        Client::Tls { ca: &certificates.ca, identity: Some((&certificates.cert, &certificates.key)) };
    let (_intake, address) = start("intake", &nats, &env, &with_certificate).await?;

    assert_eq!(get_missing_order(&address, &with_certificate).await, Ok(tonic::Code::NotFound));
    let without = get_missing_order(&address, &Client::Tls { ca: &certificates.ca, identity: None }).await;
    assert!(without.is_err(), "a caller without a certificate was served: {without:?}");
    let foreign = Client::Tls { ca: &certificates.ca, identity: Some((&other.cert, &other.key)) };
    let foreign = get_missing_order(&address, &foreign).await;
    assert!(foreign.is_err(), "a caller with another CA's certificate was served: {foreign:?}");
    let plaintext = get_missing_order(&address, &Client::Plaintext).await;
    assert!(plaintext.is_err(), "a plaintext caller was served: {plaintext:?}");
    Ok(())
}
