//! The whole system for a test: the five binaries on one nats-server, their gRPC clients,
//! and the steps a shop, a dispatcher, a driver and a courier take with an order.

use std::future::Future;
use std::time::Duration;

use waybill_eventlog::{EventLog, StreamSettings};
use waybill_proto::v1::{
    self, after_sales_service_client::AfterSalesServiceClient, crm_service_client::CrmServiceClient,
    delivery_service_client::DeliveryServiceClient, dispatch_service_client::DispatchServiceClient,
    intake_service_client::IntakeServiceClient,
};

pub use waybill_fixtures::{Caller, Role, eur, request};
use waybill_fixtures::{
    assignment, proof_of_delivery, refund, return_approval, return_receipt, van_registration,
};

use crate::Service;

/// The log on `nats`, read as an integrator reads it (straight from the stream, not through
/// the services).
pub async fn system_test_log(nats: &waybill_testkit::NatsServer) -> anyhow::Result<EventLog> {
    Ok(EventLog::connect(nats.client().await, StreamSettings::default(), "/waybill/system-test").await?)
}

/// Calls `attempt` until it yields `Some` (bounded: 15 s): for what another service does
/// on its own after an event.
pub async fn eventually<T, F, Fut>(what: &str, attempt: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(what, Duration::from_secs(15), attempt).await
}

/// `eventually` with another bound (for a service that is being restarted, say).
pub async fn eventually_within<T, F, Fut>(what: &str, limit: Duration, attempt: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    Ok(waybill_testkit::eventually_within(what, limit, attempt).await?)
}

static LONGEST_RETRY_MICROS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The longest time one command of this test process spent from its first attempt to its
/// answer, among commands that had to be sent again (zero if none had to).
pub fn longest_retry() -> Duration {
    Duration::from_micros(LONGEST_RETRY_MICROS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Calls `call` until the service answers (bounded: 30 s): a call that meets a service or
/// nats-server being restarted is sent again with the same request id, as any client
/// would; the services' idempotency makes that safe. Other errors end it.
pub async fn retry<T, F, Fut>(what: &str, mut call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(30);
    let mut retried = false;
    loop {
        match call().await {
            Ok(response) => {
                if retried {
                    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    LONGEST_RETRY_MICROS.fetch_max(micros, std::sync::atomic::Ordering::Relaxed);
                }
                return Ok(response.into_inner());
            }
            Err(status) if is_transient(status.code()) && tokio::time::Instant::now() < deadline => {
                retried = true;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => anyhow::bail!("{what}: {status:?}"),
        }
    }
}

/// The answers of a service that is down, starting, or cannot reach nats-server, and
/// ABORTED (a lost race: gRPC's "retry the whole call").
fn is_transient(code: tonic::Code) -> bool {
    use tonic::Code;
    matches!(
        code,
        Code::Unavailable
            | Code::Unknown
            | Code::Cancelled
            | Code::DeadlineExceeded
            | Code::Internal
            | Code::Aborted
    )
}

pub fn unix_now_seconds() -> i64 {
    waybill_fixtures::wire_now().seconds
}

/// A complete, signed proof of delivery, handed over now (to the whole second).
pub fn proof() -> v1::ProofOfDelivery {
    v1::ProofOfDelivery {
        delivered_at: Some(waybill_fixtures::wire_now()),
        ..proof_of_delivery(chrono::Utc::now())
    }
}

/// The standard order: two books of 3 kg, Berlin to Munich, worth EUR 100.
/// The caller a system test's clients use when a call names none: an integrator, who may
/// read everything and write nothing (commands name their caller with [`request`]), and
/// here also an after-sales agent, so that it sees the personal data the flows check
/// (proofs of delivery, addresses), which an integrator alone gets redacted
/// (docs/SECURITY.md).
pub fn reader() -> Caller {
    Caller::with_roles("system-test", &[Role::Integrator, Role::AfterSalesAgent])
}

/// Asserts that each of `services` wrote at least one entry of the order's `timeline`.
pub fn assert_timeline_names(timeline: &[v1::TimelineEntry], services: &[&str]) {
    let on_timeline: Vec<&str> = timeline.iter().map(|entry| entry.service.as_str()).collect();
    for service in services {
        assert!(on_timeline.contains(service), "{service} missing from {on_timeline:?}");
    }
}

/// An after-sales agent who also holds finance: approves and refunds returns, handles
/// complaints.
pub fn agent() -> Caller {
    Caller::with_roles("agent", &[Role::AfterSalesAgent, Role::Finance])
}

/// The Munich hub's lead: registers couriers and hands them deliveries.
pub fn hub_lead() -> Caller {
    Caller::with_roles("hub-lead", &[Role::HubOperator, Role::Dispatcher])
}

/// The warehouse: packs tasks and takes returned goods in.
pub fn warehouse() -> Caller {
    Caller::with_roles("warehouse", &[Role::HubOperator, Role::AfterSalesAgent])
}

pub fn place_order_request(request_id: &str, customer_id: &str) -> v1::PlaceOrderRequest {
    waybill_fixtures::placement(request_id, customer_id)
}

/// The five services, each its real binary, on one nats-server.
pub struct System {
    pub intake: Service,
    pub dispatch: Service,
    pub delivery: Service,
    pub aftersales: Service,
    pub crm: Service,
}

/// Extra environment per service (flags such as shorter SLAs).
#[derive(Default, Clone, Copy)]
pub struct Settings<'a> {
    /// For every service (e.g. `WAYBILL_STREAM_REPLICAS` on a cluster).
    pub every: &'a [(&'a str, &'a str)],
    pub delivery: &'a [(&'a str, &'a str)],
    pub aftersales: &'a [(&'a str, &'a str)],
}

impl System {
    /// Starts the five binaries; on a test server or cluster each connects as its own
    /// NATS user.
    pub async fn start<'a>(
        nats_url: &(impl waybill_testkit::NatsAccess + ?Sized),
        settings: Settings<'a>,
    ) -> anyhow::Result<System> {
        let with = |own: &[(&'a str, &'a str)]| [settings.every, own].concat();
        let (delivery_env, aftersales_env) = (with(settings.delivery), with(settings.aftersales));
        let (intake, dispatch, delivery, aftersales, crm) = tokio::try_join!(
            Service::start("intake", nats_url, settings.every),
            Service::start("dispatch", nats_url, settings.every),
            Service::start("delivery", nats_url, &delivery_env),
            Service::start("aftersales", nats_url, &aftersales_env),
            Service::start("crm", nats_url, settings.every),
        )?;
        Ok(System { intake, dispatch, delivery, aftersales, crm })
    }

    pub async fn clients(&self) -> anyhow::Result<Clients> {
        self.clients_intercepted_by(reader()).await
    }

    /// Clients whose every call goes through `interceptor` (a [`reader`] in a trace, say);
    /// a command still names its own caller.
    pub async fn clients_intercepted_by(&self, interceptor: Caller) -> anyhow::Result<Clients> {
        let caller = || interceptor.clone();
        Ok(Clients {
            intake: IntakeServiceClient::with_interceptor(self.intake.channel().await?, caller()),
            dispatch: DispatchServiceClient::with_interceptor(self.dispatch.channel().await?, caller()),
            delivery: DeliveryServiceClient::with_interceptor(self.delivery.channel().await?, caller()),
            aftersales: AfterSalesServiceClient::with_interceptor(self.aftersales.channel().await?, caller()),
            crm: CrmServiceClient::with_interceptor(self.crm.channel().await?, caller()),
            patience: Duration::from_secs(15),
        })
    }

    /// The five services with default settings, their clients, and a fleet set up as
    /// `fleet`: where most end-to-end tests start.
    pub async fn with_fleet(
        nats_url: &(impl waybill_testkit::NatsAccess + ?Sized),
        fleet: &str,
    ) -> anyhow::Result<(System, Clients)> {
        let system = System::start(nats_url, Settings::default()).await?;
        let clients = system.clients().await?;
        clients.set_up_fleet(fleet).await?;
        Ok((system, clients))
    }
}

/// One gRPC client per service (cheap to clone).
#[derive(Clone)]
pub struct Clients {
    pub intake: waybill_fixtures::IntakeClient,
    pub dispatch: waybill_fixtures::DispatchClient,
    pub delivery: waybill_fixtures::DeliveryClient,
    pub aftersales: waybill_fixtures::AfterSalesClient,
    pub crm: waybill_fixtures::CrmClient,
    /// How long the waits below wait for another service to act (15 s unless changed).
    pub patience: Duration,
}

/// One command to `$client` (a field of `Clients`): `$method(request($actor, $body))`,
/// retried with the same body (and so the same request id) while the service is away.
macro_rules! command {
    ($clients:expr, $client:ident, $method:ident, $actor:expr, $body:expr) => {{
        let body = $body;
        let client = $clients.$client.clone();
        retry(stringify!($method), || {
            let mut client = client.clone();
            let body = body.clone();
            async move { client.$method(request($actor, body)).await }
        })
        .await
    }};
}

impl Clients {
    /// A van with room for everything at the Berlin depot and a courier for Munich.
    pub async fn set_up_fleet(&self, tag: &str) -> anyhow::Result<()> {
        let van = v1::RegisterVehicleRequest {
            capacity: Some(v1::Load { weight_grams: 1_000_000_000, volume_cm3: 1_000_000_000 }),
            ..van_registration(&format!("{tag}-van"), &uuid::Uuid::now_v7().to_string())
        };
        command!(self, dispatch, register_vehicle, &Caller::dispatcher("dispatcher"), van)?;
        let courier = v1::RegisterCourierRequest {
            request_id: format!("{tag}-courier"),
            courier_id: uuid::Uuid::now_v7().to_string(),
            name: "Kim".into(),
            zones: vec!["Munich".into()],
        };
        command!(self, delivery, register_courier, &hub_lead(), courier)?;
        Ok(())
    }

    /// Places the standard order for `customer`; returns it as intake answered.
    pub async fn place(&self, tag: &str, customer: &str) -> anyhow::Result<v1::Order> {
        let body = place_order_request(&format!("{tag}-place"), customer);
        let placed = command!(self, intake, place_order, &Caller::customer_service("shop"), body)?;
        placed.order.ok_or_else(|| anyhow::anyhow!("no order in the answer"))
    }

    pub async fn order(&self, order_id: &str) -> Option<v1::Order> {
        let request = v1::GetOrderRequest { order_id: order_id.into(), min_position: 0 };
        self.intake.clone().get_order(request).await.ok()?.into_inner().order
    }

    /// Waits until intake shows the order in `status`.
    pub async fn order_reaches(&self, order_id: &str, status: v1::OrderStatus) -> anyhow::Result<v1::Order> {
        eventually_within(&format!("order {order_id} to be {status:?}"), self.patience, || async move {
            self.order(order_id).await.filter(|order| order.status == status as i32)
        })
        .await
    }

    pub async fn task(&self, task_id: &str) -> Option<v1::DispatchTask> {
        let request = v1::GetTaskRequest { task_id: task_id.into(), min_position: 0 };
        self.dispatch.clone().get_task(request).await.ok()?.into_inner().task
    }

    /// Waits until dispatch shows the task in `status`.
    pub async fn task_reaches(
        &self,
        task_id: &str,
        status: v1::TaskStatus,
    ) -> anyhow::Result<v1::DispatchTask> {
        eventually_within(&format!("task {task_id} to be {status:?}"), self.patience, || async move {
            self.task(task_id).await.filter(|task| task.status == status as i32)
        })
        .await
    }

    /// The courier the delivery is assigned to, as a caller (a courier reaches only its
    /// own deliveries).
    pub async fn courier_of(&self, delivery_id: &str) -> anyhow::Result<Caller> {
        let assigned = eventually_within(
            &format!("delivery {delivery_id} to have a courier"),
            self.patience,
            || async move {
                self.delivery(delivery_id)
                    .await
                    .map(|delivery| delivery.courier_id)
                    .filter(|id| !id.is_empty())
            },
        )
        .await?;
        Ok(Caller::courier("kim", &assigned))
    }

    pub async fn delivery(&self, delivery_id: &str) -> Option<v1::DeliveryTask> {
        let request = v1::GetDeliveryRequest { delivery_id: delivery_id.into(), min_position: 0 };
        self.delivery.clone().get_delivery(request).await.ok()?.into_inner().delivery
    }

    /// Waits until delivery shows the delivery in `status`.
    pub async fn delivery_reaches(
        &self,
        delivery_id: &str,
        status: v1::DeliveryStatus,
    ) -> anyhow::Result<v1::DeliveryTask> {
        eventually_within(&format!("delivery {delivery_id} to be {status:?}"), self.patience, || async move {
            self.delivery(delivery_id).await.filter(|delivery| delivery.status == status as i32)
        })
        .await
    }

    /// The planned task (id = order id) goes onto a vehicle, is packed, picked up, passes
    /// Leipzig and arrives at the Munich hub.
    pub async fn haul(&self, tag: &str, order_id: &str) -> anyhow::Result<()> {
        let task_id = order_id.to_owned();
        self.task_reaches(order_id, v1::TaskStatus::Planned).await?;
        let assign = assignment(&format!("{tag}-assign"), &task_id);
        command!(self, dispatch, assign_task, &Caller::dispatcher("dispatcher"), assign)?;
        let pack = v1::MarkPackedRequest { request_id: format!("{tag}-pack"), task_id: task_id.clone() };
        command!(self, dispatch, mark_packed, &warehouse(), pack)?;
        let pickup =
            v1::RecordPickupRequest { request_id: format!("{tag}-pickup"), task_id: task_id.clone() };
        command!(self, dispatch, record_pickup, &Caller::hub_operator("driver"), pickup)?;
        let checkpoint = v1::RecordCheckpointRequest {
            request_id: format!("{tag}-checkpoint"),
            task_id: task_id.clone(),
            place: "Leipzig".into(),
            note: "on schedule".into(),
        };
        command!(self, dispatch, record_checkpoint, &Caller::hub_operator("driver"), checkpoint)?;
        let arrival =
            v1::RecordArrivalRequest { request_id: format!("{tag}-arrive"), task_id, hub: "MUC-HUB".into() };
        command!(self, dispatch, record_arrival, &Caller::hub_operator("driver"), arrival)?;
        Ok(())
    }

    /// Waits for the last mile delivery planned by itself; a courier takes it out.
    pub async fn out_for_delivery(&self, tag: &str, order_id: &str) -> anyhow::Result<()> {
        self.delivery_reaches(order_id, v1::DeliveryStatus::Scheduled).await?;
        let assign = v1::AssignCourierRequest {
            request_id: format!("{tag}-assign-courier"),
            delivery_id: order_id.into(),
            courier_id: String::new(),
        };
        command!(self, delivery, assign_courier, &hub_lead(), assign)?;
        let start =
            v1::StartDeliveryRequest { request_id: format!("{tag}-start"), delivery_id: order_id.into() };
        let courier = &self.courier_of(order_id).await?;
        command!(self, delivery, start_delivery, courier, start)?;
        Ok(())
    }

    /// The courier hands the parcel over with a signed proof.
    pub async fn hand_over(&self, tag: &str, order_id: &str) -> anyhow::Result<v1::ProofOfDelivery> {
        let handover = proof();
        let confirm = v1::ConfirmDeliveryRequest {
            request_id: format!("{tag}-confirm"),
            delivery_id: order_id.into(),
            proof: Some(handover.clone()),
        };
        let courier = &self.courier_of(order_id).await?;
        command!(self, delivery, confirm_delivery, courier, confirm)?;
        Ok(handover)
    }

    /// Places an order for `customer` and takes it all the way to a signed handover that
    /// intake shows as delivered.
    pub async fn deliver_new_order(&self, tag: &str, customer: &str) -> anyhow::Result<v1::Order> {
        let order = self.place(tag, customer).await?;
        self.haul(tag, &order.order_id).await?;
        self.out_for_delivery(tag, &order.order_id).await?;
        self.hand_over(tag, &order.order_id).await?;
        self.order_reaches(&order.order_id, v1::OrderStatus::Delivered).await
    }

    /// The customer returns one book of a delivered order; it is approved (dispatch plans
    /// the reverse pickup by itself), received and refunded `amount`. Returns the return.
    pub async fn return_and_refund(
        &self,
        tag: &str,
        order_id: &str,
        amount: v1::Money,
    ) -> anyhow::Result<v1::ReturnCase> {
        // After-sales learns of the delivery from the log: ask until it has.
        let ask = v1::RequestReturnRequest {
            request_id: format!("{tag}-return"),
            return_id: String::new(),
            order_id: order_id.into(),
            reason: "ordered one too many".into(),
            lines: vec![v1::ReturnLine { cargo_index: 0, quantity: 1, description: String::new() }],
        };
        let requested =
            eventually_within("after-sales to take the return", self.patience, || {
                let ask = ask.clone();
                async move {
                    command!(self, aftersales, request_return, &Caller::customer_service("desk"), ask).ok()
                }
            })
            .await?;
        let return_id = requested.return_case.map(|case| case.return_id).unwrap_or_default();
        let approve = return_approval(&format!("{tag}-approve"), &return_id);
        command!(self, aftersales, approve_return, &agent(), approve)?;
        self.task_reaches(&return_id, v1::TaskStatus::Planned).await?;
        let receive = return_receipt(&format!("{tag}-receive"), &return_id, "undamaged");
        command!(self, aftersales, receive_return, &warehouse(), receive)?;
        let refund_request = refund(&format!("{tag}-refund"), &return_id, amount);
        let refunded = command!(self, aftersales, refund_return, &agent(), refund_request)?;
        refunded.return_case.ok_or_else(|| anyhow::anyhow!("no return in the answer"))
    }

    /// The customer (`erika`, for `customer`) complains about a delay of the order,
    /// severity MEDIUM, with request id `<tag>-complaint`; returns the complaint as filed.
    pub async fn complain_of_delay(
        &self,
        tag: &str,
        customer: &str,
        order_id: &str,
        description: &str,
    ) -> anyhow::Result<v1::Complaint> {
        let complaint = v1::FileComplaintRequest {
            request_id: format!("{tag}-complaint"),
            complaint_id: String::new(),
            customer_id: customer.into(),
            order_id: order_id.into(),
            category: v1::ComplaintCategory::Delay.into(),
            severity: v1::ComplaintSeverity::Medium.into(),
            description: description.into(),
        };
        let filed =
            command!(self, aftersales, file_complaint, &Caller::customer("erika", customer), complaint)?;
        filed.complaint.ok_or_else(|| anyhow::anyhow!("no complaint in the answer"))
    }

    pub async fn customer(&self, customer_id: &str) -> Option<v1::GetCustomerResponse> {
        let request = v1::GetCustomerRequest { customer_id: customer_id.into(), min_position: 0 };
        Some(self.crm.clone().get_customer(request).await.ok()?.into_inner())
    }

    /// Waits until CRM's totals for `customer_id` are `counted` (CRM follows the other services'
    /// events in its own time); returns CRM's answer. `what` names the wait in its error.
    pub async fn crm_counts(
        &self,
        customer_id: &str,
        what: &str,
        counted: impl Fn(&v1::CustomerTotals) -> bool,
    ) -> anyhow::Result<v1::GetCustomerResponse> {
        eventually(what, || async {
            self.customer(customer_id).await.filter(|answer| {
                let totals = answer.customer.as_ref().and_then(|customer| customer.totals.as_ref());
                totals.is_some_and(&counted)
            })
        })
        .await
    }

    /// Every task dispatch knows, all pages.
    pub async fn all_tasks(&self, min_position: u64) -> anyhow::Result<Vec<v1::DispatchTask>> {
        let mut tasks = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .dispatch
                .clone()
                .list_tasks(v1::ListTasksRequest {
                    page_size: 100,
                    page_token: page_token.clone(),
                    min_position,
                    ..Default::default()
                })
                .await?
                .into_inner();
            tasks.extend(page.tasks);
            if page.next_page_token.is_empty() {
                return Ok(tasks);
            }
            page_token = page.next_page_token;
        }
    }
}
