//! What an account may do in the console and the API.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The role of an account. Every role may read (the quarantine, messages,
/// findings); only some may change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An Information Security officer: reviews held mail and decides
    /// (release or reject).
    Officer,
    /// Read only: sees everything an officer sees, decides nothing.
    Auditor,
}

impl Role {
    /// Every role, for help texts and listings.
    pub const ALL: [Role; 2] = [Role::Officer, Role::Auditor];

    /// The role's name as written in the users file and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Auditor => "auditor",
        }
    }

    /// Whether the role may decide on quarantined mail (release or reject),
    /// the only state change the console offers besides logging out.
    pub fn can_decide(self) -> bool {
        match self {
            Role::Officer => true,
            Role::Auditor => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is neither `officer` nor `auditor`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: use `officer` (review and decide) or `auditor` (read only)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    /// Parses a role name, ignoring ASCII case (`--role Officer` works).
    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_officers_decide() {
        assert!(Role::Officer.can_decide());
        assert!(!Role::Auditor.can_decide());
    }

    #[test]
    fn parses_names_and_refuses_others() {
        assert_eq!("officer".parse(), Ok(Role::Officer));
        assert_eq!("Auditor".parse(), Ok(Role::Auditor));
        for bad in ["", "admin", "officers", " officer", "offi\u{0307}cer"] {
            let err = bad.parse::<Role>().unwrap_err();
            assert_eq!(err, UnknownRole(bad.to_owned()));
            assert!(err.to_string().contains("`officer`"), "{err}");
        }
    }

    #[test]
    fn serde_and_display_are_lowercase() {
        for role in Role::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{role}\""));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
        }
        assert_eq!(Role::Officer.to_string(), "officer");
        assert!(serde_json::from_str::<Role>("\"Officer\"").is_err());
    }
}
