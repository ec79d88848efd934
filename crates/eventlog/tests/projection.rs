//! Projections: read-your-writes waits, surviving a server restart, stopping on poison.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{order, put};
use waybill_eventlog::{
    EventLog, Projection, ProjectionError, Projector, RecordedEvent, WaitError, WaiveError, Waiver,
};
use waybill_testkit::NatsServer;

/// Payloads seen, in order; the payload "poison" is refused.
#[derive(Default)]
struct Seen(Vec<String>);

impl Projection for Seen {
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let payload = String::from_utf8_lossy(&event.payload).into_owned();
        if payload == "poison" {
            return Err(format!("cannot apply {payload}").into());
        }
        self.0.push(payload);
        Ok(())
    }
}

const INTAKE: &str = "waybill.intake.>";
const SECOND: Duration = Duration::from_secs(1);

/// A projection of the payloads of intake's events on `log`, replayed from the start.
async fn seen_on(log: &EventLog) -> Projector<Seen> {
    Projector::spawn(log.clone(), vec![INTAKE.to_owned()], Seen::default()).await.unwrap()
}

#[tokio::test]
async fn a_projection_replays_then_follows_and_waits_for_written_positions() {
    let (_server, log) = common::started().await;
    put(&log, "o-1", "a").await;
    put(&log, "o-2", "b").await;
    let projector = seen_on(&log).await;
    projector.wait_caught_up(SECOND * 5).await.unwrap();
    assert_eq!(projector.read().0, ["a", "b"]);

    let position = put(&log, "o-1", "c").await;
    projector.wait_for(position, SECOND * 5).await.unwrap();
    assert_eq!(projector.read().0, ["a", "b", "c"]);
    assert_eq!(projector.applied(), position);
}

#[tokio::test]
async fn waiting_for_a_position_on_another_subject_returns_without_hanging() {
    let (_server, log) = common::started().await;
    put(&log, "o-1", "a").await;
    let projector = seen_on(&log).await;
    let elsewhere = log
        .append("waybill.dispatch.task.t-1", None, "k", &[common::event("TaskCreated", "t-1", "t")])
        .await
        .unwrap()
        .last;

    let started = std::time::Instant::now();
    projector.wait_for(elsewhere, SECOND * 5).await.unwrap();
    assert!(started.elapsed() < SECOND, "returned at once");
    assert_eq!(projector.read().0, ["a"], "the other subject is not applied");
    assert_eq!(projector.applied(), elsewhere, "but the model is known to reflect the log up to it");
}

#[tokio::test]
async fn waiting_for_a_position_not_yet_written_times_out() {
    let (_server, log) = common::started().await;
    put(&log, "o-1", "a").await;
    let projector = seen_on(&log).await;

    let started = std::time::Instant::now();
    let error = projector.wait_for(5, Duration::from_millis(300)).await.unwrap_err();
    assert!(matches!(error, WaitError::Timeout { applied: 1, wanted: 5 }), "got {error}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250) && waited < SECOND, "waited {waited:?}");

    // Written later while someone waits: the wait returns once it is applied.
    let waiter = {
        let projector = projector.clone();
        tokio::spawn(async move { projector.wait_for(3, SECOND * 5).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    put(&log, "o-1", "b").await;
    put(&log, "o-1", "c").await;
    waiter.await.unwrap().unwrap();
    assert_eq!(projector.read().0, ["a", "b", "c"]);
}

#[tokio::test]
async fn a_waiver_lets_a_halted_projection_resume_and_every_later_replay_skip_the_event() {
    let (_server, log) = common::started().await;
    put(&log, "o-1", "a").await;
    let poison = put(&log, "o-1", "poison").await;
    let after = put(&log, "o-2", "c").await;
    let projector = seen_on(&log).await;
    projector.halted().await;
    assert_eq!(projector.read().0, ["a"]);

    // A waiver needs a who and a why, and an event to waive.
    let waiver = |position, operator: &str, reason: &str| Waiver {
        position,
        operator: operator.to_owned(),
        reason: reason.to_owned(),
    };
    assert!(matches!(log.waive(waiver(poison, " ", "x")).await, Err(WaiveError::Incomplete)));
    assert!(matches!(log.waive(waiver(999, "ops:ana", "x")).await, Err(WaiveError::NoSuchEvent(999))));

    let (stored, _) = log.waive(waiver(poison, "ops:ana", "INC-7: a test event")).await.unwrap();
    assert_eq!(stored.operator, "ops:ana");
    // Once per position: a second operator meets the first waiver.
    let (again, _) = log.waive(waiver(poison, "ops:bo", "another reason")).await.unwrap();
    assert_eq!(again, stored);

    tokio::time::timeout(SECOND * 5, projector.resumed()).await.expect("resumed after the waiver");
    projector.wait_for(after, SECOND * 5).await.unwrap();
    assert_eq!(projector.read().0, ["a", "c"]);
    assert_eq!(projector.stopped(), None);

    // A rebuild (another replica, a restart) skips it the same way, without halting.
    let rebuilt = seen_on(&log).await;
    rebuilt.wait_caught_up(SECOND * 5).await.unwrap();
    assert_eq!(rebuilt.read().0, ["a", "c"]);
}

#[tokio::test]
async fn a_waiver_skips_only_an_event_the_projection_cannot_apply() {
    let (_server, log) = common::started().await;
    let fine = put(&log, "o-1", "a").await;
    log.waive(Waiver { position: fine, operator: "ops:ana".into(), reason: "by mistake".into() })
        .await
        .unwrap();
    let projector = seen_on(&log).await;
    projector.wait_caught_up(SECOND * 5).await.unwrap();
    assert_eq!(projector.read().0, ["a"], "an event that applies is applied, waived or not");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_keeps_following_across_a_server_restart() {
    let mut server = NatsServer::start();
    let log = common::open(&server).await;
    let projector = seen_on(&log).await;
    let first = put(&log, "o-1", "before").await;
    projector.wait_for(first, SECOND * 5).await.unwrap();

    server.restart();

    // The client reconnects by itself; appends may fail until it has.
    let deadline = std::time::Instant::now() + SECOND * 10;
    let second = loop {
        match log
            .append(&order("o-1"), None, "after-restart", &[common::event("OrderPlaced", "o-1", "after")])
            .await
        {
            Ok(appended) => break appended.last,
            Err(error) if std::time::Instant::now() < deadline => {
                eprintln!("append during reconnect: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("no append after restart: {error}"),
        }
    };
    projector.wait_for(second, SECOND * 10).await.unwrap();
    assert_eq!(projector.read().0, ["before", "after"]);
    assert_eq!(projector.stopped(), None);
}

#[tokio::test]
async fn a_poison_event_stops_the_projection_and_says_why() {
    let (_server, log) = common::started().await;
    put(&log, "o-1", "a").await;
    let poison = put(&log, "o-1", "poison").await;
    put(&log, "o-1", "c").await;
    let projector = seen_on(&log).await;

    let error = projector.wait_for(3, SECOND * 5).await.unwrap_err();
    let WaitError::Stopped(reason) = error else { panic!("expected Stopped, got {error}") };
    assert!(
        reason.contains("cannot apply poison") && reason.contains(&format!("position {poison}")),
        "{reason}"
    );
    assert_eq!(projector.stopped(), Some(reason));
    assert_eq!(projector.applied(), 1, "nothing past the poison event is applied");
    assert_eq!(projector.read().0, ["a"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_waits_during_a_stream_of_writes_never_hang() {
    let (_server, log) = common::started().await;
    let projector = seen_on(&log).await;
    const WRITES: usize = 300;
    let writing = Arc::new(AtomicBool::new(true));
    // Waiters call `wait_for` in a tight loop while the projection keeps publishing its
    // progress (a wait that read the progress twice at once would deadlock against it).
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let (projector, writing) = (projector.clone(), writing.clone());
            tokio::spawn(async move {
                let mut waits = 0u64;
                while writing.load(Ordering::Relaxed) {
                    projector.wait_for(projector.applied(), SECOND * 20).await.unwrap();
                    waits += 1;
                    tokio::task::yield_now().await;
                }
                waits
            })
        })
        .collect();
    let mut last = 0;
    for index in 0..WRITES {
        last = put(&log, &format!("o-{index}"), "x").await;
    }
    projector.wait_for(last, SECOND * 20).await.unwrap();
    writing.store(false, Ordering::Relaxed);
    for waiter in waiters {
        let waits = tokio::time::timeout(SECOND * 30, waiter).await.expect("no waiter hangs").unwrap();
        assert!(waits > 0);
    }
    assert_eq!(projector.applied(), last);
}

/// An admission that refuses the payload "forged".
fn refuse_forged(event: &RecordedEvent) -> Result<(), waybill_eventlog::Refusal> {
    if event.payload.as_ref() == b"forged" {
        return Err(waybill_eventlog::Refusal::new(waybill_eventlog::RefusalReason::NotOwner, "forged"));
    }
    Ok(())
}

#[tokio::test]
async fn a_refused_event_is_skipped_without_halting_and_left_out_of_the_feed_and_histories() {
    let server = NatsServer::start();
    let admission = waybill_eventlog::Admission { service: "test", check: refuse_forged };
    let log = common::open(&server).await.admitting(admission);
    put(&log, "o-1", "a").await;
    put(&log, "o-1", "forged").await;
    let projector = seen_on(&log).await;
    projector.wait_caught_up(SECOND * 5).await.unwrap();
    let mut feed = projector.feed();
    let after = put(&log, "o-1", "b").await;
    projector.wait_for(after, SECOND * 5).await.unwrap();

    assert_eq!(projector.read().0, ["a", "b"], "the forgery is not applied, what follows is");
    assert_eq!(projector.stopped(), None, "a refusal is no halt");
    let (length, position) = {
        let (model, position) = projector.read_at();
        (model.0.len(), position)
    };
    assert_eq!((length, position), (2, after), "the model and the position it reflects");
    assert_eq!(feed.recv().await.unwrap().payload.as_ref(), b"b");
    let history = log.read_subject(&order("o-1")).await.unwrap();
    let payloads: Vec<_> = history.iter().map(|event| event.payload.as_ref().to_vec()).collect();
    assert_eq!(payloads, [b"a".to_vec(), b"b".to_vec()]);

    let forged = put(&log, "o-2", "forged").await;
    projector.wait_for(forged, SECOND * 5).await.unwrap();
    assert_eq!(projector.applied(), forged, "the position moves past a refused event");
    assert_eq!(projector.read().0, ["a", "b"]);
}

/// The consumer behind a projection lost on the server (as when the cluster node holding it
/// dies): the projection notices within seconds that the log moved on without it, not after
/// the ordered consumer's 10 s of missed heartbeats.
#[tokio::test]
async fn a_projection_whose_consumer_is_lost_resumes_within_seconds() {
    use futures::StreamExt;
    let (server, log) = common::started().await;
    put(&log, "o-1", "a").await;
    let projector = seen_on(&log).await;
    projector.wait_caught_up(SECOND * 5).await.unwrap();

    let stream = async_nats::jetstream::new(server.client().await).get_stream("WAYBILL").await.unwrap();
    let mut names = stream.consumer_names();
    let mut lost = 0;
    while let Some(name) = names.next().await {
        stream.delete_consumer(&name.unwrap()).await.unwrap();
        lost += 1;
    }
    assert_eq!(lost, 1, "the projection's one ordered consumer");
    let position = put(&log, "o-1", "b").await;

    projector.wait_for(position, SECOND * 4).await.expect("applied well before 10 s");
    assert_eq!(projector.read().0, ["a", "b"]);
}
