//! The harness itself: a test reaches only processes it started, and leaves none behind.

use std::process::Command;
use std::time::Duration;

use waybill_system_tests::{Service, binary};
use waybill_testkit::{Launch, NatsServer, ServiceProcess};

#[tokio::test]
async fn a_restart_on_a_port_someone_else_took_fails_saying_so() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let mut intake = Service::start("intake", &nats, &[]).await?;
    let listen = intake.listen().to_owned();
    intake.kill()?;
    // Another process takes the port the killed service had, as another test could.
    let _squatter = std::net::TcpListener::bind(&listen)?;

    let error = refused_start(
        Service::start_on("intake", &listen, &nats, &[]),
        "a service started on a port another process holds",
    )
    .await?;
    assert!(error.contains("exited at start"), "the failure names the cause: {error}");
    Ok(())
}

#[tokio::test]
async fn a_server_that_is_not_the_expected_service_is_refused() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    // Dispatch, launched where the test expects intake: the health check for intake's
    // gRPC service tells them apart, instead of a confusing UNIMPLEMENTED later.
    let mut command = Command::new(binary("waybill-dispatch")?);
    command.env("WAYBILL_NATS_URL", nats.url()).env("RUST_LOG", "warn");
    let launch = Launch {
        grpc_service: "waybill.v1.IntakeService",
        listen: "127.0.0.1:0",
        timeout: Duration::from_secs(30),
    };
    let error =
        refused_start(ServiceProcess::start(command, launch), "dispatch was taken for intake").await?;
    assert!(error.contains("does not serve waybill.v1.IntakeService"), "{error}");
    Ok(())
}

#[tokio::test]
async fn services_bind_their_own_ports_and_die_with_their_handle() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let intake = Service::start("intake", &nats, &[]).await?;
    let dispatch = Service::start("dispatch", &nats, &[]).await?;
    assert_ne!(intake.listen(), dispatch.listen(), "each bound a port of its own");
    assert!(!intake.listen().ends_with(":0"), "the reported address is the bound one");

    let pid = intake.process.process.id();
    assert!(running(pid), "intake runs");
    drop(intake);
    assert!(!running(pid), "dropping the handle kills and reaps intake");
    Ok(())
}

fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
}

/// The error a start that must fail ended with; `started` if it started after all.
async fn refused_start<T>(
    start: impl std::future::Future<Output = anyhow::Result<T>>,
    started: &str,
) -> anyhow::Result<String> {
    match start.await {
        Ok(_) => anyhow::bail!("{started}"),
        Err(error) => Ok(error.to_string()),
    }
}
