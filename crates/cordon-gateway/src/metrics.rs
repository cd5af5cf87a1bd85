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
