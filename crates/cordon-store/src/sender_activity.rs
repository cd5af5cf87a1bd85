//! Durable windowed counters of what each sender sends, for the policy's
//! rules against mass mailing and slow leaks ("more than 3 attachments to
//! personal addresses per day", "more than 300 distinct external
//! recipients per hour", "more than 50 MB to personal addresses per day").
//!
//! After inspecting a message and before deciding it, the gateway records
//! the message's [`SenderActivity`] and reads back, in the same call, the
//! totals over the rules' windows including this message
//! ([`crate::Engine::record_sender_activity`]).
//!
//! See [`SenderActivity`] for what is kept and what a total means.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::StoreError;

/// Seconds in one bucket of the sums: the most a window's sum can reach
/// beyond the window's start.
pub const ACTIVITY_BUCKET_SECS: u64 = 300;

/// The longest window a total can be asked over: 31 days.
pub const MAX_WINDOW_SECS: u64 = 31 * 86_400;

/// One message's contribution to its sender's counters.
///
/// # What is kept, and what a total means
///
/// - **Sums** ([`WindowMeasure::Sum`]) are kept in buckets of
///   [`ACTIVITY_BUCKET_SECS`] (5 minutes) per sender and counter. A
///   window's total is the sum of the buckets that overlap
///   `(at - window_secs, at]`, so it may include up to 5 minutes more than
///   the window: a day's total can count a message sent up to 24 hours,
///   4 minutes and 59 seconds before. (Likewise, a total read at a time
///   before the sender's latest activity counts what that activity's
///   bucket holds after `at`; the gateway reads at the latest time.) In
///   exchange the work of one total is bounded by `window_secs / 300 + 1`
///   buckets, whatever the sender's volume.
/// - **Distinct sets** ([`WindowMeasure::Distinct`]) keep, per sender, set
///   and member, the last time the member was added (the latest `at`, if
///   activities arrive out of order). A window's total counts the members
///   whose last time lies in `(at - window_secs, at]`, exactly.
/// - **Markers**: each recorded message's id is kept, so that recording
///   the same message again (a retry after a crash) adds nothing.
///
/// Everything is kept until [`crate::Engine::prune_sender_activity`]
/// removes it; the caller prunes with `now` minus its longest window.
/// Times are the caller's (`at`, `before`): the store reads no clock, so
/// that tests drive time.
///
/// Recordings for one sender are serialized by every engine: of two
/// messages recorded at the same moment (on one gateway or, with the
/// shared PostgreSQL store, on two) both count, and the one recorded
/// second sees the first in its totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderActivity {
    /// The sender's address, lowercased by the caller.
    pub sender: String,
    /// The message's queue id: recording the same message twice (a retry
    /// after a crash) adds nothing the second time. The store keeps it
    /// until it is pruned.
    pub message: String,
    /// When the message was sent, in unix seconds.
    pub at: u64,
    /// Counter name -> amount this message adds, e.g.
    /// `("attachments_to_personal", 2)`, `("bytes_to_personal", 20480)`.
    /// A name given twice adds both amounts.
    pub amounts: Vec<(String, u64)>,
    /// Distinct-set name -> members this message adds, e.g.
    /// `("external_recipients", ["a@x.com", "b@y.org"])`. Members are
    /// compared as given (the caller normalizes them).
    pub members: Vec<(String, Vec<String>)>,
}

impl SenderActivity {
    /// True when the activity adds nothing (no amounts, no members): a
    /// recording of it only reads, and leaves no marker.
    pub fn only_reads(&self) -> bool {
        self.amounts.is_empty() && self.members.iter().all(|(_, m)| m.is_empty())
    }

    /// The amounts by counter, a name given twice added up (saturating),
    /// zero amounts left out: what the engines add, in a fixed order.
    pub(crate) fn amounts_by_name(&self) -> BTreeMap<&str, u64> {
        let mut total: BTreeMap<&str, u64> = BTreeMap::new();
        for (name, amount) in self.amounts.iter().filter(|(_, a)| *a > 0) {
            let sum = total.entry(name.as_str()).or_default();
            *sum = sum.saturating_add(*amount);
        }
        total
    }

    /// The (set, member) pairs, each once, in a fixed order.
    pub(crate) fn set_members(&self) -> BTreeSet<(&str, &str)> {
        self.members
            .iter()
            .flat_map(|(set, members)| members.iter().map(move |m| (set.as_str(), m.as_str())))
            .collect()
    }
}

/// What a [`WindowQuery`] totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowMeasure {
    /// The sum of a counter's amounts, by 5-minute buckets (see
    /// [`SenderActivity`]).
    Sum,
    /// The number of a set's distinct members added within the window.
    Distinct,
}

/// One total to read back: a counter's sum, or a set's distinct members,
/// over the window ending at the activity's `at`, that is
/// `(at - window_secs, at]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WindowQuery {
    /// The counter's or the set's name.
    pub name: String,
    /// Sum or distinct count.
    pub measure: WindowMeasure,
    /// The window's length: 1 second to [`MAX_WINDOW_SECS`].
    pub window_secs: u64,
}

impl WindowQuery {
    /// The sum of counter `name` over the last `window_secs`.
    pub fn sum(name: impl Into<String>, window_secs: u64) -> WindowQuery {
        WindowQuery {
            name: name.into(),
            measure: WindowMeasure::Sum,
            window_secs,
        }
    }

    /// The distinct members of set `name` over the last `window_secs`.
    pub fn distinct(name: impl Into<String>, window_secs: u64) -> WindowQuery {
        WindowQuery {
            name: name.into(),
            measure: WindowMeasure::Distinct,
            window_secs,
        }
    }

    /// The first second of the window ending at `at` (inclusive).
    pub(crate) fn start(&self, at: u64) -> u64 {
        at.checked_sub(self.window_secs).map_or(0, |low| low + 1)
    }

    /// The lowest time key this query reads, for a window ending at `at`:
    /// the start of the first bucket that overlaps the window for a sum,
    /// the window's first second for a distinct count. Both read up to `at`
    /// inclusive.
    pub(crate) fn low(&self, at: u64) -> u64 {
        match self.measure {
            WindowMeasure::Sum => bucket_of(self.start(at)),
            WindowMeasure::Distinct => self.start(at),
        }
    }
}

/// Refuses windows that make no sense: empty, or longer than
/// [`MAX_WINDOW_SECS`]. Every engine checks before it changes anything.
pub(crate) fn check_queries(queries: &[WindowQuery]) -> Result<(), StoreError> {
    match queries
        .iter()
        .find(|q| q.window_secs == 0 || q.window_secs > MAX_WINDOW_SECS)
    {
        Some(q) => Err(StoreError::InvalidWindow {
            name: q.name.clone(),
            window_secs: q.window_secs,
        }),
        None => Ok(()),
    }
}

/// The start of the bucket holding second `at`.
pub(crate) fn bucket_of(at: u64) -> u64 {
    at - at % ACTIVITY_BUCKET_SECS
}

/// The last second a bucket starting at `bucket` covers: it lies entirely
/// before `before` when this is.
pub(crate) fn bucket_end(bucket: u64) -> u64 {
    bucket.saturating_add(ACTIVITY_BUCKET_SECS - 1)
}

/// The counters of [`crate::MemoryStore`], and the plainest statement of
/// what the others keep.
#[derive(Debug, Default)]
pub(crate) struct ActivityBook {
    /// Message id -> the `at` it was recorded with.
    markers: BTreeMap<String, u64>,
    /// (sender, counter, bucket start) -> sum.
    sums: BTreeMap<(String, String, u64), u64>,
    /// (sender, set, member) -> last time added.
    members: BTreeMap<(String, String, String), u64>,
}

impl ActivityBook {
    /// See [`crate::Engine::record_sender_activity`].
    pub(crate) fn record(
        &mut self,
        activity: &SenderActivity,
        queries: &[WindowQuery],
    ) -> Result<Vec<u64>, StoreError> {
        check_queries(queries)?;
        let at = activity.at;
        if !activity.only_reads() && !self.markers.contains_key(&activity.message) {
            self.markers.insert(activity.message.clone(), at);
            for (name, amount) in activity.amounts_by_name() {
                let key = (activity.sender.clone(), name.to_owned(), bucket_of(at));
                let sum = self.sums.entry(key).or_default();
                *sum = sum.saturating_add(amount);
            }
            for (set, member) in activity.set_members() {
                let key = (activity.sender.clone(), set.to_owned(), member.to_owned());
                let last = self.members.entry(key).or_insert(at);
                *last = (*last).max(at);
            }
        }
        Ok(queries
            .iter()
            .map(|q| self.total(&activity.sender, q, at))
            .collect())
    }

    fn total(&self, sender: &str, query: &WindowQuery, at: u64) -> u64 {
        let low = query.low(at);
        let of_name = |s: &str, n: &str| s == sender && n == query.name;
        match query.measure {
            WindowMeasure::Sum => self
                .sums
                .iter()
                .filter(|((s, n, bucket), _)| of_name(s, n) && (low..=at).contains(bucket))
                .fold(0u64, |total, (_, sum)| total.saturating_add(*sum)),
            WindowMeasure::Distinct => self
                .members
                .iter()
                .filter(|((s, n, _), last)| of_name(s, n) && (low..=at).contains(*last))
                .count() as u64,
        }
    }

    /// See [`crate::Engine::prune_sender_activity`].
    pub(crate) fn prune(&mut self, before: u64) -> u64 {
        let count = self.markers.len() + self.sums.len() + self.members.len();
        self.markers.retain(|_, at| *at >= before);
        self.sums
            .retain(|(_, _, bucket), _| bucket_end(*bucket) >= before);
        self.members.retain(|_, last| *last >= before);
        (count - self.markers.len() - self.sums.len() - self.members.len()) as u64
    }
}
