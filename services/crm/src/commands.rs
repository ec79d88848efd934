//! Customers on the shared command loop (`waybill_command`): here is only what is CRM's
//! own, the Customer as an [`Aggregate`].

use waybill_types::CustomerId;

use crate::codec;
use crate::domain::{self, Command, Customer, Event, Rejection};
use crate::read_model::CrmModel;

pub use waybill_command::{Clock, CommandMeta, SystemClock};

pub type CommandRunner = waybill_command::CommandRunner<Customer, CrmModel>;
pub type CommandError = waybill_command::CommandError<Rejection>;
pub type Outcome = waybill_command::Outcome<Customer>;

waybill_command::aggregate! {
    /// On `waybill.crm.customer.<customer id>`: the id is `[A-Za-z0-9_-]`, never personal data.
    Customer("crm", "customer"): CustomerId => Event, Rejection, ();
    evolve: domain::evolve;
    encode: |id, _, event, meta| codec::encode(id, event, meta);
    decode: codec::decode => |decoded| Some((decoded.meta, decoded.event));
    decide: Command => domain::decide;
    not_found: |_| Rejection::NotFound;
}
