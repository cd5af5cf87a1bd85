//! Counts over the whole quarantine kept as entries change, so that the
//! overview and the metrics never read every entry: how many are in each
//! state, held by each rule, held in each hour and decided in each hour.
//!
//! The tally is a function of the set of entries: each entry contributes
//! one to each of its [`TallyKey`]s, so a change of one entry adds the keys
//! of its new version and takes away those of its old one
//! ([`tally_delta`]). The indexed engines apply that delta in the
//! transaction that changes the entry; [`QuarantineTally::of`] counts from
//! scratch (the memory engine, and the tests that check the others).

use std::collections::BTreeMap;

use crate::record::{QuarantineRecord, QuarantineState};

/// Seconds in one bucket of the counts by time. UK days start on whole
/// hours, so whole days are sums of buckets.
pub const TALLY_BUCKET_SECS: u64 = 3600;

/// One count of the tally.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TallyKey {
    /// Entries in a state.
    State(QuarantineState),
    /// Entries in a state held by a rule; the empty rule counts the
    /// entries without one.
    Rule(QuarantineState, String),
    /// Entries held in an hour (any state), by the hour's number since the
    /// epoch.
    HeldHour(u64),
    /// Entries decided into a state in an hour.
    DecidedHour(QuarantineState, u64),
}

impl TallyKey {
    /// The key as text, for the engines that store the tally: `s:STATE`,
    /// `r:STATE:RULE`, `h:HOUR`, `d:STATE:HOUR`.
    pub fn encode(&self) -> String {
        match self {
            TallyKey::State(state) => format!("s:{state}"),
            TallyKey::Rule(state, rule) => format!("r:{state}:{rule}"),
            TallyKey::HeldHour(hour) => format!("h:{hour}"),
            TallyKey::DecidedHour(state, hour) => format!("d:{state}:{hour}"),
        }
    }

    /// The key written by [`TallyKey::encode`]; `None` for other text.
    pub fn decode(text: &str) -> Option<TallyKey> {
        let (kind, rest) = text.split_once(':')?;
        match kind {
            "s" => rest.parse().ok().map(TallyKey::State),
            "r" => {
                let (state, rule) = rest.split_once(':')?;
                Some(TallyKey::Rule(state.parse().ok()?, rule.to_owned()))
            }
            "h" => rest.parse().ok().map(TallyKey::HeldHour),
            "d" => {
                let (state, hour) = rest.split_once(':')?;
                Some(TallyKey::DecidedHour(
                    state.parse().ok()?,
                    hour.parse().ok()?,
                ))
            }
            _ => None,
        }
    }

    /// The keys `record` counts under.
    pub fn of(record: &QuarantineRecord) -> Vec<TallyKey> {
        let mut keys = vec![
            TallyKey::State(record.state),
            TallyKey::HeldHour(record.held_at / TALLY_BUCKET_SECS),
        ];
        let rules = record.held_by_rules();
        if rules.is_empty() {
            keys.push(TallyKey::Rule(record.state, String::new()));
        }
        for rule in rules {
            keys.push(TallyKey::Rule(record.state, rule));
        }
        if record.state != QuarantineState::Held
            && let Some(at) = record.decided_at
        {
            keys.push(TallyKey::DecidedHour(record.state, at / TALLY_BUCKET_SECS));
        }
        keys
    }
}

/// What changing an entry from `old` to `new` (either absent: inserted or
/// deleted) does to the tally: each key and the amount to add to it (never
/// zero).
pub fn tally_delta(
    old: Option<&QuarantineRecord>,
    new: Option<&QuarantineRecord>,
) -> BTreeMap<TallyKey, i64> {
    let mut delta: BTreeMap<TallyKey, i64> = BTreeMap::new();
    for key in old.map(TallyKey::of).unwrap_or_default() {
        *delta.entry(key).or_default() -= 1;
    }
    for key in new.map(TallyKey::of).unwrap_or_default() {
        *delta.entry(key).or_default() += 1;
    }
    delta.retain(|_, n| *n != 0);
    delta
}

/// The counts over the whole quarantine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuarantineTally {
    counts: BTreeMap<TallyKey, u64>,
}

impl QuarantineTally {
    /// Counts `records` from scratch.
    pub fn of<'a>(records: impl Iterator<Item = &'a QuarantineRecord>) -> QuarantineTally {
        let mut tally = QuarantineTally::default();
        for record in records {
            for key in TallyKey::of(record) {
                *tally.counts.entry(key).or_default() += 1;
            }
        }
        tally
    }

    /// The tally of these stored counts (zero counts left out).
    pub fn from_counts(counts: impl Iterator<Item = (TallyKey, u64)>) -> QuarantineTally {
        QuarantineTally {
            counts: counts.filter(|(_, n)| *n > 0).collect(),
        }
    }

    /// Every non-zero count.
    pub fn counts(&self) -> &BTreeMap<TallyKey, u64> {
        &self.counts
    }

    /// Entries in `state`.
    pub fn in_state(&self, state: QuarantineState) -> u64 {
        self.counts
            .get(&TallyKey::State(state))
            .copied()
            .unwrap_or(0)
    }

    /// Entries in `state` by each rule that held them.
    pub fn by_rule(&self, state: QuarantineState) -> BTreeMap<String, u64> {
        self.counts
            .iter()
            .filter_map(|(key, n)| match key {
                TallyKey::Rule(s, rule) if *s == state && !rule.is_empty() => {
                    Some((rule.clone(), *n))
                }
                _ => None,
            })
            .collect()
    }

    /// Entries in `state` that no rule is recorded as holding.
    pub fn without_rule(&self, state: QuarantineState) -> u64 {
        self.counts
            .get(&TallyKey::Rule(state, String::new()))
            .copied()
            .unwrap_or(0)
    }

    /// Entries (in any state) held in `[from, until)`, counted by whole
    /// hours: both ends are rounded down to the hour.
    pub fn held_between(&self, from: u64, until: u64) -> u64 {
        let hours = TallyKey::HeldHour(from / TALLY_BUCKET_SECS)
            ..TallyKey::HeldHour(until / TALLY_BUCKET_SECS);
        self.counts.range(hours).map(|(_, n)| n).sum()
    }

    /// Entries decided into `state` in `[from, until)`, counted by whole
    /// hours as [`QuarantineTally::held_between`].
    pub fn decided_between(&self, state: QuarantineState, from: u64, until: u64) -> u64 {
        let hours = TallyKey::DecidedHour(state, from / TALLY_BUCKET_SECS)
            ..TallyKey::DecidedHour(state, until / TALLY_BUCKET_SECS);
        self.counts.range(hours).map(|(_, n)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Decision;
    use crate::store::decide_record;
    use crate::store::tests::{inspected, quarantine};

    fn held(at: u64, rules: &[&str]) -> QuarantineRecord {
        let mut record = quarantine(&inspected(&[]), &["x@gmail.com"], at);
        record.rules = rules.iter().map(|r| (*r).to_owned()).collect();
        record
    }

    #[test]
    fn keys_round_trip_through_text() {
        for key in [
            TallyKey::State(QuarantineState::Held),
            TallyKey::Rule(QuarantineState::Expired, "a:b c".into()),
            TallyKey::HeldHour(486_000),
            TallyKey::DecidedHour(QuarantineState::Released, 7),
        ] {
            assert_eq!(TallyKey::decode(&key.encode()), Some(key));
        }
        for bad in ["", "s:", "s:gone", "h:x", "d:held", "z:1", "r:held"] {
            assert_eq!(TallyKey::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn deltas_applied_in_turn_give_the_tally_from_scratch() {
        let mut a = held(7200, &["r1", "r2"]);
        let b = held(3 * 3600 + 5, &["r1"]);
        let mut running: BTreeMap<TallyKey, i64> = BTreeMap::new();
        let mut apply = |old: Option<&QuarantineRecord>, new: Option<&QuarantineRecord>| {
            for (key, n) in tally_delta(old, new) {
                *running.entry(key).or_default() += n;
            }
        };
        apply(None, Some(&a));
        apply(None, Some(&b));
        let before = a.clone();
        decide_record(&mut a, Decision::Reject, "o", None, 4 * 3600).expect("held");
        apply(Some(&before), Some(&a));
        apply(Some(&b), None);
        let incremental = QuarantineTally::from_counts(
            running
                .into_iter()
                .map(|(k, n)| (k, u64::try_from(n).expect("never below zero"))),
        );
        let scratch = QuarantineTally::of([&a].into_iter());
        assert_eq!(incremental, scratch);
        assert_eq!(scratch.in_state(QuarantineState::Rejected), 1);
        assert_eq!(scratch.in_state(QuarantineState::Held), 0);
        assert_eq!(
            scratch.by_rule(QuarantineState::Rejected).get("r2"),
            Some(&1)
        );
        assert_eq!(scratch.held_between(7200, 10_800), 1);
        assert_eq!(scratch.held_between(10_800, 20_000), 0);
        assert_eq!(
            scratch.decided_between(QuarantineState::Rejected, 4 * 3600, 5 * 3600),
            1
        );
        assert_eq!(
            scratch.decided_between(QuarantineState::Released, 0, u64::MAX),
            0
        );
    }

    #[test]
    fn an_unchanged_entry_changes_nothing() {
        let a = held(1, &["r1"]);
        assert!(tally_delta(Some(&a), Some(&a)).is_empty());
    }
}
