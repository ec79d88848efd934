//! The NATS connection as deploy/ configures it: several servers, credentials in the URL.

use waybill_testkit::{NatsServer, Service, TEST_USER, User};

#[tokio::test]
async fn credentials_in_the_url_reach_a_server_that_requires_them() -> anyhow::Result<()> {
    // Test servers require the production users' passwords (made at test time).
    let server = NatsServer::start();
    let url = server.url_as(User::Service(Service::Intake));
    let client = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        waybill_runtime::connect_nats(&url, "waybill-test"),
    )
    .await??;
    client.flush().await?;
    assert_eq!(client.connection_state(), async_nats::connection::State::Connected);
    Ok(())
}

#[tokio::test]
async fn a_list_with_a_dead_server_still_connects_to_a_live_one() -> anyhow::Result<()> {
    let live = NatsServer::start();
    let mut dead = NatsServer::start();
    let dead_port = dead.port();
    dead.kill();
    // Both orders, with and without scheme and spaces: the client tries every server.
    let credentials = format!("{TEST_USER}:{}", live.users().password(TEST_USER));
    for urls in [
        format!("nats://127.0.0.1:{dead_port}, {credentials}@127.0.0.1:{}", live.port()),
        format!("{credentials}@127.0.0.1:{},nats://127.0.0.1:{dead_port}", live.port()),
    ] {
        let client = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            waybill_runtime::connect_nats(&urls, "waybill-test"),
        )
        .await??;
        client.flush().await?;
    }
    Ok(())
}
