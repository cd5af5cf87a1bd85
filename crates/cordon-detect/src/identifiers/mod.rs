//! identifiers (being written)
