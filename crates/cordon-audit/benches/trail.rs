//! One message's audit trail read through the trail index, against the
//! scan of the whole log it replaces, in the same run: compare the two
//! lines (and the ratio printed first), not absolute figures, on a shared
//! machine.
//!
//! The log: 200,000 entries about 2,000 subjects (100 each, spread over
//! the whole log, the worst case for the index), about 60 MB, twice:
//!
//! - `trail_rotated`: rotated at 8 MiB, so that the trail is read from
//!   several sealed segments (binary search) and the live file;
//! - `trail_live`: rotated at the default 64 MiB, so that it is all in the
//!   live file, whose index is read through (the slowest case: a live file
//!   about to be rotated).

use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cordon_audit::{Action, AuditLog, AuditOptions, Entry, Event};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const ENTRIES: u64 = 200_000;
const SUBJECTS: u64 = 2_000;

fn subject(i: u64) -> String {
    format!("01JD3X7Q8M9N0P{:06}", i % SUBJECTS)
}

/// The log, rotated at `rotate_bytes`.
fn write_log(dir: &Path, rotate_bytes: u64) -> AuditLog {
    let path = dir.join("audit.jsonl");
    let log = AuditLog::open_with(&path, AuditOptions { rotate_bytes }).expect("open the log");
    let actions = [
        Action::Accepted,
        Action::Verdict,
        Action::Delivered,
        Action::View,
    ];
    for i in 0..ENTRIES {
        let event = Event::new("gateway", actions[(i % 4) as usize], subject(i)).with_detail(
            json!({ "recipients": ["j.bell@bellandco-solicitors.co.uk"], "rules": ["uk-nino"], "i": i }),
        );
        log.append_at(event, 1_763_900_000 + i).expect("append");
    }
    log.sync().expect("sync");
    log
}

/// The trail as it was read before the index: every line of every file
/// parsed, the subject's kept.
fn full_scan(files: &[PathBuf], subject: &str) -> Vec<Entry> {
    let mut trail = Vec::new();
    for file in files {
        let reader = BufReader::with_capacity(64 * 1024, File::open(file).expect("open"));
        for line in reader.lines() {
            let line = line.expect("read");
            if let Ok(entry) = serde_json::from_str::<Entry>(&line)
                && entry.subject == subject
            {
                trail.push(entry);
            }
        }
    }
    trail
}

/// The mean time of `f` over `runs` runs.
fn mean(runs: u32, mut f: impl FnMut(u32)) -> Duration {
    let start = Instant::now();
    for run in 0..runs {
        f(run);
    }
    start.elapsed() / runs
}

fn trail_rotated(c: &mut Criterion) {
    compare(c, "trail_rotated", 8 * 1024 * 1024);
}

fn trail_live(c: &mut Criterion) {
    compare(c, "trail_live", cordon_audit::DEFAULT_ROTATE_BYTES);
}

fn compare(c: &mut Criterion, name: &str, rotate_bytes: u64) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let started = Instant::now();
    let log = write_log(dir.path(), rotate_bytes);
    let mut files = cordon_audit::segments(log.path()).expect("segments");
    files.push(log.path().to_owned());
    println!(
        "{name}: wrote {ENTRIES} entries about {SUBJECTS} subjects in {:.1?}; segments: {}, and the live file",
        started.elapsed(),
        files.len() - 1
    );

    // The same trail either way.
    for i in [0, 7, SUBJECTS - 1] {
        let indexed = log.entries_for(&subject(i)).expect("entries_for");
        assert_eq!(indexed.len() as u64, ENTRIES / SUBJECTS);
        assert_eq!(indexed, full_scan(&files, &subject(i)));
    }

    let scan = mean(5, |run| {
        black_box(full_scan(&files, &subject(u64::from(run) * 13)));
    });
    let indexed = mean(500, |run| {
        black_box(
            log.entries_for(&subject(u64::from(run) * 13))
                .expect("entries_for"),
        );
    });
    println!(
        "{name}: one trail of {} entries: full scan {scan:.2?}, index {indexed:.2?}: the index is {:.0} times faster",
        ENTRIES / SUBJECTS,
        scan.as_secs_f64() / indexed.as_secs_f64()
    );

    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.bench_function("full_scan", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            black_box(full_scan(&files, &subject(i)))
        });
    });
    group.bench_function("index", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            black_box(log.entries_for(&subject(i)).expect("entries_for"))
        });
    });
    group.finish();
}

criterion_group!(benches, trail_rotated, trail_live);
criterion_main!(benches);
