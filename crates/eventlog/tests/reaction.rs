//! Reactions: acked once; transient failures retried with backoff past any limit (an outage
//! must not lose a reaction); poison dead-lettered while the rest goes on; shared between
//! runners of the same durable.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, put};
use tokio::sync::watch;
use waybill_eventlog::{EventLog, ReactionError, ReactionSettings, RecordedEvent, run_reactions};
use waybill_testkit::NatsServer;

const WAIT: Duration = Duration::from_secs(10);

fn settings(durable: &str) -> ReactionSettings {
    ReactionSettings {
        alert_after: 3,
        backoff: vec![Duration::from_millis(20), Duration::from_millis(50)],
        ..ReactionSettings::durable("test", durable, "waybill.intake.>")
    }
}

/// Handled calls per position, shared with the handler.
type Calls = Arc<Mutex<HashMap<u64, Vec<String>>>>;

/// A reaction running on its own task until it is told to stop.
struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Tells the reaction to stop and waits until it has.
    async fn stop(self) {
        self.stop.send_replace(true);
        self.task.await.unwrap();
    }
}

/// Runs `handler` as a reaction on its own task until it is told to stop.
fn spawn_runner<H, Fut>(log: &EventLog, settings: ReactionSettings, handler: H) -> Running
where
    H: Fn(RecordedEvent) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), ReactionError>> + Send + 'static,
{
    let (stop, mut stopped) = watch::channel(false);
    let shutdown = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let log = log.clone();
    let task = tokio::spawn(async move { run_reactions(log, settings, handler, shutdown).await.unwrap() });
    Running { stop, task }
}

/// Notes that `runner` handled `position`; returns which delivery of it this was (1 = first).
fn record(calls: &Calls, position: u64, runner: &str) -> usize {
    let mut calls = calls.lock().unwrap();
    let seen = calls.entry(position).or_default();
    seen.push(runner.to_owned());
    seen.len()
}

/// Starts a runner whose handler records (runner, position) and answers with `outcome`.
fn start(
    log: &EventLog,
    settings: ReactionSettings,
    runner: &'static str,
    calls: Calls,
    outcome: fn(&RecordedEvent, usize) -> Result<(), ReactionError>,
) -> Running {
    spawn_runner(log, settings, move |event: RecordedEvent| {
        let attempt = record(&calls, event.position, runner);
        async move { outcome(&event, attempt) }
    })
}

/// Like [`start`], for a handler that awaits: `handle(attempt)` for each delivery.
fn start_async<Fut>(
    log: &EventLog,
    settings: ReactionSettings,
    calls: Calls,
    handle: fn(usize) -> Fut,
) -> Running
where
    Fut: std::future::Future<Output = Result<(), ReactionError>> + Send + 'static,
{
    spawn_runner(log, settings, move |event: RecordedEvent| handle(record(&calls, event.position, "r1")))
}

fn count(calls: &Calls, position: u64) -> usize {
    calls.lock().unwrap().get(&position).map_or(0, Vec::len)
}

#[tokio::test]
async fn each_event_is_handled_once_and_acked() {
    let (server, log) = common::started().await;
    let calls = Calls::default();
    put(&log, "o-1", "a").await;
    put(&log, "o-2", "b").await;
    let reaction = start(&log, settings("once"), "r1", calls.clone(), |_, _| Ok(()));
    put(&log, "o-3", "c").await;

    assert!(eventually(WAIT, || (1..=3).all(|position| count(&calls, position) == 1)).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!((1..=3).all(|position| count(&calls, position) == 1), "no redelivery: {calls:?}");
    reaction.stop().await;

    let stream = async_nats::jetstream::new(server.client().await).get_stream("WAYBILL").await.unwrap();
    let info = stream.consumer_info("once").await.unwrap();
    assert_eq!((info.num_ack_pending, info.num_pending), (0, 0), "all acked");
}

#[tokio::test]
async fn a_transient_failure_is_retried_then_succeeds() {
    let (_server, log) = common::started().await;
    let calls = Calls::default();
    put(&log, "o-1", "a").await;
    let reaction = start(&log, settings("retry"), "r1", calls.clone(), |_, attempt| match attempt {
        1 => Err(ReactionError::Transient("try again".into())),
        _ => Ok(()),
    });

    assert!(eventually(WAIT, || count(&calls, 1) == 2).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count(&calls, 1), 2, "handled again once, then acked");
    reaction.stop().await;
}

#[tokio::test]
async fn a_transient_failure_outlasting_alert_after_is_still_retried_until_it_works() {
    let (server, log) = common::started().await;
    let calls = Calls::default();
    let outage = put(&log, "o-1", "needs the backend").await;
    let later = put(&log, "o-2", "fine").await;
    // alert_after is 3: the backend comes back on the 7th delivery.
    let reaction = start(&log, settings("outage"), "r1", calls.clone(), |event, attempt| {
        match (event.payload.as_ref(), attempt) {
            (b"needs the backend", 1..=6) => Err(ReactionError::Transient("backend down".into())),
            _ => Ok(()),
        }
    });

    assert!(eventually(WAIT, || count(&calls, outage) == 7).await, "{calls:?}");
    assert_eq!(count(&calls, later), 1, "later events are not held up");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count(&calls, outage), 7, "acked once it worked");
    reaction.stop().await;

    let stream =
        async_nats::jetstream::new(server.client().await).get_stream("WAYBILL_DEADLETTER").await.unwrap();
    assert_eq!(stream.get_info().await.unwrap().state.messages, 0, "nothing dead-lettered");
}

#[tokio::test]
async fn a_handler_past_its_timeout_is_abandoned_and_the_event_retried() {
    let (_server, log) = common::started().await;
    let calls = Calls::default();
    let position = put(&log, "o-1", "a").await;
    let slow_once = ReactionSettings { handler_timeout: Duration::from_secs(1), ..settings("slow") };
    let reaction = start_async(&log, slow_once, calls.clone(), |attempt| async move {
        if attempt == 1 {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Ok(())
    });

    assert!(eventually(WAIT, || count(&calls, position) == 2).await, "{calls:?}");
    reaction.stop().await;
}

#[tokio::test]
async fn a_handler_slower_than_ack_wait_keeps_its_event_while_it_works() {
    let (_server, log) = common::started().await;
    let calls = Calls::default();
    let position = put(&log, "o-1", "a").await;
    // ack_wait 0.6 s, the handler takes 2 s: the "still working" beats keep the event here.
    let short_ack = ReactionSettings { ack_wait: Duration::from_millis(600), ..settings("beats") };
    let reaction = start_async(&log, short_ack, calls.clone(), |_| async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        Ok(())
    });

    assert!(eventually(WAIT, || count(&calls, position) == 1).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&calls, position), 1, "not redelivered while the handler worked");
    reaction.stop().await;
}

#[tokio::test]
async fn a_crashed_runners_events_go_to_another_after_ack_wait() {
    let (_server, log) = common::started().await;
    let calls = Calls::default();
    let position = put(&log, "o-1", "a").await;
    let short_ack = ReactionSettings { ack_wait: Duration::from_secs(1), ..settings("crash") };
    // The first runner takes the event and dies without a word (its task is aborted).
    let doomed = start_async(&log, short_ack.clone(), calls.clone(), |_| async move {
        std::future::pending::<()>().await;
        Ok(())
    });
    assert!(eventually(WAIT, || count(&calls, position) == 1).await);
    doomed.task.abort();

    let reaction = start(&log, short_ack, "r2", calls.clone(), |_, _| Ok(()));
    assert!(eventually(WAIT, || count(&calls, position) == 2).await, "{calls:?}");
    assert_eq!(calls.lock().unwrap()[&position][1], "r2");
    reaction.stop().await;
}

/// A handler recording every event in `handled`, where the event `slow` finishes only once
/// an event of another order has been handled (`behind` is the slow order's own backlog).
fn slow_until_another_order(
    handled: Calls,
) -> impl Fn(RecordedEvent) -> futures::future::BoxFuture<'static, Result<(), ReactionError>> {
    let others_done = Arc::new(tokio::sync::Notify::new());
    move |event: RecordedEvent| {
        let (others_done, handled) = (others_done.clone(), handled.clone());
        Box::pin(async move {
            match event.payload.as_ref() {
                b"slow" => others_done.notified().await,
                b"behind" => {}
                _ => others_done.notify_one(),
            }
            record(&handled, event.position, "r1");
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_event_holds_up_only_its_own_aggregate() {
    let (_server, log) = common::started().await;
    let slow = put(&log, "o-slow", "slow").await;
    for index in 0..20 {
        put(&log, &format!("o-{index}"), "fast").await;
    }
    // The slow event finishes only once some other order's event has been handled: a runner
    // handling one event at a time would never get there.
    let handled = Calls::default();
    let reaction = spawn_runner(&log, settings("lanes"), slow_until_another_order(handled.clone()));

    assert!(eventually(WAIT, || count(&handled, slow) == 1).await, "the slow event waited forever");
    assert!(eventually(WAIT, || (slow..=slow + 20).all(|position| count(&handled, position) == 1)).await);
    reaction.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_aggregate_with_a_backlog_holds_up_no_other_aggregate() {
    let (_server, log) = common::started().await;
    // One order's slow event, then more of that order's events behind it (a lane's queue
    // filling up while its handler waits on a slow append), then other orders' events.
    let slow = put(&log, "o-slow", "slow").await;
    for _ in 0..10 {
        put(&log, "o-slow", "behind").await;
    }
    let mut others = Vec::new();
    for index in 0..10 {
        others.push(put(&log, &format!("o-{index}"), "other").await);
    }
    // The slow event finishes only once another order's event has been handled: a runner
    // whose pull waits for the slow order's lane would never get there.
    let handled = Calls::default();
    let reaction = spawn_runner(&log, settings("backlog"), slow_until_another_order(handled.clone()));

    assert!(
        eventually(WAIT, || others.iter().any(|position| count(&handled, *position) == 1)).await,
        "no other order's event was handled while the slow order's lane was full"
    );
    assert!(eventually(WAIT, || (slow..=slow + 20).all(|position| count(&handled, position) == 1)).await);
    reaction.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_aggregates_events_are_handled_one_at_a_time_in_log_order() {
    let (_server, log) = common::started().await;
    let mut expected = Vec::new();
    for index in 0..30 {
        expected.push(put(&log, "o-1", "mine").await);
        put(&log, &format!("o-other-{index}"), "other").await;
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handler = {
        let (seen, busy) = (seen.clone(), busy.clone());
        move |event: RecordedEvent| {
            let (seen, busy) = (seen.clone(), busy.clone());
            async move {
                if event.payload.as_ref() == b"mine" {
                    assert!(!busy.swap(true, std::sync::atomic::Ordering::SeqCst), "two at once");
                    // Later events of the order arrive meanwhile; they must wait.
                    tokio::time::sleep(Duration::from_millis((event.position % 3) * 5)).await;
                    seen.lock().unwrap().push(event.position);
                    busy.store(false, std::sync::atomic::Ordering::SeqCst);
                }
                Ok(())
            }
        }
    };
    let reaction = spawn_runner(&log, settings("order"), handler);

    assert!(eventually(WAIT, || seen.lock().unwrap().len() == expected.len()).await);
    assert_eq!(*seen.lock().unwrap(), expected);
    reaction.stop().await;
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_at_once_and_later_events_go_on() {
    let (server, log) = common::started().await;
    let calls = Calls::default();
    let poison = put(&log, "o-1", "poison").await;
    let good = put(&log, "o-2", "good").await;
    let reaction =
        start(&log, settings("dead"), "r1", calls.clone(), |event, _| match event.payload.as_ref() {
            b"poison" => Err(ReactionError::Poison("cannot decode".into())),
            _ => Ok(()),
        });

    assert!(eventually(WAIT, || count(&calls, good) == 1 && count(&calls, poison) == 1).await, "{calls:?}");

    let stream =
        async_nats::jetstream::new(server.client().await).get_stream("WAYBILL_DEADLETTER").await.unwrap();
    let letter = tokio::time::timeout(WAIT, async {
        loop {
            match stream.direct_get_next_for_subject("deadletter.test.dead", Some(1)).await {
                Ok(letter) => return letter,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .expect("a dead letter");
    let header = |name: &str| letter.headers.get(name).unwrap().as_str().to_owned();
    assert_eq!(letter.payload.as_ref(), b"poison");
    assert_eq!(header("waybill-error"), "poison: cannot decode");
    assert_eq!(header("waybill-original-subject"), common::order("o-1"));
    assert_eq!(header("waybill-original-position"), poison.to_string());
    assert_eq!(header("waybill-deliveries"), "1");
    assert_eq!(header("ce-type"), "OrderPlaced", "original headers are kept");

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count(&calls, poison), 1, "terminated, not delivered again");
    reaction.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_on_one_durable_share_the_events_without_overlap() {
    let (_server, log) = common::started().await;
    let calls = Calls::default();
    let slow = |_: &RecordedEvent, _| {
        std::thread::sleep(Duration::from_millis(2));
        Ok(())
    };
    let first = start(&log, settings("shared"), "r1", calls.clone(), slow);
    let second = start(&log, settings("shared"), "r2", calls.clone(), slow);
    tokio::time::sleep(Duration::from_millis(200)).await;
    const EVENTS: u64 = 200;
    for index in 0..EVENTS {
        put(&log, &format!("o-{index}"), "x").await;
    }

    assert!(eventually(WAIT, || (1..=EVENTS).all(|position| count(&calls, position) >= 1)).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let calls = calls.lock().unwrap().clone();
    assert!(calls.values().all(|runners| runners.len() == 1), "an event was handled twice");
    let by_first = calls.values().filter(|runners| runners[0] == "r1").count();
    assert!(by_first > 0 && by_first < EVENTS as usize, "both runners did work: r1 handled {by_first}");
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn invalid_settings_are_refused() {
    let (_server, log) = common::started().await;
    let bad = ReactionSettings { dead_letter_subject: "waybill.oops".into(), ..settings("bad") };
    let result = run_reactions(log, bad, |_| async { Ok(()) }, async {}).await;
    assert!(matches!(result, Err(waybill_eventlog::ReactionRunError::InvalidSettings(_))));
}

#[tokio::test]
async fn a_reaction_that_cannot_start_yet_keeps_trying_and_starts_once_it_can() {
    let (server, log) = common::started().await;
    // A push consumer under the reaction's durable name: the server refuses to turn it into
    // the reaction's pull consumer. The reaction must not give up for good.
    let stream = async_nats::jetstream::new(server.client().await).get_stream("WAYBILL").await.unwrap();
    stream
        .create_consumer(async_nats::jetstream::consumer::push::Config {
            durable_name: Some("blocked".to_owned()),
            deliver_subject: "elsewhere".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap();
    let calls = Calls::default();
    let position = put(&log, "o-1", "a").await;
    let (stop, stopped) = watch::channel(false);
    let task = waybill_eventlog::spawn_reactions(log.clone(), settings("blocked"), stopped, {
        let calls = calls.clone();
        move |event: RecordedEvent| {
            record(&calls, event.position, "r1");
            async { Ok(()) }
        }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(count(&calls, position), 0, "nothing handled through a consumer that is not the reaction's");
    assert!(!task.is_finished(), "the reaction keeps trying");
    let reaction = Running { stop, task };

    stream.delete_consumer("blocked").await.unwrap();
    assert!(eventually(WAIT, || count(&calls, position) == 1).await, "handled once the name was free");
    reaction.stop().await;
}

#[tokio::test]
async fn a_refused_event_is_acked_without_reaching_the_handler() {
    let server = NatsServer::start();
    let refuse_forged = |event: &RecordedEvent| {
        if event.payload.as_ref() == b"forged" {
            let reason = waybill_eventlog::RefusalReason::AggregateMismatch;
            return Err(waybill_eventlog::Refusal::new(reason, "forged"));
        }
        Ok(())
    };
    let admission = waybill_eventlog::Admission { service: "test", check: refuse_forged };
    let log = common::open(&server).await.admitting(admission);
    let first = put(&log, "o-1", "a").await;
    let forged = put(&log, "o-1", "forged").await;
    let last = put(&log, "o-1", "b").await;
    let calls = Calls::default();
    let reaction = start(&log, settings("refusing"), "r", calls.clone(), |_, _| Ok(()));

    let handled = || calls.lock().unwrap().contains_key(&last);
    assert!(eventually(WAIT, handled).await, "the event after the refused one is handled");
    let mut positions: Vec<u64> = calls.lock().unwrap().keys().copied().collect();
    positions.sort();
    assert_eq!(positions, [first, last], "position {forged} never reached the handler");
    reaction.stop.send(true).unwrap();
    reaction.task.await.unwrap();
}

/// On a cluster, the node holding a reaction consumer's leadership (and so the runner's
/// waiting pull) dies while the runner's own node lives on: the reaction goes on once a new
/// leader is elected (seconds), not after the lost pull's expiry (30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reaction_whose_consumer_leader_dies_goes_on_within_seconds() {
    let mut cluster = tokio::task::block_in_place(waybill_testkit::NatsCluster::start);
    let settings = ReactionSettings::durable("test", "leader-loss", "waybill.intake.>");
    let connected = "n0";
    let client = cluster.nodes[0].client().await;
    let log = EventLog::open(client.clone(), waybill_eventlog::StreamSettings::default(), common::SOURCE)
        .await
        .expect("open the log");
    let (handled_tx, mut handled) = tokio::sync::mpsc::unbounded_channel();
    let _runner = spawn_runner(&log, settings, move |event: RecordedEvent| {
        let handled_tx = handled_tx.clone();
        async move {
            let _ = handled_tx.send(event.position);
            Ok(())
        }
    });
    let first = put(&log, "o-1", "before").await;
    let seen = tokio::time::timeout(WAIT, handled.recv()).await.expect("handled before the kill");
    assert_eq!(seen, Some(first));

    // The consumer's leader must be another node than the runner's.
    let stream = async_nats::jetstream::new(client.clone()).get_stream("WAYBILL").await.unwrap();
    let leader = loop {
        let info = stream.consumer_info("leader-loss").await.unwrap();
        let leader = info.cluster.and_then(|cluster| cluster.leader).unwrap_or_default();
        if !leader.is_empty() && leader != connected {
            break leader;
        }
        let _ = client.request("$JS.API.CONSUMER.LEADER.STEPDOWN.WAYBILL.leader-loss", "".into()).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let index: usize = leader.trim_start_matches('n').parse().unwrap();
    tokio::task::block_in_place(|| cluster.kill(index));
    let killed = tokio::time::Instant::now();

    // The log stays writable with two nodes of three (once the stream has a leader).
    let second = loop {
        let key = uuid::Uuid::now_v7().to_string();
        let event = common::event("OrderPlaced", "o-1", "after");
        match log.append(&common::order("o-1"), None, &key, &[event]).await {
            Ok(appended) => break appended.last,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match handled.recv().await {
                Some(position) if position >= second => return position,
                Some(_) => continue,
                None => panic!("the runner stopped"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not handled 20 s after its consumer's leader died"));
    assert_eq!(seen, second);
    eprintln!("handled {:.1} s after the consumer's leader died", killed.elapsed().as_secs_f64());
}
