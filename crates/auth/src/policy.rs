//! The policy: every RPC of every service, by its full gRPC path, and the one
//! [`Permission`] it needs. One table, enforced by one layer (`crates/runtime/src/auth.rs`)
//! and printed into docs/SECURITY.md ([`markdown`]); a test walks the services' descriptor
//! set so that a new RPC without an entry fails the build's tests instead of being served
//! unguarded (the layer denies a path it cannot find here).

use crate::role::{Permission, Role};

/// Paths the layer lets through without a token: probes must reach health, and
/// reflection is already behind its own production switch (`--reflection false`).
pub const PUBLIC_SERVICES: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

macro_rules! policy {
    ($($service:literal { $($method:literal => $permission:ident,)* })*) => {
        /// `(/waybill.v1.<Service>/<Method>, permission)` for every RPC, grouped by service.
        pub const POLICY: &[(&str, Permission)] = &[
            $($((concat!("/waybill.v1.", $service, "/", $method), Permission::$permission),)*)*
        ];
    };
}

policy! {
    "IntakeService" {
        "PlaceOrder" => PlaceOrders,
        "ReviewOrder" => ReviewOrders,
        "AmendOrder" => ChangeOrders,
        "ChangeConsigneeAddress" => ChangeOrders,
        "CancelOrder" => ChangeOrders,
        "RestoreOrder" => ChangeOrders,
        "GetOrder" => ReadOrders,
        "ListOrders" => ReadOrders,
        "ListReviewQueue" => ReviewOrders,
        "TrackOrder" => ReadOrders,
        "WatchOrder" => ReadOrders,
    }
    "DispatchService" {
        "RegisterVehicle" => ManageFleet,
        "RetireVehicle" => ManageFleet,
        "RegisterDriver" => ManageFleet,
        "SetDriverAvailability" => ManageFleet,
        "RetireDriver" => ManageFleet,
        "RecordVehicleInspection" => ManageFleet,
        "RecordVehicleMaintenance" => ManageFleet,
        "RecordDriverLicence" => ManageFleet,
        "RecordDriverTraining" => ManageFleet,
        "AssignTask" => Dispatch,
        "UnassignTask" => Dispatch,
        "MarkPacked" => HandleParcels,
        "RecordPickup" => HandleParcels,
        "RecordCheckpoint" => HandleParcels,
        "RecordArrival" => HandleParcels,
        "ReportException" => HandleParcels,
        "HandleException" => Dispatch,
        "ResolveException" => Dispatch,
        "RequestReverseShipment" => HandleCases,
        "GetTask" => ReadOperations,
        "ListTasks" => ReadOperations,
        "GetVehicle" => ReadOperations,
        "ListVehicles" => ReadOperations,
        "ListDrivers" => ReadOperations,
        "RegisterHub" => ManageFleet,
        "ReceiveGoods" => HandleParcels,
        "PutAwayGoods" => HandleParcels,
        "LoadGoodsOut" => HandleParcels,
        "CountZone" => HandleParcels,
        "GetHubStock" => ReadOperations,
        "ListStockMismatches" => ReadOperations,
    }
    "DeliveryService" {
        "RegisterCourier" => ManageFleet,
        "ChangeCourierZones" => ManageFleet,
        "RetireCourier" => ManageFleet,
        "AssignCourier" => Dispatch,
        "StartDelivery" => RecordDeliveries,
        "RecordFailedAttempt" => RecordDeliveries,
        "ConfirmDelivery" => RecordDeliveries,
        "ReportDeliveryException" => RecordDeliveries,
        "GetDelivery" => ReadDeliveries,
        "ListDeliveries" => ReadDeliveries,
        "GetCourierRoute" => ReadDeliveries,
        "PlanCourierRoute" => Dispatch,
        "ListCouriers" => ReadOperations,
    }
    "AfterSalesService" {
        "RequestReturn" => OpenCases,
        "ApproveReturn" => HandleCases,
        "RejectReturn" => HandleCases,
        "ReceiveReturn" => HandleCases,
        "RefundReturn" => ApproveRefunds,
        "CloseReturn" => HandleCases,
        "OpenClaim" => OpenCases,
        "AssessClaim" => HandleCases,
        "ApproveClaim" => PayClaims,
        "PayClaim" => PayClaims,
        "RejectClaim" => HandleCases,
        "CloseClaim" => HandleCases,
        "FileComplaint" => OpenCases,
        "AcknowledgeComplaint" => HandleCases,
        "EscalateComplaint" => HandleCases,
        "ResolveComplaint" => HandleCases,
        "CloseComplaint" => HandleCases,
        "RecordSurveyResponse" => OpenCases,
        "GetReturn" => ReadCases,
        "GetClaim" => ReadCases,
        "GetComplaint" => ReadCases,
        "ListCases" => ReadCases,
    }
    "CrmService" {
        "RegisterCustomer" => ManageCustomers,
        "UpdateCustomer" => ManageCustomers,
        "SetCreditRating" => ManageCredit,
        "PlaceCreditHold" => ManageCredit,
        "ReleaseCreditHold" => ManageCredit,
        "GetCustomer" => ReadCustomers,
        "ListCustomers" => ReadCustomers,
        "GetAbcReport" => ReadKpis,
        "GetKpis" => ReadKpis,
    }
}

/// The permission `path` (`/waybill.v1.IntakeService/PlaceOrder`) needs; `None` for a path
/// the policy does not know, which the layer denies.
pub fn permission_for(path: &str) -> Option<Permission> {
    POLICY.iter().find(|(rpc, _)| *rpc == path).map(|(_, permission)| *permission)
}

/// Whether `path` is served without a token (health, reflection).
pub fn is_public(path: &str) -> bool {
    PUBLIC_SERVICES.iter().any(|prefix| path.starts_with(prefix))
}

/// Why a verified caller may not make a call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error(
        "{path} needs the permission \"{permission}\", which none of the caller's roles ({roles}) grants"
    )]
    Missing { path: String, permission: Permission, roles: String },
    #[error("{0} is not in the access policy; calls to it are denied")]
    Unknown(String),
}

/// Decides a call: `Ok` with the permission used, or why not.
pub fn authorize(path: &str, roles: &[Role]) -> Result<Permission, Denied> {
    let permission = permission_for(path).ok_or_else(|| Denied::Unknown(path.to_owned()))?;
    if roles.iter().any(|role| role.grants(permission)) {
        return Ok(permission);
    }
    let roles = roles.iter().map(|role| role.as_str()).collect::<Vec<_>>().join(", ");
    Err(Denied::Missing { path: path.to_owned(), permission, roles })
}

/// The marker comments docs/SECURITY.md keeps the generated tables between.
pub const MARKDOWN_BEGIN: &str = "<!-- BEGIN GENERATED: waybill-token policy-markdown -->";
pub const MARKDOWN_END: &str = "<!-- END GENERATED: waybill-token policy-markdown -->";

/// The roles table and the policy table, as docs/SECURITY.md carries them between the
/// markers (`waybill-token policy-markdown` prints this).
pub fn markdown() -> String {
    let mut text = String::from("### Roles\n\n| Role | Permissions |\n|---|---|\n");
    for role in Role::ALL {
        let permissions: Vec<_> = role.permissions().iter().map(|permission| permission.as_str()).collect();
        text.push_str(&format!("| `{role}` | {} |\n", permissions.join(", ")));
    }
    text.push_str(
        "\n### Policy: the permission each RPC needs\n\n| RPC | Permission | Roles |\n|---|---|---|\n",
    );
    for (path, permission) in POLICY {
        let roles: Vec<_> = Role::ALL
            .iter()
            .filter(|role| role.grants(*permission))
            .map(|role| format!("`{role}`"))
            .collect();
        text.push_str(&format!("| `{path}` | {permission} | {} |\n", roles.join(", ")));
    }
    crate::generated::between_markers(MARKDOWN_BEGIN, &text, MARKDOWN_END)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use prost::Message;

    use super::*;

    /// Every RPC the services define, from the descriptor set they are built from.
    fn defined_rpcs() -> BTreeSet<String> {
        let set = prost_types::FileDescriptorSet::decode(waybill_proto::FILE_DESCRIPTOR_SET)
            .expect("the services' descriptor set decodes");
        let mut rpcs = BTreeSet::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    rpcs.insert(format!("/{}.{}/{}", file.package(), service.name(), method.name()));
                }
            }
        }
        rpcs
    }

    #[test]
    fn every_rpc_has_exactly_one_policy_entry_and_every_entry_names_an_rpc() {
        let defined = defined_rpcs();
        assert!(defined.len() > 50, "the descriptor set lists the services' RPCs: {defined:?}");
        let guarded: BTreeSet<String> = POLICY.iter().map(|(path, _)| (*path).to_owned()).collect();
        assert_eq!(guarded.len(), POLICY.len(), "an RPC is listed twice in POLICY");
        let unguarded: Vec<_> = defined.difference(&guarded).collect();
        assert!(
            unguarded.is_empty(),
            "RPCs with no entry in POLICY (add one to crates/auth/src/policy.rs): {unguarded:?}"
        );
        let stale: Vec<_> = guarded.difference(&defined).collect();
        assert!(stale.is_empty(), "POLICY entries that name no RPC: {stale:?}");
    }

    #[test]
    fn docs_security_md_carries_the_tables_the_code_enforces() {
        crate::generated::assert_security_md_carries(
            &markdown(),
            MARKDOWN_BEGIN,
            MARKDOWN_END,
            "roles and policy tables differ",
            "policy-markdown",
        );
    }

    #[test]
    fn a_missing_permission_is_named_and_an_unknown_rpc_denied() {
        let denied =
            authorize("/waybill.v1.CrmService/SetCreditRating", &[Role::Customer]).expect_err("denied");
        assert!(denied.to_string().contains("\"manage credit\""), "{denied}");
        assert_eq!(
            authorize("/waybill.v1.CrmService/SetCreditRating", &[Role::Customer, Role::Finance]),
            Ok(Permission::ManageCredit)
        );
        assert!(matches!(
            authorize("/waybill.v1.CrmService/DropEverything", &[Role::Administrator]),
            Err(Denied::Unknown(_))
        ));
        assert!(is_public("/grpc.health.v1.Health/Check"));
        assert!(!is_public("/waybill.v1.IntakeService/GetOrder"));
    }
}
