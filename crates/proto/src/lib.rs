//! Waybill's public contract, generated from `proto/`, plus the conversions between wire
//! types and domain types. Wire types stop here and at each service's event codec: the
//! domains never see prost types.

pub mod convert;
pub mod status;

/// Everything in package `waybill.v1`.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("waybill.v1");
}

/// The encoded descriptor set of every Waybill proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("waybill_descriptor");

pub use convert::FieldViolations;
