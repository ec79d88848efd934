//! The web console in a real headless Chromium, in front of the five real binaries on a
//! real nats-server: what a reviewer, an analyst and a customer see and do there.
//!
//! One test walks all three people through one stack (starting five services and a browser
//! three times over would triple the run on two cores). Screenshots are kept under
//! `target/console-screenshots/console/`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use waybill_eventlog::{EventLog, StreamSettings};
use waybill_fixtures::cargo;
use waybill_proto::v1;
use waybill_system_tests::console::{Browser, Console};
use waybill_system_tests::system::{Caller, Clients, Settings, System, eventually, request};
use waybill_testkit::{NatsServer, User};

const ACCEPTED: &str = "waybill.intake.order_accepted.v1";
const REJECTED: &str = "waybill.intake.order_rejected.v1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_to_the_console_and_see_what_their_roles_allow() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let system = System::start(&nats, Settings::default()).await?;
    let clients = system.clients().await?;
    let console = Console::start(&system, &nats.url_as(User::Console)).await?;
    let browser = Browser::start("console").await?;

    // Hazardous goods without a declaration wait for a human; the other orders do not.
    let hazardous = place_hazardous(&clients, "acme").await?;
    let followed = place_hazardous(&clients, "acme").await?;
    let acme_order = clients.place("console-acme", "acme").await?;
    let globex_order = clients.place("console-globex", "globex").await?;
    clients.order_reaches(&hazardous.order_id, v1::OrderStatus::InReview).await?;

    strangers_and_forged_forms_change_nothing(&console, &clients, &hazardous.order_id).await?;
    a_reviewer_accepts_an_order_from_the_queue(&browser, &console, &nats, &hazardous.order_id).await?;
    an_order_page_shows_new_events_live(
        &browser,
        &console,
        &clients,
        &followed.order_id,
        &globex_order.order_id,
    )
    .await?;
    a_live_page_says_when_the_session_ends(&browser, &console, &acme_order.order_id).await?;
    let delivered = an_analyst_sees_the_numbers_crm_answers(&browser, &console, &clients).await?;
    finance_sees_the_money_crm_answers(&browser, &console, &clients, &system).await?;
    let under_way = [hazardous.order_id.as_str(), &acme_order.order_id, &globex_order.order_id];
    a_dispatcher_sees_what_is_under_way(&browser, &console, &clients, &under_way, &delivered).await?;
    an_administrator_sees_the_dead_letters(&browser, &console, &nats).await?;
    an_administrator_sees_an_escalated_complaint(&browser, &console, &clients, &acme_order.order_id).await?;
    let (acmes, globex) = ([hazardous.order_id.as_str(), &acme_order.order_id], &globex_order.order_id);
    a_customer_sees_only_its_own_orders(&browser, &console, &acmes, globex).await?;
    the_command_line_exports_what_the_console_does(&system, &console, &acmes, globex).await?;
    browser.client.close().await?;
    Ok(())
}

async fn place_hazardous(clients: &Clients, customer: &str) -> anyhow::Result<v1::Order> {
    let request_id = format!("console-hazardous-{}", uuid::Uuid::new_v4().simple());
    let mut body = waybill_fixtures::placement(&request_id, customer);
    body.cargo.push(cargo("lithium batteries", 1_000, v1::CargoCategory::Hazardous));
    let placed = clients.intake.clone().place_order(request(&Caller::customer_service("desk"), body)).await?;
    placed.into_inner().order.ok_or_else(|| anyhow::anyhow!("no order in the answer"))
}

/// Without a session every page sends the browser to sign-in; a forged token is refused
/// at the form; a review POST without the page's CSRF token is refused and decides nothing.
async fn strangers_and_forged_forms_change_nothing(
    console: &Console,
    clients: &Clients,
    order_id: &str,
) -> anyhow::Result<()> {
    let stranger = http(console, "GET", "/orders", "", "").await?;
    assert_eq!((stranger.status, stranger.header("location")), (303, Some("/sign-in")), "{stranger:?}");

    let form = http(console, "GET", "/sign-in", "", "").await?;
    let csrf = form.cookie("waybill_csrf").ok_or_else(|| anyhow::anyhow!("no CSRF cookie: {form:?}"))?;
    let cookie = format!("waybill_csrf={csrf}");
    let forged =
        http(console, "POST", "/sign-in", &cookie, &format!("csrf={csrf}&token=eyJhbGciOiJub25lIn0.e30."))
            .await?;
    assert_eq!(forged.status, 401, "{forged:?}");
    assert!(forged.body.contains("token: "), "the form says why: {}", forged.body);

    let reviewer = Caller::order_reviewer("mallory-target");
    let session = format!(
        "waybill_session={}; waybill_csrf={csrf}",
        reviewer.authorization().trim_start_matches("Bearer ")
    );
    let forged =
        http(console, "POST", &format!("/review/{order_id}"), &session, "decision=accept&request_id=x")
            .await?;
    assert_eq!(forged.status, 403, "{forged:?}");
    let wrong =
        http(console, "POST", &format!("/review/{order_id}"), &session, "decision=accept&csrf=guess").await?;
    assert_eq!(wrong.status, 403, "{wrong:?}");
    let order = clients.order(order_id).await.ok_or_else(|| anyhow::anyhow!("order {order_id} is gone"))?;
    assert_eq!(order.status, v1::OrderStatus::InReview as i32, "a refused form decided nothing");
    Ok(())
}

async fn a_reviewer_accepts_an_order_from_the_queue(
    browser: &Browser,
    console: &Console,
    nats: &NatsServer,
    order_id: &str,
) -> anyhow::Result<()> {
    browser.sign_in(console, Caller::order_reviewer("rita").authorization()).await?;
    assert_eq!(browser.path().await?, "/review", "a reviewer starts at the queue");
    assert_eq!(browser.text("#who").await?, "rita");
    let row = format!("#review-queue tr[data-order-id=\"{order_id}\"]");
    assert!(browser.text(&row).await?.contains("hazard"), "the queue says why it waits");
    browser.screenshot("1-review-queue").await?;

    browser.click(&format!("{row} button.accept")).await?;
    assert_eq!(browser.text("#done").await?, format!("Order {order_id} accepted."));
    assert!(browser.texts(&row).await?.is_empty(), "the accepted order left the queue");
    browser.screenshot("2-accepted").await?;

    // The decision is on the log, as rita's.
    let log = EventLog::open(nats.client().await, StreamSettings::default(), "/waybill/test").await?;
    let history = log.read_subject(&format!("waybill.intake.order.{order_id}.{order_id}")).await?;
    let accepted: Vec<_> = history.iter().filter(|event| event.event_type == ACCEPTED).collect();
    assert_eq!(accepted.len(), 1, "one acceptance on the log: {history:?}");
    let envelope = waybill_proto::envelope::decode(&accepted[0].payload)?;
    assert_eq!(envelope.header.actor.id, "rita", "{:?}", envelope.header.actor);

    // And in the trace of rita's click: the console's request span's trace id is the event's.
    let clicked = console.trace_of_request("POST", &format!("/review/{order_id}"));
    let clicked = clicked.ok_or_else(|| anyhow::anyhow!("the console logged no trace for the review"))?;
    let jetstream = async_nats::jetstream::new(nats.client().await);
    let stored = jetstream.get_stream("WAYBILL").await?.direct_get(accepted[0].position).await?;
    let traceparent = stored.headers.get("traceparent").map(|value| value.as_str().to_owned());
    let traced = traceparent.as_deref().and_then(waybill_eventlog::trace::trace_id_of);
    assert_eq!(traced, Some(clicked.as_str()), "the acceptance's traceparent {traceparent:?}");

    // The order's page shows it on the timeline.
    browser.goto(&format!("{}/orders/{order_id}", console.url)).await?;
    assert_eq!(browser.text("#status").await?, "accepted");
    let entry = browser.text(&format!("#timeline tr[data-event-type=\"{ACCEPTED}\"]")).await?;
    assert!(entry.contains("rita"), "{entry}");
    browser.screenshot("3-order-timeline").await?;
    browser.sign_out().await?;
    assert_eq!(browser.path().await?, "/sign-in", "signed out");
    Ok(())
}

/// A customer has its order's page open; a reviewer rejects the order through the API; the
/// page shows the rejection on the timeline and the new status without being reloaded.
/// Another customer's order cannot be followed.
async fn an_order_page_shows_new_events_live(
    browser: &Browser,
    console: &Console,
    clients: &Clients,
    order_id: &str,
    others: &str,
) -> anyhow::Result<()> {
    clients.order_reaches(order_id, v1::OrderStatus::InReview).await?;
    let acme = Caller::customer("acme-buyer", "acme");
    browser.sign_in(console, acme.authorization()).await?;
    browser.goto(&format!("{}/orders/{order_id}", console.url)).await?;
    assert_eq!(browser.text("#status").await?, "in_review");
    let following = match browser.find("#live[data-state=\"open\"]").await {
        Ok(found) => found,
        Err(error) => anyhow::bail!("{error}: the page says {:?}", browser.text("#live").await?),
    };
    assert_eq!(following.text().await?, "Following new events live.");
    let before = browser.texts("#timeline tbody tr").await?;
    // A mark on this page's window: a reload would lose it.
    browser.client.execute("window.waybillNotReloaded = true;", vec![]).await?;

    let reject = v1::ReviewOrderRequest {
        request_id: "console-live-reject".into(),
        order_id: order_id.into(),
        decision: v1::ReviewDecision::Reject.into(),
        reason: "no dangerous goods declaration".into(),
    };
    clients.intake.clone().review_order(request(&Caller::order_reviewer("rex"), reject)).await?;
    let entry = browser.text(&format!("#timeline tr[data-event-type=\"{REJECTED}\"]")).await?;
    assert!(entry.contains("rex"), "{entry}");
    assert!(entry.contains("no dangerous goods declaration"), "{entry}");
    assert_eq!(browser.text("#status").await?, "rejected");
    let after = browser.texts("#timeline tbody tr").await?;
    assert_eq!(after.len(), before.len() + 1, "one new row, none twice: {after:#?}");
    let mark = browser.client.execute("return window.waybillNotReloaded === true;", vec![]).await?;
    assert_eq!(mark, serde_json::Value::Bool(true), "the page was not reloaded");
    browser.screenshot("3b-order-live").await?;

    let session = format!("waybill_session={}", acme.authorization().trim_start_matches("Bearer "));
    let refused = http(console, "GET", &format!("/orders/{others}/live"), &session, "").await?;
    assert_eq!(refused.status, 404, "another customer's order is not followed: {refused:?}");
    browser.sign_out().await?;
    Ok(())
}

/// A customer signed in with a short-lived token follows its order; when the token expires
/// the page stops following and says so, instead of still claiming to be live.
async fn a_live_page_says_when_the_session_ends(
    browser: &Browser,
    console: &Console,
    order_id: &str,
) -> anyhow::Result<()> {
    let identity = Caller::customer("acme-brief", "acme").identity().clone();
    let token = waybill_fixtures::test_signer().mint(identity, Duration::from_secs(SHORT_TOKEN_SECS))?;
    let signed_in = std::time::Instant::now();
    browser.sign_in(console, &token).await?;
    browser.goto(&format!("{}/orders/{order_id}", console.url)).await?;
    browser.find("#live[data-state=\"open\"]").await?;
    anyhow::ensure!(
        signed_in.elapsed() < Duration::from_secs(SHORT_TOKEN_SECS),
        "the page opened after the token expired: the test proves nothing"
    );

    let ended = browser
        .client
        .wait()
        .at_most(Duration::from_secs(SHORT_TOKEN_SECS + 10))
        .for_element(fantoccini::Locator::Css("#live[data-state=\"signed-out\"]"))
        .await
        .map_err(|error| anyhow::anyhow!("the page never said it was signed out: {error}"))?;
    assert!(signed_in.elapsed() >= Duration::from_secs(SHORT_TOKEN_SECS - 1), "not before the token expired");
    assert_eq!(ended.text().await?, "Signed out \u{2014} sign in again to follow this order live.");
    browser.screenshot("3c-order-signed-out").await?;

    // The link leads to the sign-in form.
    browser.click("#live a").await?;
    browser.find("#sign-in").await?;
    Ok(())
}

/// The lifetime of the token in [`a_live_page_says_when_the_session_ends`].
const SHORT_TOKEN_SECS: u64 = 6;

async fn an_analyst_sees_the_numbers_crm_answers(
    browser: &Browser,
    console: &Console,
    clients: &Clients,
) -> anyhow::Result<String> {
    // One order delivered (so the delivery KPIs count something), then wait for CRM to
    // have counted every order placed.
    clients.set_up_fleet("console").await?;
    let delivered = clients.deliver_new_order("console-delivered", "globex").await?;
    let analyst = Caller::analyst("ana");
    let kpis = || async {
        let answer =
            clients.crm.clone().get_kpis(request(&analyst, v1::GetKpisRequest::default())).await.ok()?;
        answer.into_inner().kpis
    };
    let counted = eventually("crm to count the delivered order", || async {
        kpis().await.filter(|kpis| {
            kpis.orders == 5 && kpis.on_time_delivery.as_ref().is_some_and(|rate| rate.denominator == 1)
        })
    })
    .await?;

    browser.sign_in(console, analyst.authorization()).await?;
    assert_eq!(browser.path().await?, "/reports", "an analyst starts at the reports");
    let expected = kpis().await.ok_or_else(|| anyhow::anyhow!("crm did not answer"))?;
    assert_eq!(expected, counted, "nothing moved in between");
    assert_eq!(browser.text("#orders-in-scope").await?, expected.orders.to_string());
    let rates = [
        ("on_time_delivery", &expected.on_time_delivery),
        ("perfect_order", &expected.perfect_order),
        ("first_attempt_delivery", &expected.first_attempt_delivery),
        ("cancellation", &expected.cancellation),
    ];
    for (key, rate) in rates {
        let rate = rate.unwrap_or_default();
        let row = format!("#kpis tr[data-kpi=\"{key}\"]");
        assert_eq!(browser.text(&format!("{row} .numerator")).await?, rate.numerator.to_string(), "{key}");
        assert_eq!(
            browser.text(&format!("{row} .denominator")).await?,
            rate.denominator.to_string(),
            "{key}"
        );
        let percent = rate.ratio.map(|ratio| format!("{:.1}", ratio * 100.0)).unwrap_or_default();
        let bar = browser.find(&format!("svg g[data-kpi=\"{key}\"]")).await?;
        assert_eq!(bar.attr("data-percent").await?.unwrap_or_default(), percent, "{key}'s bar");
    }
    browser.screenshot("4-reports").await?;

    // The export holds the same numbers.
    let session = format!("waybill_session={}", analyst.authorization().trim_start_matches("Bearer "));
    let csv = http(console, "GET", "/reports.csv", &session, "").await?;
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let on_time = expected.on_time_delivery.unwrap_or_default();
    let line = format!("\"on_time_delivery\",\"{}\",\"{}\"", on_time.numerator, on_time.denominator);
    assert!(csv.body.contains(&line), "{line} in {}", csv.body);
    assert!(csv.body.contains(&format!("\"orders\",\"{}\"", expected.orders)), "{}", csv.body);
    browser.sign_out().await?;
    Ok(delivered.order_id)
}

/// Someone from finance opens the finance report for last month and this one: each month's
/// row, the total, a customer's row and the charts carry the money CRM's GetKpis answers for
/// the same period and customer; the CSV export and `waybill export finance` hold the same.
async fn finance_sees_the_money_crm_answers(
    browser: &Browser,
    console: &Console,
    clients: &Clients,
    system: &System,
) -> anyhow::Result<()> {
    use chrono::{Datelike, Months};
    let this_month =
        chrono::Utc::now().date_naive().with_day(1).ok_or_else(|| anyhow::anyhow!("a first day"))?;
    let (last_month, next_month) = (this_month - Months::new(1), this_month + Months::new(1));
    let finance = Caller::finance("fiona");
    let answer = |customer: &str, from: chrono::NaiveDate, to: chrono::NaiveDate| {
        let midnight = |day: chrono::NaiveDate| prost_types::Timestamp {
            seconds: day.and_hms_opt(0, 0, 0).map(|at| at.and_utc().timestamp()).unwrap_or_default(),
            nanos: 0,
        };
        let body = v1::GetKpisRequest {
            customer_id: customer.to_owned(),
            period: Some(v1::Period { from: Some(midnight(from)), to: Some(midnight(to)) }),
            min_position: 0,
        };
        let mut crm = clients.crm.clone();
        let request = request(&finance, body);
        async move { anyhow::Ok(crm.get_kpis(request).await?.into_inner().finance.unwrap_or_default()) }
    };
    let minor = |money: &Option<v1::Money>| money.as_ref().map_or(0, |money| money.amount_minor).to_string();

    browser.sign_in(console, finance.authorization()).await?;
    let query = format!("from={last_month}&to={next_month}");
    browser.goto(&format!("{}/finance?{query}", console.url)).await?;
    let total = answer("", last_month, next_month).await?;
    assert!(minor(&total.revenue) != "0", "the orders placed this month earn something: {total:?}");
    let months = [
        (last_month.format("%Y-%m").to_string(), answer("", last_month, this_month).await?),
        (this_month.format("%Y-%m").to_string(), answer("", this_month, next_month).await?),
        ("total".to_owned(), total.clone()),
    ];
    for (key, expected) in &months {
        let row = format!("#finance-months tr[data-key=\"{key}\"]");
        let figures = [
            ("revenue", &expected.revenue),
            ("refunds", &expected.refunds),
            ("claims-paid", &expected.claims_paid),
            ("cost-estimate", &expected.cost_estimate),
            ("profit", &expected.profit_contribution),
        ];
        for (figure, money) in figures {
            let cell = browser.find(&format!("{row} .{figure}")).await?;
            assert_eq!(cell.attr("data-minor").await?.unwrap_or_default(), minor(money), "{key} {figure}");
        }
        if key != "total" {
            let bar = browser.find(&format!("#chart-profit g[data-key=\"{key}\"]")).await?;
            assert_eq!(
                bar.attr("data-minor").await?.unwrap_or_default(),
                minor(&expected.profit_contribution)
            );
        }
    }
    let globex = answer("globex", last_month, next_month).await?;
    let cell = browser.find("#finance-customers tr[data-key=\"globex\"] .profit").await?;
    assert_eq!(cell.attr("data-minor").await?.unwrap_or_default(), minor(&globex.profit_contribution));
    browser.screenshot("4b-finance").await?;

    let session = format!("waybill_session={}", finance.authorization().trim_start_matches("Bearer "));
    let csv = http(console, "GET", &format!("/finance.csv?{query}"), &session, "").await?;
    assert_eq!(csv.status, 200, "{csv:?}");
    let line = format!(
        "\"total\",\"{last_month}\",\"{next_month}\",\"\",\"EUR\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"0\"",
        minor(&total.revenue),
        minor(&total.refunds),
        minor(&total.claims_paid),
        minor(&total.cost_estimate),
        minor(&total.profit_contribution),
    );
    assert!(csv.body.contains(&line), "{line} in {}", csv.body);
    let (from, to) = (last_month.to_string(), next_month.to_string());
    let exported = export(system, &finance, &["finance", "--from", &from, "--to", &to]).await?;
    assert!(exported.success, "{}", exported.stderr);
    assert_eq!(exported.stdout, csv.body, "the command line's finance export is the console's");
    browser.sign_out().await?;
    Ok(())
}

/// A dispatcher starts at the operations board: every transport task under way is there
/// (the one already at its hub is not), with the breakdown a hub operator reported on it a
/// moment ago;
/// the finished delivery is not among the deliveries; there is no complaints section,
/// which a dispatcher may not read.
async fn a_dispatcher_sees_what_is_under_way(
    browser: &Browser,
    console: &Console,
    clients: &Clients,
    under_way: &[&str],
    arrived: &str,
) -> anyhow::Result<()> {
    let dispatcher = Caller::dispatcher("dora");
    let broken_down = under_way[0];
    let report = v1::ReportExceptionRequest {
        request_id: "console-board-breakdown".into(),
        task_id: broken_down.into(),
        kind: v1::ExceptionKind::Breakdown.into(),
        severity: v1::Severity::High.into(),
        description: "flat tyre on the A9".into(),
    };
    clients.dispatch.clone().report_exception(request(&Caller::hub_operator("hugo"), report)).await?;
    eventually("dispatch to show the breakdown", || async {
        clients.task(broken_down).await.filter(|task| !task.exceptions.is_empty())
    })
    .await?;

    browser.sign_in(console, dispatcher.authorization()).await?;
    assert_eq!(browser.path().await?, "/board", "a dispatcher starts at the operations board");
    let tasks = data_orders(browser, "#tasks tbody tr").await?;
    for order_id in under_way {
        assert!(tasks.contains(&order_id.to_string()), "{order_id} in {tasks:?}");
    }
    assert!(!tasks.contains(&arrived.to_owned()), "a task at its hub is not under way: {tasks:?}");
    assert_eq!(browser.text("#tasks-count").await?, tasks.len().to_string());
    let exceptions = browser.text(&format!("#tasks tr[data-order=\"{broken_down}\"] .exceptions")).await?;
    assert!(exceptions.contains("breakdown: flat tyre on the A9"), "{exceptions}");
    let deliveries = data_orders(browser, "#deliveries tbody tr").await?;
    assert!(!deliveries.contains(&arrived.to_owned()), "a delivered order is finished: {deliveries:?}");
    assert!(browser.texts("#complaints").await?.is_empty(), "no complaints section for a dispatcher");
    assert!(browser.texts("#escalations").await?.is_empty(), "no escalations section for a dispatcher");
    assert!(browser.texts("#dead-letters").await?.is_empty(), "no dead letters for a dispatcher");
    assert!(browser.texts("#no-dead-letters").await?.is_empty(), "nor a word about them");
    browser.screenshot("5-operations-board").await?;
    browser.sign_out().await?;
    Ok(())
}

/// An event a reaction cannot handle is dead-lettered; an administrator (whose role may
/// read the event log) sees it on the board as `waybill dead-letters list` does: its
/// sequence, consumer, original position and the reaction's error.
async fn an_administrator_sees_the_dead_letters(
    browser: &Browser,
    console: &Console,
    nats: &NatsServer,
) -> anyhow::Result<()> {
    let log = waybill_fixtures::foreign::open_log(nats.client().await).await;
    let never_placed = uuid::Uuid::now_v7().to_string();
    let arrived = waybill_fixtures::foreign::task_arrived_at_hub(&log, &never_placed).await;
    let letter = eventually("delivery to dead-letter the arrival", || async {
        let letters = log.dead_letters(Some("delivery-arrivals")).await.ok()?;
        letters.into_iter().find(|letter| letter.original_position == arrived)
    })
    .await?;

    browser.sign_in(console, Caller::administrator("ada").authorization()).await?;
    browser.goto(&format!("{}/board", console.url)).await?;
    let row = format!("#dead-letters tr[data-seq=\"{}\"]", letter.seq);
    assert_eq!(browser.text(&format!("{row} .consumer")).await?, "delivery-arrivals");
    let shown = browser.text(&row).await?;
    assert!(shown.contains(&arrived.to_string()), "the original position: {shown}");
    assert!(shown.contains("never placed"), "the reaction's error: {shown}");
    let every = log.dead_letters(None).await?;
    assert_eq!(browser.text("#dead-letters-count").await?, every.len().to_string());
    browser.screenshot("5b-dead-letters").await?;
    browser.sign_out().await?;
    Ok(())
}

/// A customer complains, an after-sales agent escalates the complaint by hand; the board
/// shows it among the escalated complaints, with the agent's reason, to an administrator.
async fn an_administrator_sees_an_escalated_complaint(
    browser: &Browser,
    console: &Console,
    clients: &Clients,
    order_id: &str,
) -> anyhow::Result<()> {
    let complaint = clients.complain_of_delay("console-escalated", "acme", order_id, "still waiting").await?;
    let escalate = v1::EscalateComplaintRequest {
        request_id: "console-escalate".into(),
        complaint_id: complaint.complaint_id.clone(),
        reason: "customer threatens to leave".into(),
    };
    clients.aftersales.clone().escalate_complaint(request(&Caller::after_sales("alex"), escalate)).await?;
    eventually("after-sales to list the complaint as escalated", || async {
        let escalated = v1::ListCasesRequest {
            complaint_status: v1::ComplaintStatus::Escalated.into(),
            ..Default::default()
        };
        let mut aftersales = clients.aftersales.clone();
        let page = aftersales.list_cases(request(&Caller::after_sales("alex"), escalated)).await.ok()?;
        page.into_inner().cases.into_iter().find(|case| match &case.case {
            Some(v1::case::Case::Complaint(listed)) => listed.complaint_id == complaint.complaint_id,
            _ => false,
        })
    })
    .await?;

    browser.sign_in(console, Caller::administrator("ada").authorization()).await?;
    browser.goto(&format!("{}/board", console.url)).await?;
    let row = format!("#escalations tr[data-complaint=\"{}\"]", complaint.complaint_id);
    assert_eq!(browser.text(&format!("{row} .escalations")).await?, "customer threatens to leave");
    assert!(browser.text(&row).await?.contains(order_id), "the order it is about");
    browser.screenshot("5c-escalations").await?;

    // The section as CSV, as the board shows it; only for roles that may read it.
    let session =
        |caller: Caller| format!("waybill_session={}", caller.authorization().trim_start_matches("Bearer "));
    let csv =
        http(console, "GET", "/board.csv?section=escalations", &session(Caller::administrator("ada")), "")
            .await?;
    assert_eq!(csv.status, 200, "{csv:?}");
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"), "{csv:?}");
    let mut lines = csv.body.lines();
    assert_eq!(
        lines.next(),
        Some("\"Complaint\",\"Order\",\"Severity\",\"Escalated\",\"Why\",\"Resolve by\"")
    );
    let exported = lines.find(|line| line.contains(&complaint.complaint_id)).unwrap_or_default();
    assert!(
        exported.contains(order_id) && exported.contains("\"customer threatens to leave\""),
        "{}",
        csv.body
    );
    let refused =
        http(console, "GET", "/board.csv?section=escalations", &session(Caller::dispatcher("dora")), "")
            .await?;
    assert_eq!(refused.status, 403, "{refused:?}");
    let unknown =
        http(console, "GET", "/board.csv?section=everything", &session(Caller::administrator("ada")), "")
            .await?;
    assert_eq!(unknown.status, 400, "{unknown:?}");

    browser.sign_out().await?;
    Ok(())
}

/// The `data-order` of every row `css` finds.
async fn data_orders(browser: &Browser, css: &str) -> anyhow::Result<Vec<String>> {
    let mut orders = Vec::new();
    for row in browser.client.find_all(fantoccini::Locator::Css(css)).await? {
        orders.push(row.attr("data-order").await?.unwrap_or_default());
    }
    Ok(orders)
}

async fn a_customer_sees_only_its_own_orders(
    browser: &Browser,
    console: &Console,
    own: &[&str],
    other: &str,
) -> anyhow::Result<()> {
    let acme = Caller::customer("acme-buyer", "acme");
    browser.sign_in(console, acme.authorization()).await?;
    assert_eq!(browser.path().await?, "/orders", "a customer starts at its orders");
    let mut listed = Vec::new();
    for row in browser.client.find_all(fantoccini::Locator::Css("#orders tbody tr")).await? {
        listed.push(row.attr("data-order-id").await?.unwrap_or_default());
    }
    for order_id in own {
        assert!(listed.contains(&order_id.to_string()), "{order_id} in {listed:?}");
    }
    assert!(!listed.contains(&other.to_owned()), "another customer's order is not listed: {listed:?}");
    assert!(browser.texts("#orders td:nth-child(2)").await?.iter().all(|customer| customer == "acme"));
    assert!(browser.texts("header a[href=\"/review\"]").await?.is_empty(), "no review queue for a customer");
    browser.screenshot("6-customer-orders").await?;

    // Asking for the other customer's orders, or its order's page, shows nothing of them.
    browser.goto(&format!("{}/orders?customer=globex", console.url)).await?;
    assert!(browser.texts(&format!("tr[data-order-id=\"{other}\"]")).await?.is_empty());
    browser.goto(&format!("{}/orders/{other}", console.url)).await?;
    assert_eq!(browser.text("h1").await?, "Not found");
    browser.goto(&format!("{}/review", console.url)).await?;
    assert_eq!(browser.text("h1").await?, "Your role does not allow this");
    browser.screenshot("7-customer-refused").await?;
    Ok(())
}

/// `waybill export` prints the console's own CSV: the KPI table byte for byte as
/// `/reports.csv` gives the same person; a customer's order export holds its own orders
/// only; a filter that does not parse fails naming it and prints nothing.
async fn the_command_line_exports_what_the_console_does(
    system: &System,
    console: &Console,
    own: &[&str],
    other: &str,
) -> anyhow::Result<()> {
    let analyst = Caller::analyst("ana");
    let session = format!("waybill_session={}", analyst.authorization().trim_start_matches("Bearer "));
    let web = http(console, "GET", "/reports.csv", &session, "").await?;
    let kpis = export(system, &analyst, &["kpis"]).await?;
    assert!(kpis.success, "{}", kpis.stderr);
    assert_eq!(kpis.stdout, web.body, "the command line's KPI export is the console's");

    let acme = Caller::customer("acme-buyer", "acme");
    let orders = export(system, &acme, &["orders"]).await?;
    assert!(orders.success, "{}", orders.stderr);
    let exported: Vec<&str> =
        orders.stdout.lines().skip(1).filter_map(|line| line.split(',').next()).collect();
    for order_id in own {
        assert!(exported.contains(&format!("\"{order_id}\"").as_str()), "{order_id} in {exported:?}");
    }
    assert!(!orders.stdout.contains(other), "another customer's order is not exported");

    let refused = export(system, &acme, &["orders", "--status", "bogus"]).await?;
    assert!(!refused.success, "a bad filter fails");
    assert!(refused.stderr.contains("status: \"bogus\" is not an order status"), "{}", refused.stderr);
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    Ok(())
}

/// What one `waybill export` run printed.
struct Exported {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `waybill export ARGS` against `system`'s services with `caller`'s token.
async fn export(system: &System, caller: &Caller, args: &[&str]) -> anyhow::Result<Exported> {
    let token = tempfile::NamedTempFile::new()?;
    std::fs::write(token.path(), caller.authorization().trim_start_matches("Bearer "))?;
    let output = tokio::process::Command::new(waybill_system_tests::binary("waybill")?)
        .arg("export")
        .args(args)
        .env("WAYBILL_TOKEN_FILE", token.path())
        .env("WAYBILL_CONSOLE_INTAKE_URL", &system.intake.address)
        .env("WAYBILL_CONSOLE_CRM_URL", &system.crm.address)
        .env("RUST_LOG", "warn")
        .output()
        .await?;
    Ok(Exported {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// An HTTP/1.1 answer, as the test reads it.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The value a `Set-Cookie` gives cookie `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers.iter().filter(|(key, _)| key.eq_ignore_ascii_case("set-cookie")).find_map(
            |(_, value)| value.split(';').next()?.strip_prefix(&format!("{name}=")).map(str::to_owned),
        )
    }
}

/// One request on its own connection (`Connection: close`), with `cookie` and a form body:
/// what a browser sends, minus the browser, for what a page cannot show (status codes,
/// forged forms, downloads).
async fn http(
    console: &Console,
    method: &str,
    path: &str,
    cookie: &str,
    form: &str,
) -> anyhow::Result<Answer> {
    let address = console.url.trim_start_matches("http://");
    let mut stream =
        tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(address)).await??;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if !cookie.is_empty() {
        head.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if method == "POST" {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", form.len()));
    }
    stream.write_all(format!("{head}\r\n{form}").as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut raw)).await??;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status =
        lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|code| code.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Ok(Answer { status, headers, body: body.to_owned() })
}
