//! Security classification levels and the markings that state them.

use serde::{Deserialize, Serialize};

/// A Government Security Classification level, lowest first, so that `max`
/// gives the highest level in a message.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum Level {
    /// No marking found.
    #[default]
    #[serde(rename = "NONE")]
    None,
    /// OFFICIAL (legacy PROTECT, NOT PROTECTIVELY MARKED).
    #[serde(rename = "OFFICIAL")]
    Official,
    /// OFFICIAL-SENSITIVE (legacy RESTRICTED).
    #[serde(rename = "OFFICIAL-SENSITIVE")]
    OfficialSensitive,
    /// SECRET (legacy CONFIDENTIAL).
    #[serde(rename = "SECRET")]
    Secret,
    /// TOP SECRET.
    #[serde(rename = "TOP SECRET")]
    TopSecret,
}

impl Level {
    /// The level as written in JSON and rules, e.g. `OFFICIAL-SENSITIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "NONE",
            Level::Official => "OFFICIAL",
            Level::OfficialSensitive => "OFFICIAL-SENSITIVE",
            Level::Secret => "SECRET",
            Level::TopSecret => "TOP SECRET",
        }
    }

    /// The level a marking word states, GSC or legacy GPMS, in any case and
    /// with any spacing or dash between its words; `None` if it is not one.
    pub fn from_marking(text: &str) -> Option<Level> {
        let key: String = text
            .chars()
            .filter(|c| c.is_ascii_alphabetic())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        Some(match key.as_str() {
            "TOPSECRET" => Level::TopSecret,
            "SECRET" | "CONFIDENTIAL" => Level::Secret,
            "OFFICIALSENSITIVE" | "RESTRICTED" => Level::OfficialSensitive,
            "OFFICIAL" | "PROTECT" | "NOTPROTECTIVELYMARKED" => Level::Official,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_markings_map_to_gsc() {
        assert_eq!(Level::from_marking("PROTECT"), Some(Level::Official));
        assert_eq!(
            Level::from_marking("RESTRICTED"),
            Some(Level::OfficialSensitive)
        );
        assert_eq!(Level::from_marking("CONFIDENTIAL"), Some(Level::Secret));
        assert_eq!(
            Level::from_marking("NOT PROTECTIVELY MARKED"),
            Some(Level::Official)
        );
    }

    #[test]
    fn spellings_of_official_sensitive() {
        for s in [
            "OFFICIAL-SENSITIVE",
            "OFFICIAL SENSITIVE",
            "Official - Sensitive",
            "OFFICIAL:SENSITIVE",
        ] {
            assert_eq!(
                Level::from_marking(s),
                Some(Level::OfficialSensitive),
                "{s}"
            );
        }
        assert_eq!(Level::from_marking("UNOFFICIAL"), None);
    }

    #[test]
    fn levels_are_ordered() {
        assert!(Level::None < Level::Official);
        assert!(Level::OfficialSensitive < Level::Secret);
        assert!(Level::Secret < Level::TopSecret);
    }
}
