//! Embeds every string catalogue of the dashboard (`dashboard/web/src/i18n/*.json`), so that a
//! new language for the report is the same one new file as for the dashboard.
use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("../dashboard/web/src/i18n")
        .canonicalize()
        .expect("the dashboard's catalogues");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the dashboard's catalogues")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// Every catalogue: (language code, JSON text).\npub(crate) const CATALOGUES: &[(&str, &str)] = &[\n",
    );
    for f in files {
        println!("cargo:rerun-if-changed={}", f.display());
        let code = f.file_stem().unwrap().to_string_lossy();
        writeln!(
            out,
            "    ({code:?}, include_str!({:?})),",
            f.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("catalogues.rs");
    std::fs::write(dest, out).unwrap();
}
