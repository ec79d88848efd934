//! Compiles proto/ with the pure-Rust `protox` (no system protoc) and writes the
//! descriptor set for gRPC server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not with env!(): a build script compiled in one checkout and reused
    // from a copied target/ would otherwise keep compiling the first checkout's protos.
    let proto_root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "waybill/v1/envelope.proto",
        "waybill/v1/intake.proto",
        "waybill/v1/dispatch.proto",
        "waybill/v1/delivery.proto",
        "waybill/v1/aftersales.proto",
        "waybill/v1/crm.proto",
    ];
    println!("cargo:rerun-if-changed={}", proto_root.display());

    let descriptors = protox::compile(files, [&proto_root])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("waybill_descriptor.bin"), prost::Message::encode_to_vec(&descriptors))?;
    // Our codec: prost's, but undecodable bytes are INVALID_ARGUMENT (src/codec.rs).
    tonic_prost_build::configure().codec_path("crate::codec::WireCodec").compile_fds(descriptors)?;
    Ok(())
}
