//! Crashes in the middle of a stream of lifecycles, with the real binaries: a service killed
//! with SIGKILL and started again in its place, and nats-server stopped and started again.
//! Clients retry what failed with the same request id, as any client would. Afterwards
//! every order was delivered; the log holds exactly one acceptance, one planned task and
//! one scheduled delivery per order, and one planned reverse task and one refund per
//! return; CRM's refund totals add up; and the services answer exactly as freshly started
//! replicas that rebuilt everything from the log. The production shape runs too: a 3-node
//! R3 cluster, the services given all three URLs, a node and a service killed together.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use waybill_eventlog::{EventLog, StreamSettings};
use waybill_proto::v1;
use waybill_system_tests::Service;
use waybill_system_tests::system::{Clients, Settings, System, eur, eventually_within, reader};
use waybill_testkit::{NatsAccess, NatsCluster, NatsServer};

/// What each service binary is given to reach NATS, by service name.
struct Access(Vec<(&'static str, Vec<(&'static str, String)>)>);

impl NatsAccess for Access {
    fn service_env(&self, service: &str) -> Vec<(&'static str, String)> {
        self.0.iter().find(|(name, _)| *name == service).map(|(_, env)| env.clone()).unwrap_or_default()
    }
}

/// How many lifecycles run through the system at once.
const ORDERS: usize = 20;
/// How many customers share them (CRM totals per customer).
const CUSTOMERS: usize = 4;
/// How long nats-server stays down in the restart case.
const NATS_OUTAGE: Duration = Duration::from_secs(10);

/// What one lifecycle left behind.
struct Finished {
    order_id: String,
    customer: String,
    return_id: String,
    refunded: i64,
}

/// Place → deliver → return → refund for order `index`; counts deliveries in `delivered`.
async fn lifecycle(clients: Clients, index: usize, delivered: Arc<AtomicUsize>) -> anyhow::Result<Finished> {
    let tag = format!("crash-{index}");
    let customer = format!("cust-crash-{}", index % CUSTOMERS);
    let order = clients.deliver_new_order(&tag, &customer).await?;
    delivered.fetch_add(1, Ordering::SeqCst);
    let charged =
        order.quote.and_then(|quote| quote.total).map(|total| total.amount_minor).unwrap_or_default();
    anyhow::ensure!(charged > 1, "order {} has no charge", order.order_id);
    let refund = charged / 2;
    let returned = clients.return_and_refund(&tag, &order.order_id, eur(refund)).await?;
    anyhow::ensure!(returned.refunded == Some(eur(refund)), "refund of {}: {returned:?}", order.order_id);
    Ok(Finished { order_id: order.order_id, customer, return_id: returned.return_id, refunded: refund })
}

/// The service a `Crash::Kill` or `Crash::ClusterNodeAndService` case kills, by name.
fn crashed_service<'a>(system: &'a mut System, name: &str) -> anyhow::Result<&'a mut Service> {
    Ok(match name {
        "dispatch" => &mut system.dispatch,
        "delivery" => &mut system.delivery,
        "aftersales" => &mut system.aftersales,
        other => anyhow::bail!("no crash case for {other}"),
    })
}

enum Crash {
    /// SIGKILL the service, start it again on the same address.
    Kill(&'static str),
    /// Stop nats-server, start it again on the same port and store.
    Nats,
    /// On a 3-node cluster: SIGKILL a node and a service together, start both again.
    ClusterNodeAndService(usize, &'static str),
}

/// Where the log lives: one nats-server, or three in a cluster.
enum Broker {
    Single(NatsServer),
    Cluster(NatsCluster),
}

impl Broker {
    fn for_crash(crash: &Crash) -> Broker {
        match crash {
            Crash::ClusterNodeAndService(..) => Broker::Cluster(NatsCluster::start()),
            _ => Broker::Single(NatsServer::start()),
        }
    }

    /// Each service's NATS environment (its own user), taken before the broker is lent out
    /// for the crashes.
    fn access(&self) -> Access {
        let env = |service: &'static str| match self {
            Broker::Single(nats) => nats.service_env(service),
            Broker::Cluster(cluster) => cluster.service_env(service),
        };
        Access(
            ["intake", "dispatch", "delivery", "aftersales", "crm"]
                .map(|service| (service, env(service)))
                .to_vec(),
        )
    }

    async fn client(&self) -> async_nats::Client {
        match self {
            Broker::Single(nats) => nats.client().await,
            Broker::Cluster(cluster) => cluster.client().await,
        }
    }

    /// What every service is told beside the URL.
    fn env(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            Broker::Single(_) => &[],
            Broker::Cluster(_) => &[("WAYBILL_STREAM_REPLICAS", "3")],
        }
    }

    fn stream_settings(&self) -> StreamSettings {
        match self {
            Broker::Single(_) => StreamSettings::default(),
            Broker::Cluster(_) => StreamSettings { replicas: 3, ..StreamSettings::default() },
        }
    }
}

/// The cases after-sales lists for an order.
async fn cases_of(clients: &Clients, order_id: &str) -> Option<Vec<v1::Case>> {
    let request = v1::ListCasesRequest { order_id: order_id.into(), ..Default::default() };
    Some(clients.aftersales.clone().list_cases(request).await.ok()?.into_inner().cases)
}

async fn a_stream_of_lifecycles_survives(crash: Crash) -> anyhow::Result<()> {
    let mut broker = Broker::for_crash(&crash);
    let nats = broker.access();
    let env = broker.env();
    let mut system = System::start(&nats, Settings { every: env, ..Settings::default() }).await?;
    let mut clients = system.clients().await?;
    clients.patience = Duration::from_secs(40);
    clients.set_up_fleet("fleet").await?;

    // The lifecycles start a little apart, so the crash finds them at every stage.
    let delivered = Arc::new(AtomicUsize::new(0));
    let mut running = Vec::new();
    for index in 0..ORDERS {
        let clients = clients.clone();
        let delivered = delivered.clone();
        running.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100 * index as u64)).await;
            let started = tokio::time::Instant::now();
            let done = lifecycle(clients, index, delivered).await;
            done.map(|done| (done, started.elapsed()))
        }));
    }
    eventually_within("a few orders to be delivered before the crash", Duration::from_secs(60), || {
        let delivered = delivered.clone();
        async move { (delivered.load(Ordering::SeqCst) >= 3).then_some(()) }
    })
    .await?;

    let delivered_before_crash = delivered.load(Ordering::SeqCst);
    assert!(delivered_before_crash < ORDERS, "the crash must come in the middle of the stream");
    match crash {
        Crash::Kill(name) => {
            let service = crashed_service(&mut system, name)?;
            let listen = service.listen().to_owned();
            service.kill()?;
            *service = Service::start_on(name, &listen, &nats, env).await?;
        }
        Crash::ClusterNodeAndService(node, name) => {
            let Broker::Cluster(cluster) = &mut broker else { anyhow::bail!("no cluster") };
            let service = crashed_service(&mut system, name)?;
            let listen = service.listen().to_owned();
            tokio::task::block_in_place(|| cluster.kill(node));
            service.kill()?;
            tokio::time::sleep(Duration::from_secs(3)).await;
            *service = Service::start_on(name, &listen, &nats, env).await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            tokio::task::block_in_place(|| cluster.start_again(node));
        }
        Crash::Nats => {
            let Broker::Single(nats) = &mut broker else { anyhow::bail!("no single server") };
            // Down for longer than a reaction's whole backoff schedule (0.1 + 0.25 + 0.5 + 1 s):
            // reactions failing all along must still happen once NATS is back.
            tokio::task::block_in_place(|| nats.stop());
            tokio::time::sleep(NATS_OUTAGE).await;
            tokio::task::block_in_place(|| nats.start_again());
        }
    }

    let mut finished = Vec::new();
    let mut durations = Vec::new();
    for lifecycle in running {
        let (done, took) = lifecycle.await??;
        finished.push(done);
        durations.push(took);
    }
    assert_eq!(finished.len(), ORDERS);
    // For BENCHMARKS.md's resilience figures (printed, not asserted: timing is not a test).
    durations.sort();
    let quantile = |q: f64| durations[((durations.len() - 1) as f64 * q).round() as usize];
    eprintln!(
        "lifecycles under this fault: p50 {:?}, p99 {:?}, longest single command retry {:?}",
        quantile(0.5),
        quantile(0.99),
        waybill_system_tests::system::longest_retry()
    );

    // Every order is delivered, as the customer sees it.
    for done in &finished {
        let order = clients.order(&done.order_id).await;
        assert_eq!(
            order.map(|order| order.status),
            Some(v1::OrderStatus::Delivered as i32),
            "{}",
            done.order_id
        );
    }

    // The log: one planned task per order and per return, one refund per return.
    let log =
        EventLog::connect(broker.client().await, broker.stream_settings(), "/waybill/system-test").await?;
    for done in &finished {
        let (order, return_id) = (&done.order_id, &done.return_id);
        let once_each = [
            (format!("waybill.intake.order.{order}.{order}"), "waybill.intake.order_accepted.v1"),
            (format!("waybill.dispatch.task.{order}.{order}"), "waybill.dispatch.task_planned.v1"),
            (format!("waybill.dispatch.task.{order}.{return_id}"), "waybill.dispatch.task_planned.v1"),
            (format!("waybill.aftersales.order.{order}.{order}"), "waybill.aftersales.refund_issued.v1"),
            (format!("waybill.delivery.task.{order}.{order}"), "waybill.delivery.delivery_scheduled.v1"),
        ];
        for (subject, event_type) in once_each {
            let history = log.read_subject(&subject).await?;
            let written = history.iter().filter(|event| event.event_type == event_type).count();
            assert_eq!(written, 1, "{event_type} on {subject}");
        }
    }

    // CRM's refund totals per customer are the refunds paid, no more.
    for index in 0..CUSTOMERS {
        let customer = format!("cust-crash-{index}");
        let expected: i64 =
            finished.iter().filter(|done| done.customer == customer).map(|done| done.refunded).sum();
        eventually_within(&format!("CRM's refunds of {customer}"), Duration::from_secs(15), || {
            let clients = clients.clone();
            let customer = customer.clone();
            async move {
                let totals = clients.customer(&customer).await?.customer?.totals?;
                (totals.refunds == Some(eur(expected))).then_some(())
            }
        })
        .await?;
    }

    // The restarted service (or all of them, after nats-server's restart) answers exactly as
    // a fresh replica that rebuilt its model from the log.
    let fresh_dispatch = Service::start("dispatch", &nats, env).await?;
    let fresh_delivery = Service::start("delivery", &nats, env).await?;
    let fresh_aftersales = Service::start("aftersales", &nats, env).await?;
    let mut fresh = clients.clone();
    fresh.aftersales = v1::after_sales_service_client::AfterSalesServiceClient::with_interceptor(
        fresh_aftersales.channel().await?,
        reader(),
    );
    fresh.dispatch = v1::dispatch_service_client::DispatchServiceClient::with_interceptor(
        fresh_dispatch.channel().await?,
        reader(),
    );
    fresh.delivery = v1::delivery_service_client::DeliveryServiceClient::with_interceptor(
        fresh_delivery.channel().await?,
        reader(),
    );
    let live = system.clients().await?;
    let system_clients = live.clone();
    let tasks =
        eventually_within("the fresh dispatch to hold the same tasks", Duration::from_secs(15), || {
            let (live, fresh) = (live.clone(), fresh.clone());
            async move {
                let live = live.all_tasks(0).await.ok()?;
                let rebuilt = fresh.all_tasks(0).await.ok()?;
                (live.len() == 2 * ORDERS && live == rebuilt).then_some(live)
            }
        })
        .await?;
    for task in &tasks {
        let expected = if task.kind == v1::TaskKind::Forward as i32 {
            v1::TaskStatus::Arrived
        } else {
            v1::TaskStatus::Planned
        };
        assert_eq!(task.status, expected as i32, "{task:?}");
    }
    for done in &finished {
        let (live, rebuilt) = (live.delivery(&done.order_id).await, fresh.delivery(&done.order_id).await);
        assert!(live.is_some(), "delivery of {}", done.order_id);
        assert_eq!(live, rebuilt, "delivery of {}", done.order_id);
        assert_eq!(live.map(|delivery| delivery.status), Some(v1::DeliveryStatus::Delivered as i32));
        let (live, rebuilt) =
            (cases_of(&system_clients, &done.order_id).await, cases_of(&fresh, &done.order_id).await);
        assert_eq!(live.as_ref().map(Vec::len), Some(1), "one return for {}", done.order_id);
        assert_eq!(live, rebuilt, "cases of {}", done.order_id);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_killed_mid_stream_loses_and_doubles_nothing() -> anyhow::Result<()> {
    a_stream_of_lifecycles_survives(Crash::Kill("dispatch")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_killed_mid_stream_loses_and_doubles_nothing() -> anyhow::Result<()> {
    a_stream_of_lifecycles_survives(Crash::Kill("delivery")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aftersales_killed_mid_stream_loses_and_doubles_nothing() -> anyhow::Result<()> {
    a_stream_of_lifecycles_survives(Crash::Kill("aftersales")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_server_restarted_mid_stream_loses_and_doubles_nothing() -> anyhow::Result<()> {
    a_stream_of_lifecycles_survives(Crash::Nats).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_three_node_cluster_a_node_and_dispatch_killed_together_lose_and_double_nothing()
-> anyhow::Result<()> {
    a_stream_of_lifecycles_survives(Crash::ClusterNodeAndService(0, "dispatch")).await
}
