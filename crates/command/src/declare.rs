//! Declaring an aggregate: [`aggregate!`](crate::aggregate) writes the [`Aggregate`] (and,
//! given `decide`, the [`Decider`]) impl from the pieces a service already has.
//!
//! Every service's aggregates were the same forty lines around five facts: the subject
//! (`waybill.<service>.<kind>[.<order id>].<id>`), the `evolve` and `decide` functions of the
//! domain, the codec's encode and decode, and the rejection for "not found". The macro takes just those facts, so a
//! service's `commands.rs` says what is its own and nothing else:
//!
//! ```ignore
//! waybill_command::aggregate! {
//!     Order("intake", "order"): OrderId => Event, Rejection, Policy;
//!     order: waybill_command::declare::the_order;
//!     evolve: domain::evolve;
//!     encode: |id, _, event, meta| codec::encode(*id, event, meta);
//!     decode: codec::decode => |decoded| Some((decoded.meta, decoded.event));
//!     decide: Command => |state, command, context| domain::decide(state, command.clone(), context);
//!     not_found: |_| Rejection::NotFound;
//! }
//! ```
//!
//! `order` says which order an aggregate is about, so that its subject carries it
//! (docs/EVENTS.md, "Subjects"): [`the_order`] for the order's own aggregates, a function of
//! the state for one with an id of its own (a return names its order), and nothing for an
//! aggregate about no order (a vehicle, a customer).
//!
//! Each piece is a function, or a closure that captures nothing (it becomes a function
//! pointer of the trait method's signature, so its parameters need no types).
//!
//! [`Aggregate`]: crate::Aggregate
//! [`Decider`]: crate::Decider

use std::fmt;

use crate::EventMeta;

/// What the macro's expansion names, so a service needs no import for it.
#[doc(hidden)]
pub mod reexport {
    pub use waybill_eventlog::{NewEvent, subject};
    pub use waybill_types::Timestamp;
}

/// `order` of an aggregate that is the order's own (the order, its task, its ledger): its id
/// is the order's.
pub fn the_order<I: fmt::Display, S>(id: &I, _state: Option<&S>) -> Option<String> {
    Some(id.to_string())
}

/// One aggregate's event from what its service's codec decoded: `pick` answers `None`
/// for another aggregate's event (one that does not belong on this subject).
pub fn decode_as<D, E: fmt::Display, T>(
    decoded: Result<D, E>,
    pick: impl FnOnce(D) -> Option<(EventMeta, T)>,
) -> Result<(EventMeta, T), String> {
    let decoded = decoded.map_err(|error| error.to_string())?;
    pick(decoded).ok_or_else(|| format!("not an event of a {}", short_name::<T>()))
}

/// `DeliveryEvent` for `waybill_delivery::domain::DeliveryEvent`: enough for an error.
fn short_name<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    name.rsplit("::").next().unwrap_or(name)
}

/// Implements [`Aggregate`](crate::Aggregate), and [`Decider`](crate::Decider) when
/// `decide` and `not_found` are given, for a service's aggregate (see the module docs).
///
/// `State("service", "kind"): Id => Event, Rejection, Policy;`, then `order` if it is about
/// an order (its subject is `waybill.<service>.<kind>.<order id>.<id>`, else
/// `waybill.<service>.<kind>.<id>`), `evolve`, `encode`, and
/// `decode: codec_fn => pick` (the codec's decode, and which of its results are this
/// aggregate's).
#[macro_export]
macro_rules! aggregate {
    (
        $(#[$attr:meta])*
        $state:ident($service:literal, $kind:literal): $id:ty => $event:ty, $rejection:ty, $policy:ty;
        $(order: $order:expr;)?
        evolve: $evolve:expr;
        encode: $encode:expr;
        decode: $decode:expr => $pick:expr;
        $(decide: $command:ty => $decide:expr; not_found: $not_found:expr;)?
    ) => {
        $(#[$attr])*
        impl $crate::Aggregate for $state {
            type Id = $id;
            type Event = $event;
            type Rejection = $rejection;
            type Policy = $policy;

            #[allow(unused_variables)]
            fn subject(id: &$id, state: Option<&$state>) -> String {
                let order: Option<String> = None;
                $(
                    let of: fn(&$id, Option<&$state>) -> Option<String> = $order;
                    let order = of(id, state);
                )?
                $crate::declare::reexport::subject::scoped($service, $kind, order.as_deref(), &id.to_string())
            }

            fn evolve(
                state: Option<$state>,
                event: &$event,
                at: $crate::declare::reexport::Timestamp,
            ) -> Option<$state> {
                let evolve: fn(Option<$state>, &$event, $crate::declare::reexport::Timestamp) -> Option<$state> =
                    $evolve;
                evolve(state, event, at)
            }

            fn encode(
                id: &$id,
                state: Option<&$state>,
                event: &$event,
                meta: &$crate::EventMeta,
            ) -> $crate::declare::reexport::NewEvent {
                let encode: fn(
                    &$id,
                    Option<&$state>,
                    &$event,
                    &$crate::EventMeta,
                ) -> $crate::declare::reexport::NewEvent = $encode;
                encode(id, state, event, meta)
            }

            fn decode(payload: &[u8]) -> Result<($crate::EventMeta, $event), String> {
                $crate::declare::decode_as(($decode)(payload), $pick)
            }
        }

        $(
            impl $crate::Decider for $state {
                type Command = $command;

                fn decide(
                    state: Option<&$state>,
                    command: &$command,
                    context: &$crate::Context<'_, $policy>,
                ) -> Result<Vec<$event>, $rejection> {
                    let decide: fn(
                        Option<&$state>,
                        &$command,
                        &$crate::Context<'_, $policy>,
                    ) -> Result<Vec<$event>, $rejection> = $decide;
                    decide(state, command, context)
                }

                fn not_found(id: &$id) -> $rejection {
                    let not_found: fn(&$id) -> $rejection = $not_found;
                    not_found(id)
                }
            }
        )?
    };
}
