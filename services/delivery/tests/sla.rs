//! The SLA clock with two replicas of delivery on one nats-server, both ticking on a clock
//! past the promised window: the consignee's delay is raised exactly once per window, and
//! a rescheduled window that passes too raises one more.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{
    Delivery, ManualClock, arrived_at_hub, delivery_events, departure, hub_lead, open_log, order_placed,
    register_kim, wait_scheduled,
};
use waybill_delivery::server::Settings;
use waybill_eventlog::EventLog;
use waybill_proto::v1::{self, delivery_event::Event};
use waybill_testkit::{NatsServer, eventually};

fn replica_settings(clock: &ManualClock) -> Settings {
    Settings { clock: Arc::new(clock.clone()), sla_tick: Duration::from_millis(20), ..Settings::default() }
}

/// The delay exceptions on the delivery's subject, with the end of the window each missed.
async fn delays(log: &EventLog, subject: &str) -> Vec<i64> {
    delivery_events(log, subject)
        .await
        .into_iter()
        .filter_map(|(_, event)| match event {
            Event::DeliveryExceptionRaised(raised)
                if raised.kind == v1::DeliveryExceptionKind::Delayed as i32 =>
            {
                Some(
                    raised
                        .missed_window
                        .and_then(|window| window.end)
                        .map(|end| end.seconds)
                        .unwrap_or_default(),
                )
            }
            _ => None,
        })
        .collect()
}

/// Waits (bounded) until `count` delays are on the subject, then lets both replicas tick
/// many more times, so a second writer would have shown up.
async fn settle_on(log: &EventLog, subject: &str, count: usize) -> Vec<i64> {
    eventually(&format!("{count} delays on {subject}"), || async {
        (delays(log, subject).await.len() >= count).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    delays(log, subject).await
}

#[tokio::test]
async fn two_replicas_raise_one_delay_per_missed_window() {
    let nats = NatsServer::start();
    let log = open_log(&nats).await;
    let arrived_at = chrono::Utc::now();
    let clock = ManualClock::at(arrived_at);
    let first = Delivery::start(&nats, waybill_delivery::server::run, replica_settings(&clock)).await;
    let second = Delivery::start(&nats, waybill_delivery::server::run, replica_settings(&clock)).await;

    let order_id = uuid::Uuid::now_v7().to_string();
    order_placed(&log, &order_id, "Munich", v1::ServiceLevel::SameDay).await;
    arrived_at_hub(&log, &order_id, arrived_at).await;
    let mut client = first.client(hub_lead()).await;
    let scheduled = wait_scheduled(&mut client, &order_id).await;
    let window_end =
        scheduled.promised_window.and_then(|window| window.end).map(|end| end.seconds).expect("an end");
    let subject = format!("waybill.delivery.task.{order_id}.{order_id}");
    assert!(delays(&log, &subject).await.is_empty(), "nothing is late yet");

    // Same day: four hours. Five hours later, both replicas see the window passed.
    clock.set(arrived_at + chrono::Duration::hours(5));
    assert_eq!(settle_on(&log, &subject, 1).await, [window_end], "one delay for the window, not two");
    let notices = format!("waybill.delivery.notification.{order_id}.{order_id}");
    let told_of_delays = async || {
        delivery_events(&log, &notices)
            .await
            .into_iter()
            .filter(|(_, event)| {
                matches!(event, Event::CustomerNotificationRequested(n) if n.milestone == v1::Milestone::Exception as i32)
            })
            .count()
    };
    eventually("the consignee to hear of the delay", async || (told_of_delays().await > 0).then_some(()))
        .await;

    // The courier tries, nobody is home: the next window starts a day later and passes too.
    let courier_id = register_kim(&mut client, "Munich").await;
    client
        .assign_courier(v1::AssignCourierRequest {
            request_id: "assign-1".into(),
            delivery_id: order_id.clone(),
            courier_id: courier_id.clone(),
        })
        .await
        .expect("assigned");
    client.start_delivery(departure("start-1", &order_id)).await.expect("started");
    let failed = client
        .record_failed_attempt(v1::RecordFailedAttemptRequest {
            request_id: "fail-1".into(),
            delivery_id: order_id.clone(),
            reason: v1::FailureReason::RecipientAbsent.into(),
            note: "nobody home".into(),
            next_window: None,
        })
        .await
        .expect("attempt recorded")
        .into_inner();
    let next_end = failed
        .delivery
        .and_then(|delivery| delivery.promised_window)
        .and_then(|window| window.end)
        .expect("rescheduled");
    assert!(next_end.seconds > window_end);
    clock.set(arrived_at + chrono::Duration::days(3));
    assert_eq!(settle_on(&log, &subject, 2).await, [window_end, next_end.seconds]);
    eventually("the consignee to hear of the second delay", async || {
        (told_of_delays().await > 1).then_some(())
    })
    .await;
    assert_eq!(told_of_delays().await, 2, "the consignee hears of each delay once");

    first.stop().await;
    second.stop().await;
}
