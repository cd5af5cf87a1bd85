//! `GET /quarantine`: the queue, newest first, a page at a time, with
//! filters, counts by rule, and checkboxes for the bulk decision form.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use cordon_store::{QuarantineSearch, QuarantineState};
use serde::Serialize;

use super::{UserView, internal, problem, render};
use crate::Console;
use crate::auth::PageUser;
use crate::decide::MAX_NOTE_CHARS;
use crate::error::ConsoleError;
use crate::filters::Filter;

/// Rows on one page.
const PAGE_ROWS: usize = 100;

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
    let query = filter.query();
    let QuarantineSearch { page, count } = match console
        .store
        .search_quarantine(query, filter.before, PAGE_ROWS)
        .await
        .map_err(ConsoleError::from)
    {
        Ok(found) => found,
        Err(e) => return internal(&console, Some(&user.session), &e),
    };
    let can_decide = user.session.role.can_decide();
    let rows: Vec<Row> = page
        .records
        .iter()
        .map(|record| {
            let held = record.state == QuarantineState::Held;
            Row {
                id: record.id.to_string(),
                held_at: record.held_at,
                sender: record.sender.clone(),
                recipients: record.recipients.clone(),
                subject: record.subject.clone(),
                rules: record.held_by_rules(),
                state: record.state.to_string(),
                proposed: held && record.release_proposal.is_some(),
                selectable: held && can_decide,
            }
        })
        .collect();
    let rule_counts: Vec<RuleCount> = count
        .by_rule
        .into_iter()
        .map(|(rule, count)| RuleCount {
            query: filter.query_with_rule(&rule),
            selected: filter.rule.as_deref() == Some(rule.as_str()),
            rule,
            count,
        })
        .collect();
    let older = page.next.map(|cursor| filter.query_before(&cursor));
    let first_page = filter
        .before
        .is_some()
        .then(|| filter.query_with_rule(&filter.form.rule));
    let can_bulk = can_decide && rows.iter().any(|r| r.selectable);
    let shown = rows.len();
    let total = count.total;
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
            older => older,
            first_page => first_page,
            can_bulk => can_bulk,
            max_note => MAX_NOTE_CHARS,
        },
    )
}
