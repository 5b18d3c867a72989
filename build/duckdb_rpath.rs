//! Shared build script: lets binaries and test executables find the prebuilt libduckdb that
//! scripts/setup-duckdb.sh unpacks, without LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    let bundled = std::env::var_os("CARGO_FEATURE_BUNDLED").is_some();
    if let (Ok(dir), false) = (std::env::var("DUCKDB_LIB_DIR"), bundled) {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
