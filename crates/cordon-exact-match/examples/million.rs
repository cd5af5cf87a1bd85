//! Prints the load time and memory of a synthetic 1,000,000-row export (the
//! figures to quote): `cargo run --release -p cordon-exact-match --example
//! million [ROWS]`.

#[allow(dead_code)] // the prose helpers serve the benchmark only
#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use std::time::Instant;

use cordon_exact_match::ExactMatchIndex;

fn main() {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nominals.csv");
    synthetic::write_export(&path, rows);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let started = Instant::now();
    let (index, stats) =
        ExactMatchIndex::load(&synthetic::config(&path), &synthetic::canonical).expect("load");
    let secs = started.elapsed().as_secs_f64();
    println!("export: {rows} rows, {size} bytes");
    println!("load: {secs:.2} s, {:.0} rows/s", rows as f64 / secs);
    println!(
        "index: {} combinations, {} heap bytes, {:.1} bytes/row",
        stats.combinations,
        stats.heap_bytes,
        stats.heap_bytes as f64 / rows as f64
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status
            .lines()
            .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        {
            println!("process {line}");
        }
    }
    println!("{index:?}");
}
