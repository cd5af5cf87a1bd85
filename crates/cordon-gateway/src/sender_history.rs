//! The sender behaviour rules' history: each inspected message's activity
//! recorded in the store (shared by all gateways with PostgreSQL), and the
//! totals read back for the decision, in one store call on the inspection's
//! blocking thread.

use cordon_inspect::{Activity, BehaviourTotals, Inspector, Measure};
use cordon_store::{Engine, SenderActivity, StoreError, WindowQuery};

use crate::now;

/// The key that makes recording one message idempotent: a hash of its
/// sender and bytes, so that a message inspected again (after a crash, or a
/// held recipient the milter hands over to the gateway) counts once.
fn message_key(sender: &str, message: &[u8]) -> String {
    use std::hash::Hasher;
    // Fixed keys: every gateway must compute the same key for one message.
    let mut hasher =
        siphasher::sip128::SipHasher13::new_with_keys(0x636f_7264_6f6e, 0x6163_7469_7669);
    hasher.write(sender.as_bytes());
    hasher.write(&[0]);
    hasher.write(message);
    format!(
        "{:032x}",
        siphasher::sip128::Hasher128::finish128(&hasher).as_u128()
    )
}

/// Records `activity` for `message` at `at` with `store` (an engine's
/// `record_sender_activity`) and returns the totals the rules read.
fn record(
    store: impl FnOnce(&SenderActivity, &[WindowQuery]) -> Result<Vec<u64>, StoreError>,
    activity: &Activity,
    message: &[u8],
    at: u64,
) -> Result<BehaviourTotals, StoreError> {
    let name = |m: Measure| m.as_str().to_owned();
    let stored = SenderActivity {
        sender: activity.sender.clone(),
        message: message_key(&activity.sender, message),
        at,
        amounts: activity.sums.iter().map(|&(m, n)| (name(m), n)).collect(),
        members: activity
            .members
            .iter()
            .map(|(m, members)| (name(*m), members.clone()))
            .collect(),
    };
    let queries: Vec<WindowQuery> = activity
        .queries
        .iter()
        .map(|&(m, window)| {
            if m.is_distinct() {
                WindowQuery::distinct(name(m), window)
            } else {
                WindowQuery::sum(name(m), window)
            }
        })
        .collect();
    let totals = store(&stored, &queries)?;
    Ok(BehaviourTotals(
        activity.queries.iter().copied().zip(totals).collect(),
    ))
}

/// Inspects a message with its sender's history kept in `engine`; blocks,
/// so call it on the blocking pool.
///
/// When the counters cannot be read (the shared database is down), the
/// behaviour rules see the message alone, as `cordon check` does, and the
/// error comes back beside the verdict for the caller to log and count.
/// Every content rule still applies in full; only the history of earlier
/// messages is missing, for as long as the outage lasts. Holding or
/// delaying every message instead would stop a force's mail whenever its
/// database does, and clean mail flowing through an outage is what the
/// gateways' local spools are for.
pub fn check_with_history(
    inspector: &Inspector,
    engine: &dyn Engine,
    message: &[u8],
    envelope: &cordon_inspect::Envelope,
) -> (cordon_inspect::Verdict, Option<StoreError>) {
    check_at(inspector, message, envelope, now(), |activity, queries| {
        engine.record_sender_activity(activity, queries)
    })
}

/// [`check_with_history`] at the time `at`, the counters kept by `store`.
fn check_at(
    inspector: &Inspector,
    message: &[u8],
    envelope: &cordon_inspect::Envelope,
    at: u64,
    store: impl FnOnce(&SenderActivity, &[WindowQuery]) -> Result<Vec<u64>, StoreError>,
) -> (cordon_inspect::Verdict, Option<StoreError>) {
    let mut failure = None;
    let verdict = inspector.check_with_history(message, envelope, |activity| {
        record(store, activity, message, at).unwrap_or_else(|e| {
            failure = Some(e);
            activity.alone()
        })
    });
    (verdict, failure)
}

/// How long counters are kept: the longest window the rules read, and a
/// day at least (so a reload that shortens the windows loses nothing soon).
pub(crate) fn retention(inspector: &Inspector) -> u64 {
    inspector
        .behaviour_queries()
        .iter()
        .map(|&(_, window)| window)
        .max()
        .unwrap_or(0)
        .max(86_400)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use cordon_inspect::{Action, Envelope, Verdict};
    use cordon_store::MemoryStore;

    use super::*;

    fn inspector() -> Inspector {
        Inspector::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules"))
            .expect("shipped rules")
    }

    /// A message from `from` to `to` with one attached file; `n` makes each one different.
    fn with_attachment(from: &str, to: &[String], n: usize) -> Vec<u8> {
        format!(
            "From: {from}\r\nTo: {}\r\nSubject: notes {n}\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: text/plain\r\n\r\nNotes attached.\r\n--b\r\n\
             Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"notes{n}.txt\"\r\n\r\n\
             Shopping list {n}: bread, milk.\r\n--b--\r\n",
            to.join(", ")
        )
        .into_bytes()
    }

    /// Inspects at the time `at` (seconds), the store keeping the history.
    fn check(inspector: &Inspector, engine: &dyn Engine, message: &[u8], at: u64) -> Verdict {
        let (verdict, failure) = check_at(inspector, message, &Envelope::default(), at, |a, q| {
            engine.record_sender_activity(a, q)
        });
        assert!(failure.is_none(), "{failure:?}");
        verdict
    }

    #[test]
    fn without_counters_the_rules_see_the_message_alone_and_say_so() {
        let inspector = inspector();
        let home = vec!["alex.turner84@gmail.com".to_owned()];
        let me = "alex.turner@northshire.police.uk";
        let broken = |_: &SenderActivity, _: &[WindowQuery]| -> Result<Vec<u64>, StoreError> {
            Err(StoreError::InvalidWindow {
                name: "attachments_to_personal".into(),
                window_secs: 0,
            })
        };
        // One file to one's own webmail: delivered, and the failure reported.
        let message = with_attachment(me, &home, 0);
        let (verdict, failure) = check_at(&inspector, &message, &Envelope::default(), T0, broken);
        assert!(matches!(failure, Some(StoreError::InvalidWindow { .. })));
        assert_eq!(actions(&verdict), [Action::Deliver]);
        // A mass mailing in one message is still one without history.
        let many: Vec<String> = (0..260)
            .map(|i| format!("resident{i}@example-housing.org.uk"))
            .collect();
        let mailing = format!(
            "From: {me}\r\nTo: {}\r\nSubject: meeting\r\n\r\nCome.\r\n",
            many.join(", ")
        );
        let (verdict, failure) = check_at(
            &inspector,
            mailing.as_bytes(),
            &Envelope::default(),
            T0,
            broken,
        );
        assert!(failure.is_some());
        assert!(rules(&verdict).iter().all(|r| r == "mass-mailing"));
        assert!(actions(&verdict).iter().all(|a| *a == Action::Hold));
        // Without behaviour rules the counters are not asked for at all.
        let plain = Inspector::new({
            let mut policy = inspector.policy().clone();
            policy.rules.retain(|r| r.when.behaviour.is_none());
            policy
        })
        .expect("compiles");
        let (verdict, failure) = check_at(&plain, &message, &Envelope::default(), T0, |_, _| {
            panic!("no counters are needed")
        });
        assert!(failure.is_none());
        assert_eq!(actions(&verdict), [Action::Deliver]);
    }

    fn actions(verdict: &Verdict) -> Vec<Action> {
        verdict.recipients.iter().map(|r| r.action).collect()
    }

    fn rules(verdict: &Verdict) -> Vec<String> {
        verdict
            .recipients
            .iter()
            .flat_map(|r| r.reasons.iter().map(|x| x.rule.clone()))
            .collect()
    }

    const DAY: u64 = 86_400;
    const T0: u64 = 1_800_000_000;

    #[test]
    fn the_fourth_file_of_the_day_to_ones_own_webmail_is_held_and_the_next_day_starts_again() {
        let inspector = inspector();
        let engine = MemoryStore::new();
        let me = "alex.turner@northshire.police.uk";
        let home = vec!["alex.turner84@gmail.com".to_owned()];
        // Three files in the morning: the self-send exception delivers them.
        for n in 0..3 {
            let v = check(
                &inspector,
                &engine,
                &with_attachment(me, &home, n),
                T0 + n as u64 * 3_600,
            );
            assert_eq!(actions(&v), [Action::Deliver], "file {n}: {:?}", rules(&v));
            assert!(v.recipients[0].self_send);
        }
        // The fourth, in the afternoon, is held, and the sender is told why.
        let fourth = with_attachment(me, &home, 3);
        let v = check(&inspector, &engine, &fourth, T0 + 6 * 3_600);
        assert_eq!(actions(&v), [Action::Hold]);
        // Without the exception, the rule on files to personal addresses applies too.
        assert_eq!(
            rules(&v),
            [
                "force-to-personal-address",
                "repeated-attachments-to-personal"
            ]
        );
        let behaviour = |v: &Verdict| {
            v.recipients[0]
                .reasons
                .iter()
                .find(|r| r.rule == "repeated-attachments-to-personal")
                .map(|r| r.evidence[0].clone())
                .expect("the behaviour rule's reason")
        };
        let evidence = behaviour(&v);
        assert_eq!(evidence.detector, "sender_behaviour");
        assert_eq!(
            evidence.sample,
            "4 attachments to personal addresses from this sender in the last day (the limit is 3)"
        );
        // The same message inspected again (a restart) does not count twice.
        let again = check(&inspector, &engine, &fourth, T0 + 6 * 3_600 + 60);
        assert!(behaviour(&again).sample.starts_with("4 attachments"));
        // A day and a bit after the first three, the window has moved on.
        let v = check(
            &inspector,
            &engine,
            &with_attachment(me, &home, 4),
            T0 + DAY + 3 * 3_600,
        );
        assert_eq!(actions(&v), [Action::Deliver], "{:?}", rules(&v));
    }

    #[test]
    fn a_mass_mailing_is_held_once_the_hour_passes_the_limit() {
        let inspector = inspector();
        let engine = MemoryStore::new();
        let me = "sam.okafor@northshire.police.uk";
        let batch = |from: usize| -> Vec<String> {
            (from..from + 100)
                .map(|i| format!("resident{i}@example-housing.org.uk"))
                .collect()
        };
        let mailing = |from: usize| {
            format!(
                "From: {me}\r\nTo: {}\r\nSubject: street meeting\r\n\r\nCome to the meeting.\r\n",
                batch(from).join(", ")
            )
            .into_bytes()
        };
        for (n, from) in [0, 100].into_iter().enumerate() {
            let v = check(&inspector, &engine, &mailing(from), T0 + n as u64 * 600);
            assert!(
                actions(&v).iter().all(|a| *a == Action::Deliver),
                "{:?}",
                rules(&v)
            );
        }
        // 300 distinct addresses outside the force within the hour.
        let v = check(&inspector, &engine, &mailing(200), T0 + 1_200);
        assert!(actions(&v).iter().all(|a| *a == Action::Hold));
        assert!(rules(&v).iter().all(|r| r == "mass-mailing"));
        // Another sender is counted apart.
        let other = String::from_utf8(mailing(200))
            .expect("text")
            .replace(me, "k.hughes@northshire.police.uk");
        let v = check(&inspector, &engine, other.as_bytes(), T0 + 1_200);
        assert!(actions(&v).iter().all(|a| *a == Action::Deliver));
    }
}
