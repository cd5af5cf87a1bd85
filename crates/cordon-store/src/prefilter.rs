//! A cheap first pass over quarantine entries for searches. Each entry keeps
//! a search text beside its summary: its sender, subject and recipients in
//! lower case, a line each. A query's sender, free-text and domain parts
//! give texts that the search text of every entry they match contains, so
//! an engine skips an entry whose search text lacks one without decoding
//! it (sled), or asks the database for only the rows that have them
//! (PostgreSQL). The query itself then decides on what is left: the pass
//! may let through entries that do not match, never hold back one that
//! does.
//!
//! Why it holds back none: the query compares the sender and subject by
//! their lower case ([`str::to_lowercase`], field by field, as the search
//! text is made), and recipients' domains by ASCII case; a domain's text is
//! used only when it is ASCII, whose lower case is its ASCII lower case.

use crate::listing::{ListedEntry, QuarantineQuery};

/// The search text of `entry`: sender, subject and each recipient in lower
/// case, each followed by a line break. NUL (which PostgreSQL's text does
/// not hold) becomes a line break too; needles never contain one.
pub(crate) fn search_text(entry: &(impl ListedEntry + ?Sized)) -> String {
    let mut text = String::new();
    let fields = [entry.sender(), entry.subject().unwrap_or_default()];
    for field in fields
        .into_iter()
        .chain(entry.recipients().iter().map(String::as_str))
    {
        text.push_str(&field.to_lowercase().replace('\0', "\n"));
        text.push('\n');
    }
    text
}

/// The texts every matching entry's search text contains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SummaryPrefilter {
    needles: Vec<String>,
}

impl SummaryPrefilter {
    /// The needles of `query`'s sender, free-text and domain parts, each
    /// where it can be used (see the module's documentation).
    pub(crate) fn of(query: &QuarantineQuery) -> SummaryPrefilter {
        let mut needles: Vec<String> = [&query.sender, &query.text]
            .into_iter()
            .flatten()
            .map(|text| text.to_lowercase())
            .collect();
        if let Some(domain) = &query.domain {
            let domain = domain.trim_start_matches('@');
            if domain.is_ascii() {
                // the recipient's line ends with its domain
                needles.push(format!("@{}\n", domain.to_ascii_lowercase()));
            }
        }
        needles.retain(|needle| !needle.is_empty() && !needle.contains('\0'));
        SummaryPrefilter { needles }
    }

    /// The needles, for a database to look for in its search texts.
    pub(crate) fn needles(&self) -> &[String] {
        &self.needles
    }

    /// Whether the query may match the entry whose search text this is.
    pub(crate) fn may_match(&self, search_text: &[u8]) -> bool {
        self.needles
            .iter()
            .all(|needle| memchr::memmem::find(search_text, needle.as_bytes()).is_some())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::listing::QuarantineSummary;
    use crate::store::tests::{inspected, quarantine};

    fn summary(sender: &str, to: &str, subject: &str) -> QuarantineSummary {
        let mut record = quarantine(&inspected(&[]), &[to], 5);
        record.sender = sender.into();
        record.subject = Some(subject.into());
        QuarantineSummary::of(&record)
    }

    #[test]
    fn the_search_text_is_each_field_in_lower_case() {
        let s = summary("Sam.Okafor@Northshire", "x@GMAIL.com", "ΟΔΟΣ Case\0File");
        assert_eq!(
            search_text(&s),
            "sam.okafor@northshire\nοδος case\nfile\nx@gmail.com\n"
        );
    }

    #[test]
    fn needles_are_the_query_texts_in_lower_case() {
        let query = QuarantineQuery {
            sender: Some("OKAFOR".into()),
            text: Some("Müller".into()),
            domain: Some("@NHS.net".into()),
            ..QuarantineQuery::default()
        };
        assert_eq!(
            SummaryPrefilter::of(&query).needles(),
            ["okafor", "müller", "@nhs.net\n"]
        );
        let query = QuarantineQuery {
            sender: Some(String::new()),
            text: Some("a\0b".into()),
            domain: Some("bücher.de".into()),
            ..QuarantineQuery::default()
        };
        assert!(SummaryPrefilter::of(&query).needles().is_empty());
    }

    proptest! {
        /// Whatever the entry and the query, the pass never holds back an
        /// entry the query matches.
        #[test]
        fn never_holds_back_a_match(
            sender in "[a-zA-Z\"\\\\. @\u{212A}\u{0130}éΣσς]{0,12}",
            subject in "[a-zA-Z\"\\\\. \t\0@\u{212A}\u{0130}éÉΣσς]{0,16}",
            to in "[a-zA-Z.@\"]{0,8}@[a-zA-Z.\u{212A}é]{0,8}",
            needle in "[a-zA-Z\"\\\\. \t\0@éΣσς\u{0307}]{0,4}",
            part in 0..3usize,
        ) {
            let summary = summary(&sender, &to, &subject);
            let query = match part {
                0 => QuarantineQuery { sender: Some(needle), ..QuarantineQuery::default() },
                1 => QuarantineQuery { text: Some(needle), ..QuarantineQuery::default() },
                _ => QuarantineQuery { domain: Some(needle), ..QuarantineQuery::default() },
            };
            if query.matches(&summary) {
                let text = search_text(&summary);
                prop_assert!(SummaryPrefilter::of(&query).may_match(text.as_bytes()));
            }
        }
    }
}
