//! The shipped list of the commonest passwords (`data/common-passwords.txt`,
//! where it came from is said at its top), and the test of a new password
//! against it.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The list as shipped: one lowercase password a line, `#` comments.
const LIST: &str = include_str!("../data/common-passwords.txt");

/// The list as a set, built on first use.
fn list() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        LIST.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect()
    })
}

/// Whether `password` is too common to use, compared case-insensitively:
/// it is on the list, or it is made only of digits, punctuation and
/// spaces, or taking off the digits, punctuation and spaces at its start
/// and end leaves a password on the list (`password1234`, `!!qwerty2024`).
pub(crate) fn is_common(password: &str) -> bool {
    let lowered = password.trim().to_lowercase();
    let core = lowered.trim_matches(|c: char| {
        c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace()
    });
    let list = list();
    core.is_empty() || list.contains(lowered.as_str()) || list.contains(core)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_shipped_and_read() {
        let list = list();
        assert!(list.len() > 20_000, "{}", list.len());
        assert!(list.contains("password") && list.contains("qwerty"));
        assert!(!list.iter().any(|p| p.starts_with('#')));
    }

    #[test]
    fn common_passwords_and_their_decorations_are_common() {
        for common in [
            "password1234",
            "PASSWORD1234",
            "Password1234!",
            "123456789012",
            "!!qwerty2024",
            "  letmein    123",
            "iloveyou1234",
            "------------",
            "baseball12345678",
        ] {
            assert!(is_common(common), "{common}");
        }
        for fine in [
            "correct horse battery staple",
            "twelve chars",
            "Northshire-cobalt-42-lantern",
            "üüüüüüüüüüüü",
        ] {
            assert!(!is_common(fine), "{fine}");
        }
    }
}
