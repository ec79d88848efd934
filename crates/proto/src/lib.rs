//! Waybill's public contract, generated from `proto/`, plus the conversions between wire
//! types and domain types. Wire types stop here and at each service's event codec: the
//! domains never see prost types.
//!
//! - `envelope`: the event envelope, encoded and decoded in one place;
//! - `facts`: other services' events, read through one typed decoder per owner;
//! - `convert`: checked conversions of requests; `stored`: lenient ones of what is on the log;
//! - `status`: `google.rpc.BadRequest`;
//! - `codec`: the gRPC codec, so that undecodable requests are the client's mistake;
//! - `wire_enum!`: a domain enum's two conversions to and from its wire enum.

pub mod codec;
pub mod convert;
pub mod envelope;
pub mod facts;
pub mod ownership;
pub mod status;
pub mod stored;
mod wire_enum;

/// Everything in package `waybill.v1`.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("waybill.v1");
}

/// The encoded descriptor set of every Waybill proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("waybill_descriptor");

pub use convert::FieldViolations;
pub use envelope::{DecodeError, EventMeta};
