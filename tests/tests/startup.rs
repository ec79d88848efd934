//! Starting on a bad NATS day: a service that cannot reach its event log waits, says
//! NOT_SERVING, and serves once NATS is back, without anyone restarting it.

use std::process::Command;
use std::time::{Duration, Instant};

use tonic_health::pb::health_check_response::ServingStatus;
use waybill_system_tests::{binary, grpc_service};
use waybill_testkit::{Launch, NatsServer, ServiceProcess};

#[tokio::test]
async fn a_service_started_on_a_frozen_nats_waits_not_serving_and_serves_once_it_thaws() -> anyhow::Result<()>
{
    let nats = NatsServer::start();
    // Frozen (SIGSTOP): connections are accepted by the kernel, nothing answers, as with a
    // node that is restarting or stalled. The service gives up on a first look-up after 10 s.
    nats.freeze();
    let mut command = Command::new(binary("waybill-aftersales")?);
    command.env("WAYBILL_NATS_URL", nats.url()).env("RUST_LOG", "warn");
    let name = grpc_service("aftersales")?;
    let launch = Launch { grpc_service: name, listen: "127.0.0.1:0", timeout: Duration::from_secs(30) };
    let mut service = ServiceProcess::spawn(command, &launch).await?;

    let frozen_until = Instant::now() + Duration::from_secs(13);
    while Instant::now() < frozen_until {
        if let Some(status) = service.process.try_wait()? {
            nats.thaw();
            anyhow::bail!("aftersales exited ({status}) while NATS was frozen");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        service.health(name).await,
        Ok(ServingStatus::NotServing),
        "a starting service says so to probes"
    );

    nats.thaw();
    service.wait_serving(name, Instant::now() + Duration::from_secs(30)).await?;
    assert!(service.process.try_wait()?.is_none(), "the same process serves");
    Ok(())
}
