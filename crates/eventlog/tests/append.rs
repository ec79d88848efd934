//! Appending: optimistic concurrency, idempotency, CloudEvents headers, size limit and
//! all-or-nothing multi-event appends.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::{event, order};
use waybill_eventlog::{AppendError, Appended, NewEvent};
use waybill_testkit::NatsServer;

#[tokio::test]
async fn appending_to_an_empty_subject_expecting_zero_returns_the_position() {
    let (_server, log) = common::started().await;
    common::put(&log, "other", "x").await;

    let appended =
        log.append(&order("o-1"), Some(0), "req-1", &[event("OrderPlaced", "o-1", "a")]).await.unwrap();
    assert_eq!(appended, Appended { first: 2, last: 2, duplicate: false });
    assert_eq!(log.last_position_of(&order("o-1")).await.unwrap(), 2);

    let next =
        log.append(&order("o-1"), Some(2), "req-2", &[event("OrderReviewed", "o-1", "b")]).await.unwrap();
    assert_eq!(next.last, 3);
}

#[tokio::test]
async fn a_stale_expected_position_is_a_conflict_and_stores_nothing() {
    let (_server, log) = common::started().await;
    log.append(&order("o-1"), Some(0), "req-1", &[event("OrderPlaced", "o-1", "a")]).await.unwrap();

    let error =
        log.append(&order("o-1"), Some(0), "req-2", &[event("OrderPlaced", "o-1", "b")]).await.unwrap_err();
    assert!(matches!(error, AppendError::Conflict { expected: 0, .. }), "got {error}");
    assert_eq!(log.head().await.unwrap(), 1);
    assert_eq!(log.read_subject(&order("o-1")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_same_idempotency_key_twice_stores_once_and_answers_the_original_position() {
    let (_server, log) = common::started().await;
    let first =
        log.append(&order("o-1"), Some(0), "req-1", &[event("OrderPlaced", "o-1", "a")]).await.unwrap();
    common::put(&log, "other", "x").await;

    // A retry of the same request, with the same (now stale) expectation.
    let again =
        log.append(&order("o-1"), Some(0), "req-1", &[event("OrderPlaced", "o-1", "a")]).await.unwrap();
    assert_eq!(again, Appended { first: first.first, last: first.last, duplicate: true });
    assert_eq!(log.head().await.unwrap(), 2, "nothing new stored");
}

#[tokio::test]
async fn stored_events_carry_cloudevents_headers() {
    let (server, log) = common::started().await;
    let new = event("OrderPlaced", "o-1", "payload");
    let position = log.append(&order("o-1"), None, "req-1", std::slice::from_ref(&new)).await.unwrap().last;

    let stream = async_nats::jetstream::new(server.client().await).get_stream("WAYBILL").await.unwrap();
    let stored = stream.direct_get(position).await.unwrap();
    let header =
        |name: &str| stored.headers.get(name).map(|value| value.as_str().to_owned()).unwrap_or_default();
    assert_eq!(header("ce-specversion"), "1.0");
    assert_eq!(header("ce-id"), new.event_id.to_string());
    assert_eq!(header("ce-source"), common::SOURCE);
    assert_eq!(header("ce-type"), "OrderPlaced");
    assert_eq!(header("ce-subject"), "o-1");
    assert_eq!(header("ce-datacontenttype"), "application/protobuf");
    assert_eq!(header("content-type"), "application/protobuf");
    assert_eq!(header("Nats-Msg-Id"), "req-1");
    let time = chrono::DateTime::parse_from_rfc3339(&header("ce-time")).unwrap();
    assert_eq!(time.timestamp_millis(), new.occurred_at.timestamp_millis());
    assert!(header("ce-time").ends_with('Z'), "UTC: {}", header("ce-time"));

    let recorded = log.get(position).await.unwrap();
    assert_eq!(
        (recorded.event_type.as_str(), recorded.payload.as_ref()),
        ("OrderPlaced", b"payload".as_ref())
    );
}

/// An event of `event_type` whose payload is over the size limit.
fn oversized(event_type: &str) -> NewEvent {
    let mut big = event(event_type, "o-1", "");
    big.payload = Bytes::from(vec![7u8; 70 * 1024]);
    big
}

/// One event over the size limit, alone or in a batch: too large, and none of it stored.
#[tokio::test]
async fn an_event_over_the_size_limit_is_too_large_alone_or_with_others() {
    for batch in
        [vec![oversized("OrderPlaced")], vec![event("OrderPlaced", "o-1", "1"), oversized("OrderReviewed")]]
    {
        let server = NatsServer::start();
        let log = common::open(&server).await;
        let error = log.append(&order("o-1"), None, "req-1", &batch).await.unwrap_err();
        assert!(matches!(error, AppendError::TooLarge { .. }), "got {error}");
        assert_eq!(log.head().await.unwrap(), 0);
    }
}

#[tokio::test]
async fn subjects_with_wildcards_are_refused() {
    let (_server, log) = common::started().await;
    let error =
        log.append("waybill.intake.order.*", None, "k", &[event("OrderPlaced", "x", "a")]).await.unwrap_err();
    assert!(matches!(error, AppendError::InvalidSubject(_)), "got {error}");
    assert!(matches!(log.append(&order("o-1"), None, "k", &[]).await, Err(AppendError::NoEvents)));
}

#[tokio::test]
async fn several_events_are_stored_together_in_order() {
    let (_server, log) = common::started().await;
    let events = [
        event("OrderPlaced", "o-1", "1"),
        event("OrderReviewed", "o-1", "2"),
        event("OrderQuoted", "o-1", "3"),
    ];
    let appended = log.append(&order("o-1"), Some(0), "req-1", &events).await.unwrap();
    assert_eq!(appended, Appended { first: 1, last: 3, duplicate: false });
    let history = log.read_subject(&order("o-1")).await.unwrap();
    let types: Vec<_> = history.iter().map(|event| event.event_type.as_str()).collect();
    assert_eq!(types, ["OrderPlaced", "OrderReviewed", "OrderQuoted"]);
}

#[tokio::test]
async fn several_events_with_a_stale_expectation_store_none() {
    let (_server, log) = common::started().await;
    common::put(&log, "o-1", "first").await;
    let events = [event("OrderPlaced", "o-1", "1"), event("OrderReviewed", "o-1", "2")];
    let error = log.append(&order("o-1"), Some(0), "req-1", &events).await.unwrap_err();
    assert!(matches!(error, AppendError::Conflict { .. }), "got {error}");
    assert_eq!(log.head().await.unwrap(), 1, "none of the batch was stored");
}

#[tokio::test]
async fn retrying_a_multi_event_append_is_a_duplicate() {
    let (_server, log) = common::started().await;
    let events = [event("OrderPlaced", "o-1", "1"), event("OrderReviewed", "o-1", "2")];
    let first = log.append(&order("o-1"), Some(0), "req-1", &events).await.unwrap();
    let again = log.append(&order("o-1"), Some(0), "req-1", &events).await;
    eprintln!("retry answered {again:?}");
    assert_eq!(log.head().await.unwrap(), first.last, "nothing stored twice");
    let again = again.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.last, first.last);
}

#[tokio::test]
async fn an_atomic_append_checks_each_subjects_expectation_and_stores_all_or_nothing() {
    use waybill_eventlog::AggregateAppend;
    let (_server, log) = common::started().await;
    let (task, vehicle) = (order("task-1"), order("vehicle-1"));
    let vehicle_at = common::put(&log, "vehicle-1", "registered").await;
    let task_at = common::put(&log, "task-1", "created").await;

    // The vehicle moved on after the decision was taken: nothing of the batch is stored.
    common::put(&log, "vehicle-1", "loaded elsewhere").await;
    let task_events = [event("TaskAssigned", "task-1", "to vehicle-1")];
    let vehicle_events = [event("VehicleLoaded", "vehicle-1", "task-1")];
    let stale = [
        AggregateAppend { subject: &task, expected: Some(task_at), events: &task_events },
        AggregateAppend { subject: &vehicle, expected: Some(vehicle_at), events: &vehicle_events },
    ];
    let error = log.append_atomic(&stale, "assign-1").await.unwrap_err();
    assert!(matches!(error, AppendError::Conflict { .. }), "got {error}");
    assert_eq!(log.read_subject(&task).await.unwrap().len(), 1, "the task got nothing");

    let vehicle_now = log.last_position_of(&vehicle).await.unwrap();
    let fresh = [
        AggregateAppend { subject: &task, expected: Some(task_at), events: &task_events },
        AggregateAppend { subject: &vehicle, expected: Some(vehicle_now), events: &vehicle_events },
    ];
    let appended = log.append_atomic(&fresh, "assign-2").await.unwrap();
    assert_eq!((appended.last - appended.first, appended.duplicate), (1, false));
    assert_eq!(log.last_position_of(&task).await.unwrap(), appended.first);
    assert_eq!(log.last_position_of(&vehicle).await.unwrap(), appended.last);

    // A retry of the same request stores nothing and answers the original positions.
    let again = log.append_atomic(&fresh, "assign-2").await.unwrap();
    assert_eq!(again, Appended { duplicate: true, ..appended });
    assert_eq!(log.head().await.unwrap(), appended.last);
}

/// An append waiting for its answer when the connection drops (here: the server frozen,
/// then killed) fails at once as transient, before the publish timeout (5 s; 10 s for an
/// atomic batch) it used to wait out; one event and an atomic batch alike.
#[tokio::test]
async fn an_append_whose_connection_drops_fails_at_once_instead_of_waiting_out_its_timeout() {
    for events in [1, 3] {
        let mut server = NatsServer::start();
        let log = common::open(&server).await;
        common::put(&log, "o-0", "x").await;
        server.freeze();
        let started = std::time::Instant::now();
        let batch: Vec<_> =
            (0..events).map(|index| event("OrderPlaced", "o-1", &index.to_string())).collect();
        let subject = order("o-1");
        let append = log.append(&subject, Some(0), "req-1", &batch);
        let crash = async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            server.kill();
        };
        let (result, ()) = tokio::join!(append, crash);
        // Transient, whichever notices first (our watch says "dropped"; the client may
        // fail the request itself), and well before the 5 s publish timeout: the bound
        // leaves room for a loaded machine.
        let error = result.unwrap_err();
        assert!(matches!(error, AppendError::Nats(_)), "{events} event(s): got {error}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "{events} event(s): the append waited {:?} for an answer that could not come",
            started.elapsed()
        );
    }
}
