//! Context words: some identifiers (passport numbers, dates of birth, a lone
//! sort code or account number) are only personal data when a word close before
//! them says what they are.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Which kind of identifier a context word introduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Topic {
    /// Date of birth.
    Birth,
    /// Passport number.
    Passport,
    /// Sort code or bank account number.
    Bank,
}

/// Words (matched ASCII case-insensitively, on word boundaries) and their topic.
const WORDS: &[(&str, Topic)] = &[
    ("dob", Topic::Birth),
    ("d.o.b", Topic::Birth),
    ("d o b", Topic::Birth),
    ("date of birth", Topic::Birth),
    ("date-of-birth", Topic::Birth),
    ("birth date", Topic::Birth),
    ("birthdate", Topic::Birth),
    ("birthday", Topic::Birth),
    ("born", Topic::Birth),
    ("b.", Topic::Birth),
    ("passport", Topic::Passport),
    ("sort code", Topic::Bank),
    ("sort-code", Topic::Bank),
    ("sortcode", Topic::Bank),
    ("account number", Topic::Bank),
    ("account no", Topic::Bank),
    ("account num", Topic::Bank),
    ("acc no", Topic::Bank),
    ("acc. no", Topic::Bank),
    ("acct no", Topic::Bank),
    ("acct", Topic::Bank),
    ("a/c", Topic::Bank),
    ("bank account", Topic::Bank),
    ("bank details", Topic::Bank),
];

/// Finds context words near a position; built once.
#[derive(Clone, Debug)]
pub(super) struct Context {
    ac: AhoCorasick,
}

impl Context {
    /// Builds the automaton over [`WORDS`].
    pub fn new() -> Option<Self> {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(WORDS.iter().map(|(w, _)| w))
            .ok()?;
        Some(Context { ac })
    }

    /// Whether a word of `topic` ends within `within` bytes before `pos` in `text`.
    pub fn before(&self, text: &[u8], pos: usize, within: usize, topic: Topic) -> bool {
        let pos = pos.min(text.len());
        let from = pos.saturating_sub(within);
        let hay = &text[from..pos];
        self.ac.find_overlapping_iter(hay).any(|m| {
            let Some(&(word, t)) = WORDS.get(m.pattern().as_usize()) else {
                return false;
            };
            if t != topic {
                return false;
            }
            let (s, e) = (from + m.start(), from + m.end());
            let left_ok = s == 0 || !text[s - 1].is_ascii_alphanumeric();
            let ends_alnum = word
                .as_bytes()
                .last()
                .is_some_and(u8::is_ascii_alphanumeric);
            let right_ok = !ends_alnum || text.get(e).is_none_or(|b| !b.is_ascii_alphabetic());
            left_ok && right_ok
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::new().expect("context automaton builds")
    }

    #[test]
    fn finds_words_before_position_on_boundaries() {
        let c = ctx();
        let t = b"Subject DOB: 12/03/1984";
        assert!(c.before(t, 13, 30, Topic::Birth));
        assert!(!c.before(t, 13, 30, Topic::Passport));
        let t = b"Mr Dobson 12/03/1984";
        assert!(!c.before(t, 10, 30, Topic::Birth));
        let t = b"stubborn 12/03/1984";
        assert!(!c.before(t, 9, 30, Topic::Birth));
        let t = b"Date of Birth - 12/03/1984";
        assert!(c.before(t, 16, 30, Topic::Birth));
        let t = b"lab. 12/03/1984";
        assert!(!c.before(t, 5, 30, Topic::Birth));
        let t = b"J Smith b. 12/03/1984";
        assert!(c.before(t, 11, 30, Topic::Birth));
    }

    #[test]
    fn respects_distance() {
        let c = ctx();
        let t = b"passport xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 123456789";
        let pos = t.len() - 9;
        assert!(!c.before(t, pos, 40, Topic::Passport));
        assert!(c.before(t, pos, 60, Topic::Passport));
        // A word cut by the window edge does not count.
        let t = b"xpassport 1";
        assert!(!c.before(t, 10, 9, Topic::Passport));
    }

    #[test]
    fn bank_words() {
        let c = ctx();
        for s in [
            "Sort Code: ",
            "a/c ",
            "Account No. ",
            "acc no ",
            "bank account ",
        ] {
            let t = format!("{s}12345678");
            assert!(c.before(t.as_bytes(), s.len(), 40, Topic::Bank), "{s}");
        }
        assert!(!c.before(b"accounts 12345678", 9, 40, Topic::Bank));
    }
}
