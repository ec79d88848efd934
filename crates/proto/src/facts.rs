//! Other services' facts, read through one typed decoder per owning service.
//!
//! A service that reacts to, or keeps a view of, another service's events depends on the
//! public contract only, never on the owner's crate. Each module here reads one owner's
//! events into a small enum of the facts other services use (dispatch's "arrived at hub",
//! intake's "order placed"), with stored values already turned into domain values
//! ([`crate::stored`]), so no read model or reaction matches prost `oneof`s by hand.
//!
//! Every `read` answers `Err` only for bytes that are no envelope at all; `Ok(None)` for an
//! envelope of another service, an empty one, or an event no other service reads. What a
//! reader does with either (stop, skip, park the event) stays its own decision.

pub mod aftersales;
pub mod crm;
pub mod delivery;
pub mod dispatch;
pub mod intake;

use crate::envelope::{self, DecodeError, Envelope, Header, OwnedEvent};

/// Decodes `payload`, takes out `E`'s service's event and turns it into a fact.
fn read<E: OwnedEvent, F>(
    payload: &[u8],
    fact: impl FnOnce(E, &Header) -> Option<F>,
) -> Result<Option<Envelope<F>>, DecodeError> {
    let Ok(Envelope { header, event }) = envelope::decode(payload)?.owned_by::<E>() else { return Ok(None) };
    Ok(fact(event, &header).map(|event| Envelope { header, event }))
}
