//! `GET /quarantine`: the queue, newest first, with filters, counts by
//! rule, and checkboxes for the bulk decision form.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use cordon_store::QuarantineState;
use serde::Serialize;

use super::{UserView, internal, problem, render};
use crate::Console;
use crate::auth::PageUser;
use crate::decide::MAX_NOTE_CHARS;
use crate::error::ConsoleError;
use crate::filters::Filter;
use crate::model;

/// Most rows shown on one page.
const MAX_ROWS: usize = 500;

/// One row of the queue.
#[derive(Debug, Serialize)]
struct Row {
    id: String,
    held_at: u64,
    sender: String,
    recipients: Vec<String>,
    subject: Option<String>,
    rules: Vec<String>,
    state: String,
    proposed: bool,
    selectable: bool,
}

/// One rule and how many matching messages it holds.
#[derive(Debug, Serialize)]
struct RuleCount {
    rule: String,
    count: u64,
    query: String,
    selected: bool,
}

/// `GET /quarantine`.
pub(crate) async fn show(
    State(console): State<Arc<Console>>,
    user: PageUser,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let filter = match Filter::from_pairs(&query) {
        Ok(filter) => filter,
        Err(e) => {
            return problem(
                &console,
                Some(&user.session),
                StatusCode::BAD_REQUEST,
                "Filter not understood",
                &format!("{}.", crate::decide::capitalised(&e.to_string())),
                Some("/quarantine".to_owned()),
            );
        }
    };
    let state = filter.state;
    let records = match console
        .store
        .list_quarantine(state)
        .await
        .map_err(ConsoleError::from)
    {
        Ok(records) => records,
        Err(e) => return internal(&console, Some(&user.session), &e),
    };
    let can_decide = user.session.role.can_decide();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut total = 0usize;
    for record in &records {
        if !filter.matches_except_rule(record) {
            continue;
        }
        let rules = model::rules(record);
        for rule in &rules {
            *counts.entry(rule.clone()).or_default() += 1;
        }
        if !filter.matches(record, &rules) {
            continue;
        }
        total += 1;
        if rows.len() < MAX_ROWS {
            let held = record.state == QuarantineState::Held;
            rows.push(Row {
                id: record.id.to_string(),
                held_at: record.held_at,
                sender: record.sender.clone(),
                recipients: record.recipients.clone(),
                subject: record.subject.clone(),
                rules,
                state: record.state.to_string(),
                proposed: held && record.release_proposal.is_some(),
                selectable: held && can_decide,
            });
        }
    }
    let rule_counts: Vec<RuleCount> = counts
        .into_iter()
        .map(|(rule, count)| RuleCount {
            query: filter.query_with_rule(&rule),
            selected: filter.rule.as_deref() == Some(rule.as_str()),
            rule,
            count,
        })
        .collect();
    let can_bulk = can_decide && rows.iter().any(|r| r.selectable);
    let shown = rows.len();
    render(
        &console,
        StatusCode::OK,
        "queue.html",
        minijinja::context! {
            user => UserView::of(&user.session),
            title => "Quarantine",
            filter => filter.form,
            rule_counts => rule_counts,
            rows => rows,
            shown => shown,
            total => total,
            can_bulk => can_bulk,
            max_note => MAX_NOTE_CHARS,
        },
    )
}
