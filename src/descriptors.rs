//! Open file descriptors: `cordon serve` raises its limit as far as it may,
//! and shares it out so that the console can never starve SMTP intake.
//!
//! Every connection takes a descriptor, and so do the store, the spool
//! files being written, the audit log and outbound connections. Services
//! often start with a soft limit of 1,024; without a share of its own,
//! a flood of idle console connections would leave SMTP unable to accept
//! ("too many open files").

/// Descriptors kept back for the store, the spool, the audit log, the
/// listeners, outbound delivery and the runtime.
pub const RESERVED: u64 = 256;

/// Descriptors counted for each SMTP connection: its socket and the spool
/// file it writes.
pub const PER_SMTP_CONNECTION: u64 = 2;

/// The fewest connections the console is allowed, however tight the limit.
pub const MIN_CONSOLE_CONNECTIONS: usize = 16;

/// Raises the soft limit on open files (`RLIMIT_NOFILE`) to the hard
/// limit; returns the soft limit now in force (`None` if it cannot be
/// read: then nothing was changed).
#[cfg(unix)]
pub fn raise_open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we pass; it only changes limits.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = limit.rlim_max;
        }
    }
    Some(limit.rlim_cur)
}

/// Without a limit to raise, nothing is known of it.
#[cfg(not(unix))]
pub fn raise_open_file_limit() -> Option<u64> {
    None
}

/// The most connections the console may hold with `open_files`
/// descriptors in all, after SMTP's `smtp_connections` and [`RESERVED`]:
/// at most `configured`, at least [`MIN_CONSOLE_CONNECTIONS`].
pub fn console_connections(
    open_files: Option<u64>,
    smtp_connections: usize,
    configured: usize,
) -> usize {
    let Some(open_files) = open_files else {
        return configured;
    };
    let smtp = u64::try_from(smtp_connections)
        .unwrap_or(u64::MAX)
        .saturating_mul(PER_SMTP_CONNECTION);
    let left = open_files.saturating_sub(smtp).saturating_sub(RESERVED);
    usize::try_from(left)
        .unwrap_or(usize::MAX)
        .min(configured)
        .max(MIN_CONSOLE_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_gets_what_smtp_and_the_reserve_leave() {
        // The usual systemd limit, the default SMTP and console settings.
        assert_eq!(console_connections(Some(1024), 200, 512), 368);
        assert_eq!(console_connections(Some(1_048_576), 200, 512), 512);
        assert_eq!(console_connections(Some(256), 200, 512), 16);
        assert_eq!(console_connections(None, 200, 512), 512);
    }

    #[cfg(unix)]
    #[test]
    fn the_limit_is_raised_to_the_hard_limit() {
        let soft = raise_open_file_limit().expect("a limit");
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(limit.rlim_cur, limit.rlim_max);
        assert_eq!(Some(soft), Some(limit.rlim_cur));
    }
}
