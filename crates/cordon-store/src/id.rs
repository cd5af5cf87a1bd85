//! Queue ids: the name of a spooled message and of a quarantine entry.

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::{Generator, Ulid};

/// Length of a queue id in its text form.
pub const QUEUE_ID_LEN: usize = 26;

/// One generator for the process, so that ids made in the same millisecond
/// still sort in the order they were made (the spool lists oldest first).
static GENERATOR: Mutex<Generator> = Mutex::new(Generator::new());

/// A unique, time-sortable id (a ULID), written as 26 Crockford base32
/// characters; it names a spool file, so its text form is validated before it
/// is ever used as a path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(Ulid);

impl QueueId {
    /// A new id, later than every id made before it in this process.
    #[allow(clippy::new_without_default)]
    pub fn new() -> QueueId {
        let mut generator = GENERATOR.lock().unwrap_or_else(PoisonError::into_inner);
        // The generator fails only if 2^80 ids are made in one millisecond;
        // a random id is still unique then, merely not ordered.
        QueueId(generator.generate().unwrap_or_else(|_| Ulid::new()))
    }

    /// When the id was made, in milliseconds since the Unix epoch.
    pub fn timestamp_ms(&self) -> u64 {
        self.0.timestamp_ms()
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_string())
    }
}

impl fmt::Debug for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueueId({})", self.0)
    }
}

/// The text given to [`QueueId::from_str`] is not a queue id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a queue id (26 base32 characters): {0:?}")]
pub struct InvalidQueueId(String);

impl FromStr for QueueId {
    type Err = InvalidQueueId;

    /// Parses the 26-character form; lower case is accepted, anything else
    /// (wrong length, characters outside Crockford base32, a value above 128
    /// bits) is refused.
    fn from_str(s: &str) -> Result<QueueId, InvalidQueueId> {
        let invalid = || InvalidQueueId(s.chars().take(40).collect());
        if s.len() != QUEUE_ID_LEN {
            return Err(invalid());
        }
        let ulid = Ulid::from_string(s).map_err(|_| invalid())?;
        // The decoder silently drops bits above 128 (a first character
        // above '7'); the round trip catches it.
        if !ulid.to_string().eq_ignore_ascii_case(s) {
            return Err(invalid());
        }
        Ok(QueueId(ulid))
    }
}

impl QueueId {
    /// Parses only the canonical (upper-case) form: the one [`fmt::Display`]
    /// writes and file names on disk must have.
    pub(crate) fn from_canonical(s: &str) -> Option<QueueId> {
        let id: QueueId = s.parse().ok()?;
        (id.to_string() == s).then_some(id)
    }
}

impl Serialize for QueueId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; QUEUE_ID_LEN];
        serializer.serialize_str(self.0.array_to_str(&mut buf))
    }
}

impl<'de> Deserialize<'de> for QueueId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<QueueId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_ordered() {
        let ids: Vec<QueueId> = (0..1000).map(|_| QueueId::new()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn text_round_trip_and_validation() {
        let id = QueueId::new();
        let text = id.to_string();
        assert_eq!(text.len(), QUEUE_ID_LEN);
        assert_eq!(text.parse::<QueueId>().unwrap(), id);
        assert_eq!(text.to_lowercase().parse::<QueueId>().unwrap(), id);
        assert_eq!(QueueId::from_canonical(&text), Some(id));
        assert_eq!(QueueId::from_canonical(&text.to_lowercase()), None);
        for bad in [
            "",
            "01ARZ3NDEKTSV4RRFFQ69G5FA",
            "01ARZ3NDEKTSV4RRFFQ69G5FAVV",
            "01ARZ3NDEKTSV4RRFFQ69G5FA/",
            "../../../../etc/passwd0000",
            "81ARZ3NDEKTSV4RRFFQ69G5FAV",
            "01ARZ3NDEKTSV4RRFFQ69G5FAU",
            "01ARZ3NDEKTSV4RRFFQ69G5FÄ",
        ] {
            assert!(bad.parse::<QueueId>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn serde_as_string() {
        let id = QueueId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<QueueId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<QueueId>("\"nope\"").is_err());
        assert!(serde_json::from_str::<QueueId>("42").is_err());
    }
}
