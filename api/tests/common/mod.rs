//! The demo municipality as the in-process tests start from it.
#![allow(dead_code)]

use std::path::PathBuf;

/// The demo loaded into `dir/haven.duckdb` (files in `dir/demo`), analysed, and published into
/// `dir/published`; returns the store and the release folder.
pub fn published_demo(dir: &tempfile::TempDir) -> (ingest::Store, PathBuf) {
    let store = ingest::Store::open(dir.path().join("haven.duckdb")).unwrap();
    ingest::demo::generate_and_load(
        &ingest::demo::DemoSpec::standard(42),
        &dir.path().join("demo"),
        &store,
    )
    .unwrap();
    analytics::analyze_with(
        store.conn(),
        &analytics::AnalyzeOptions::default(),
        &analytics::NoProgress,
    )
    .unwrap();
    let root = dir.path().join("published");
    haven_core::publish::publish(
        &store,
        &haven_core::publish::PublishOptions::new(root.clone()),
    )
    .unwrap();
    (store, root)
}
