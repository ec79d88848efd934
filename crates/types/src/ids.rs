//! Identifiers and actors.

use std::fmt;

use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not valid: {why}")]
pub struct InvalidId {
    pub what: &'static str,
    pub value: String,
    pub why: &'static str,
}

/// An order's id: a UUID. Intake derives it from the placing request's id, so a retried
/// placement lands on the same order (see `services/intake/src/domain.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId(pub Uuid);

impl OrderId {
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        Uuid::parse_str(text).map(Self).map_err(|_| InvalidId {
            what: "order id",
            value: text.chars().take(64).collect(),
            why: "expected a UUID",
        })
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A customer's id as CRM knows it: 1-64 characters of `[A-Za-z0-9_-]`, so it is safe in a
/// NATS subject token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(String);

impl CustomerId {
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if text.is_empty() || text.len() > 64 || !text.chars().all(valid_char) {
            return Err(InvalidId {
                what: "customer id",
                value: text.chars().take(64).collect(),
                why: "expected 1-64 characters of A-Z, a-z, 0-9, '-' or '_'",
            });
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// A person using an internal tool.
    User,
    /// Another internal system calling the API.
    System,
    /// A Waybill service acting on its own (automatic rules, reactions, timers).
    Service,
}

/// Who did something; recorded on every event.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
}

impl Actor {
    pub fn user(id: impl Into<String>) -> Self {
        Self { kind: ActorKind::User, id: id.into() }
    }

    pub fn system(id: impl Into<String>) -> Self {
        Self { kind: ActorKind::System, id: id.into() }
    }

    pub fn service(id: impl Into<String>) -> Self {
        Self { kind: ActorKind::Service, id: id.into() }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ActorKind::User => "user",
            ActorKind::System => "system",
            ActorKind::Service => "service",
        };
        write!(f, "{kind}:{}", self.id)
    }
}
