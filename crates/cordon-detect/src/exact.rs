//! Exact data match of the force's own records (`cordon-exact-match`), fed
//! with what the other detectors already recognise: the typed values of a
//! text (identifiers in their canonical form, and dates), and the same
//! canonicalisation for the cells of the export, so that `2009/0048213R` in
//! the export and `09/48213R` in a message are one PNC ID, and `1984-03-12`
//! and `12 March 1984` one date. Dates are those the date-of-birth detector
//! reads, found in its pass over the digits with or without birth context.

use cordon_exact_match::{ExactMatchIndex, RecordMatch, TypedValue};

use crate::identifiers::DateMatch;
use crate::{DetectorId, IdentifierMatch, IdentifierScanner};

/// Why a text that exact match could not check in full is uninspectable.
pub const TOO_MANY_CANDIDATES: &str =
    "too many values that may be the force's records close together to check them all";

/// The kind name of dates, as columns of the export declare it.
pub const DATE_KIND: &str = "date";

/// The kinds a column of the export may have besides words: `date` and the
/// identifier detectors whose canonical values can be compared.
pub fn typed_kinds() -> Vec<&'static str> {
    let mut kinds = vec![DATE_KIND];
    kinds.extend(
        DetectorId::ALL
            .iter()
            .filter(|d| comparable(**d))
            .map(|d| d.as_str()),
    );
    kinds
}

/// Identifier detectors whose values are one person's.
fn comparable(d: DetectorId) -> bool {
    matches!(
        d,
        DetectorId::UkNino
            | DetectorId::NhsNumber
            | DetectorId::PncId
            | DetectorId::CroNumber
            | DetectorId::PaymentCard
            | DetectorId::UkBankAccount
            | DetectorId::Iban
            | DetectorId::UkPassport
            | DetectorId::UkDrivingLicence
            | DetectorId::UkPostcode
            | DetectorId::UkPhone
    )
}

/// The kind an identifier match counts as (a possible NHS number is an NHS
/// number for matching the export).
fn kind_of(d: DetectorId) -> Option<&'static str> {
    match d {
        DetectorId::PossibleNhsNumber => Some(DetectorId::NhsNumber.as_str()),
        d if comparable(d) => Some(d.as_str()),
        _ => None,
    }
}

/// Canonicalises one cell of the export of column kind `kind`, as the
/// detectors canonicalise the same value in a message; `None` when the cell
/// holds no such value.
pub fn canonical(scanner: &IdentifierScanner, kind: &str, cell: &str) -> Option<String> {
    let cell = cordon_extract::normalize(cell);
    if kind == DATE_KIND {
        let mut dates = Vec::new();
        scanner.scan_with_dates(&cell, &mut Vec::new(), Some(&mut dates));
        return dates.into_iter().next().map(|d| d.value);
    }
    let mut found = Vec::new();
    scanner.scan(&cell, &mut found);
    found
        .into_iter()
        .find(|m| kind_of(m.detector) == Some(kind))
        .map(|m| m.value)
}

/// Appends the typed values of a text: its identifiers and dates.
pub(crate) fn typed_values<'a>(
    identifiers: &'a [IdentifierMatch],
    dates: &'a [DateMatch],
    out: &mut Vec<TypedValue<'a>>,
) {
    out.extend(identifiers.iter().filter_map(|m| {
        Some(TypedValue {
            kind: kind_of(m.detector)?,
            start: m.start,
            end: m.end,
            value: &m.value,
        })
    }));
    out.extend(dates.iter().map(|d| TypedValue {
        kind: DATE_KIND,
        start: d.start,
        end: d.end,
        value: &d.value,
    }));
}

/// Merges the matches whose spans overlap into one, naming every column
/// they found: the index reports each `min_columns` subset of a record on
/// its own (it keeps no row ids), so "Whitlock, Darren (12/03/1984)" is
/// three pairs of one record, reported once as `surname + forename +
/// date_of_birth`. The merged match keeps the smallest key of its parts, so
/// the same mention found twice still counts once.
pub(crate) fn merge_overlapping(index: &ExactMatchIndex, records: &mut Vec<RecordMatch>) {
    if records.len() < 2 {
        return;
    }
    records.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<RecordMatch> = Vec::with_capacity(records.len());
    for r in records.drain(..) {
        match merged.last_mut() {
            Some(last) if r.start < last.end => {
                last.end = last.end.max(r.end);
                last.key = last.key.min(r.key);
                for c in r.columns {
                    if !last.columns.contains(&c) {
                        last.columns.push(c);
                    }
                }
            }
            _ => merged.push(r),
        }
    }
    let order = |name: &String| index.columns().iter().position(|c| &c.name == name);
    for m in &mut merged {
        m.columns.sort_by_key(order);
    }
    *records = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        IdentifierScanner::new().scan_with_dates(text, &mut Vec::new(), Some(&mut out));
        out.into_iter().map(|d| d.value).collect()
    }

    #[test]
    fn dates_in_the_ways_people_write_them() {
        for text in [
            "12/03/1984",
            "12.03.1984",
            "12-3-1984",
            "1984-03-12",
            "12 March 1984",
            "12th of Mar. 1984",
            "March 12, 1984",
            "12 MARCH 1984",
        ] {
            assert_eq!(dates(text), ["1984-03-12"], "{text}");
        }
        for text in [
            "31/02/1984",
            "12 Marchy 1984",
            "12 Ma 1984",
            "1984-13-01",
            "123/03/1984",
        ] {
            assert!(dates(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn cells_canonicalise_as_text_does() {
        let scanner = IdentifierScanner::new();
        assert_eq!(
            canonical(&scanner, "pnc_id", "2009/0048213R").as_deref(),
            Some("09/48213R")
        );
        assert_eq!(
            canonical(&scanner, "date", "1984-03-12").as_deref(),
            Some("1984-03-12")
        );
        assert_eq!(
            canonical(&scanner, "uk_nino", "jm 41 29 87 b").as_deref(),
            Some("JM412987B")
        );
        assert_eq!(
            canonical(&scanner, "nhs_number", "4010232137").as_deref(),
            Some("4010232137")
        );
        assert_eq!(canonical(&scanner, "pnc_id", "not one"), None);
    }
}
