//! Minting a dev token from the command line: the one implementation behind both
//! `waybill-token mint` and the operator's `waybill token mint`.

use std::path::PathBuf;
use std::time::Duration;

use crate::{Identity, Role, Signer};

/// Who the token is for, and the key that signs it.
#[derive(Clone, Debug, clap::Args)]
pub struct MintArgs {
    /// The private key (`<kid>.key.pem`, made by `waybill-token keygen`; the key id is
    /// taken from the name).
    #[arg(long, env = "WAYBILL_TOKEN_KEY")]
    pub key: PathBuf,
    /// A role (repeat for several): customer, customer-service-agent, order-reviewer,
    /// dispatcher, hub-operator, courier, after-sales-agent, finance, analyst,
    /// integrator, administrator.
    #[arg(long = "role", required = true)]
    pub roles: Vec<Role>,
    /// The subject, recorded as `user:<sub>` on every event the caller causes.
    #[arg(long)]
    pub sub: String,
    /// The CRM customer a customer acts for (required with the customer role).
    #[arg(long)]
    pub customer_id: Option<String>,
    /// The courier id (required with the courier role).
    #[arg(long)]
    pub courier_id: Option<String>,
    /// Lifetime: `90s`, `30m`, `8h`, `2d`.
    #[arg(long, default_value = "8h", value_parser = parse_ttl)]
    pub ttl: Duration,
    #[arg(long, env = "WAYBILL_AUTH_ISSUER", default_value = crate::token::DEFAULT_ISSUER)]
    pub issuer: String,
    #[arg(long, env = "WAYBILL_AUTH_AUDIENCE", default_value = crate::token::DEFAULT_AUDIENCE)]
    pub audience: String,
}

impl MintArgs {
    /// The signed token; an identity the services would refuse (a customer without its
    /// customer id, say) is refused here, saying why.
    pub fn mint(self) -> anyhow::Result<String> {
        let mut signer = Signer::from_pem_file(&self.key)?;
        signer.issuer = self.issuer;
        signer.audience = self.audience;
        let identity = Identity {
            sub: self.sub,
            roles: self.roles,
            customer_id: self.customer_id,
            courier_id: self.courier_id,
        };
        identity.check()?;
        signer.mint(identity, self.ttl)
    }
}

/// `90s`, `30m`, `8h`, `2d`.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let number: u64 = number.parse().map_err(|_| format!("{text:?}: expected e.g. 90s, 30m, 8h, 2d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit must be s, m, h or d")),
    };
    number.checked_mul(seconds).map(Duration::from_secs).ok_or_else(|| format!("{text:?}: too long"))
}
