//! Text normalisation against evasion.

/// Normalises text (wip).
pub fn normalize(text: &str) -> String {
    text.to_owned()
}
