//! The SLA clock with two replicas on one log: a complaint whose deadlines pass unmet is
//! escalated by itself exactly once per missed deadline, however many replicas tick.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use support::*;
use waybill_aftersales::server::Settings;
use waybill_proto::v1;
use waybill_testkit::{NatsServer, eventually};

#[tokio::test]
async fn two_replicas_escalate_a_missed_deadline_once_per_breach() {
    let nats = NatsServer::start();
    // Filed at 09:00 UTC: a HIGH complaint is to be acknowledged by 11:00, resolved by 09:00
    // the next day.
    let filed_at = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid time");
    let clock = ManualClock::at(filed_at);
    let settings = || Settings {
        clock: Arc::new(clock.clone()),
        sla_tick: Duration::from_millis(20),
        ..Settings::default()
    };
    let first = start_aftersales(&nats, settings()).await;
    let second = start_aftersales(&nats, settings()).await;
    let mut client = first.client(agent()).await;
    let filed = client
        .file_complaint(v1::FileComplaintRequest {
            request_id: "complaint-1".into(),
            complaint_id: String::new(),
            customer_id: "cust-1".into(),
            order_id: String::new(),
            category: v1::ComplaintCategory::StaffConduct.into(),
            severity: v1::ComplaintSeverity::High.into(),
            description: "the courier was rude".into(),
        })
        .await
        .expect("filed")
        .into_inner()
        .complaint
        .expect("complaint");
    let acknowledge_by = filed.acknowledge_by.expect("acknowledge by");
    assert_eq!(acknowledge_by.seconds, (filed_at + chrono::Duration::hours(2)).timestamp());
    assert_eq!(
        filed.resolve_by.expect("resolve by").seconds,
        (filed_at + chrono::Duration::hours(24)).timestamp()
    );
    let subject = format!("waybill.aftersales.complaint.{}", filed.complaint_id);

    // Past the acknowledgement deadline: both replicas' clocks see it; one escalation.
    clock.set(filed_at + chrono::Duration::hours(3));
    let escalated = wait_escalations(&nats, &subject, 1).await;
    assert_eq!(escalated, 1);
    tokio::time::sleep(Duration::from_millis(300)).await; // many more ticks of both replicas
    assert_eq!(count_escalations(&nats, &subject).await, 1, "the acknowledge breach escalated once");

    // Past the resolution deadline too: one more, for that breach.
    clock.set(filed_at + chrono::Duration::hours(25));
    wait_escalations(&nats, &subject, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count_escalations(&nats, &subject).await, 2, "one escalation per breach");

    // Read what the log has, from the other replica: it waits until it has applied it all.
    let escalated = log(&nats).await.last_position_of(&subject).await.expect("the complaint's last position");
    let complaint = second
        .client(agent())
        .await
        .get_complaint(v1::GetComplaintRequest {
            complaint_id: filed.complaint_id.clone(),
            min_position: escalated,
        })
        .await
        .expect("get")
        .into_inner()
        .complaint
        .expect("complaint");
    assert!(complaint.overdue);
    assert_eq!(complaint.status, v1::ComplaintStatus::Escalated as i32);
    let breaches: Vec<i32> = complaint.escalations.iter().map(|escalation| escalation.breach).collect();
    assert_eq!(breaches, [v1::SlaBreach::Acknowledge as i32, v1::SlaBreach::Resolve as i32]);
    assert!(complaint.escalations.iter().all(|escalation| escalation.automatic));
    assert_eq!(complaint.escalations[0].deadline, Some(acknowledge_by), "names the deadline it missed");

    // Overdue complaints are listed as such.
    let overdue = client
        .list_cases(v1::ListCasesRequest {
            overdue_only: true,
            min_position: escalated,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .cases;
    assert_eq!(overdue.len(), 1);
}

async fn count_escalations(nats: &NatsServer, subject: &str) -> usize {
    event_types(nats, subject)
        .await
        .iter()
        .filter(|event_type| *event_type == "waybill.aftersales.complaint_escalated.v1")
        .count()
}

/// Waits (bounded: 10 s) until the complaint has `wanted` escalations; returns how many.
async fn wait_escalations(nats: &NatsServer, subject: &str, wanted: usize) -> usize {
    eventually(&format!("{subject} to get {wanted} escalations"), || async {
        let count = count_escalations(nats, subject).await;
        (count >= wanted).then_some(count)
    })
    .await
}
