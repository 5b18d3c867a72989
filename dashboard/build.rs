//! Builds the web front end with npm (esbuild bundles the ES modules; MapLibre GL JS is copied
//! as it ships) into `OUT_DIR/dist`, then lists every file for `include_bytes!`, so the `haven`
//! binary carries the whole dashboard and `cargo build` needs no extra step.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let web = manifest_dir.join("web");
    for p in [
        "src",
        "index.html",
        "build.mjs",
        "package.json",
        "package-lock.json",
    ] {
        println!("cargo:rerun-if-changed=web/{p}");
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let dist = out.join("dist");

    // npm ci when the installed packages are missing or older than the lock file.
    let installed = web.join("node_modules/.package-lock.json");
    let stale = match (
        modified(&installed),
        modified(&web.join("package-lock.json")),
    ) {
        (Some(i), Some(l)) => i < l,
        _ => true,
    };
    if stale {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&web),
            "npm ci",
        );
    }
    run(
        Command::new("node")
            .arg("build.mjs")
            .arg(&dist)
            .current_dir(&web),
        "node build.mjs",
    );

    // manifest.tsv: name, content type, etag; each file also comes gzipped as name.gz.
    let manifest = fs::read_to_string(dist.join("manifest.tsv")).expect("dist/manifest.tsv");
    let mut rs = String::from("pub static ASSETS: &[Asset] = &[\n");
    for line in manifest.lines().filter(|l| !l.is_empty()) {
        let mut parts = line.split('\t');
        let (name, ctype, etag) = (
            parts.next().expect("name"),
            parts.next().expect("type"),
            parts.next().expect("etag"),
        );
        let file = dist.join(name);
        rs.push_str(&format!(
            "    Asset {{ name: {name:?}, content_type: {ctype:?}, etag: {etag:?}, body: include_bytes!({body:?}), gzip: include_bytes!({gz:?}) }},\n",
            body = file.display().to_string(),
            gz = format!("{}.gz", file.display()),
        ));
    }
    rs.push_str("];\n");
    fs::write(out.join("assets.rs"), rs).expect("write assets.rs");
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn run(cmd: &mut Command, what: &str) {
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{what} failed ({s}) in dashboard/web"),
        Err(e) => panic!(
            "{what}: {e}. The dashboard is built with Node.js (18 or later) and npm: install them \
             (Debian: apt-get install nodejs npm) and build again"
        ),
    }
}
