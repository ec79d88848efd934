//! TLS to NATS, with certificates made at test time: a service reaches a TLS server with
//! `--nats-tls-ca`, nothing reaches it without the CA, and a server that verifies clients
//! (mutual TLS) accepts only clients with a certificate the CA signed.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use waybill_eventlog::{EventLog, StreamSettings};
use waybill_runtime::NatsFlags;
use waybill_testkit::{NatsServer, Service, TestCertificates, TestUsers, User};

fn flags(server: &NatsServer, user: User, certificates: &TestCertificates) -> NatsFlags {
    NatsFlags {
        nats_tls_ca: Some(certificates.ca.clone()),
        ..NatsFlags::as_user(&server.address(), user.name(), server.users().password(user.name()))
    }
}

/// A single attempt, without the services' patience: does this client get in?
async fn plain_attempt(
    server: &NatsServer,
    user: User,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::with_user_and_password(
        user.name().to_owned(),
        server.users().password(user.name()).to_owned(),
    )
    .connection_timeout(Duration::from_secs(2))
    .connect(server.address())
    .await
}

#[tokio::test]
async fn a_service_reaches_a_tls_server_with_the_ca_and_no_client_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let certificates = TestCertificates::generate(dir.path()).expect("test certificates");
    let (cert, key) = (certificates.cert.display().to_string(), certificates.key.display().to_string());
    let server =
        NatsServer::start_empty(&["--tls", "--tlscert", &cert, "--tlskey", &key], TestUsers::generate());

    // Without the CA the server's certificate is not trusted: no connection.
    assert!(plain_attempt(&server, User::Service(Service::Intake)).await.is_err());

    // With it: ops bootstraps, intake opens the log and appends.
    let ops = flags(&server, User::Ops, &certificates).connect("test-ops").await.unwrap();
    waybill_eventlog::EventLog::bootstrap(&ops, &StreamSettings::default()).await.unwrap();
    let intake =
        flags(&server, User::Service(Service::Intake), &certificates).connect("test-intake").await.unwrap();
    let log = EventLog::open(intake, StreamSettings::default(), "/waybill/intake").await.unwrap();
    assert_eq!(log.head().await.unwrap(), 0);
}

#[tokio::test]
async fn a_server_that_verifies_clients_accepts_only_certificates_its_ca_signed() {
    let dir = tempfile::tempdir().unwrap();
    let certificates = TestCertificates::generate(dir.path()).expect("test certificates");
    let (ca, cert, key) = (
        certificates.ca.display().to_string(),
        certificates.cert.display().to_string(),
        certificates.key.display().to_string(),
    );
    let server = NatsServer::start_empty(
        &["--tlsverify", "--tlscert", &cert, "--tlskey", &key, "--tlscacert", &ca],
        TestUsers::generate(),
    );
    let intake = User::Service(Service::Intake);

    // The CA alone is not enough: the server asks for a client certificate.
    let without = async_nats::ConnectOptions::with_user_and_password(
        intake.name().to_owned(),
        server.users().password(intake.name()).to_owned(),
    )
    .add_root_certificates(certificates.ca.clone())
    .require_tls(true)
    .connection_timeout(Duration::from_secs(2))
    .connect(server.address())
    .await;
    assert!(without.is_err(), "a client without a certificate is refused");

    let mutual = NatsFlags {
        nats_tls_cert: Some(certificates.cert.clone()),
        nats_tls_key: Some(certificates.key.clone()),
        ..flags(&server, intake, &certificates)
    };
    let client = mutual.connect("test-intake").await.unwrap();
    client.flush().await.unwrap();
}
