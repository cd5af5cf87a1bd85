//! What a scan found, counted as it goes and printed at the end: what
//! Information Security wants to know before switching blocking on.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use cordon_inspect::{Action, DomainClass, Verdict};

use crate::terminal;

/// The corrupt messages listed by name; the rest are only counted.
const LISTED_PROBLEMS: usize = 20;
/// How many senders to personal addresses are listed.
const TOP_SENDERS: usize = 10;

/// The tallies of a scan.
#[derive(Debug, Default)]
pub struct Summary {
    /// Messages judged.
    pub judged: u64,
    /// Messages that could not be read or judged.
    pub corrupt: u64,
    problems: Vec<String>,
    /// The strictest action for any recipient, per message.
    by_action: BTreeMap<&'static str, u64>,
    /// Recipients by domain class and action.
    by_class: BTreeMap<DomainClass, [u64; 3]>,
    /// Messages each rule applied to (for some recipient).
    by_rule: BTreeMap<String, u64>,
    /// Messages and findings per detector.
    by_detector: BTreeMap<&'static str, (u64, u64)>,
    /// Messages per classification level.
    by_level: BTreeMap<String, u64>,
    /// Per sender: messages to a personal address, and how many of those
    /// would have been held or rejected for it.
    personal_senders: HashMap<String, (u64, u64)>,
}

impl Summary {
    /// Counts one judged message.
    pub fn add(&mut self, verdict: &Verdict) {
        self.judged += 1;
        let strictest = verdict.recipients.iter().map(|r| r.action).max();
        let action = strictest.map_or("no recipients", Action::as_str);
        *self.by_action.entry(action).or_default() += 1;
        let mut rules: Vec<&str> = Vec::new();
        let (mut to_personal, mut stopped_personal) = (false, false);
        for recipient in &verdict.recipients {
            self.by_class.entry(recipient.domain_class).or_default()
                [action_index(recipient.action)] += 1;
            rules.extend(recipient.reasons.iter().map(|r| r.rule.as_str()));
            if recipient.domain_class == DomainClass::Personal {
                to_personal = true;
                stopped_personal |= recipient.action != Action::Deliver;
            }
        }
        rules.sort_unstable();
        rules.dedup();
        for rule in rules {
            *self.by_rule.entry(rule.to_owned()).or_default() += 1;
        }
        let mut detectors: BTreeMap<&'static str, u64> = BTreeMap::new();
        for finding in &verdict.findings {
            *detectors.entry(finding.detector.as_str()).or_default() += finding.count as u64;
        }
        for (detector, count) in detectors {
            let entry = self.by_detector.entry(detector).or_default();
            entry.0 += 1;
            entry.1 += count;
        }
        *self
            .by_level
            .entry(verdict.classification.level.to_string())
            .or_default() += 1;
        if to_personal {
            let sender = verdict.sender.address.to_ascii_lowercase();
            let entry = self.personal_senders.entry(sender).or_default();
            entry.0 += 1;
            entry.1 += u64::from(stopped_personal);
        }
    }

    /// Counts a message that could not be read or judged.
    pub fn add_problem(&mut self, file: &Path, offset: u64, reason: &str) {
        self.corrupt += 1;
        if self.problems.len() < LISTED_PROBLEMS {
            self.problems.push(format!(
                "{}:{offset}: {}",
                terminal::field(&file.display().to_string()),
                terminal::field(reason)
            ));
        }
    }

    /// Prints the summary.
    pub fn print(&self, out: &mut impl Write, seconds: f64) -> std::io::Result<()> {
        let total = self.judged + self.corrupt;
        writeln!(
            out,
            "{total} messages in {seconds:.1} s ({:.0} messages/s): {} judged, {} could not be read",
            total as f64 / seconds.max(1e-9),
            self.judged,
            self.corrupt
        )?;
        writeln!(
            out,
            "\nMessages by action (the strictest for any recipient)"
        )?;
        for action in ["deliver", "hold", "reject", "no recipients"] {
            if let Some(n) = self.by_action.get(action) {
                writeln!(out, "  {action:<34} {n:>8}")?;
            }
        }
        writeln!(
            out,
            "\nRecipients by domain class          deliver     hold   reject"
        )?;
        for (class, [deliver, hold, reject]) in &self.by_class {
            writeln!(
                out,
                "  {:<32} {deliver:>8} {hold:>8} {reject:>8}",
                class.as_str()
            )?;
        }
        writeln!(out, "\nMessages by rule")?;
        if self.by_rule.is_empty() {
            writeln!(out, "  (no rule applied)")?;
        }
        for (rule, n) in &self.by_rule {
            writeln!(out, "  {:<34} {n:>8}", terminal::field(rule))?;
        }
        writeln!(
            out,
            "\nMessages by detector                messages findings"
        )?;
        if self.by_detector.is_empty() {
            writeln!(out, "  (nothing found)")?;
        }
        for (detector, (messages, findings)) in &self.by_detector {
            writeln!(out, "  {detector:<32} {messages:>8} {findings:>8}")?;
        }
        writeln!(out, "\nMessages by classification")?;
        for (level, n) in &self.by_level {
            writeln!(out, "  {level:<34} {n:>8}")?;
        }
        writeln!(
            out,
            "\nTop senders to personal addresses          messages  stopped"
        )?;
        let mut senders: Vec<(&String, &(u64, u64))> = self.personal_senders.iter().collect();
        senders.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        if senders.is_empty() {
            writeln!(out, "  (none)")?;
        }
        if !self.personal_senders.is_empty() {
            writeln!(
                out,
                "  (stopped: held or rejected for a personal address; the top {TOP_SENDERS})"
            )?;
        }
        for (sender, (messages, stopped)) in senders.into_iter().take(TOP_SENDERS) {
            let sender = if sender.is_empty() {
                "(no sender)"
            } else {
                sender
            };
            writeln!(
                out,
                "  {:<40} {messages:>8} {stopped:>8}",
                terminal::field(sender)
            )?;
        }
        if self.corrupt > 0 {
            writeln!(
                out,
                "\nMessages that could not be read (file:offset: reason)"
            )?;
            for problem in &self.problems {
                writeln!(out, "  {problem}")?;
            }
            if self.corrupt > self.problems.len() as u64 {
                writeln!(
                    out,
                    "  ... and {} more (all are in the --json output)",
                    self.corrupt - self.problems.len() as u64
                )?;
            }
        }
        Ok(())
    }
}

fn action_index(action: Action) -> usize {
    match action {
        Action::Deliver => 0,
        Action::Hold => 1,
        Action::Reject => 2,
    }
}
