//! What a user of the index sees: loading exports, matching texts, errors.

use std::io::Write;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use crate::normalise::normalise_into;
use crate::*;

/// Dates as the caller canonicalises them (YYYY-MM-DD or DD/MM/YYYY), PNC
/// IDs upper-cased.
fn canon(kind: &str, cell: &str) -> Option<String> {
    match kind {
        "date" => {
            let b = cell.as_bytes();
            let iso = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
            let uk = b.len() == 10 && b[2] == b'/' && b[5] == b'/';
            let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
            if iso && digits(0..4) && digits(5..7) && digits(8..10) {
                Some(cell.to_string())
            } else if uk && digits(0..2) && digits(3..5) && digits(6..10) {
                Some(format!("{}-{}-{}", &cell[6..10], &cell[3..5], &cell[0..2]))
            } else {
                None
            }
        }
        "pnc_id" => Some(cell.to_ascii_uppercase()),
        _ => None,
    }
}

const EXPORT: &str = "\
nominal_id,surname,forename,date_of_birth,pnc_id,address_town
NS-000001,Whitlock,Darren,1984-03-12,2009/0048213R,Northby
NS-000002,O'Brien,Siobhan,1990-07-01,2011/0001234A,Easton
NS-000003,Smith-Jones,Kieran,1975-11-30,,Northby
NS-000004,van der Berg,Pieter,1968-02-29,,Westmere
NS-000005,Brontë,Zoë,2001-05-05,,Northby
NS-000006,Smith,Alan,1979-09-09,,Northby
NS-000007,Thomas,Thomas,1981-01-01,,Easton
NS-000008,Rhys,Morgan,1993-04-04,,Easton
NS-000009,Morgan,Rhys,1994-04-04,,Easton
";

fn write_csv(dir: &tempfile::TempDir, name: &str, body: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    let mut f = std::fs::File::create(&path).expect("create csv");
    f.write_all(body).expect("write csv");
    path
}

fn config(file: &Path, min_columns: usize, within: usize) -> ExactMatchConfig {
    ExactMatchConfig {
        file: file.to_path_buf(),
        columns: vec![
            ColumnSpec::words("surname"),
            ColumnSpec::words("forename"),
            ColumnSpec::typed("date_of_birth", "date"),
            ColumnSpec::typed("pnc_id", "pnc_id"),
        ],
        min_columns,
        within,
    }
}

fn load_export(min_columns: usize, within: usize) -> (ExactMatchIndex, LoadStats) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_csv(&dir, "nominals.csv", EXPORT.as_bytes());
    ExactMatchIndex::load(&config(&path, min_columns, within), &canon).expect("load")
}

/// The typed values a caller would find: ISO dates and PNC IDs (a crude
/// finder, enough for these texts).
fn find_typed(text: &str) -> Vec<TypedValue<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for i in 0..b.len() {
        if i + 10 <= b.len()
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && text.is_char_boundary(i)
            && text.is_char_boundary(i + 10)
            && canon("date", &text[i..i + 10]).as_deref() == Some(&text[i..i + 10])
        {
            out.push(TypedValue {
                kind: "date",
                start: i,
                end: i + 10,
                value: &text[i..i + 10],
            });
        }
        if i + 13 <= b.len()
            && text.is_char_boundary(i)
            && text.is_char_boundary(i + 13)
            && b[i + 4] == b'/'
            && b[i..i + 4].iter().all(u8::is_ascii_digit)
        {
            out.push(TypedValue {
                kind: "pnc_id",
                start: i,
                end: i + 13,
                value: &text[i..i + 13],
            });
        }
    }
    out
}

fn scan(index: &ExactMatchIndex, text: &str) -> Vec<RecordMatch> {
    let mut out = Vec::new();
    index.scan(text, &find_typed(text), &mut out);
    out
}

fn names(matches: &[RecordMatch]) -> Vec<String> {
    let mut v: Vec<String> = matches.iter().map(|m| m.columns.join(" + ")).collect();
    v.sort();
    v
}

#[test]
fn a_surname_near_a_date_of_birth_matches_and_names_the_columns() {
    let (index, stats) = load_export(2, 60);
    assert_eq!(stats.rows, 9);
    let text = "Re: Mr Whitlock (DOB 1984-03-12) was seen again.";
    let m = scan(&index, text);
    assert_eq!(names(&m), ["surname + date_of_birth"]);
    assert_eq!(&text[m[0].start..m[0].end], "Whitlock (DOB 1984-03-12");
}

#[test]
fn the_same_values_further_apart_than_within_do_not_match() {
    let (index, _) = load_export(2, 60);
    let filler = "nothing to see here ".repeat(4);
    let text = format!("Whitlock {filler} 1984-03-12");
    assert!(scan(&index, &text).is_empty(), "{:?}", scan(&index, &text));
    let (wide, _) = load_export(2, 200);
    assert_eq!(names(&scan(&wide, &text)), ["surname + date_of_birth"]);
}

#[test]
fn values_of_two_different_records_do_not_match() {
    let (index, _) = load_export(2, 60);
    // Whitlock's surname with O'Brien's date of birth and Smith's forename.
    assert!(scan(&index, "Whitlock, born 1990-07-01, with Alan").is_empty());
}

#[test]
fn case_apostrophe_hyphen_and_diacritic_variants_match() {
    let (index, _) = load_export(2, 60);
    for text in [
        "SIOBHAN O'BRIEN",
        "siobhan o’brien",
        "Siobhan O Brien",
        "Kieran Smith Jones",
        "KIERAN SMITH-JONES",
        "Zoe Bronte",
        "ZOË BRONTË",
        "Zoe\u{308} Bronte\u{308}",
    ] {
        assert_eq!(names(&scan(&index, text)), ["surname + forename"], "{text}");
    }
}

#[test]
fn a_multi_word_surname_matches_as_a_sequence_of_words() {
    let (index, _) = load_export(2, 60);
    let m = scan(&index, "Pieter VAN DER BERG, 1968-02-29");
    assert_eq!(
        names(&m),
        [
            "forename + date_of_birth",
            "surname + date_of_birth",
            "surname + forename"
        ]
    );
    assert!(scan(&index, "Pieter van Berg").is_empty());
}

#[test]
fn a_value_inside_a_longer_word_does_not_match() {
    let (index, _) = load_export(2, 60);
    assert!(scan(&index, "Smithson 1979-09-09").is_empty());
    assert!(scan(&index, "Alan Smithy").is_empty());
    assert_eq!(
        names(&scan(&index, "Smith 1979-09-09")),
        ["surname + date_of_birth"]
    );
}

#[test]
fn three_columns_of_one_record_report_each_pair_once() {
    let (index, _) = load_export(2, 60);
    let m = scan(&index, "Darren Whitlock 1984-03-12");
    assert_eq!(
        names(&m),
        [
            "forename + date_of_birth",
            "surname + date_of_birth",
            "surname + forename"
        ]
    );
    let mut keys: Vec<u64> = m.iter().map(|m| m.key).collect();
    keys.dedup();
    assert_eq!(keys.len(), 3, "each pair is its own combination");
}

#[test]
fn with_min_columns_three_only_the_triple_matches() {
    let (index, _) = load_export(3, 60);
    assert!(scan(&index, "Darren Whitlock").is_empty());
    assert_eq!(
        names(&scan(&index, "Whitlock, Darren 2009/0048213R")),
        ["surname + forename + pnc_id"]
    );
}

#[test]
fn a_value_of_several_columns_counts_for_each() {
    let (index, _) = load_export(2, 60);
    // Thomas Thomas: one word near the date is both surname and forename.
    assert_eq!(
        names(&scan(&index, "Thomas 1981-01-01")),
        ["forename + date_of_birth", "surname + date_of_birth"]
    );
    // One word cannot be both columns of one match.
    assert!(scan(&index, "Thomas").is_empty());
    assert_eq!(
        names(&scan(&index, "Thomas Thomas")),
        ["surname + forename"]
    );
    // Rhys Morgan and Morgan Rhys are two records: both match.
    let m = scan(&index, "Morgan Rhys");
    assert_eq!(m.len(), 2);
    assert_ne!(m[0].key, m[1].key);
}

#[test]
fn the_same_record_twice_in_a_text_gives_the_same_key() {
    let (index, _) = load_export(2, 30);
    let far = "x ".repeat(100);
    let m = scan(&index, &format!("Alan Smith {far} Smith, Alan"));
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].key, m[1].key);
    assert_ne!(m[0].start, m[1].start);
}

#[test]
fn two_loads_of_one_file_are_salted_differently() {
    let (a, _) = load_export(2, 60);
    let (b, _) = load_export(2, 60);
    let text = "Whitlock 1984-03-12";
    let (ma, mb) = (scan(&a, text), scan(&b, text));
    assert_eq!(ma.len(), 1);
    assert_eq!(mb.len(), 1);
    assert_ne!(ma[0].key, mb[0].key);
}

#[test]
fn debug_shows_counts_and_no_value_or_hash() {
    let (index, _) = load_export(2, 60);
    let key = scan(&index, "Whitlock 1984-03-12")[0].key;
    let debug = format!("{index:?}");
    assert!(debug.contains("combinations"), "{debug}");
    for value in [
        "Whitlock",
        "whitlock",
        "1984",
        "Darren",
        "darren",
        "2009/0048213R",
    ] {
        assert!(!debug.contains(value), "{debug}");
    }
    assert!(!debug.contains(&key.to_string()));
    assert!(!debug.contains(&format!("{key:x}")));
}

#[test]
fn load_counts_rows_skipped_cells_and_short_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = "surname,forename,date_of_birth,pnc_id\n\
                Whitlock,Darren,not a date,\n\
                ,,,\n\
                Lone,,,\n\
                Short\n";
    let path = write_csv(&dir, "x.csv", body.as_bytes());
    let (index, stats) = ExactMatchIndex::load(&config(&path, 2, 60), &canon).expect("load");
    assert_eq!(stats.rows, 4);
    assert_eq!(stats.skipped_cells, 1);
    assert_eq!(stats.empty_rows, 1);
    assert_eq!(stats.short_rows, 2);
    assert_eq!(stats.combinations, 1);
    assert_eq!(
        names(&scan(&index, "Darren Whitlock")),
        ["surname + forename"]
    );
}

#[test]
fn headers_match_ignoring_case_spaces_and_a_byte_order_mark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = "\u{feff}Surname , FORENAME,Date_Of_Birth,PNC_ID\nWhitlock,Darren,,\n";
    let path = write_csv(&dir, "x.csv", body.as_bytes());
    let (index, _) = ExactMatchIndex::load(&config(&path, 2, 60), &canon).expect("load");
    assert_eq!(
        names(&scan(&index, "Darren Whitlock")),
        ["surname + forename"]
    );
}

fn load_err(body: &[u8], cfg: impl Fn(&Path) -> ExactMatchConfig) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_csv(&dir, "bad.csv", body);
    let err = ExactMatchIndex::load(&cfg(&path), &canon).expect_err("must fail");
    let text = err.to_string();
    assert!(text.contains("bad.csv"), "{text}");
    text
}

#[test]
fn a_missing_header_column_lists_the_headers_found() {
    let e = load_err(b"surname,forename,dob\nA,B,C\n", |p| config(p, 2, 60));
    assert!(e.contains("no column \"date_of_birth\""), "{e}");
    assert!(e.contains("[\"surname\", \"forename\", \"dob\"]"), "{e}");
}

#[test]
fn bad_utf8_names_its_line() {
    let body = b"surname,forename,date_of_birth,pnc_id\nA,B,,\nC,\xff\xfe,,\n";
    let e = load_err(body, |p| config(p, 2, 60));
    assert!(e.contains("line 3"), "{e}");
    assert!(e.contains("UTF-8"), "{e}");
}

#[test]
fn configuration_errors_name_the_file_and_the_limits() {
    let body = EXPORT.as_bytes();
    let e = load_err(body, |p| ExactMatchConfig {
        columns: vec![ColumnSpec::words("surname")],
        ..config(p, 2, 60)
    });
    assert!(
        e.contains("1 identifying columns configured, between 2 and 8"),
        "{e}"
    );
    let e = load_err(body, |p| ExactMatchConfig {
        columns: (0..9).map(|i| ColumnSpec::words(format!("c{i}"))).collect(),
        ..config(p, 2, 60)
    });
    assert!(e.contains("9 identifying columns"), "{e}");
    let e = load_err(body, |p| config(p, 5, 60));
    assert!(
        e.contains("min_columns is 5, must be between 2 and 4"),
        "{e}"
    );
    let e = load_err(body, |p| config(p, 1, 60));
    assert!(e.contains("min_columns is 1"), "{e}");
    let e = load_err(body, |p| ExactMatchConfig {
        columns: vec![ColumnSpec::words("surname"), ColumnSpec::words("Surname")],
        ..config(p, 2, 60)
    });
    assert!(e.contains("configured twice"), "{e}");
}

#[test]
fn empty_and_useless_exports_are_errors() {
    let e = load_err(b"", |p| config(p, 2, 60));
    assert!(e.contains("expected a header line"), "{e}");
    let e = load_err(b"surname,forename,date_of_birth,pnc_id\n", |p| {
        config(p, 2, 60)
    });
    assert!(e.contains("no records after the header line"), "{e}");
    let e = load_err(b"surname,forename,date_of_birth,pnc_id\nA,,bad,\n", |p| {
        config(p, 2, 60)
    });
    assert!(e.contains("none of its 1 records has 2 usable"), "{e}");
    assert!(e.contains("1 cells did not parse"), "{e}");
    let e = load_err(
        b"surname,forename,surname,date_of_birth,pnc_id\nA,B,C,,\n",
        |p| config(p, 2, 60),
    );
    assert!(e.contains("more than once"), "{e}");
}

#[test]
fn an_unreadable_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("absent.csv");
    let err = ExactMatchIndex::load(&config(&path, 2, 60), &canon).expect_err("absent");
    let text = err.to_string();
    assert!(
        text.contains("absent.csv") && text.contains("cannot open"),
        "{text}"
    );
}

#[test]
fn typed_values_with_bad_spans_are_ignored() {
    let (index, _) = load_export(2, 60);
    let text = "Whitlock é 1984-03-12";
    let bad = [
        TypedValue {
            kind: "date",
            start: 10,
            end: 5,
            value: "1984-03-12",
        },
        TypedValue {
            kind: "date",
            start: 0,
            end: 999,
            value: "1984-03-12",
        },
        TypedValue {
            kind: "date",
            start: 10,
            end: 11,
            value: "1984-03-12",
        },
        TypedValue {
            kind: "unknown",
            start: 0,
            end: 1,
            value: "x",
        },
    ];
    let mut out = Vec::new();
    index.scan(text, &bad, &mut out);
    assert!(out.is_empty());
}

#[test]
fn the_shipped_example_export_loads_and_matches() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/nominals.csv");
    let (index, stats) = ExactMatchIndex::load(&config(&path, 2, 80), &canon).expect("load");
    assert!(stats.rows >= 150, "{stats:?}");
    assert_eq!(stats.skipped_cells, 0);
    let m = scan(&index, "Darren WHITLOCK, PNC 2009/0048213R, of Northby");
    assert_eq!(
        names(&m),
        [
            "forename + pnc_id",
            "surname + forename",
            "surname + pnc_id"
        ]
    );
    // Every PNC ID's check letter is right.
    let body = std::fs::read_to_string(&path).expect("read");
    for line in body.lines().skip(1) {
        let pnc = line.split(',').nth(4).expect("pnc column");
        let (year, rest) = pnc.split_once('/').expect("slash");
        let (serial, letter) = rest.split_at(7);
        let n: u64 = format!("{}{}", &year[2..], serial).parse().expect("digits");
        let expect = b"ZABCDEFGHJKLMNPQRTUVWXY"[(n % 23) as usize] as char;
        assert_eq!(letter, expect.to_string(), "{line}");
    }
}

fn small_index() -> ExactMatchIndex {
    load_export(2, 40).0
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn scanning_any_text_never_panics(
        text in "\\PC{0,200}|[a-zA-Z' \\-0-9]{0,200}",
        spans in proptest::collection::vec((0usize..260, 0usize..260, "\\PC{0,12}"), 0..6),
    ) {
        let index = small_index();
        let text = format!("{text} Whitlock 1984-03-12 {text}");
        let typed: Vec<TypedValue<'_>> = spans
            .iter()
            .map(|(s, e, v)| TypedValue { kind: "date", start: *s, end: *e, value: v })
            .collect();
        let mut out = Vec::new();
        index.scan(&text, &typed, &mut out);
        for m in &out {
            prop_assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end));
            prop_assert!(m.start <= m.end);
        }
    }

    #[test]
    fn loading_any_bytes_never_panics(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = b"surname,forename,date_of_birth,pnc_id\n".to_vec();
        bytes.extend(&body);
        let path = write_csv(&dir, "any.csv", &bytes);
        let _ = ExactMatchIndex::load(&config(&path, 2, 60), &canon);
        let raw = write_csv(&dir, "raw.csv", &body);
        let _ = ExactMatchIndex::load(&config(&raw, 2, 60), &canon);
    }

    /// Whatever a Words cell holds, the same text in a message matches it:
    /// loading and scanning normalise alike.
    #[test]
    fn any_words_value_is_found_as_written(value in "\\PC{1,30}") {
        let mut normal = String::new();
        let words = normalise_into(&value, &mut normal);
        prop_assume!(words > 0);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["surname", "forename", "date_of_birth", "pnc_id"]).expect("csv");
        w.write_record([value.as_str(), "", "1984-03-12", ""]).expect("csv");
        let body = w.into_inner().expect("csv");
        let path = write_csv(&dir, "v.csv", &body);
        let (index, _) = ExactMatchIndex::load(&config(&path, 2, 200), &canon).expect("load");
        let text = format!("{value} 1984-03-12");
        let date = TypedValue {
            kind: "date",
            start: value.len() + 1,
            end: text.len(),
            value: "1984-03-12",
        };
        let mut out = Vec::new();
        index.scan(&text, &[date], &mut out);
        prop_assert_eq!(names(&out), ["surname + date_of_birth"]);
    }
}

#[test]
fn the_index_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<ExactMatchIndex>();
}
