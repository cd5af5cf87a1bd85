//! Hard limits that keep extraction bounded in time and memory whatever the input.

use serde::{Deserialize, Serialize};

/// Bounds on the work one message may cause. A part that would go past one is
/// reported as uninspectable, so nothing hangs, nothing exhausts memory and
/// nothing passes unseen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest message inspected at all; a larger one is uninspectable as a whole.
    pub max_message_bytes: usize,
    /// Deepest nesting of archives, documents and attached messages.
    pub max_depth: u32,
    /// Total bytes that decoding and decompression may produce for one message.
    pub max_expanded_bytes: u64,
    /// Largest ratio of decompressed to compressed size for one archive.
    pub max_compression_ratio: u64,
    /// Most MIME parts, archive members and documents in one message.
    pub max_parts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 << 20,
            max_depth: 8,
            max_expanded_bytes: 128 << 20,
            max_compression_ratio: 100,
            max_parts: 2_000,
        }
    }
}
