//! What the inspection core's integration tests share: the shipped rules and
//! the fixture messages.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cordon_inspect::Inspector;

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The inspector for the shipped rules, built once.
pub fn inspector() -> &'static Inspector {
    static INSPECTOR: OnceLock<Inspector> = OnceLock::new();
    INSPECTOR.get_or_init(|| Inspector::load(&root().join("rules")).expect("shipped rules load"))
}

/// Every fixture message but the zip bomb (slow to mutate meaningfully; it
/// has its own fixture test), sorted by path.
pub fn fixture_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures"))
        .expect("fixtures")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .filter(|p| !p.to_string_lossy().contains("zip-bomb"))
        .collect();
    paths.sort();
    paths
}
