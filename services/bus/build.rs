//! Embeds every `schemas/avro/<context>/<event>.avsc` so the binary carries its contracts.
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/avro");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    for context in std::fs::read_dir(&root).expect("schemas/avro exists") {
        let context = context.expect("readable schemas dir").path();
        if !context.is_dir() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", context.display());
        for file in std::fs::read_dir(&context).expect("readable context dir") {
            let path = file.expect("readable schema file").path();
            if path.extension().is_some_and(|e| e == "avsc") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = String::from("pub(crate) static EMBEDDED_SCHEMAS: &[(&str, &str)] = &[\n");
    for path in files {
        let relative = path.strip_prefix(&root).expect("under root").to_string_lossy().replace('\\', "/");
        let absolute = path.canonicalize().expect("canonical path");
        writeln!(out, "    ({relative:?}, include_str!({:?})),", absolute.to_string_lossy()).expect("write");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("schemas.rs");
    std::fs::write(dest, out).expect("write schemas.rs");
}
