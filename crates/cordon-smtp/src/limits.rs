//! Connection admission, after Postfix's `anvil` client limits and its stress-adaptive
//! timeouts.
//!
//! A connection takes one of [`ServerConfig::max_connections`] slots, and no client address
//! may hold more than [`ServerConfig::max_connections_per_client`] of them, so one host
//! opening idle connections cannot lock out the force's mail servers. When most slots are
//! taken (at least [`STRESS_PERCENT`] per cent) the server is under stress: the driver then
//! waits at most [`ServerConfig::stress_timeout`] for a client, including clients already
//! waiting, so idle slots are freed quickly.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::ServerConfig;

/// Share of [`ServerConfig::max_connections`] in use, in per cent, from which the server is
/// under stress.
pub const STRESS_PERCENT: usize = 80;

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Every slot is taken.
    Full,
    /// The client's address already holds its share of slots.
    ClientFull,
}

/// Slots in use, in total and per client address.
#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// Counts connections and admits or refuses new ones; shared by the accept loop and the
/// [`Slot`]s it hands out.
#[derive(Debug)]
pub(crate) struct ConnectionLimits {
    max_total: usize,
    max_per_client: usize,
    stress_at: usize,
    counts: Mutex<Counts>,
    stressed: watch::Sender<bool>,
}

impl ConnectionLimits {
    /// Limits as configured.
    pub(crate) fn new(config: &ServerConfig) -> Arc<Self> {
        let max_total = config.max_connections;
        Arc::new(Self {
            max_total,
            max_per_client: config.max_connections_per_client,
            stress_at: (max_total * STRESS_PERCENT).div_ceil(100).max(1),
            counts: Mutex::new(Counts::default()),
            stressed: watch::Sender::new(false),
        })
    }

    /// Takes a slot for a connection from `client`, or says why there is none.
    pub(crate) fn admit(self: &Arc<Self>, client: IpAddr) -> Result<Slot, Refusal> {
        let client = client.to_canonical();
        let mut counts = self.counts();
        if counts.total >= self.max_total {
            return Err(Refusal::Full);
        }
        let held = counts.per_client.entry(client).or_insert(0);
        if *held >= self.max_per_client {
            return Err(Refusal::ClientFull);
        }
        *held += 1;
        counts.total += 1;
        self.update_stress(&counts);
        Ok(Slot {
            limits: Arc::clone(self),
            client,
        })
    }

    /// Follows whether the server is under stress.
    pub(crate) fn stress(&self) -> watch::Receiver<bool> {
        self.stressed.subscribe()
    }

    fn release(&self, client: IpAddr) {
        let mut counts = self.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(held) = counts.per_client.get_mut(&client) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                counts.per_client.remove(&client);
            }
        }
        self.update_stress(&counts);
    }

    fn update_stress(&self, counts: &Counts) {
        let stressed = counts.total >= self.stress_at;
        self.stressed.send_if_modified(|now| {
            let changed = *now != stressed;
            if changed {
                tracing::warn!(
                    connections = counts.total,
                    stressed,
                    "SMTP stress {}",
                    if stressed {
                        "begins: short timeouts"
                    } else {
                        "ends"
                    }
                );
            }
            *now = stressed;
            changed
        });
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        // The counts stay consistent even if a holder panicked: every update is one step.
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One admitted connection's slot; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Slot {
    limits: Arc<ConnectionLimits>,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.limits.release(self.client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_client: usize) -> Arc<ConnectionLimits> {
        ConnectionLimits::new(&ServerConfig {
            max_connections: total,
            max_connections_per_client: per_client,
            ..ServerConfig::default()
        })
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test IP")
    }

    #[test]
    fn one_client_cannot_take_every_slot() {
        let limits = limits(10, 3);
        let held: Vec<Slot> = (0..3)
            .map(|_| limits.admit(ip("192.0.2.1")).expect("admitted"))
            .collect();
        assert_eq!(
            limits.admit(ip("192.0.2.1")).err(),
            Some(Refusal::ClientFull)
        );
        // The same address written as IPv4-mapped IPv6 is the same client.
        assert_eq!(
            limits.admit(ip("::ffff:192.0.2.1")).err(),
            Some(Refusal::ClientFull)
        );
        assert!(limits.admit(ip("192.0.2.2")).is_ok());
        drop(held);
        assert!(limits.admit(ip("192.0.2.1")).is_ok());
    }

    #[test]
    fn total_limit_and_release() {
        let limits = limits(2, 50);
        let first = limits.admit(ip("192.0.2.1")).expect("first");
        let _second = limits.admit(ip("192.0.2.2")).expect("second");
        assert_eq!(limits.admit(ip("192.0.2.3")).err(), Some(Refusal::Full));
        drop(first);
        assert!(limits.admit(ip("192.0.2.3")).is_ok());
    }

    #[test]
    fn stress_from_eighty_per_cent_of_the_slots() {
        let limits = limits(10, 50);
        let stress = limits.stress();
        let mut held = Vec::new();
        for n in 1..=10 {
            held.push(limits.admit(ip("192.0.2.1")).expect("admitted"));
            assert_eq!(*stress.borrow(), n >= 8, "{n} connections");
        }
        held.truncate(7);
        assert!(!*stress.borrow());
    }
}
