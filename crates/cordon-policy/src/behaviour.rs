//! Sender behaviour: rules on what one sender has sent over a window (mass
//! mailing, a slow drip of files to a personal address), not on one
//! message alone.
//!
//! The decision stays pure: the caller records each message's
//! [`Activity`] wherever it keeps counters (the gateway: its store, shared
//! by all gateways) and hands back the [`BehaviourTotals`] over the
//! windows the rules name, this message included. Without a store (`cordon
//! check`, `cordon scan`) the totals are the message's own, so a single
//! message to 300 external addresses is still a mass mailing.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::DomainClass;

/// What a behaviour rule counts for a sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Messages sent.
    Messages,
    /// Messages with at least one personal (webmail) recipient.
    MessagesToPersonal,
    /// Files attached to messages with a personal recipient.
    AttachmentsToPersonal,
    /// Bytes of messages with a personal recipient.
    BytesToPersonal,
    /// Distinct external and personal recipients (outside the force and the
    /// secure networks).
    ExternalRecipients,
    /// Distinct personal recipients.
    PersonalRecipients,
}

impl Measure {
    /// Every measure.
    pub const ALL: [Measure; 6] = [
        Measure::Messages,
        Measure::MessagesToPersonal,
        Measure::AttachmentsToPersonal,
        Measure::BytesToPersonal,
        Measure::ExternalRecipients,
        Measure::PersonalRecipients,
    ];

    /// As written in rules and kept in stores, e.g. `attachments_to_personal`.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Messages => "messages",
            Measure::MessagesToPersonal => "messages_to_personal",
            Measure::AttachmentsToPersonal => "attachments_to_personal",
            Measure::BytesToPersonal => "bytes_to_personal",
            Measure::ExternalRecipients => "external_recipients",
            Measure::PersonalRecipients => "personal_recipients",
        }
    }

    /// True when it counts distinct recipients rather than adding amounts.
    pub fn is_distinct(self) -> bool {
        matches!(
            self,
            Measure::ExternalRecipients | Measure::PersonalRecipients
        )
    }

    /// What `n` of it is, in words: "4 attachments to personal addresses".
    fn describe(self, n: u64) -> String {
        let (one, several) = match self {
            Measure::Messages => ("message", "messages"),
            Measure::MessagesToPersonal => (
                "message to a personal address",
                "messages to personal addresses",
            ),
            Measure::AttachmentsToPersonal => (
                "attachment to personal addresses",
                "attachments to personal addresses",
            ),
            Measure::BytesToPersonal => {
                return format!("{:.1} MB to personal addresses", n as f64 / 1e6);
            }
            Measure::ExternalRecipients => (
                "external or personal recipient",
                "distinct external or personal recipients",
            ),
            Measure::PersonalRecipients => ("personal recipient", "distinct personal recipients"),
        };
        format!("{n} {}", if n == 1 { one } else { several })
    }
}

/// The window of a behaviour rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// The last 60 minutes.
    Hour,
    /// The last 24 hours.
    Day,
    /// The last 7 days.
    Week,
}

impl Per {
    /// Its length in seconds.
    pub fn seconds(self) -> u64 {
        match self {
            Per::Hour => 3_600,
            Per::Day => 86_400,
            Per::Week => 7 * 86_400,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Per::Hour => "hour",
            Per::Day => "day",
            Per::Week => "week",
        }
    }
}

/// A rule's condition on the sender's behaviour: more than `more_than` of
/// `count` within the last `per`, this message included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviourCondition {
    /// What is counted.
    pub count: Measure,
    /// Over which window.
    pub per: Per,
    /// The threshold: the rule applies when the total is above it.
    pub more_than: u64,
}

impl BehaviourCondition {
    /// The total this condition reads.
    pub fn query(&self) -> (Measure, u64) {
        (self.count, self.per.seconds())
    }

    /// True when the totals pass the threshold.
    pub(crate) fn holds(&self, totals: &BehaviourTotals) -> bool {
        totals.get(self.query()) > self.more_than
    }

    /// The evidence sentence: "4 attachments to personal addresses from
    /// this sender in the last day (the limit is 3)".
    pub(crate) fn describe(&self, totals: &BehaviourTotals) -> String {
        format!(
            "{} from this sender in the last {} (the limit is {})",
            self.count.describe(totals.get(self.query())),
            self.per.as_str(),
            self.more_than
        )
    }
}

/// One message's contribution to its sender's counters, and the totals the
/// rules want back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// The sender, lowercased.
    pub sender: String,
    /// Amounts this message adds.
    pub sums: Vec<(Measure, u64)>,
    /// Recipients this message adds to distinct counts, lowercased.
    pub members: Vec<(Measure, Vec<String>)>,
    /// The (measure, window in seconds) totals the rules read.
    pub queries: Vec<(Measure, u64)>,
}

impl Activity {
    /// The totals of this message alone, for a caller without counters.
    pub fn alone(&self) -> BehaviourTotals {
        let map = self
            .queries
            .iter()
            .map(|&(measure, window)| {
                let sum: u64 = self
                    .sums
                    .iter()
                    .filter(|(m, _)| *m == measure)
                    .map(|(_, n)| *n)
                    .sum();
                let members = self
                    .members
                    .iter()
                    .filter(|(m, _)| *m == measure)
                    .map(|(_, v)| v.len() as u64)
                    .sum::<u64>();
                ((measure, window), sum + members)
            })
            .collect();
        BehaviourTotals(map)
    }
}

/// The sender's totals over the rules' windows, this message included:
/// (measure, window in seconds) -> total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BehaviourTotals(pub BTreeMap<(Measure, u64), u64>);

impl BehaviourTotals {
    /// The total of `measure` over `window` seconds (0 when not read).
    pub fn get(&self, (measure, window): (Measure, u64)) -> u64 {
        self.0.get(&(measure, window)).copied().unwrap_or(0)
    }
}

/// A message's activity: what it adds to each measure a rule reads, from
/// its recipients' classes, its attached files and its size.
pub(crate) fn activity(
    sender: &str,
    recipients: &[(String, DomainClass)],
    attachments: usize,
    size: usize,
    queries: &[(Measure, u64)],
) -> Activity {
    let personal: Vec<String> = recipients
        .iter()
        .filter(|(_, c)| *c == DomainClass::Personal)
        .map(|(a, _)| a.to_lowercase())
        .collect();
    let outside: Vec<String> = recipients
        .iter()
        .filter(|(_, c)| matches!(c, DomainClass::Personal | DomainClass::External))
        .map(|(a, _)| a.to_lowercase())
        .collect();
    let to_personal = !personal.is_empty();
    let mut sums = vec![(Measure::Messages, 1)];
    if to_personal {
        sums.push((Measure::MessagesToPersonal, 1));
        sums.push((Measure::AttachmentsToPersonal, attachments as u64));
        sums.push((Measure::BytesToPersonal, size as u64));
    }
    let wanted = |m: Measure| queries.iter().any(|(q, _)| *q == m);
    sums.retain(|(m, n)| wanted(*m) && *n > 0);
    let mut members = Vec::new();
    if wanted(Measure::ExternalRecipients) && !outside.is_empty() {
        members.push((Measure::ExternalRecipients, outside));
    }
    if wanted(Measure::PersonalRecipients) && !personal.is_empty() {
        members.push((Measure::PersonalRecipients, personal));
    }
    Activity {
        sender: sender.to_lowercase(),
        sums,
        members,
        queries: queries.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipients(list: &[(&str, DomainClass)]) -> Vec<(String, DomainClass)> {
        list.iter().map(|(a, c)| (a.to_string(), *c)).collect()
    }

    #[test]
    fn a_message_adds_what_the_rules_read() {
        let queries = vec![
            (Measure::AttachmentsToPersonal, 86_400),
            (Measure::ExternalRecipients, 3_600),
        ];
        let a = activity(
            "Sam.Okafor@northshire.police.uk",
            &recipients(&[
                ("Sam.Home@Gmail.com", DomainClass::Personal),
                ("j.bell@bellandco-solicitors.co.uk", DomainClass::External),
                ("duty@kent.police.uk", DomainClass::Secure),
            ]),
            2,
            20_000,
            &queries,
        );
        assert_eq!(a.sender, "sam.okafor@northshire.police.uk");
        assert_eq!(a.sums, [(Measure::AttachmentsToPersonal, 2)]);
        assert_eq!(
            a.members,
            [(
                Measure::ExternalRecipients,
                vec![
                    "sam.home@gmail.com".to_owned(),
                    "j.bell@bellandco-solicitors.co.uk".to_owned()
                ]
            )]
        );
        let alone = a.alone();
        let condition = BehaviourCondition {
            count: Measure::ExternalRecipients,
            per: Per::Hour,
            more_than: 1,
        };
        assert!(condition.holds(&alone));
        assert_eq!(
            condition.describe(&alone),
            "2 distinct external or personal recipients from this sender in the last hour (the limit is 1)"
        );
    }

    #[test]
    fn nothing_to_personal_adds_nothing_to_personal_measures() {
        let a = activity(
            "a@northshire.police.uk",
            &recipients(&[("x@kent.police.uk", DomainClass::Secure)]),
            3,
            10,
            &[(Measure::AttachmentsToPersonal, 86_400)],
        );
        assert!(a.sums.is_empty() && a.members.is_empty());
        assert_eq!(
            a.alone(),
            BehaviourTotals([((Measure::AttachmentsToPersonal, 86_400), 0)].into())
        );
    }
}
