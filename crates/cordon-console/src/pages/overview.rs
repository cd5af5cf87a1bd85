//! `GET /`: the overview: how many are held, how long the oldest has
//! waited, what was decided today, and charts by rule and by day.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cordon_store::{QuarantineState, QuarantineTally};
use serde::Serialize;

use super::{UserView, internal, render};
use crate::Console;
use crate::auth::PageUser;
use crate::charts::{Bar, bar_chart};
use crate::error::ConsoleError;
use crate::runtime::now;
use crate::time;

/// Days shown in the chart by day.
const DAYS: i64 = 14;

/// Most rules shown in the chart by rule (the rest are summed as "other").
const MAX_RULES: usize = 12;

/// The oldest held message.
#[derive(Debug, Serialize)]
struct Oldest {
    id: String,
    held_at: u64,
    age: String,
}

/// Decisions made today (UK time).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
struct Today {
    released: u64,
    rejected: u64,
    expired: u64,
}

/// `GET /`.
pub(crate) async fn show(State(console): State<Arc<Console>>, user: PageUser) -> Response {
    let (tally, oldest) = match tokio::try_join!(
        console.store.quarantine_tally(),
        console.store.oldest_held()
    )
    .map_err(ConsoleError::from)
    {
        Ok(found) => found,
        Err(e) => return internal(&console, Some(&user.session), &e),
    };
    let now = now();
    let oldest = oldest.map(|r| Oldest {
        id: r.id.to_string(),
        held_at: r.held_at,
        age: time::age(now.saturating_sub(r.held_at)),
    });
    let today_start = time::day_start(time::date_of(now));
    let decided_today = |state| tally.decided_between(state, today_start, u64::MAX);
    let today = Today {
        released: decided_today(QuarantineState::Released),
        rejected: decided_today(QuarantineState::Rejected),
        expired: decided_today(QuarantineState::Expired),
    };
    render(
        &console,
        StatusCode::OK,
        "overview.html",
        minijinja::context! {
            user => UserView::of(&user.session),
            title => "Overview",
            held => tally.in_state(QuarantineState::Held),
            oldest => oldest,
            today => today,
            by_rule => bar_chart("Held messages by rule", &by_rule(&tally)),
            by_day => bar_chart("Messages held per day, last 14 days", &by_day(&tally, now)),
            hold_days => console.config.hold_days,
        },
    )
}

/// Held messages per rule, most first (a message held by two rules counts
/// for both; one held by none is counted as "(no rule recorded)").
fn by_rule(tally: &QuarantineTally) -> Vec<Bar> {
    let mut counts = tally.by_rule(QuarantineState::Held);
    let without = tally.without_rule(QuarantineState::Held);
    if without > 0 {
        counts.insert("(no rule recorded)".to_owned(), without);
    }
    let mut bars: Vec<Bar> = counts
        .into_iter()
        .map(|(label, value)| Bar { label, value })
        .collect();
    bars.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.label.cmp(&b.label)));
    if bars.len() > MAX_RULES {
        let other: u64 = bars.drain(MAX_RULES - 1..).map(|b| b.value).sum();
        bars.push(Bar {
            label: "other rules".to_owned(),
            value: other,
        });
    }
    bars
}

/// Messages put in quarantine on each of the last [`DAYS`] UK days
/// (whatever became of them), oldest day first.
fn by_day(tally: &QuarantineTally, now: u64) -> Vec<Bar> {
    let today = time::date_of(now);
    let mut bars = Vec::new();
    for back in (0..DAYS).rev() {
        let Ok(day) = today.checked_sub(jiff::Span::new().days(back)) else {
            continue;
        };
        bars.push(Bar {
            label: time::day_label(day),
            value: tally.held_between(time::day_start(day), time::day_end(day)),
        });
    }
    bars
}

#[cfg(test)]
mod tests {
    use cordon_store::{QuarantineRecord, QueueId};

    use super::*;

    fn record(held_at: u64, rules: &[&str]) -> QuarantineRecord {
        let id = QueueId::new();
        let reasons: Vec<serde_json::Value> = rules
            .iter()
            .map(|r| serde_json::json!({ "rule": r }))
            .collect();
        QuarantineRecord {
            id,
            message_id: id,
            recipients: vec![],
            sender: String::new(),
            subject: None,
            held_at,
            expires_at: held_at,
            state: QuarantineState::Held,
            findings_json: "[]".into(),
            reasons_json: serde_json::json!([{ "address": "x@y", "reasons": reasons }]).to_string(),
            decided_by: None,
            decided_at: None,
            note: None,
            sender_notified: false,
            release_proposal: None,
            rules: Vec::new(),
        }
    }

    #[test]
    fn counts_by_rule_most_first() {
        let (a, b, c) = (record(1, &["r2", "r1"]), record(2, &["r1"]), record(3, &[]));
        let bars = by_rule(&QuarantineTally::of([&a, &b, &c].into_iter()));
        let pairs: Vec<(&str, u64)> = bars.iter().map(|b| (b.label.as_str(), b.value)).collect();
        assert_eq!(pairs, vec![("r1", 2), ("(no rule recorded)", 1), ("r2", 1)]);
        let many: Vec<QuarantineRecord> = (0..20)
            .map(|i| record(1, &[&format!("rule{i:02}")]))
            .collect();
        let bars = by_rule(&QuarantineTally::of(many.iter()));
        assert_eq!(bars.len(), MAX_RULES);
        assert_eq!(bars[MAX_RULES - 1].label, "other rules");
        assert_eq!(bars[MAX_RULES - 1].value, 9);
    }

    #[test]
    fn counts_by_uk_day() {
        // Tue 15 Jul 2025, 12:00 BST.
        let now = 1_752_577_200;
        let today = time::day_start(time::date_of(now));
        let all = [
            record(today, &[]),
            record(now, &[]),
            record(today - 1, &[]),
            record(today - 13 * 86_400, &[]),
            record(today - 14 * 86_400, &[]),
        ];
        let bars = by_day(&QuarantineTally::of(all.iter()), now);
        assert_eq!(bars.len(), 14);
        assert_eq!(bars[13].label, "Tue 15 Jul");
        assert_eq!(bars[13].value, 2);
        assert_eq!(bars[12].value, 1);
        assert_eq!(bars[0].label, "Wed 2 Jul");
        assert_eq!(bars[0].value, 1);
        assert_eq!(bars.iter().map(|b| b.value).sum::<u64>(), 4);
    }
}
