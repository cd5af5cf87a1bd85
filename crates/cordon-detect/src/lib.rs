//! Detection: runs every detector over an [`cordon_extract::Extraction`] and
//! returns the message's classification and its findings, each with a location,
//! a count and a redacted sample.

mod detector;
pub mod identifiers;

pub use detector::{Category, DetectorId};
