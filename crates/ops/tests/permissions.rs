//! Every NATS grant and denial of `waybill_ops::users`, on a real nats-server started with
//! the production authorization (the test kit renders it from the same code). Each denial
//! is observed as the server's own "Permissions Violation" (or its refusal to connect), next
//! to a positive control that the same user may do the allowed neighbouring thing.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, pull};
use async_nats::{Event, ServerError};
use tokio::sync::mpsc;
use waybill_eventlog::StreamSettings;
use waybill_testkit::{NatsServer, Service, User};

const WAIT: Duration = Duration::from_secs(3);

/// A connection as `user` that reports the server's errors (permission violations).
struct Connected {
    client: async_nats::Client,
    errors: mpsc::UnboundedReceiver<String>,
}

async fn connect(server: &NatsServer, user: User) -> Connected {
    let (sender, errors) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::with_user_and_password(
        user.name().to_owned(),
        server.users().password(user.name()).to_owned(),
    )
    .request_timeout(Some(Duration::from_millis(1500)))
    .event_callback(move |event| {
        let sender = sender.clone();
        async move {
            if let Event::ServerError(ServerError::Other(error)) = event {
                let _ = sender.send(error);
            }
        }
    })
    .connect(server.address())
    .await
    .unwrap();
    Connected { client, errors }
}

impl Connected {
    fn jetstream(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::ContextBuilder::new()
            .timeout(Duration::from_millis(1500))
            .build(self.client.clone())
    }

    /// Waits for the server's permission violation naming `subject`.
    async fn denied(&mut self, subject: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let error = tokio::time::timeout_at(deadline, self.errors.recv())
                .await
                .unwrap_or_else(|_| panic!("no permission violation for {subject} within {WAIT:?}"))
                .expect("the connection's events");
            if error.to_lowercase().contains("permissions violation") && error.contains(subject) {
                return;
            }
        }
    }

    /// No permission violation at all arrived (for positive controls).
    fn no_violation(&mut self) {
        if let Ok(error) = self.errors.try_recv() {
            panic!("unexpected server error: {error}");
        }
    }
}

async fn stored_on(server: &NatsServer, subject: &str) -> usize {
    let log =
        waybill_eventlog::EventLog::open(server.client().await, StreamSettings::default(), "/waybill/test")
            .await
            .unwrap();
    log.read_subject(subject).await.unwrap().len()
}

#[tokio::test]
async fn anonymous_and_wrong_password_connections_are_refused() {
    let server = NatsServer::start();
    let anonymous = async_nats::ConnectOptions::new().connect(server.address()).await;
    let error = anonymous.expect_err("an anonymous client is refused");
    assert_eq!(error.kind(), async_nats::ConnectErrorKind::AuthorizationViolation, "{error}");

    let wrong = async_nats::ConnectOptions::with_user_and_password("intake".into(), "guess".into())
        .connect(server.address())
        .await;
    let error = wrong.expect_err("a wrong password is refused");
    assert_eq!(error.kind(), async_nats::ConnectErrorKind::AuthorizationViolation, "{error}");

    // Positive control: the right password connects.
    let intake = connect(&server, User::Service(Service::Intake)).await;
    intake.client.flush().await.unwrap();
}

#[tokio::test]
async fn a_service_publishes_its_own_events_and_never_another_services() {
    let server = NatsServer::start();
    let mut dispatch = connect(&server, User::Service(Service::Dispatch)).await;
    let forged = "waybill.intake.order.o-1";
    let sent = dispatch.jetstream().publish(forged, "forged".into()).await.unwrap();
    assert!(sent.await.is_err(), "a forged publish is not acknowledged");
    dispatch.denied(forged).await;
    assert_eq!(stored_on(&server, forged).await, 0, "nothing was stored");

    // Positive control: dispatch's own subject.
    let own = "waybill.dispatch.task.t-1";
    dispatch.jetstream().publish(own, "ok".into()).await.unwrap().await.unwrap();
    dispatch.no_violation();
    assert_eq!(stored_on(&server, own).await, 1);

    // Nor another service's dead letters.
    let dead = "deadletter.intake.intake-auto-review";
    let sent = dispatch.jetstream().publish(dead, "forged".into()).await.unwrap();
    assert!(sent.await.is_err());
    dispatch.denied(dead).await;
}

#[tokio::test]
async fn a_service_cannot_update_delete_or_purge_a_stream_and_ops_can_bootstrap() {
    let server = NatsServer::start();
    let mut intake = connect(&server, User::Service(Service::Intake)).await;
    let jetstream = intake.jetstream();

    // The finding: an update to max_msgs 1 with discard old would drop the log.
    let mut config = jetstream.get_stream("WAYBILL").await.unwrap().cached_info().config.clone();
    config.max_messages = 1;
    config.discard = async_nats::jetstream::stream::DiscardPolicy::Old;
    assert!(jetstream.update_stream(&config).await.is_err());
    intake.denied("$JS.API.STREAM.UPDATE.WAYBILL").await;

    assert!(jetstream.delete_stream("WAYBILL").await.is_err());
    intake.denied("$JS.API.STREAM.DELETE.WAYBILL").await;

    let stream = jetstream.get_stream("WAYBILL_DEADLETTER").await.unwrap();
    assert!(stream.purge().await.is_err());
    intake.denied("$JS.API.STREAM.PURGE.WAYBILL_DEADLETTER").await;

    // Nor create a stream of its own (one capturing others' subjects, say).
    let scratch = async_nats::jetstream::stream::Config {
        name: "SCRATCH".into(),
        subjects: vec!["scratch.>".into()],
        ..Default::default()
    };
    assert!(jetstream.create_stream(scratch).await.is_err());
    intake.denied("$JS.API.STREAM.CREATE.SCRATCH").await;

    // Nothing changed, and the ops user may do what the bootstrap does.
    let ops = connect(&server, User::Ops).await;
    let kept = ops.jetstream().get_stream("WAYBILL").await.unwrap().cached_info().config.clone();
    assert_eq!((kept.max_messages, kept.discard), (-1, async_nats::jetstream::stream::DiscardPolicy::New));
    waybill_eventlog::EventLog::bootstrap(&ops.client, &StreamSettings::default()).await.unwrap();
    // Positive control for the service: it may look its streams up and open the log.
    waybill_eventlog::EventLog::open(intake.client.clone(), StreamSettings::default(), "/waybill/intake")
        .await
        .unwrap();
    intake.no_violation();
}

fn durable(name: &str, filter: &str) -> pull::Config {
    pull::Config {
        durable_name: Some(name.to_owned()),
        filter_subject: filter.to_owned(),
        ack_policy: AckPolicy::Explicit,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_service_cannot_create_delete_or_pull_another_services_durable() {
    let server = NatsServer::start();
    let intake = connect(&server, User::Service(Service::Intake)).await;
    let mut dispatch = connect(&server, User::Service(Service::Dispatch)).await;

    // Positive control: intake creates and pulls its own durable.
    let stream = intake.jetstream().get_stream("WAYBILL").await.unwrap();
    let own = stream.create_consumer(durable("intake-auto-review", "waybill.intake.>")).await.unwrap();
    own.batch().max_messages(1).expires(Duration::from_millis(200)).messages().await.unwrap();

    // Dispatch may not re-create it with another filter, by subject or in the body.
    let theirs = dispatch.jetstream().get_stream("WAYBILL").await.unwrap();
    let hijack = theirs.create_consumer(durable("intake-auto-review", "waybill.nothing.>")).await;
    assert!(hijack.is_err(), "re-filtering another's durable is refused");
    dispatch.denied("$JS.API.CONSUMER.CREATE.WAYBILL.intake-auto-review").await;
    let body = serde_json_body("intake-auto-review");
    let raw = dispatch.client.request("$JS.API.CONSUMER.CREATE.WAYBILL", body.into()).await.unwrap();
    let answer = String::from_utf8_lossy(&raw.payload).into_owned();
    assert!(answer.contains("\"error\""), "a durable through the ephemeral subject is refused: {answer}");

    // Nor delete it, nor pull its events.
    assert!(theirs.delete_consumer("intake-auto-review").await.is_err());
    dispatch.denied("$JS.API.CONSUMER.DELETE.WAYBILL.intake-auto-review").await;
    let next =
        dispatch.client.request("$JS.API.CONSUMER.MSG.NEXT.WAYBILL.intake-auto-review", "1".into()).await;
    assert!(next.is_err());
    dispatch.denied("$JS.API.CONSUMER.MSG.NEXT.WAYBILL.intake-auto-review").await;

    // The durable is intake's as it was.
    let info =
        intake.jetstream().get_stream("WAYBILL").await.unwrap().consumer_info("intake-auto-review").await;
    assert_eq!(info.unwrap().config.filter_subject, "waybill.intake.>");
    // Positive control: dispatch creates its own durable and an ordered read of the log.
    theirs.create_consumer(durable("dispatch-orders", "waybill.intake.>")).await.unwrap();
    let log = waybill_eventlog::EventLog::open(
        dispatch.client.clone(),
        StreamSettings::default(),
        "/waybill/dispatch",
    )
    .await
    .unwrap();
    log.subscribe_all(1).await.unwrap();
    dispatch.no_violation();
}

/// A consumer-create request through the ephemeral subject that names a durable.
fn serde_json_body(durable: &str) -> String {
    format!(
        r#"{{"stream_name":"WAYBILL","config":{{"durable_name":"{durable}","name":"{durable}","filter_subject":"waybill.nothing.>","ack_policy":"explicit","deliver_policy":"all"}}}}"#
    )
}

#[tokio::test]
async fn the_integrator_reads_the_log_and_its_own_consumers_but_writes_nothing() {
    let server = NatsServer::start();
    let intake = connect(&server, User::Service(Service::Intake)).await;
    intake.jetstream().publish("waybill.intake.order.o-1", "placed".into()).await.unwrap().await.unwrap();

    let mut integrator = connect(&server, User::Integrator).await;
    // Positive controls: reads, an ordered feed, a durable of its own.
    let log = waybill_eventlog::EventLog::open(integrator.client.clone(), StreamSettings::default(), "/x")
        .await
        .unwrap();
    assert_eq!(log.read_subject("waybill.intake.order.o-1").await.unwrap().len(), 1);
    let mut feed = log.subscribe_all(1).await.unwrap();
    let first = tokio::time::timeout(WAIT, feed.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(first.event.subject, "waybill.intake.order.o-1");
    let stream = integrator.jetstream().get_stream("WAYBILL").await.unwrap();
    let own = stream.create_consumer(durable("integrator-bi", "waybill.>")).await.unwrap();
    let mut batch = own.batch().max_messages(1).messages().await.unwrap();
    use futures::StreamExt;
    let message = tokio::time::timeout(WAIT, batch.next()).await.unwrap().unwrap().unwrap();
    message.ack().await.unwrap();
    integrator.no_violation();

    // Denials: no events, no service's durable, no stream changes.
    let sent = integrator.jetstream().publish("waybill.intake.order.o-2", "forged".into()).await.unwrap();
    assert!(sent.await.is_err());
    integrator.denied("waybill.intake.order.o-2").await;
    assert!(stream.create_consumer(durable("dispatch-orders", "waybill.>")).await.is_err());
    integrator.denied("$JS.API.CONSUMER.CREATE.WAYBILL.dispatch-orders").await;
    assert!(integrator.jetstream().delete_stream("WAYBILL").await.is_err());
    integrator.denied("$JS.API.STREAM.DELETE.WAYBILL").await;
}

#[tokio::test]
async fn the_console_reads_the_dead_letters_and_nothing_else() {
    let server = NatsServer::start();
    let intake = connect(&server, User::Service(Service::Intake)).await;
    intake.jetstream().publish("waybill.intake.order.o-1", "placed".into()).await.unwrap().await.unwrap();
    let letter = "deadletter.intake.intake-auto-review";
    intake.jetstream().publish(letter, "gave up".into()).await.unwrap().await.unwrap();

    // Positive control: the console's reader lists the dead letter.
    let mut console = connect(&server, User::Console).await;
    let dead_letters =
        waybill_eventlog::DeadLetterStream::open(console.client.clone(), &StreamSettings::default())
            .await
            .unwrap();
    let letters = dead_letters.list(None).await.unwrap();
    assert_eq!(letters.iter().map(|letter| letter.subject.as_str()).collect::<Vec<_>>(), [letter]);
    assert_eq!(dead_letters.list(Some("intake-auto-review")).await.unwrap().len(), 1);
    console.no_violation();

    // Denials: no event published, no dead letter forged, nothing of the event stream read.
    let forged = "waybill.intake.order.o-2";
    let sent = console.jetstream().publish(forged, "forged".into()).await.unwrap();
    assert!(sent.await.is_err(), "a forged event is not acknowledged");
    console.denied(forged).await;
    assert_eq!(stored_on(&server, forged).await, 0, "nothing was stored");
    let sent = console.jetstream().publish(letter, "forged".into()).await.unwrap();
    assert!(sent.await.is_err());
    console.denied(letter).await;
    assert!(console.jetstream().get_stream("WAYBILL").await.is_err(), "no event stream info");
    console.denied("$JS.API.STREAM.INFO.WAYBILL").await;
    let direct = console.client.request("$JS.API.DIRECT.GET.WAYBILL", r#"{"seq":1}"#.into()).await;
    assert!(direct.is_err(), "no direct get of an event: {direct:?}");
    console.denied("$JS.API.DIRECT.GET.WAYBILL").await;
    let ordered =
        waybill_eventlog::EventLog::open(console.client.clone(), StreamSettings::default(), "/x").await;
    assert!(ordered.is_err(), "the event log does not open for the console");
    assert!(console.jetstream().delete_stream("WAYBILL_DEADLETTER").await.is_err());
    console.denied("$JS.API.STREAM.DELETE.WAYBILL_DEADLETTER").await;
}
