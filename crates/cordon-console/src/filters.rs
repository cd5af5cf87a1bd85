//! Filters over the quarantine, shared by the queue page and the API:
//! `state` (default `held`; `all` for every state), `rule`, `sender`,
//! `domain` (a recipient's domain), `from`/`to` (UK dates, `YYYY-MM-DD`,
//! inclusive) and `q` (subject or sender, ignoring case); and `before`, the
//! position after which a page of the listing starts.

use cordon_store::{QuarantineCursor, QuarantineQuery, QuarantineState};
use jiff::civil::Date;
use serde::Serialize;

use crate::html::encode_component;
use crate::time;

/// Longest filter value accepted (characters); longer ones are cut.
const MAX_VALUE_CHARS: usize = 256;

/// A filter value that cannot be used; the text says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FilterError {
    /// `state` is not a state.
    #[error("the state {0:?} is not one of held, released, rejected, expired or all")]
    State(String),
    /// `from` or `to` is not a date.
    #[error("the date {0:?} is not a date: write it as YYYY-MM-DD, e.g. 2025-03-01")]
    Date(String),
    /// `before` is not a position in the listing.
    #[error(
        "the page position {0:?} is not one this console wrote: start again from the first page"
    )]
    Position(String),
}

/// The filters as given, for the form to show them again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct FilterForm {
    /// `held`, `released`, `rejected`, `expired` or `all`.
    pub state: String,
    /// A rule id, or empty.
    pub rule: String,
    /// Part of the sender's address, or empty.
    pub sender: String,
    /// A recipient domain, or empty.
    pub domain: String,
    /// The first day, or empty.
    pub from: String,
    /// The last day, or empty.
    pub to: String,
    /// Text to find in the subject or sender, or empty.
    pub q: String,
}

/// Parsed filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    /// Only this state; `None` for all.
    pub state: Option<QuarantineState>,
    /// Only entries held by this rule.
    pub rule: Option<String>,
    /// Only senders containing this (lower case).
    pub sender: Option<String>,
    /// Only entries with a recipient at this domain (lower case).
    pub domain: Option<String>,
    /// Only entries held at or after this Unix second.
    pub from: Option<u64>,
    /// Only entries held before this Unix second.
    pub until: Option<u64>,
    /// Only entries whose subject or sender contains this (lower case).
    pub q: Option<String>,
    /// The page starts after this entry; `None` for the first page.
    pub before: Option<QuarantineCursor>,
    /// The values as given.
    pub form: FilterForm,
}

impl Filter {
    /// Reads the filters from query pairs (the last of repeated keys wins;
    /// unknown keys are ignored).
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Result<Filter, FilterError> {
        let get = |key: &str| -> String {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim().chars().take(MAX_VALUE_CHARS).collect())
                .unwrap_or_default()
        };
        let form = FilterForm {
            state: match get("state") {
                s if s.is_empty() => "held".to_owned(),
                s => s.to_ascii_lowercase(),
            },
            rule: get("rule"),
            sender: get("sender"),
            domain: get("domain").trim_start_matches('@').to_owned(),
            from: get("from"),
            to: get("to"),
            q: get("q"),
        };
        let state = match form.state.as_str() {
            "all" => None,
            s => Some(
                s.parse::<QuarantineState>()
                    .map_err(|_| FilterError::State(s.to_owned()))?,
            ),
        };
        let date = |text: &str| -> Result<Option<Date>, FilterError> {
            if text.is_empty() {
                return Ok(None);
            }
            text.parse::<Date>()
                .map(Some)
                .map_err(|_| FilterError::Date(text.to_owned()))
        };
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_lowercase());
        let before = match get("before") {
            text if text.is_empty() => None,
            text => Some(
                text.parse::<QuarantineCursor>()
                    .map_err(|_| FilterError::Position(text))?,
            ),
        };
        Ok(Filter {
            state,
            rule: (!form.rule.is_empty()).then(|| form.rule.clone()),
            sender: nonempty(&form.sender),
            domain: nonempty(&form.domain),
            from: date(&form.from)?.map(time::day_start),
            until: date(&form.to)?.map(time::day_end),
            q: nonempty(&form.q),
            before,
            form,
        })
    }

    /// The store's query for these filters.
    pub(crate) fn query(&self) -> QuarantineQuery {
        QuarantineQuery {
            state: self.state,
            rule: self.rule.clone(),
            sender: self.sender.clone(),
            domain: self.domain.clone(),
            held_from: self.from,
            held_until: self.until,
            text: self.q.clone(),
        }
    }

    /// The query string of these filters on the page after `cursor`, for
    /// the link to older entries.
    pub(crate) fn query_before(&self, cursor: &QuarantineCursor) -> String {
        let rule = self.form.rule.clone();
        format!("{}&before={cursor}", self.query_with_rule(&rule))
    }

    /// The query string of these filters with the rule set to `rule`
    /// (empty values left out), for links.
    pub(crate) fn query_with_rule(&self, rule: &str) -> String {
        let f = &self.form;
        [
            ("state", f.state.as_str()),
            ("rule", rule),
            ("sender", &f.sender),
            ("domain", &f.domain),
            ("from", &f.from),
            ("to", &f.to),
            ("q", &f.q),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

#[cfg(test)]
mod tests {
    use cordon_store::QueueId;

    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn record(
        sender: &str,
        to: &str,
        subject: &str,
        held_at: u64,
    ) -> cordon_store::QuarantineRecord {
        let id = QueueId::new();
        cordon_store::QuarantineRecord {
            id,
            message_id: id,
            recipients: vec![to.into()],
            sender: sender.into(),
            subject: Some(subject.into()),
            held_at,
            expires_at: held_at + 10,
            state: QuarantineState::Held,
            findings_json: "[]".into(),
            reasons_json: "[]".into(),
            decided_by: None,
            decided_at: None,
            note: None,
            sender_notified: false,
            release_proposal: None,
            rules: vec!["r1".to_owned()],
        }
    }

    #[test]
    fn defaults_to_held_and_parses_everything() {
        let f = Filter::from_pairs(&[]).unwrap();
        assert_eq!(f.state, Some(QuarantineState::Held));
        assert!(f.rule.is_none() && f.from.is_none());
        let f = Filter::from_pairs(&pairs(&[
            ("state", "all"),
            ("rule", "r1"),
            ("domain", "@Gmail.com"),
            ("from", "2025-07-15"),
            ("to", "2025-07-15"),
            ("q", "Claim"),
            ("x", "ignored"),
        ]))
        .unwrap();
        assert_eq!(f.state, None);
        assert_eq!(f.domain.as_deref(), Some("gmail.com"));
        assert_eq!(f.from, Some(1_752_534_000));
        assert_eq!(f.until, Some(1_752_534_000 + 86_400));
        assert_eq!(
            f.query_with_rule("a b"),
            "state=all&rule=a%20b&domain=Gmail.com&from=2025-07-15&to=2025-07-15&q=Claim"
        );
    }

    #[test]
    fn bad_values_are_explained() {
        let err = Filter::from_pairs(&pairs(&[("state", "gone")])).unwrap_err();
        assert!(err.to_string().contains("held, released"), "{err}");
        let err = Filter::from_pairs(&pairs(&[("from", "15/07/2025")])).unwrap_err();
        assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
        let err = Filter::from_pairs(&pairs(&[("before", "yesterday")])).unwrap_err();
        assert!(err.to_string().contains("first page"), "{err}");
    }

    #[test]
    fn matches_each_filter() {
        let day = 1_752_534_000;
        let r = record(
            "Sam.Okafor@northshire.police.uk",
            "x@Gmail.com",
            "Claim form",
            day + 5,
        );
        let check = |list: &[(&str, &str)]| {
            Filter::from_pairs(&pairs(list))
                .unwrap()
                .query()
                .matches(&r)
        };
        assert!(check(&[]));
        assert!(check(&[("rule", "r1")]));
        assert!(!check(&[("rule", "r2")]));
        assert!(check(&[("sender", "okafor")]));
        assert!(!check(&[("sender", "bell")]));
        assert!(check(&[("domain", "gmail.com")]));
        assert!(!check(&[("domain", "mail.com")]));
        assert!(check(&[("from", "2025-07-15"), ("to", "2025-07-15")]));
        assert!(!check(&[("from", "2025-07-16")]));
        assert!(!check(&[("to", "2025-07-14")]));
        assert!(check(&[("q", "CLAIM")]));
        assert!(check(&[("q", "northshire")]));
        assert!(!check(&[("q", "invoice")]));
        assert!(!check(&[("state", "released")]));
        assert!(check(&[("state", "all")]));
    }
}
