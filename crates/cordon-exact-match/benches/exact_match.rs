//! Load time and memory of a 1,000,000-row export, and the cost of scanning a
//! 20 KB business letter with it, against baselines in the same run: a plain
//! tokenisation of the text, and a scan with a one-row index.

#[path = "support/synthetic.rs"]
mod synthetic;

use std::hint::black_box;
use std::time::Instant;

use cordon_exact_match::{ExactMatchIndex, RecordMatch};
use criterion::{Criterion, criterion_group, criterion_main};

const ROWS: u64 = 1_000_000;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nominals.csv");
    let (surnames, forenames) = synthetic::write_export(&path, ROWS);
    let started = Instant::now();
    let (index, stats) =
        ExactMatchIndex::load(&synthetic::config(&path), &synthetic::canonical).expect("load");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "load: {ROWS} rows ({surnames} surnames, {forenames} forenames) in {secs:.2} s = {:.0} rows/s; \
         {} combinations; heap {} bytes = {:.1} bytes/row",
        ROWS as f64 / secs,
        stats.combinations,
        stats.heap_bytes,
        stats.heap_bytes as f64 / ROWS as f64,
    );

    let small_path = dir.path().join("one.csv");
    std::fs::write(
        &small_path,
        "surname,forename,date_of_birth,pnc_id\nQzxwv,Vwxzq,1901-01-01,1995/0000001Z\n",
    )
    .expect("write");
    let (small, _) = ExactMatchIndex::load(&synthetic::config(&small_path), &synthetic::canonical)
        .expect("load");

    let text = synthetic::prose(20 * 1024);
    let typed = synthetic::iso_dates(&text);
    let mut out: Vec<RecordMatch> = Vec::new();
    let s = index.scan_with_stats(&text, &typed, &mut out);
    println!(
        "scan: {} bytes, {} words, {} typed values, {} candidates, {} probes, {} matches, truncated {}",
        text.len(),
        s.words,
        typed.len(),
        s.candidates,
        s.probes,
        out.len(),
        s.truncated
    );

    let mut group = c.benchmark_group("scan_20k");
    group.bench_function("baseline_tokenise", |b| {
        b.iter(|| {
            black_box(&text)
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .count()
        })
    });
    group.bench_function("one_row_index", |b| {
        b.iter(|| {
            out.clear();
            small.scan(black_box(&text), &typed, &mut out);
        })
    });
    group.bench_function("million_row_index", |b| {
        b.iter(|| {
            out.clear();
            index.scan(black_box(&text), &typed, &mut out);
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
