//! Prometheus metrics of the gateway: decisions by action, inspection latency,
//! queue depth.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Label of a per-recipient decision.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabel {
    /// `deliver`, `hold` or `reject`.
    pub action: String,
}

/// Label of a delivery attempt's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `delivered`, `deferred` or `failed`.
    pub outcome: String,
}

/// Label of a notice sent to a sender.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NoticeLabel {
    /// The notice kind, e.g. `held` or `rejected`.
    pub kind: String,
}

/// The gateway's metrics, registered in one registry.
#[derive(Debug)]
pub struct Metrics {
    /// Messages accepted over SMTP.
    pub accepted: Counter,
    /// Recipient decisions by action.
    pub decisions: Family<ActionLabel, Counter>,
    /// Delivery attempts by outcome, per recipient.
    pub deliveries: Family<OutcomeLabel, Counter>,
    /// Notices queued for senders, by kind.
    pub notices: Family<NoticeLabel, Counter>,
    /// Seconds spent inspecting one message.
    pub inspection_seconds: Histogram,
    /// Messages in the queue not yet finished.
    pub queue_depth: Gauge,
    /// Messages held in quarantine.
    pub quarantine_held: Gauge,
    /// Messages whose spool file was found damaged (missing, unreadable,
    /// malformed or truncated) since the start: they cannot be delivered or
    /// released.
    pub spool_damaged: Gauge,
    /// Age in seconds of the held quarantine entry that has waited longest
    /// for a decision (0 when none is held): for an alert before entries
    /// expire undecided.
    pub quarantine_oldest_held_seconds: Gauge,
    /// Notices to senders that could not be composed, or whose delivery
    /// was deferred or failed: a sender who is not told may send again by
    /// another route.
    pub notice_failures: Counter,
    /// Messages decided without their sender's history because the
    /// behaviour counters could not be read: the behaviour rules saw the
    /// message alone.
    pub sender_history_failures: Counter,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Metrics {
        let accepted = Counter::default();
        let decisions = Family::<ActionLabel, Counter>::default();
        let deliveries = Family::<OutcomeLabel, Counter>::default();
        let notices = Family::<NoticeLabel, Counter>::default();
        let buckets = [
            0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ];
        let inspection_seconds = Histogram::new(buckets);
        let queue_depth = Gauge::default();
        let quarantine_held = Gauge::default();
        let spool_damaged = Gauge::default();
        let quarantine_oldest_held_seconds = Gauge::default();
        let notice_failures = Counter::default();
        let sender_history_failures = Counter::default();
        let mut registry = Registry::with_prefix("cordon");
        registry.register(
            "messages_accepted",
            "Messages accepted over SMTP",
            accepted.clone(),
        );
        registry.register(
            "recipient_decisions",
            "Per-recipient decisions by action",
            decisions.clone(),
        );
        registry.register(
            "deliveries",
            "Delivery attempts per recipient by outcome",
            deliveries.clone(),
        );
        registry.register(
            "notices",
            "Notices queued for senders by kind",
            notices.clone(),
        );
        registry.register(
            "inspection_seconds",
            "Time to inspect one message",
            inspection_seconds.clone(),
        );
        registry.register(
            "queue_depth",
            "Messages in the queue not yet finished",
            queue_depth.clone(),
        );
        registry.register(
            "quarantine_held",
            "Messages held in quarantine",
            quarantine_held.clone(),
        );
        registry.register(
            "spool_damaged",
            "Messages whose spool file is damaged (missing, unreadable, malformed or truncated): they cannot be delivered or released",
            spool_damaged.clone(),
        );
        registry.register(
            "quarantine_oldest_held_seconds",
            "Age in seconds of the held quarantine entry that has waited longest for a decision (0 when none is held)",
            quarantine_oldest_held_seconds.clone(),
        );
        registry.register(
            "notice_failures",
            "Notices to senders that could not be composed, or whose delivery attempt was deferred or failed",
            notice_failures.clone(),
        );
        registry.register(
            "sender_history_failures",
            "Messages decided without their sender's history (the behaviour counters could not be read): behaviour rules saw the message alone",
            sender_history_failures.clone(),
        );
        Metrics {
            accepted,
            decisions,
            deliveries,
            notices,
            inspection_seconds,
            queue_depth,
            quarantine_held,
            spool_damaged,
            quarantine_oldest_held_seconds,
            notice_failures,
            sender_history_failures,
            registry,
        }
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// Counts one recipient decision.
    pub fn decided(&self, action: &str) {
        self.decisions
            .get_or_create(&ActionLabel {
                action: action.to_owned(),
            })
            .inc();
    }

    /// Counts one notice queued.
    pub fn notice(&self, kind: &str) {
        self.notices
            .get_or_create(&NoticeLabel {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Counts one delivery outcome.
    pub fn delivery(&self, outcome: &str) {
        self.deliveries
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The metric families registered, as `# TYPE` lines name them.
    fn families() -> BTreeSet<String> {
        Metrics::new()
            .encode()
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    }

    /// Every `cordon_...` name in `text`, less the sample suffixes.
    fn named_in(text: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut rest = text;
        while let Some(at) = rest.find("cordon_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            let family = ["_total", "_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name);
            names.insert(family.to_owned());
        }
        names
    }

    #[test]
    fn the_documented_dashboard_and_alerts_use_only_metrics_that_exist() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        let dashboard =
            std::fs::read_to_string(docs.join("grafana-dashboard.json")).expect("dashboard");
        let json: serde_json::Value = serde_json::from_str(&dashboard).expect("valid JSON");
        let expressions: String = json["panels"]
            .as_array()
            .expect("panels")
            .iter()
            .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
            .filter_map(|t| t["expr"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
            .join("\n");
        let guide = std::fs::read_to_string(docs.join("deployment.md")).expect("guide");
        let alerts = &guide[guide.find("groups:").expect("the alert rules")..];
        let alerts = &alerts[..alerts.find("```").expect("the end of the rules")];
        let exist = families();
        for (what, text) in [("dashboard", expressions.as_str()), ("alerts", alerts)] {
            let named = named_in(text);
            assert!(!named.is_empty(), "{what} names no metric");
            let missing: Vec<&String> = named.difference(&exist).collect();
            assert!(
                missing.is_empty(),
                "the {what} name {missing:?}; there are {exist:?}"
            );
        }
        // and every family is on the dashboard
        let on_dashboard = named_in(&expressions);
        let unused: Vec<&String> = exist.difference(&on_dashboard).collect();
        assert!(unused.is_empty(), "not on the dashboard: {unused:?}");
    }
}
