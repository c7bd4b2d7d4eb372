//! Embeds every `schemas/avro/<context>/<event>.avsc` so the binary carries its contracts.
use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/avro");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    for context in std::fs::read_dir(&root)? {
        let context = context?.path();
        if !context.is_dir() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", context.display());
        for file in std::fs::read_dir(&context)? {
            let path = file?.path();
            if path.extension().is_some_and(|e| e == "avsc") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = String::from("pub(crate) static EMBEDDED_SCHEMAS: &[(&str, &str)] = &[\n");
    for path in files {
        let relative = path
            .strip_prefix(&root)?
            .to_string_lossy()
            .replace('\\', "/");
        let absolute = path.canonicalize()?;
        writeln!(
            out,
            "    ({relative:?}, include_str!({:?})),",
            absolute.to_string_lossy()
        )?;
    }
    out.push_str("];\n");
    std::fs::write(
        Path::new(&std::env::var("OUT_DIR")?).join("schemas.rs"),
        out,
    )?;
    Ok(())
}
