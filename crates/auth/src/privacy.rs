//! Personal data by role (OWASP API3): which pieces of a consignee's personal data and of
//! a proof of delivery each role needs for its work, in one table ([`Role::sees`]). The
//! services redact what a caller's roles do not need in every response that carries it
//! (`waybill_runtime::privacy` applies this table to the wire types); the table is printed
//! into docs/SECURITY.md ([`markdown`]).
//!
//! Object-level scoping comes first and is separate: a customer only ever gets its own
//! orders, a courier only its own deliveries, so "the customer sees the consignee's phone"
//! means "of its own orders".

use crate::role::Role;
use crate::token::Identity;

/// A piece of personal data a response may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PersonalData {
    /// The consignee's phone and e-mail (`consignee.contact.phone`, `.email`).
    ConsigneeContact,
    /// The consignee's street lines and postal code; city, region and country stay
    /// visible (zoning, reports).
    ConsigneeAddress,
    /// Where the goods were handed over (`proof_of_delivery.location`).
    DeliveryPosition,
    /// The recipient's signature (`proof_of_delivery.signature`).
    Signature,
    /// Whether the courier checked the recipient's ID (`proof_of_delivery.id_checked`).
    IdCheck,
    /// A CRM customer's contacts' phones and e-mails and its addresses' street lines and
    /// postal codes (`Customer.profile`); names, cities and countries stay visible.
    CustomerContact,
}

impl PersonalData {
    pub const ALL: [PersonalData; 6] = [
        PersonalData::ConsigneeContact,
        PersonalData::ConsigneeAddress,
        PersonalData::DeliveryPosition,
        PersonalData::Signature,
        PersonalData::IdCheck,
        PersonalData::CustomerContact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PersonalData::ConsigneeContact => "consignee's phone and e-mail",
            PersonalData::ConsigneeAddress => "consignee's street and postal code",
            PersonalData::DeliveryPosition => "proof of delivery: position",
            PersonalData::Signature => "proof of delivery: signature",
            PersonalData::IdCheck => "proof of delivery: ID check",
            PersonalData::CustomerContact => "customer's contacts and addresses (CRM)",
        }
    }
}

waybill_types::display_as_str!(PersonalData);

impl Role {
    /// The personal data a role needs: the one table.
    ///
    /// - the customer (its own orders and profile) and customer service: all of it, they
    ///   are who the consignee and a disputed delivery are discussed with;
    /// - the courier (its own deliveries): the consignee's contact and address to deliver,
    ///   and the proof it recorded itself; no CRM contacts;
    /// - the after-sales agent: all of it, a claim or complaint about a delivery turns on
    ///   the proof and is answered to the customer's contact;
    /// - the dispatcher: the consignee's contact and address, to plan and to arrange a new
    ///   attempt;
    /// - the order reviewer and the hub operator: the consignee's address (destination
    ///   checks, labels);
    /// - finance: the customer's contacts and addresses (invoices, credit holds), no
    ///   consignee; the analyst and the integrator: none (KPIs and status need no person);
    ///   the administrator: all.
    pub fn personal_data(self) -> &'static [PersonalData] {
        use PersonalData::*;
        match self {
            Role::Customer | Role::CustomerServiceAgent | Role::AfterSalesAgent | Role::Administrator => {
                &PersonalData::ALL
            }
            Role::Courier => &[ConsigneeContact, ConsigneeAddress, DeliveryPosition, Signature, IdCheck],
            Role::Dispatcher => &[ConsigneeContact, ConsigneeAddress],
            Role::OrderReviewer | Role::HubOperator => &[ConsigneeAddress],
            Role::Finance => &[CustomerContact],
            Role::Analyst | Role::Integrator => &[],
        }
    }

    pub fn sees(self, data: PersonalData) -> bool {
        self.personal_data().contains(&data)
    }
}

impl Identity {
    /// Whether any of the caller's roles needs `data`.
    pub fn sees(&self, data: PersonalData) -> bool {
        self.roles.iter().any(|role| role.sees(data))
    }
}

/// The marker comments docs/SECURITY.md keeps the generated table between.
pub const MARKDOWN_BEGIN: &str = "<!-- BEGIN GENERATED: waybill-token privacy-markdown -->";
pub const MARKDOWN_END: &str = "<!-- END GENERATED: waybill-token privacy-markdown -->";

/// The personal-data table as docs/SECURITY.md carries it (`waybill-token privacy-markdown`).
pub fn markdown() -> String {
    let mut text = String::from("| Role |");
    for data in PersonalData::ALL {
        text.push_str(&format!(" {data} |"));
    }
    text.push_str("\n|---|");
    text.push_str(&"---|".repeat(PersonalData::ALL.len()));
    text.push('\n');
    for role in Role::ALL {
        text.push_str(&format!("| `{role}` |"));
        for data in PersonalData::ALL {
            text.push_str(if role.sees(data) { " yes |" } else { " withheld |" });
        }
        text.push('\n');
    }
    crate::generated::between_markers(MARKDOWN_BEGIN, &text, MARKDOWN_END)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_without_a_need_see_no_personal_data() {
        for role in [Role::Analyst, Role::Integrator] {
            assert!(role.personal_data().is_empty(), "{role} sees personal data");
        }
        assert_eq!(Role::Finance.personal_data(), [PersonalData::CustomerContact], "invoices, no consignee");
        assert!(!Role::Courier.sees(PersonalData::CustomerContact));
        assert!(Role::HubOperator.sees(PersonalData::ConsigneeAddress));
        assert!(!Role::HubOperator.sees(PersonalData::ConsigneeContact));
        let both =
            Identity { roles: vec![Role::Analyst, Role::Dispatcher], ..Identity::new("x", Role::Analyst) };
        assert!(both.sees(PersonalData::ConsigneeContact), "roles add up");
        assert!(!both.sees(PersonalData::Signature));
    }

    #[test]
    fn docs_security_md_carries_the_table_the_code_applies() {
        crate::generated::assert_security_md_carries(
            &markdown(),
            MARKDOWN_BEGIN,
            MARKDOWN_END,
            "personal-data table differs",
            "privacy-markdown",
        );
    }
}
