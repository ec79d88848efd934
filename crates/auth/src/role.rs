//! Who a caller is to the business (a [`Role`]) and what each role may do (its
//! [`Permission`]s), in one table: [`Role::permissions`]. The RPC side of the policy
//! (which permission each call needs) is in `policy.rs`.

use serde::{Deserialize, Serialize};

/// A caller's role, as a token names it (`"dispatcher"`, `"hub-operator"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// An external shipper, bound to one CRM customer id (the token's `customer_id`).
    Customer,
    /// Takes orders and changes on a customer's behalf; registers customers.
    CustomerServiceAgent,
    /// Works the manual review queue (hazardous goods, held credit).
    OrderReviewer,
    /// Plans the work: assigns tasks and couriers, handles transport exceptions, keeps the
    /// fleet (vehicles, drivers, couriers).
    Dispatcher,
    /// Packs, picks up, scans checkpoints and arrivals in a hub or warehouse.
    HubOperator,
    /// Delivers, bound to one courier id (the token's `courier_id`).
    Courier,
    /// Works returns, claims and complaints.
    AfterSalesAgent,
    /// Refunds, claim payments and credit.
    Finance,
    /// Reads KPIs and reports, nothing else.
    Analyst,
    /// An outside system reading orders, operations and the event log; never writes.
    Integrator,
    /// Everything.
    Administrator,
}

/// What a call does, in the business's words; each RPC needs exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    PlaceOrders,
    ChangeOrders,
    ReviewOrders,
    ReadOrders,
    ManageCustomers,
    ManageCredit,
    ReadCustomers,
    ManageFleet,
    Dispatch,
    HandleParcels,
    ReadOperations,
    RecordDeliveries,
    ReadDeliveries,
    OpenCases,
    HandleCases,
    ApproveRefunds,
    PayClaims,
    ReadCases,
    ReadKpis,
    /// Reading the event log over NATS (the integrator's consumers); no RPC needs it.
    ReadEventLog,
}

impl Role {
    pub const ALL: [Role; 11] = [
        Role::Customer,
        Role::CustomerServiceAgent,
        Role::OrderReviewer,
        Role::Dispatcher,
        Role::HubOperator,
        Role::Courier,
        Role::AfterSalesAgent,
        Role::Finance,
        Role::Analyst,
        Role::Integrator,
        Role::Administrator,
    ];

    /// The role table: what each role may do.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Customer => &[PlaceOrders, ChangeOrders, ReadOrders, OpenCases, ReadCases, ReadCustomers],
            Role::CustomerServiceAgent => &[
                PlaceOrders,
                ChangeOrders,
                ReadOrders,
                ManageCustomers,
                ReadCustomers,
                ReadDeliveries,
                OpenCases,
                ReadCases,
            ],
            Role::OrderReviewer => &[ReviewOrders, ReadOrders, ReadCustomers],
            Role::Dispatcher => &[Dispatch, ManageFleet, ReadOperations, ReadDeliveries, ReadOrders],
            Role::HubOperator => &[HandleParcels, ReadOperations, ReadOrders],
            Role::Courier => &[RecordDeliveries, ReadDeliveries],
            Role::AfterSalesAgent => &[HandleCases, OpenCases, ReadCases, ReadOrders, ReadCustomers],
            Role::Finance => &[ApproveRefunds, PayClaims, ManageCredit, ReadCases, ReadCustomers, ReadKpis],
            Role::Analyst => &[ReadKpis],
            Role::Integrator => &[
                ReadOrders,
                ReadOperations,
                ReadDeliveries,
                ReadCases,
                ReadCustomers,
                ReadKpis,
                ReadEventLog,
            ],
            Role::Administrator => &Permission::ALL,
        }
    }

    pub fn grants(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// The name tokens and flags use (`hub-operator`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::CustomerServiceAgent => "customer-service-agent",
            Role::OrderReviewer => "order-reviewer",
            Role::Dispatcher => "dispatcher",
            Role::HubOperator => "hub-operator",
            Role::Courier => "courier",
            Role::AfterSalesAgent => "after-sales-agent",
            Role::Finance => "finance",
            Role::Analyst => "analyst",
            Role::Integrator => "integrator",
            Role::Administrator => "administrator",
        }
    }
}

waybill_types::display_as_str!(Role, Permission);

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Role::ALL.into_iter().find(|role| role.as_str() == text).ok_or_else(|| {
            let known: Vec<_> = Role::ALL.iter().map(|role| role.as_str()).collect();
            format!("unknown role {text:?} (known: {})", known.join(", "))
        })
    }
}

impl Permission {
    pub const ALL: [Permission; 20] = [
        Permission::PlaceOrders,
        Permission::ChangeOrders,
        Permission::ReviewOrders,
        Permission::ReadOrders,
        Permission::ManageCustomers,
        Permission::ManageCredit,
        Permission::ReadCustomers,
        Permission::ManageFleet,
        Permission::Dispatch,
        Permission::HandleParcels,
        Permission::ReadOperations,
        Permission::RecordDeliveries,
        Permission::ReadDeliveries,
        Permission::OpenCases,
        Permission::HandleCases,
        Permission::ApproveRefunds,
        Permission::PayClaims,
        Permission::ReadCases,
        Permission::ReadKpis,
        Permission::ReadEventLog,
    ];

    /// The permission in words, as PERMISSION_DENIED and docs/SECURITY.md name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::PlaceOrders => "place orders",
            Permission::ChangeOrders => "change orders",
            Permission::ReviewOrders => "review orders",
            Permission::ReadOrders => "read orders",
            Permission::ManageCustomers => "manage customers",
            Permission::ManageCredit => "manage credit",
            Permission::ReadCustomers => "read customers",
            Permission::ManageFleet => "manage the fleet",
            Permission::Dispatch => "dispatch",
            Permission::HandleParcels => "handle parcels",
            Permission::ReadOperations => "read operations",
            Permission::RecordDeliveries => "record deliveries",
            Permission::ReadDeliveries => "read deliveries",
            Permission::OpenCases => "open after-sales cases",
            Permission::HandleCases => "handle after-sales cases",
            Permission::ApproveRefunds => "approve refunds",
            Permission::PayClaims => "pay claims",
            Permission::ReadCases => "read after-sales cases",
            Permission::ReadKpis => "read KPIs and reports",
            Permission::ReadEventLog => "read the event log",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            let json = serde_json::to_string(&role).expect("serialize");
            assert_eq!(json, format!("\"{role}\""), "tokens and flags spell roles alike");
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn every_permission_is_granted_to_someone_besides_the_administrator() {
        for permission in Permission::ALL {
            assert!(
                Role::ALL.iter().any(|role| *role != Role::Administrator && role.grants(permission)),
                "{permission} is only the administrator's"
            );
        }
    }

    #[test]
    fn the_analyst_and_the_integrator_never_write() {
        for role in [Role::Analyst, Role::Integrator] {
            for permission in role.permissions() {
                assert!(
                    permission.as_str().starts_with("read"),
                    "{role} may {permission}, which is not a read"
                );
            }
        }
    }
}
