//! Why a command was refused; `error.rs` maps each to a gRPC status.

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("customer not found")]
    NotFound,
    #[error("customer already registered")]
    AlreadyRegistered,
    /// The command does not apply to the customer as it is (named in `state`).
    #[error("cannot {action} a customer that is {state}")]
    InvalidState { action: &'static str, state: &'static str },
}
