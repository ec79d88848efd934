//! Who may call what. The vocabulary (roles and permissions in the business's words), the
//! policy (every RPC of every service and the permission it needs), and bearer tokens
//! (verifying JWTs against configured keys; minting them for dev and tests), and which
//! personal data each role needs (`privacy`); and the dev CA `make run` serves TLS with
//! (`dev_certs`).
//!
//! No server code here: `crates/runtime/src/auth.rs` is the one layer that enforces this
//! on every gRPC port; `waybill-token` (this crate's binary) makes dev keys and tokens and
//! prints the tables docs/SECURITY.md carries; [`mint`] is its token minting, which the
//! operator's `waybill token mint` runs too.

pub mod dev_certs;
mod generated;
pub mod mint;
pub mod policy;
pub mod privacy;
pub mod role;
pub mod token;

pub use policy::{Denied, POLICY, authorize, is_public, permission_for};
pub use privacy::PersonalData;
pub use role::{Permission, Role};
pub use token::{Claims, ConfigError, Identity, Signer, Verifier, VerifierConfig, VerifyError};
