//! When to try a deferred delivery again, and when to give up.

use std::time::Duration;

/// Exponential backoff from the durable queue, with a give-up age after which
/// the sender is told the message could not be delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait before the first retry.
    pub initial: Duration,
    /// Longest wait between two tries.
    pub max: Duration,
    /// Age of a message after which a temporary failure becomes final.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_secs(60),
            max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(5 * 86_400),
        }
    }
}

impl RetryPolicy {
    /// Seconds to wait after the `attempts`-th failed try (1 for the first).
    pub fn delay_after(&self, attempts: u32) -> u64 {
        let exponent = attempts.saturating_sub(1).min(30);
        let delay = self
            .initial
            .as_secs()
            .max(1)
            .saturating_mul(1u64 << exponent);
        delay.min(self.max.as_secs().max(1))
    }

    /// True when a message received at `received_at` is too old to try again at `now`.
    pub fn expired(&self, received_at: u64, now: u64) -> bool {
        now.saturating_sub(received_at) >= self.give_up_after.as_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_maximum() {
        let p = RetryPolicy {
            initial: Duration::from_secs(60),
            max: Duration::from_secs(600),
            give_up_after: Duration::from_secs(3600),
        };
        let delays: Vec<u64> = (1..=6).map(|a| p.delay_after(a)).collect();
        assert_eq!(delays, [60, 120, 240, 480, 600, 600]);
        assert_eq!(p.delay_after(u32::MAX), 600);
    }

    #[test]
    fn gives_up_at_the_configured_age() {
        let p = RetryPolicy {
            give_up_after: Duration::from_secs(100),
            ..RetryPolicy::default()
        };
        assert!(!p.expired(1_000, 1_099));
        assert!(p.expired(1_000, 1_100));
    }
}
