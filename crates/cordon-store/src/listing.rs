//! Listing the quarantine a page at a time: which entries a listing wants
//! ([`QuarantineQuery`]), where a page ends ([`QuarantineCursor`]), how
//! many entries match ([`QuarantineCount`]) and both at once
//! ([`QuarantineSearch`]). Every engine answers the same
//! query the same way; the indexed ones read one page's entries, not the
//! whole quarantine.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::id::QueueId;
use crate::record::{QuarantineRecord, QuarantineState};
use crate::tally::QuarantineTally;

/// The most entries one page holds, whatever a caller asks for.
pub const MAX_PAGE: usize = 1000;

/// What a query reads of an entry, from the whole record or from its
/// [`QuarantineSummary`].
pub trait ListedEntry {
    /// The entry's id.
    fn id(&self) -> QueueId;
    /// Where it stands.
    fn state(&self) -> QuarantineState;
    /// When it was held, Unix seconds.
    fn held_at(&self) -> u64;
    /// The envelope sender.
    fn sender(&self) -> &str;
    /// The decoded subject.
    fn subject(&self) -> Option<&str>;
    /// The held recipients.
    fn recipients(&self) -> &[String];
    /// The ids of the rules that held it.
    fn rules(&self) -> Vec<String>;
}

impl ListedEntry for QuarantineRecord {
    fn id(&self) -> QueueId {
        self.id
    }
    fn state(&self) -> QuarantineState {
        self.state
    }
    fn held_at(&self) -> u64 {
        self.held_at
    }
    fn sender(&self) -> &str {
        &self.sender
    }
    fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }
    fn recipients(&self) -> &[String] {
        &self.recipients
    }
    fn rules(&self) -> Vec<String> {
        self.held_by_rules()
    }
}

/// The part of a quarantine entry that listings filter and count on,
/// without the findings and reasons that make most of a record: the
/// indexed engines keep it beside their indexes, so that a search reads
/// these and loads only the records it shows. A whole record's JSON also
/// decodes as its summary (the fields are the record's, and the reasons
/// stand in for the rules of an entry from before they were kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineSummary {
    /// The entry's id.
    pub id: QueueId,
    /// Where it stands.
    pub state: QuarantineState,
    /// When it was held, Unix seconds.
    pub held_at: u64,
    /// The envelope sender.
    pub sender: String,
    /// The decoded subject.
    pub subject: Option<String>,
    /// The held recipients.
    pub recipients: Vec<String>,
    /// The ids of the rules that held it.
    #[serde(default)]
    pub rules: Vec<String>,
    /// A whole record's reasons, when it is read as its summary.
    #[serde(default, skip_serializing)]
    reasons_json: String,
}

impl QuarantineSummary {
    /// The summary of `record`.
    pub fn of(record: &QuarantineRecord) -> QuarantineSummary {
        QuarantineSummary {
            id: record.id,
            state: record.state,
            held_at: record.held_at,
            sender: record.sender.clone(),
            subject: record.subject.clone(),
            recipients: record.recipients.clone(),
            rules: record.held_by_rules(),
            reasons_json: String::new(),
        }
    }
}

impl ListedEntry for QuarantineSummary {
    fn id(&self) -> QueueId {
        self.id
    }
    fn state(&self) -> QuarantineState {
        self.state
    }
    fn held_at(&self) -> u64 {
        self.held_at
    }
    fn sender(&self) -> &str {
        &self.sender
    }
    fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }
    fn recipients(&self) -> &[String] {
        &self.recipients
    }
    fn rules(&self) -> Vec<String> {
        if self.rules.is_empty() {
            cordon_records::rules_in_stored_reasons(&self.reasons_json)
        } else {
            self.rules.clone()
        }
    }
}

/// Which quarantine entries a listing wants. Every field left `None` lets
/// every entry through; text comparisons ignore case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuarantineQuery {
    /// Only entries in this state.
    pub state: Option<QuarantineState>,
    /// Only entries held by this rule (see [`QuarantineRecord::held_by_rules`]).
    pub rule: Option<String>,
    /// Only entries whose sender contains this.
    pub sender: Option<String>,
    /// Only entries with a recipient at this domain.
    pub domain: Option<String>,
    /// Only entries held at or after this Unix second.
    pub held_from: Option<u64>,
    /// Only entries held before this Unix second.
    pub held_until: Option<u64>,
    /// Only entries whose subject or sender contains this.
    pub text: Option<String>,
}

impl QuarantineQuery {
    /// Every entry in `state`.
    pub fn in_state(state: QuarantineState) -> QuarantineQuery {
        QuarantineQuery {
            state: Some(state),
            ..QuarantineQuery::default()
        }
    }

    /// Whether `entry` passes every part of the query.
    pub fn matches(&self, entry: &(impl ListedEntry + ?Sized)) -> bool {
        self.matches_except_rule(entry)
            && self
                .rule
                .as_ref()
                .is_none_or(|rule| entry.rules().contains(rule))
    }

    /// Whether `entry` passes every part but the rule (for the counts by
    /// rule, which show what choosing a rule would give).
    pub fn matches_except_rule(&self, entry: &(impl ListedEntry + ?Sized)) -> bool {
        let held_at = entry.held_at();
        self.state.is_none_or(|state| entry.state() == state)
            && self.held_from.is_none_or(|from| held_at >= from)
            && self.held_until.is_none_or(|until| held_at < until)
            && self
                .sender
                .as_ref()
                .is_none_or(|s| contains_ignoring_case(entry.sender(), s))
            && self.domain.as_ref().is_none_or(|domain| {
                let domain = domain.trim_start_matches('@');
                entry.recipients().iter().any(|r| {
                    r.rsplit_once('@')
                        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain))
                })
            })
            && self.text.as_ref().is_none_or(|text| {
                contains_ignoring_case(entry.sender(), text)
                    || entry
                        .subject()
                        .is_some_and(|s| contains_ignoring_case(s, text))
            })
    }
}

/// Whether `haystack` contains `needle`, ignoring case.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// Where a page of a newest-first listing ended: the next page holds the
/// entries strictly older than this one (by `held_at`, then id). Written
/// in links as `HELD_AT-ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuarantineCursor {
    /// When the last entry of the page was held, Unix seconds.
    pub held_at: u64,
    /// Its id.
    pub id: QueueId,
}

impl QuarantineCursor {
    /// The cursor just past `entry`.
    pub fn after(entry: &(impl ListedEntry + ?Sized)) -> QuarantineCursor {
        QuarantineCursor {
            held_at: entry.held_at(),
            id: entry.id(),
        }
    }

    /// True when `entry` comes after the cursor in a newest-first listing.
    pub fn precedes(&self, entry: &(impl ListedEntry + ?Sized)) -> bool {
        (entry.held_at(), entry.id()) < (self.held_at, self.id)
    }
}

impl fmt::Display for QuarantineCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.held_at, self.id)
    }
}

/// The text is not a cursor written by [`QuarantineCursor`]'s `Display`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a position in the quarantine listing (HELD_AT-ID): {0:?}")]
pub struct InvalidCursor(String);

impl FromStr for QuarantineCursor {
    type Err = InvalidCursor;

    fn from_str(s: &str) -> Result<QuarantineCursor, InvalidCursor> {
        let invalid = || InvalidCursor(s.chars().take(60).collect());
        let (held_at, id) = s.split_once('-').ok_or_else(invalid)?;
        Ok(QuarantineCursor {
            held_at: held_at.parse().map_err(|_| invalid())?,
            id: id.parse().map_err(|_| invalid())?,
        })
    }
}

/// One page of a newest-first listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuarantinePage {
    /// The entries, newest first.
    pub records: Vec<QuarantineRecord>,
    /// Where the next page starts; `None` when this is the last.
    pub next: Option<QuarantineCursor>,
}

impl QuarantinePage {
    /// The page of `limit` entries (at most [`MAX_PAGE`]) from `matching`
    /// (newest first, filtered by the caller): the page's entries, and a
    /// cursor if there is at least one more.
    pub fn from_newest_first(
        mut matching: impl Iterator<Item = QuarantineRecord>,
        limit: usize,
    ) -> QuarantinePage {
        let limit = limit.clamp(1, MAX_PAGE);
        let records: Vec<QuarantineRecord> = matching.by_ref().take(limit).collect();
        let next = match (records.last(), matching.next()) {
            (Some(last), Some(_)) => Some(QuarantineCursor::after(last)),
            _ => None,
        };
        QuarantinePage { records, next }
    }
}

/// A scan of the entries in a query's state and time range: it hands the
/// summary of each, newest first, to the visitor until the visitor returns
/// false.
pub(crate) type Scan<'v> = &'v mut dyn FnMut(QuarantineSummary) -> bool;

impl QuarantinePage {
    /// The page of at most `limit` entries matching `query` that `scan`
    /// finds (reading one past the page to know whether another follows),
    /// their records read by `load` (given the ids in order, it returns the
    /// records of those still there, in that order). An entry changed
    /// between the two so that it no longer matches is left out.
    pub(crate) fn by_scan<E>(
        query: &QuarantineQuery,
        limit: usize,
        scan: impl FnOnce(Scan<'_>) -> Result<(), E>,
        load: impl FnOnce(&[QueueId]) -> Result<Vec<QuarantineRecord>, E>,
    ) -> Result<QuarantinePage, E> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut matching: Vec<QuarantineSummary> = Vec::new();
        scan(&mut |summary| {
            if query.matches(&summary) {
                matching.push(summary);
            }
            matching.len() <= limit
        })?;
        QuarantinePage::of_matching(query, limit, matching, load)
    }

    /// The page of the first `limit` of `matching` (which holds one more
    /// when another page follows), their records read by `load`.
    fn of_matching<E>(
        query: &QuarantineQuery,
        limit: usize,
        mut matching: Vec<QuarantineSummary>,
        load: impl FnOnce(&[QueueId]) -> Result<Vec<QuarantineRecord>, E>,
    ) -> Result<QuarantinePage, E> {
        let next = if matching.len() > limit {
            matching.truncate(limit);
            matching.last().map(QuarantineCursor::after)
        } else {
            None
        };
        let ids: Vec<QueueId> = matching.iter().map(|s| s.id).collect();
        let mut records = load(&ids)?;
        records.retain(|r| query.matches(r));
        Ok(QuarantinePage { records, next })
    }
}

/// A page of the entries matching a query together with the count of all
/// of them, as the console's queue shows them: a query the tally cannot
/// count (a search) is answered by one reading of the entries, not two.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuarantineSearch {
    /// The page asked for.
    pub page: QuarantinePage,
    /// Every entry the query matches, on any page.
    pub count: QuarantineCount,
}

impl QuarantineSearch {
    /// The page after `before` and the count of `query`: the count from
    /// `tally` and the page from `page` where the tally answers, else both
    /// from one `scan` of the query's state and time range (from its
    /// newest entry), the page's records read by `load`.
    pub(crate) fn by_tally_or_scan<E>(
        query: &QuarantineQuery,
        before: Option<&QuarantineCursor>,
        limit: usize,
        tally: impl FnOnce() -> Result<QuarantineTally, E>,
        page: impl FnOnce() -> Result<QuarantinePage, E>,
        scan: impl FnOnce(Scan<'_>) -> Result<(), E>,
        load: impl FnOnce(&[QueueId]) -> Result<Vec<QuarantineRecord>, E>,
    ) -> Result<QuarantineSearch, E> {
        if let Some(count) = QuarantineCount::from_tally(query, &tally()?) {
            return Ok(QuarantineSearch {
                page: page()?,
                count,
            });
        }
        let limit = limit.clamp(1, MAX_PAGE);
        let mut count = QuarantineCount::default();
        let mut matching: Vec<QuarantineSummary> = Vec::new();
        scan(&mut |summary| {
            count.add(query, &summary);
            if matching.len() <= limit
                && before.is_none_or(|c| c.precedes(&summary))
                && query.matches(&summary)
            {
                matching.push(summary);
            }
            true
        })?;
        Ok(QuarantineSearch {
            page: QuarantinePage::of_matching(query, limit, matching, load)?,
            count,
        })
    }
}

/// How many entries match a query, and how many of them each rule holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuarantineCount {
    /// Entries matching the whole query.
    pub total: u64,
    /// For each rule, the entries matching every part of the query but the
    /// rule that it holds (an entry held by two rules counts for both).
    pub by_rule: BTreeMap<String, u64>,
}

impl QuarantineCount {
    /// Counts `query` over `records` by reading each one.
    pub fn by_scan<'a, T: ListedEntry + 'a>(
        query: &QuarantineQuery,
        records: impl Iterator<Item = &'a T>,
    ) -> QuarantineCount {
        let mut count = QuarantineCount::default();
        for record in records {
            count.add(query, record);
        }
        count
    }

    /// The count of a query of no more than a state and a rule, read from
    /// `tally`; `None` for any other query, which must be counted by
    /// reading the entries.
    pub fn from_tally(query: &QuarantineQuery, tally: &QuarantineTally) -> Option<QuarantineCount> {
        let simple = query.sender.is_none()
            && query.domain.is_none()
            && query.text.is_none()
            && query.held_from.is_none()
            && query.held_until.is_none();
        if !simple {
            return None;
        }
        let states = match query.state {
            Some(state) => vec![state],
            None => QuarantineState::ALL.to_vec(),
        };
        let mut count = QuarantineCount::default();
        for state in states {
            for (rule, n) in tally.by_rule(state) {
                *count.by_rule.entry(rule).or_default() += n;
            }
            if query.rule.is_none() {
                count.total += tally.in_state(state);
            }
        }
        if let Some(rule) = &query.rule {
            count.total = count.by_rule.get(rule).copied().unwrap_or(0);
        }
        Some(count)
    }

    /// The count of `query`: from `tally` where it answers
    /// ([`QuarantineCount::from_tally`]), else by reading what `scan` finds.
    pub(crate) fn by_tally_or_scan<E>(
        query: &QuarantineQuery,
        tally: impl FnOnce() -> Result<QuarantineTally, E>,
        scan: impl FnOnce(Scan<'_>) -> Result<(), E>,
    ) -> Result<QuarantineCount, E> {
        if let Some(count) = QuarantineCount::from_tally(query, &tally()?) {
            return Ok(count);
        }
        let mut count = QuarantineCount::default();
        scan(&mut |record| {
            count.add(query, &record);
            true
        })?;
        Ok(count)
    }

    /// Counts one more `entry` if it matches `query`.
    pub fn add(&mut self, query: &QuarantineQuery, entry: &(impl ListedEntry + ?Sized)) {
        if !query.matches_except_rule(entry) {
            return;
        }
        let rules = entry.rules();
        if query.rule.as_ref().is_none_or(|rule| rules.contains(rule)) {
            self.total += 1;
        }
        for rule in rules {
            *self.by_rule.entry(rule).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{inspected, quarantine};

    fn entry(sender: &str, to: &str, subject: &str, held_at: u64) -> QuarantineRecord {
        let mut record = quarantine(&inspected(&[]), &[to], held_at);
        record.sender = sender.into();
        record.subject = Some(subject.into());
        record.rules = vec!["r1".into()];
        record
    }

    #[test]
    fn each_part_of_a_query_filters() {
        let day = 1_752_534_000;
        let r = entry(
            "Sam.Okafor@northshire.police.uk",
            "x@Gmail.com",
            "Claim form",
            day + 5,
        );
        let check = |query: QuarantineQuery| query.matches(&r);
        let q = QuarantineQuery::default;
        assert!(check(q()));
        assert!(check(QuarantineQuery {
            rule: Some("r1".into()),
            ..q()
        }));
        assert!(!check(QuarantineQuery {
            rule: Some("r2".into()),
            ..q()
        }));
        assert!(check(QuarantineQuery {
            sender: Some("OKAFOR".into()),
            ..q()
        }));
        assert!(!check(QuarantineQuery {
            sender: Some("bell".into()),
            ..q()
        }));
        assert!(check(QuarantineQuery {
            domain: Some("@gmail.com".into()),
            ..q()
        }));
        assert!(!check(QuarantineQuery {
            domain: Some("mail.com".into()),
            ..q()
        }));
        assert!(check(QuarantineQuery {
            held_from: Some(day),
            held_until: Some(day + 6),
            ..q()
        }));
        assert!(!check(QuarantineQuery {
            held_until: Some(day + 5),
            ..q()
        }));
        assert!(check(QuarantineQuery {
            text: Some("claim".into()),
            ..q()
        }));
        assert!(check(QuarantineQuery {
            text: Some("northshire".into()),
            ..q()
        }));
        assert!(!check(QuarantineQuery::in_state(QuarantineState::Released)));
    }

    #[test]
    fn cursors_round_trip_and_order() {
        let record = entry("a@b", "c@d", "s", 77);
        let cursor = QuarantineCursor::after(&record);
        assert_eq!(cursor.to_string().parse::<QuarantineCursor>(), Ok(cursor));
        assert!(!cursor.precedes(&record));
        let older = entry("a@b", "c@d", "s", 76);
        assert!(cursor.precedes(&older));
        for bad in ["", "77", "x-y", "-1-abc", "77-notanid"] {
            assert!(bad.parse::<QuarantineCursor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_page_has_a_cursor_only_when_more_follow() {
        let records: Vec<QuarantineRecord> =
            (0..5).rev().map(|t| entry("a@b", "c@d", "s", t)).collect();
        let page = QuarantinePage::from_newest_first(records.clone().into_iter(), 3);
        assert_eq!(page.records.len(), 3);
        assert_eq!(page.next, Some(QuarantineCursor::after(&records[2])));
        let page = QuarantinePage::from_newest_first(records.clone().into_iter(), 5);
        assert_eq!(page.next, None);
        let page = QuarantinePage::from_newest_first(records.into_iter(), 0);
        assert_eq!(page.records.len(), 1, "at least one per page");
    }
}
