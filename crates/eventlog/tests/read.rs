//! Reading: one aggregate's history, positions, wildcard lookups, and replay-then-follow.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{order, put};
use waybill_eventlog::ReadError;

#[tokio::test]
async fn read_subject_returns_one_aggregates_history_only() {
    let (_server, log) = common::started().await;
    assert!(log.read_subject(&order("o-1")).await.unwrap().is_empty());
    put(&log, "o-1", "a").await;
    put(&log, "o-2", "x").await;
    put(&log, "o-1", "b").await;
    put(&log, "o-10", "y").await;

    let history = log.read_subject(&order("o-1")).await.unwrap();
    let seen: Vec<_> = history.iter().map(|event| (event.position, event.payload.clone())).collect();
    assert_eq!(seen, [(1, "a".into()), (3, "b".into())]);
    assert!(history.iter().all(|event| event.subject == order("o-1") && event.event_type == "OrderPlaced"));
}

#[tokio::test]
async fn read_matching_returns_every_subject_a_filter_matches_in_log_order() {
    let (_server, log) = common::started().await;
    let about = waybill_eventlog::subject::order_filter("o-1");
    assert!(log.read_matching(&about).await.unwrap().is_empty());
    use waybill_eventlog::subject::{aggregate, in_order};
    let facts = [
        (in_order("intake", "order", "o-1", "o-1"), "placed"),
        (in_order("intake", "order", "o-2", "o-2"), "other order"),
        (in_order("aftersales", "return", "o-1", "r-1"), "return"),
        (aggregate("dispatch", "hub", "o-1"), "a hub whose id happens to match"),
        (in_order("dispatch", "task", "o-1", "r-1"), "reverse shipment"),
    ];
    for (subject, payload) in facts {
        let key = uuid::Uuid::now_v7().to_string();
        log.append(&subject, None, &key, &[common::event("Fact", "x", payload)]).await.unwrap();
    }

    let story = log.read_matching(&about).await.unwrap();
    let payloads: Vec<_> = story.iter().map(|event| event.payload.clone()).collect();
    assert_eq!(payloads, ["placed", "return", "reverse shipment"]);
    assert!(matches!(log.read_matching("waybill.>.x").await, Err(ReadError::InvalidSubject(_))));
}

#[tokio::test]
async fn positions_head_and_get() {
    let (_server, log) = common::started().await;
    assert_eq!(log.head().await.unwrap(), 0);
    assert_eq!(log.last_position_of(&order("o-1")).await.unwrap(), 0);
    put(&log, "o-1", "a").await;
    put(&log, "o-2", "b").await;
    assert_eq!(log.head().await.unwrap(), 2);
    assert_eq!(log.last_position_of(&order("o-1")).await.unwrap(), 1);
    let second = log.get(2).await.unwrap();
    assert_eq!((second.subject.as_str(), second.payload.as_ref()), (order("o-2").as_str(), b"b".as_ref()));
    let age = chrono::Utc::now() - second.published;
    assert!(
        age < chrono::Duration::seconds(10) && age > chrono::Duration::seconds(-10),
        "server time: {age}"
    );
    assert!(matches!(log.get(3).await, Err(ReadError::NotFound { position: 3 })));
}

#[tokio::test]
async fn subscribe_replays_from_a_position_then_delivers_live_events() {
    let (_server, log) = common::started().await;
    for payload in ["1", "2", "3"] {
        put(&log, "o-1", payload).await;
    }
    log.append("waybill.dispatch.task.t-1", None, "k", &[common::event("TaskCreated", "t-1", "t")])
        .await
        .unwrap();

    let mut subscription = log.subscribe(vec!["waybill.intake.>".to_owned()], 2).await.unwrap();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), subscription.next()).await.unwrap().unwrap().unwrap()
    };
    let second = next().await;
    assert_eq!((second.event.position, second.pending), (2, 1));
    let third = next().await;
    assert_eq!((third.event.position, third.pending), (3, 0));

    let live = put(&log, "o-2", "live").await;
    let delivered = next().await;
    assert_eq!(delivered.event.position, live);
    assert_eq!(delivered.event.payload.as_ref(), b"live");
}
