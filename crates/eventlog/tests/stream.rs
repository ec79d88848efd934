//! Bootstrapping and opening the log: the bootstrap (ops) creates the streams with the
//! safe settings and fixes or refuses unsafe ones; a service's open only checks them and
//! waits while they are missing.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use async_nats::jetstream::stream::{Config, DiscardPolicy, StorageType};
use waybill_eventlog::{EventLog, SetupError, StreamSettings};
use waybill_testkit::{NatsServer, TestUsers};

#[tokio::test]
async fn the_bootstrap_creates_both_streams_with_the_safe_settings_and_opening_changes_nothing() {
    // The test kit bootstraps every server as the ops user, as `waybill bootstrap` does.
    let server = NatsServer::start();
    let client = server.client().await;
    let log = common::open(&server).await;
    common::put(&log, "o-1", "x").await;

    let jetstream = async_nats::jetstream::new(client.clone());
    let events = jetstream.get_stream("WAYBILL").await.unwrap().cached_info().clone();
    let config = &events.config;
    assert_eq!(config.subjects, vec!["waybill.>".to_owned()]);
    assert_eq!(config.storage, StorageType::File);
    assert_eq!(config.discard, DiscardPolicy::New);
    assert!(config.deny_delete && config.deny_purge && config.allow_direct && config.allow_atomic_publish);
    assert!(!config.allow_rollup);
    assert_eq!(config.max_age, Duration::ZERO);
    assert_eq!(config.duplicate_window, Duration::from_secs(30 * 60));
    assert_eq!(config.max_message_size, 64 * 1024);

    let dead = jetstream.get_stream("WAYBILL_DEADLETTER").await.unwrap().cached_info().config.clone();
    assert_eq!(dead.subjects, vec!["deadletter.>".to_owned()]);
    assert!(dead.deny_delete && !dead.deny_purge);
    assert_eq!(dead.discard, DiscardPolicy::New);

    let again = EventLog::open(client, StreamSettings::default(), common::SOURCE).await.expect("re-open");
    assert_eq!(again.head().await.unwrap(), 1, "re-opening keeps the log");
    let after = jetstream.get_stream("WAYBILL").await.unwrap().cached_info().clone();
    assert_eq!(after.created, events.created, "the stream was not recreated");
    assert_eq!(after.config, events.config);
}

#[tokio::test]
async fn a_stream_created_with_unsafe_settings_is_refused_by_open_and_fixed_by_the_bootstrap() {
    let server = NatsServer::start_empty(&[], TestUsers::generate());
    let client = server.client().await;
    let jetstream = async_nats::jetstream::new(client.clone());
    jetstream
        .create_stream(Config {
            name: "WAYBILL".into(),
            subjects: vec!["waybill.>".into()],
            discard: DiscardPolicy::Old,
            max_age: Duration::from_secs(3600),
            max_messages: 1000,
            duplicate_window: Duration::from_secs(60),
            ..Default::default()
        })
        .await
        .unwrap();

    let error = EventLog::open(client.clone(), StreamSettings::default(), common::SOURCE)
        .await
        .err()
        .expect("refused");
    assert!(matches!(error, SetupError::NotKept { .. }), "a service does not fix a stream: {error}");
    assert!(!error.is_transient());
    EventLog::bootstrap(&client, &StreamSettings::default()).await.expect("bootstrap");
    common::open(&server).await;

    let config = jetstream.get_stream("WAYBILL").await.unwrap().cached_info().config.clone();
    assert_eq!(config.discard, DiscardPolicy::New);
    assert_eq!(config.max_age, Duration::ZERO);
    assert!(config.max_messages <= 0);
    assert!(config.deny_delete && config.deny_purge && config.allow_direct);
    assert_eq!(config.duplicate_window, Duration::from_secs(30 * 60));
}

#[tokio::test]
async fn a_memory_stream_in_the_way_is_refused_loudly() {
    let server = NatsServer::start_empty(&[], TestUsers::generate());
    let client = server.client().await;
    async_nats::jetstream::new(client.clone())
        .create_stream(Config {
            name: "WAYBILL".into(),
            subjects: vec!["waybill.>".into()],
            storage: StorageType::Memory,
            ..Default::default()
        })
        .await
        .unwrap();

    let error = EventLog::bootstrap(&client, &StreamSettings::default()).await.expect_err("refused");
    assert!(matches!(error, SetupError::Stream { action: "update", .. }), "got {error}");
    let error =
        EventLog::open(client, StreamSettings::default(), common::SOURCE).await.err().expect("refused");
    assert!(matches!(error, SetupError::NotKept { setting: "storage", .. }), "got {error}");
}

#[tokio::test]
async fn a_service_waits_for_streams_not_bootstrapped_yet() {
    let server = NatsServer::start_empty(&[], TestUsers::generate());
    let client = server.client().await;
    let error = EventLog::open(client.clone(), StreamSettings::default(), common::SOURCE)
        .await
        .err()
        .expect("missing");
    assert!(matches!(error, SetupError::Missing { .. }) && error.is_transient(), "got {error}");

    let waiting = tokio::spawn(EventLog::connect(client.clone(), StreamSettings::default(), common::SOURCE));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "connect keeps waiting while the streams are missing");
    server.bootstrap(&StreamSettings::default());
    let log =
        tokio::time::timeout(Duration::from_secs(10), waiting).await.expect("in time").unwrap().unwrap();
    assert_eq!(log.head().await.unwrap(), 0);
}

#[tokio::test]
async fn invalid_settings_are_refused() {
    let server = NatsServer::start();
    let settings = StreamSettings { max_message_size: 0, ..Default::default() };
    let error = EventLog::open(server.client().await, settings, common::SOURCE).await.err().expect("refused");
    assert!(matches!(error, SetupError::InvalidSettings(_)), "got {error}");
}
