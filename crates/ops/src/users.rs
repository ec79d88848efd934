//! Who may do what on NATS, in one table.
//!
//! JetStream's API is subjects, so a user's rights are the subjects it may publish to and
//! subscribe on (allow lists, plus deny lists carved out of them):
//!
//! - A **service** publishes its own events (`waybill.<service>.>`) and dead letters
//!   (`deadletter.<service>.>`) and nothing of another service's. It reads the whole log
//!   (every read model follows everyone's events) through stream info, direct gets and
//!   ordered consumers, and pulls and acks only through its own durable consumers. It may
//!   not create, update, delete or purge a stream: the `ops` bootstrap owns the streams.
//! - Ordered consumers (the read models, `WatchOrder`) are ephemeral with names the client
//!   generates (async-nats recreates one as `<name>_<n>` after a gap and deletes the old
//!   one), so creating and deleting consumers cannot be narrowed to a name a service
//!   chooses. It is narrowed the other way: every durable name of every service is denied
//!   to everyone else, so no user can re-create (re-filter), delete, pull from or ack for
//!   another's durable. NATS permissions match whole tokens, so a name prefix could not
//!   express this.
//! - The **integrator** reads the log the same way and may create its own consumers under
//!   any name that is not a service's durable; it publishes nothing to the log.
//! - The **console** (`waybill-console --dead-letters`) reads the dead letters for the
//!   operations board: stream info and direct gets on the dead-letter stream, nothing of
//!   the event stream, and it publishes nothing to the log.
//! - **ops** runs the bootstrap and administers streams and consumers; it publishes no
//!   events. **sys** is the system account's user, for server monitoring.
//!
//! Every grant here is exercised against a real nats-server by `tests/permissions.rs`.

use waybill_eventlog::StreamSettings;

/// The five services, each its own NATS user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    Intake,
    Dispatch,
    Delivery,
    Aftersales,
    Crm,
}

impl Service {
    pub const ALL: [Service; 5] =
        [Service::Intake, Service::Dispatch, Service::Delivery, Service::Aftersales, Service::Crm];

    /// Its name: the NATS user, the second token of its subjects, its binary's suffix.
    pub fn name(self) -> &'static str {
        match self {
            Service::Intake => "intake",
            Service::Dispatch => "dispatch",
            Service::Delivery => "delivery",
            Service::Aftersales => "aftersales",
            Service::Crm => "crm",
        }
    }

    /// Its gRPC API, as grpc.health.v1 and reflection name it.
    pub fn grpc_service(self) -> &'static str {
        match self {
            Service::Intake => "waybill.v1.IntakeService",
            Service::Dispatch => "waybill.v1.DispatchService",
            Service::Delivery => "waybill.v1.DeliveryService",
            Service::Aftersales => "waybill.v1.AfterSalesService",
            Service::Crm => "waybill.v1.CrmService",
        }
    }

    /// The service called `name`, if any.
    pub fn named(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|service| service.name() == name)
    }

    /// The service whose gRPC API is `grpc_service` (`waybill.v1.IntakeService`).
    pub fn serving(grpc_service: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|service| service.grpc_service() == grpc_service)
    }

    /// Its durable consumers, with what each is for. Each service's `reactions.rs` names
    /// the same consumers; a durable missing here cannot pull or ack, and the service's
    /// own tests (which run as this user) fail.
    pub fn durables(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Service::Intake => &[
                ("intake-auto-review", "the automatic reviewer"),
                ("intake-fulfilment", "pickup and delivery facts"),
            ],
            Service::Dispatch => &[
                ("dispatch-orders", "plans, replans and cancels tasks from intake's events"),
                ("dispatch-returns", "reverse shipments for approved returns"),
            ],
            Service::Delivery => &[
                ("delivery-arrivals", "schedules the last mile"),
                ("delivery-orders", "address changes"),
                ("delivery-routes", "re-plans a courier's run after a failed attempt or a new stop"),
                ("delivery-notifications", "tells the consignee about each milestone"),
            ],
            Service::Aftersales => &[("aftersales-claims", "opens a claim for a damaged or lost delivery")],
            Service::Crm => &[],
        }
    }
}

/// A NATS user of Waybill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum User {
    /// Bootstraps streams; administers streams and consumers.
    Ops,
    /// One service.
    Service(Service),
    /// An outside reader of the log (analytics, partners' bridges).
    Integrator,
    /// The web console: reads the dead letters, nothing else.
    Console,
    /// The system account's user, for monitoring (`$SYS`); no JetStream.
    Sys,
}

impl User {
    /// Every user, in the order the configuration lists them.
    pub fn all() -> Vec<User> {
        let mut users: Vec<User> = Service::ALL.into_iter().map(User::Service).collect();
        users.extend([User::Integrator, User::Console, User::Ops, User::Sys]);
        users
    }

    /// The NATS user name.
    pub fn name(self) -> &'static str {
        match self {
            User::Ops => "ops",
            User::Service(service) => service.name(),
            User::Integrator => "integrator",
            User::Console => "console",
            User::Sys => "sys",
        }
    }

    /// The environment variable the production configuration reads the password from.
    pub fn password_variable(self) -> String {
        match self {
            User::Ops => "NATS_OPS_PASSWORD".to_owned(),
            User::Sys => "NATS_SYS_PASSWORD".to_owned(),
            User::Service(service) => {
                format!("WAYBILL_{}_NATS_PASSWORD", service.name().to_ascii_uppercase())
            }
            User::Integrator => "WAYBILL_INTEGRATOR_NATS_PASSWORD".to_owned(),
            User::Console => "WAYBILL_CONSOLE_NATS_PASSWORD".to_owned(),
        }
    }

    /// What the user may publish and subscribe to; `None` for `sys`, whose rights come
    /// from the system account.
    pub fn permissions(self, streams: &StreamSettings) -> Option<Permissions> {
        let events = streams.name.as_str();
        let every_durable =
            || Service::ALL.into_iter().flat_map(|service| service.durables()).map(|(name, _)| *name);
        let reading = reading_the_log(streams);
        let inboxes = vec!["_INBOX.>".to_owned()];
        match self {
            User::Sys => None,
            User::Ops => Some(Permissions {
                // waybill.ops.>: operators' records such as waivers (crates/eventlog waiver.rs).
                publish_allow: vec!["$JS.API.>".to_owned(), "waybill.ops.>".to_owned()],
                publish_deny: Vec::new(),
                subscribe_allow: inboxes,
                explanation: "the stream bootstrap and administration; waivers; publishes no service's events",
            }),
            User::Service(service) => {
                let own: Vec<&str> = service.durables().iter().map(|(name, _)| *name).collect();
                let mut publish_allow =
                    vec![format!("waybill.{}.>", service.name()), format!("deadletter.{}.>", service.name())];
                publish_allow.extend(reading);
                for durable in &own {
                    publish_allow.push(format!("$JS.API.CONSUMER.MSG.NEXT.{events}.{durable}"));
                    publish_allow.push(format!("$JS.ACK.{events}.{durable}.>"));
                }
                // Others' durables may not be re-created or deleted; its own may be created
                // (at start) but not deleted.
                let mut publish_deny = Vec::new();
                for durable in every_durable() {
                    if !own.contains(&durable) {
                        publish_deny.push(format!("$JS.API.CONSUMER.CREATE.{events}.{durable}"));
                        publish_deny.push(format!("$JS.API.CONSUMER.CREATE.{events}.{durable}.>"));
                    }
                    publish_deny.push(format!("$JS.API.CONSUMER.DELETE.{events}.{durable}"));
                }
                Some(Permissions {
                    publish_allow,
                    publish_deny,
                    subscribe_allow: inboxes,
                    explanation: "its own events and dead letters; reads the log; its own durables",
                })
            }
            User::Integrator => {
                let mut publish_allow = reading;
                publish_allow.push(format!("$JS.API.CONSUMER.MSG.NEXT.{events}.*"));
                publish_allow.push(format!("$JS.ACK.{events}.>"));
                let mut publish_deny = Vec::new();
                for durable in every_durable() {
                    publish_deny.push(format!("$JS.API.CONSUMER.CREATE.{events}.{durable}"));
                    publish_deny.push(format!("$JS.API.CONSUMER.CREATE.{events}.{durable}.>"));
                    publish_deny.push(format!("$JS.API.CONSUMER.DELETE.{events}.{durable}"));
                    publish_deny.push(format!("$JS.API.CONSUMER.MSG.NEXT.{events}.{durable}"));
                    publish_deny.push(format!("$JS.ACK.{events}.{durable}.>"));
                }
                Some(Permissions {
                    publish_allow,
                    publish_deny,
                    subscribe_allow: inboxes,
                    explanation: "reads the log; its own consumers; publishes nothing to the log",
                })
            }
            User::Console => {
                // What `waybill_eventlog::DeadLetterStream` sends: the stream's info, then
                // direct gets (by sequence, next for a subject filter, last on a subject).
                let dead_letters = streams.dead_letter_stream.as_str();
                Some(Permissions {
                    publish_allow: vec![
                        format!("$JS.API.STREAM.INFO.{dead_letters}"),
                        format!("$JS.API.DIRECT.GET.{dead_letters}"),
                        format!("$JS.API.DIRECT.GET.{dead_letters}.>"),
                    ],
                    publish_deny: Vec::new(),
                    subscribe_allow: inboxes,
                    explanation: "the console: reads the dead letters; nothing of the event stream, publishes nothing",
                })
            }
        }
    }
}

/// Reading the event log: stream info, direct and plain gets, consumers of its own.
fn reading_the_log(streams: &StreamSettings) -> Vec<String> {
    let events = streams.name.as_str();
    vec![
        "$JS.API.INFO".to_owned(),
        format!("$JS.API.STREAM.INFO.{events}"),
        format!("$JS.API.STREAM.INFO.{}", streams.dead_letter_stream),
        format!("$JS.API.STREAM.MSG.GET.{events}"),
        format!("$JS.API.DIRECT.GET.{events}"),
        format!("$JS.API.DIRECT.GET.{events}.>"),
        // Ordered consumers: created without a name (the server names them), re-created
        // under a generated one, the old one deleted; flow control answered.
        format!("$JS.API.CONSUMER.CREATE.{events}"),
        format!("$JS.API.CONSUMER.CREATE.{events}.*"),
        format!("$JS.API.CONSUMER.CREATE.{events}.*.>"),
        format!("$JS.API.CONSUMER.DELETE.{events}.*"),
        format!("$JS.API.CONSUMER.INFO.{events}.*"),
        format!("$JS.FC.{events}.>"),
    ]
}

/// One user's rights: subjects it may publish to (less the denied ones) and subscribe on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permissions {
    pub publish_allow: Vec<String>,
    pub publish_deny: Vec<String>,
    pub subscribe_allow: Vec<String>,
    /// One line on what the rights are for, written into the configuration.
    pub explanation: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_is_found_by_its_grpc_api() {
        assert_eq!(Service::serving("waybill.v1.IntakeService"), Some(Service::Intake));
        assert_eq!(Service::serving("waybill.v1.AfterSalesService"), Some(Service::Aftersales));
        assert_eq!(Service::serving("waybill.v1.CrmService"), Some(Service::Crm));
        assert_eq!(Service::serving("grpc.health.v1.Health"), None);
    }

    #[test]
    fn no_service_may_publish_another_services_events_or_touch_a_stream() {
        let streams = StreamSettings::default();
        for service in Service::ALL {
            let Some(rights) = User::Service(service).permissions(&streams) else { panic!("no rights") };
            for subject in &rights.publish_allow {
                assert!(!subject.starts_with("$JS.API.STREAM.CREATE"), "{service:?}: {subject}");
                assert!(!subject.starts_with("$JS.API.STREAM.UPDATE"), "{service:?}: {subject}");
                assert!(!subject.starts_with("$JS.API.STREAM.DELETE"), "{service:?}: {subject}");
                assert!(!subject.starts_with("$JS.API.STREAM.PURGE"), "{service:?}: {subject}");
                if let Some(rest) = subject.strip_prefix("waybill.") {
                    assert_eq!(rest, format!("{}.>", service.name()));
                }
            }
        }
    }
}
