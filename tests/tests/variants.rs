//! The lifecycle's other roads, through the five real binaries on one nats-server (gRPC
//! only): a cancellation undone before pickup, three failed attempts back to the sender, a
//! damaged parcel that opens a claim by itself, and missed deadlines that escalate by
//! themselves (the deadlines made seconds long with the services' own configuration).

use tonic::Code;
use waybill_fixtures::Refusal;
use waybill_fixtures::{assignment, cancellation, claim_approval};
use waybill_proto::v1;
use waybill_system_tests::system::{Caller, Clients, Settings, System, agent, eur, eventually, request};
use waybill_testkit::NatsServer;

fn rate(rate: Option<v1::Rate>) -> Option<(u64, u64)> {
    rate.map(|rate| (rate.numerator, rate.denominator))
}

async fn timeline(clients: &Clients, order_id: &str) -> anyhow::Result<Vec<String>> {
    let tracked = clients
        .intake
        .clone()
        .track_order(v1::TrackOrderRequest { order_id: order_id.into(), min_position: 0 })
        .await?
        .into_inner();
    Ok(tracked.timeline.into_iter().map(|entry| entry.summary).collect())
}

#[tokio::test]
async fn a_cancelled_order_restored_before_pickup_is_planned_again_and_delivered() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let (_system, clients) = System::with_fleet(&nats, "fleet").await?;
    let customer = "cust-restore";
    let order_id = clients.place("restore", customer).await?.order_id;
    clients.task_reaches(&order_id, v1::TaskStatus::Planned).await?;

    let mut orders = clients.intake.clone();
    let cancelled = orders
        .cancel_order(request(
            &Caller::customer("erika", customer),
            cancellation("restore-cancel", &order_id, "changed my mind"),
        ))
        .await?
        .into_inner()
        .order
        .unwrap_or_default();
    assert_eq!(cancelled.status, v1::OrderStatus::Cancelled as i32);
    // Dispatch cancels the task by itself; it can no longer be assigned.
    clients.task_reaches(&order_id, v1::TaskStatus::Cancelled).await?;
    clients
        .dispatch
        .clone()
        .assign_task(request(
            &Caller::dispatcher("dispatcher"),
            assignment("restore-early-assign", &order_id),
        ))
        .await
        .refused(Code::FailedPrecondition, "a cancelled task is not assigned");

    let restored = orders
        .restore_order(request(
            &Caller::customer("erika", customer),
            v1::RestoreOrderRequest { request_id: "restore-restore".into(), order_id: order_id.clone() },
        ))
        .await?
        .into_inner()
        .order
        .unwrap_or_default();
    assert_eq!(restored.status, v1::OrderStatus::Accepted as i32);
    // Dispatch plans the task again by itself, and the order goes all the way.
    clients.task_reaches(&order_id, v1::TaskStatus::Planned).await?;
    clients.haul("restore", &order_id).await?;
    clients.out_for_delivery("restore", &order_id).await?;
    clients.hand_over("restore", &order_id).await?;
    clients.order_reaches(&order_id, v1::OrderStatus::Delivered).await?;
    let tasks = clients.all_tasks(0).await?;
    assert_eq!(
        tasks.iter().filter(|task| task.order_id == order_id).count(),
        1,
        "one task, not two: {tasks:?}"
    );

    // CRM counts the order as placed and delivered, not as cancelled.
    let answer = clients
        .crm_counts(customer, "CRM to count the delivery", |totals| totals.delivered_orders == 1)
        .await?;
    let totals = answer.customer.and_then(|customer| customer.totals).unwrap_or_default();
    assert_eq!((totals.orders, totals.cancelled_orders), (1, 0));
    assert_eq!(rate(answer.kpis.and_then(|kpis| kpis.cancellation)), Some((0, 1)), "restored, not cancelled");
    Ok(())
}

#[tokio::test]
async fn three_failed_attempts_send_the_parcel_back_to_the_sender() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let (_system, clients) = System::with_fleet(&nats, "fleet").await?;
    let order_id = clients.place("absent", "cust-absent").await?.order_id;
    clients.haul("absent", &order_id).await?;
    clients.out_for_delivery("absent", &order_id).await?;

    let mut last_mile = clients.delivery.clone();
    for attempt in 1..=3u32 {
        if attempt > 1 {
            // The courier tries again on the rescheduled window.
            last_mile
                .start_delivery(request(
                    &clients.courier_of(&order_id).await?,
                    v1::StartDeliveryRequest {
                        request_id: format!("absent-start-{attempt}"),
                        delivery_id: order_id.clone(),
                    },
                ))
                .await?;
        }
        let failed = last_mile
            .record_failed_attempt(request(
                &clients.courier_of(&order_id).await?,
                v1::RecordFailedAttemptRequest {
                    request_id: format!("absent-fail-{attempt}"),
                    delivery_id: order_id.clone(),
                    reason: v1::FailureReason::RecipientAbsent.into(),
                    note: "nobody home".into(),
                    next_window: None,
                },
            ))
            .await?
            .into_inner()
            .delivery
            .unwrap_or_default();
        assert_eq!(failed.failed_attempts.len(), attempt as usize);
        let expected = if attempt < 3 {
            v1::DeliveryStatus::AttemptFailed
        } else {
            v1::DeliveryStatus::ReturnedToSender
        };
        assert_eq!(failed.status, expected as i32, "after attempt {attempt}");
    }

    // Back to the sender: no more handovers, and the customer's timeline says so.
    last_mile
        .confirm_delivery(request(
            &clients.courier_of(&order_id).await?,
            v1::ConfirmDeliveryRequest {
                request_id: "absent-confirm".into(),
                delivery_id: order_id.clone(),
                proof: Some(waybill_system_tests::system::proof()),
            },
        ))
        .await
        .refused(Code::FailedPrecondition, "no handover after the return to the sender");
    let summaries = eventually("intake's timeline to show the return to the sender", || async {
        let summaries = timeline(&clients, &order_id).await.ok()?;
        summaries.iter().any(|summary| summary.contains("returned to sender")).then_some(summaries)
    })
    .await?;
    let failures = summaries.iter().filter(|summary| summary.to_lowercase().contains("attempt")).count();
    assert!(failures >= 3, "three attempts on the timeline: {summaries:#?}");
    assert_ne!(
        clients.order(&order_id).await.map(|order| order.status),
        Some(v1::OrderStatus::Delivered as i32)
    );
    // "Where is my parcel?": intake says it is on its way back, not out for delivery.
    let returned = clients.order_reaches(&order_id, v1::OrderStatus::ReturnedToSender).await?;
    assert_eq!(returned.last_failed_attempt.map(|failed| failed.attempt), Some(3));
    let summaries = timeline(&clients, &order_id).await?;
    let departures = summaries.iter().filter(|summary| summary.as_str() == "out for delivery").count();
    assert_eq!(departures, 6, "three departures, each on delivery's and intake's record: {summaries:#?}");

    // CRM counts it as returned to sender: not delivered, not completed (docs/KPIS.md).
    let answer = clients
        .crm_counts("cust-absent", "CRM to count the return to the sender", |totals| {
            totals.returned_to_sender_orders == 1
        })
        .await?;
    let totals = answer.customer.and_then(|customer| customer.totals).unwrap_or_default();
    assert_eq!(totals.delivered_orders, 0);
    let kpis = answer.kpis.unwrap_or_default();
    assert_eq!(rate(kpis.returned_to_sender), Some((1, 1)));
    assert_eq!(rate(kpis.first_attempt_delivery), Some((0, 0)));
    assert_eq!(rate(kpis.perfect_order), Some((0, 0)));
    Ok(())
}

#[tokio::test]
async fn a_wrong_address_is_corrected_after_the_failed_attempt_and_the_next_departure_goes_there()
-> anyhow::Result<()> {
    let nats = NatsServer::start();
    let (_system, clients) = System::with_fleet(&nats, "fleet").await?;
    let order_id = clients.place("wrong", "cust-wrong").await?.order_id;
    clients.haul("wrong", &order_id).await?;
    clients.out_for_delivery("wrong", &order_id).await?;
    clients.order_reaches(&order_id, v1::OrderStatus::OutForDelivery).await?;

    // The courier cannot find the house: the attempt fails with ADDRESS_WRONG.
    clients
        .delivery
        .clone()
        .record_failed_attempt(request(
            &clients.courier_of(&order_id).await?,
            v1::RecordFailedAttemptRequest {
                request_id: "wrong-fail".into(),
                delivery_id: order_id.clone(),
                reason: v1::FailureReason::AddressWrong.into(),
                note: "no such house number".into(),
                next_window: None,
            },
        ))
        .await?;
    // Intake says what happened, not "out for delivery".
    let failed = clients.order_reaches(&order_id, v1::OrderStatus::AttemptFailed).await?;
    let last = failed.last_failed_attempt.unwrap_or_default();
    assert_eq!((last.attempt, last.reason), (1, v1::FailureReason::AddressWrong as i32));
    assert!(last.next_window.is_some(), "the next window is on the order: {last:?}");

    // The desk fixes the address; delivery takes it before the next departure.
    let mut corrected = failed.consignee.and_then(|party| party.address).unwrap_or_default();
    corrected.lines = vec!["Leopoldstrasse 7".into()];
    let redirected = clients
        .intake
        .clone()
        .change_consignee_address(request(
            &Caller::customer_service("desk"),
            v1::ChangeConsigneeAddressRequest {
                request_id: "wrong-redirect".into(),
                order_id: order_id.clone(),
                address: Some(corrected.clone()),
            },
        ))
        .await?
        .into_inner()
        .order
        .unwrap_or_default();
    assert_eq!(redirected.status, v1::OrderStatus::AttemptFailed as i32);
    eventually("delivery to take the corrected address", || async {
        clients.delivery(&order_id).await.filter(|delivery| {
            delivery.consignee.as_ref().and_then(|party| party.address.as_ref()) == Some(&corrected)
        })
    })
    .await?;

    // Out again (intake records the second departure) to the corrected address, and delivered.
    let started = clients
        .delivery
        .clone()
        .start_delivery(request(
            &clients.courier_of(&order_id).await?,
            v1::StartDeliveryRequest { request_id: "wrong-start-2".into(), delivery_id: order_id.clone() },
        ))
        .await?
        .into_inner()
        .delivery
        .unwrap_or_default();
    assert_eq!(started.consignee.and_then(|party| party.address), Some(corrected));
    clients.order_reaches(&order_id, v1::OrderStatus::OutForDelivery).await?;
    clients.hand_over("wrong", &order_id).await?;
    clients.order_reaches(&order_id, v1::OrderStatus::Delivered).await?;
    let summaries = timeline(&clients, &order_id).await?;
    let departures = summaries.iter().filter(|summary| summary.as_str() == "out for delivery").count();
    // Delivery's two departures and intake's record of each.
    assert_eq!(departures, 4, "{summaries:#?}");
    Ok(())
}

#[tokio::test]
async fn a_damaged_parcel_opens_a_claim_by_itself_which_is_paid() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let (_system, clients) = System::with_fleet(&nats, "fleet").await?;
    let customer = "cust-damaged";
    let order_id = clients.place("damaged", customer).await?.order_id;
    clients.haul("damaged", &order_id).await?;
    clients.out_for_delivery("damaged", &order_id).await?;
    clients
        .delivery
        .clone()
        .report_delivery_exception(request(
            &clients.courier_of(&order_id).await?,
            v1::ReportDeliveryExceptionRequest {
                request_id: "damaged-report".into(),
                delivery_id: order_id.clone(),
                kind: v1::DeliveryExceptionKind::DamagedPartial.into(),
                description: "box crushed, one book torn".into(),
            },
        ))
        .await?;

    // After-sales opens the claim by itself: one, automatic, for the order's customer.
    let claims = eventually("after-sales to open a claim", || {
        let mut aftersales = clients.aftersales.clone();
        let order_id = order_id.clone();
        async move {
            let listed = aftersales
                .list_cases(v1::ListCasesRequest {
                    order_id,
                    kind: v1::CaseKind::Claim.into(),
                    ..Default::default()
                })
                .await
                .ok()?
                .into_inner();
            (!listed.cases.is_empty()).then_some(listed.cases)
        }
    })
    .await?;
    assert_eq!(claims.len(), 1, "{claims:?}");
    let Some(v1::case::Case::Claim(listed)) = claims[0].case.clone() else {
        anyhow::bail!("not a claim: {claims:?}");
    };
    let mut aftersales = clients.aftersales.clone();
    let claim = aftersales
        .get_claim(v1::GetClaimRequest { claim_id: listed.claim_id.clone(), min_position: 0 })
        .await?
        .into_inner()
        .claim
        .unwrap_or_default();
    assert_eq!(claim, listed);
    assert!(claim.automatic);
    assert_eq!(claim.kind, v1::ClaimKind::DamagedPartial as i32);
    assert_eq!(claim.status, v1::ClaimStatus::Open as i32);
    assert_eq!(claim.customer_id, customer);
    assert!(claim.description.contains("crushed"), "{claim:?}");

    // An agent assesses, approves and pays part of the declared value; CRM sees the payment.
    let claim_id = claim.claim_id.clone();
    aftersales
        .assess_claim(request(
            &agent(),
            v1::AssessClaimRequest {
                request_id: "damaged-assess".into(),
                claim_id: claim_id.clone(),
                amount: Some(eur(5_000)),
                note: "one of two books".into(),
            },
        ))
        .await?;
    aftersales
        .approve_claim(request(&agent(), claim_approval("damaged-approve", &claim_id, eur(5_000))))
        .await?;
    let paid = aftersales
        .pay_claim(request(
            &agent(),
            v1::PayClaimRequest { request_id: "damaged-pay".into(), claim_id: claim_id.clone() },
        ))
        .await?
        .into_inner()
        .claim
        .unwrap_or_default();
    assert_eq!(paid.status, v1::ClaimStatus::Paid as i32);
    assert_eq!(paid.paid, Some(eur(5_000)));
    clients
        .crm_counts(customer, "CRM to count the claim payment", |totals| {
            totals.claims_paid == Some(eur(5_000))
        })
        .await?;
    Ok(())
}

#[tokio::test]
async fn missed_deadlines_escalate_a_complaint_and_raise_a_delivery_delay_by_themselves() -> anyhow::Result<()>
{
    let nats = NatsServer::start();
    let settings = Settings {
        delivery: &[("WAYBILL_DELIVERY_SLA_TICK_MS", "100")],
        aftersales: &[("WAYBILL_AFTERSALES_SLA_MEDIUM", "1s/3s"), ("WAYBILL_AFTERSALES_SLA_TICK_MS", "100")],
        ..Settings::default()
    };
    let system = System::start(&nats, settings).await?;
    let clients = system.clients().await?;
    clients.set_up_fleet("fleet").await?;
    let customer = "cust-late";
    let order_id = clients.place("late", customer).await?.order_id;
    clients.haul("late", &order_id).await?;
    clients.out_for_delivery("late", &order_id).await?;

    // The consignee is out; the next try is agreed for a window that ends two seconds on.
    let now = waybill_system_tests::system::unix_now_seconds();
    let window = v1::TimeWindow {
        start: Some(prost_types::Timestamp { seconds: now + 1, nanos: 0 }),
        end: Some(prost_types::Timestamp { seconds: now + 2, nanos: 0 }),
    };
    clients
        .delivery
        .clone()
        .record_failed_attempt(request(
            &clients.courier_of(&order_id).await?,
            v1::RecordFailedAttemptRequest {
                request_id: "late-fail".into(),
                delivery_id: order_id.clone(),
                reason: v1::FailureReason::RecipientAbsent.into(),
                note: "nobody home".into(),
                next_window: Some(window),
            },
        ))
        .await?;

    // The customer complains (MEDIUM: acknowledge within 1 s, resolve within 3 s here).
    let mut aftersales = clients.aftersales.clone();
    let filed = clients.complain_of_delay("late", customer, &order_id, "still nothing").await?;
    let complaint_id = filed.complaint_id.clone();

    // Nobody acknowledges it: the SLA clock escalates it by itself, once per missed deadline.
    let escalated = eventually("the complaint to be escalated for both deadlines", || {
        let mut aftersales = aftersales.clone();
        let complaint_id = complaint_id.clone();
        async move {
            let complaint = aftersales
                .get_complaint(v1::GetComplaintRequest { complaint_id, min_position: 0 })
                .await
                .ok()?
                .into_inner()
                .complaint?;
            (complaint.escalations.len() >= 2).then_some(complaint)
        }
    })
    .await?;
    assert_eq!(escalated.status, v1::ComplaintStatus::Escalated as i32);
    assert!(escalated.overdue, "{escalated:?}");
    let breaches: Vec<i32> = escalated.escalations.iter().map(|escalation| escalation.breach).collect();
    assert_eq!(breaches, [v1::SlaBreach::Acknowledge as i32, v1::SlaBreach::Resolve as i32]);
    assert!(escalated.escalations.iter().all(|escalation| escalation.automatic));
    let overdue = aftersales
        .list_cases(v1::ListCasesRequest {
            overdue_only: true,
            customer_id: customer.into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .cases;
    assert_eq!(overdue.len(), 1, "{overdue:?}");

    // The agreed window passed with the parcel undelivered: delivery raised a delay by itself.
    let delayed = eventually("delivery to raise a delay", || async {
        clients.delivery(&order_id).await.filter(|delivery| {
            delivery
                .exceptions
                .iter()
                .any(|exception| exception.kind == v1::DeliveryExceptionKind::Delayed as i32)
        })
    })
    .await?;
    let delays = delayed
        .exceptions
        .iter()
        .filter(|exception| exception.kind == v1::DeliveryExceptionKind::Delayed as i32);
    assert_eq!(delays.count(), 1, "{delayed:?}");

    // Resolved late, it counts against the SLA in CRM's KPIs; handed over late, against on-time.
    aftersales
        .resolve_complaint(request(
            &agent(),
            v1::ResolveComplaintRequest {
                request_id: "late-resolve".into(),
                complaint_id: complaint_id.clone(),
                resolution: "parcel delivered, apologised".into(),
                compensation: None,
            },
        ))
        .await?;
    clients
        .delivery
        .clone()
        .start_delivery(request(
            &clients.courier_of(&order_id).await?,
            v1::StartDeliveryRequest { request_id: "late-start-2".into(), delivery_id: order_id.clone() },
        ))
        .await?;
    clients.hand_over("late", &order_id).await?;
    let answer = eventually("CRM to count the late delivery and the late resolution", || async {
        clients.customer(customer).await.filter(|answer| {
            let kpis = answer.kpis.unwrap_or_default();
            rate(kpis.on_time_delivery).map(|(_, of)| of) == Some(1)
                && rate(kpis.complaints_resolved_within_sla).map(|(_, of)| of) == Some(1)
        })
    })
    .await?;
    let kpis = answer.kpis.unwrap_or_default();
    assert_eq!(rate(kpis.on_time_delivery), Some((0, 1)), "delivered after the promised window");
    assert_eq!(rate(kpis.first_attempt_delivery), Some((0, 1)));
    assert_eq!(rate(kpis.complaints_resolved_within_sla), Some((0, 1)));
    Ok(())
}

#[tokio::test]
async fn promised_windows_and_the_return_window_follow_the_configuration() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let settings = Settings {
        delivery: &[("WAYBILL_DELIVERY_WINDOW_STANDARD", "2h/6h")],
        aftersales: &[("WAYBILL_AFTERSALES_RETURN_WINDOW", "2s")],
        ..Settings::default()
    };
    let system = System::start(&nats, settings).await?;
    let clients = system.clients().await?;
    clients.set_up_fleet("fleet").await?;
    let order_id = clients.place("windows", "cust-windows").await?.order_id;
    clients.haul("windows", &order_id).await?;

    // STANDARD is promised from 2 h to 6 h after the arrival at the hub, as configured.
    let scheduled = clients.delivery_reaches(&order_id, v1::DeliveryStatus::Scheduled).await?;
    let tracked = clients
        .intake
        .clone()
        .track_order(v1::TrackOrderRequest { order_id: order_id.clone(), min_position: 0 })
        .await?
        .into_inner();
    let arrived = tracked
        .timeline
        .iter()
        .find(|entry| entry.event_type == "waybill.dispatch.task_arrived_at_hub.v1")
        .and_then(|entry| entry.occurred_at)
        .ok_or_else(|| anyhow::anyhow!("no arrival on the timeline"))?;
    let window = scheduled.promised_window.unwrap_or_default();
    let seconds = |at: Option<prost_types::Timestamp>| at.map(|at| at.seconds - arrived.seconds);
    assert_eq!(seconds(window.start), Some(2 * 3_600), "{window:?} after {arrived:?}");
    assert_eq!(seconds(window.end), Some(6 * 3_600), "{window:?} after {arrived:?}");

    // Handed over; two seconds later the (2 s) return window has closed, and says so.
    clients.out_for_delivery("windows", &order_id).await?;
    clients.hand_over("windows", &order_id).await?;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let ask = v1::RequestReturnRequest {
        request_id: "windows-return".into(),
        return_id: String::new(),
        order_id: order_id.clone(),
        reason: "too late".into(),
        lines: vec![v1::ReturnLine { cargo_index: 0, quantity: 1, description: String::new() }],
    };
    let refused = eventually("after-sales to judge the return window", || {
        let mut aftersales = clients.aftersales.clone();
        let ask = ask.clone();
        async move {
            match aftersales.request_return(request(&Caller::customer("erika", "cust-windows"), ask)).await {
                // Not delivered yet, as far as after-sales knows: ask again.
                Err(status) if status.message().contains("not delivered") => None,
                outcome => Some(outcome),
            }
        }
    })
    .await?;
    let refused = refused.refused(Code::FailedPrecondition, "the return window has closed");
    assert!(refused.message().contains("(2s after delivery)"), "{}", refused.message());
    Ok(())
}

/// Starts `service` with `env` and no NATS to reach; its error output if it stopped within
/// `patience`, `None` if it is still running (it took its settings) and was stopped here.
fn stopped_at_start(
    service: &str,
    env: &[(&str, &str)],
    patience: std::time::Duration,
) -> anyhow::Result<Option<String>> {
    use std::io::Read;
    let mut command = std::process::Command::new(waybill_system_tests::binary(service)?);
    // Nothing listens there: the settings are checked before anything is connected.
    command.env("WAYBILL_NATS_URL", "nats://127.0.0.1:9").env("RUST_LOG", "warn");
    // Ports it binds itself: a service that takes its settings must not fail later on a
    // default port another test (or a `make run`) holds.
    command.env("WAYBILL_LISTEN", "127.0.0.1:0").env("WAYBILL_METRICS_LISTEN", "127.0.0.1:0");
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    // Token keys, so that what stops a service here is the setting under test.
    let keys = tempfile::tempdir()?;
    waybill_testkit::trust_test_signer(&mut command, keys.path())?;
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn()?;
    let deadline = std::time::Instant::now() + patience;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            anyhow::ensure!(!status.success(), "{service} exited successfully without NATS");
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                pipe.read_to_string(&mut stderr)?;
            }
            return Ok(Some(stderr));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill()?;
    child.wait()?;
    Ok(None)
}

#[test]
fn window_settings_that_make_no_sense_stop_the_service_at_start_with_the_flag_named() -> anyhow::Result<()> {
    let refused = |service: &str, env: &[(&str, &str)]| {
        stopped_at_start(service, env, std::time::Duration::from_secs(10))
            .map(|stderr| stderr.unwrap_or_else(|| "still running: the setting was taken".to_owned()))
    };
    for value in ["72/24", "1w/2w", "24"] {
        let stderr = refused("waybill-delivery", &[("WAYBILL_DELIVERY_WINDOW_STANDARD", value)])?;
        assert!(stderr.contains("--window-standard must be"), "{value}: {stderr}");
    }
    let stderr = refused("waybill-aftersales", &[("WAYBILL_AFTERSALES_RETURN_WINDOW", "0d")])?;
    assert!(stderr.contains("--return-window must be"), "{stderr}");
    let both = [("WAYBILL_AFTERSALES_RETURN_WINDOW", "36h"), ("WAYBILL_AFTERSALES_RETURN_WINDOW_DAYS", "14")];
    let stderr = refused("waybill-aftersales", &both)?;
    assert!(stderr.contains("not both"), "{stderr}");
    // The older whole-days flag still takes what it took before.
    let old = [("WAYBILL_AFTERSALES_RETURN_WINDOW_DAYS", "14")];
    let taken = stopped_at_start("waybill-aftersales", &old, std::time::Duration::from_secs(2))?;
    assert_eq!(taken, None, "--return-window-days 14 is still accepted");
    Ok(())
}
