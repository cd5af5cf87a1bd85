//! The clock and the bridge to blocking work (store, audit log, argon2,
//! extraction), so that handlers never stall the async runtime.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::ConsoleError;

/// The current time in Unix seconds (0 if the clock is before 1970).
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs `work` on the blocking thread pool and returns its result; a panic
/// in `work` becomes an error rather than taking the handler down.
pub(crate) async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ConsoleError>
where
    T: Send + 'static,
    E: Into<ConsoleError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await?.map_err(Into::into)
}
