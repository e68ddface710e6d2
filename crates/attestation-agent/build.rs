//! Generates the ttRPC bindings of guest-components' `attestation-agent.proto` with the pure-Rust
//! protobuf parser (no `protoc` needed).

fn main() -> std::io::Result<()> {
    #[cfg(feature = "server")]
    generate()?;
    Ok(())
}

#[cfg(feature = "server")]
fn generate() -> std::io::Result<()> {
    use std::path::PathBuf;
    let proto = "protos/attestation-agent.proto";
    println!("cargo:rerun-if-changed={proto}");
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(std::io::Error::other)?);
    ttrpc_codegen::Codegen::new()
        .out_dir(&out)
        .inputs([proto])
        .include("protos")
        .rust_protobuf()
        .customize(ttrpc_codegen::Customize { async_all: true, ..Default::default() })
        .rust_protobuf_customize(ttrpc_codegen::ProtobufCustomize::default().gen_mod_rs(false))
        .run()?;
    // The generated files open with inner attributes and inner doc comments, which `include!` cannot
    // take; the including module carries the allowances instead.
    for name in ["attestation_agent.rs", "attestation_agent_ttrpc.rs"] {
        let p = out.join(name);
        let src = std::fs::read_to_string(&p)?;
        let kept: Vec<&str> = src.lines().filter(|l| !(l.starts_with("#![") || l.starts_with("//!"))).collect();
        std::fs::write(&p, kept.join("\n"))?;
    }
    Ok(())
}
