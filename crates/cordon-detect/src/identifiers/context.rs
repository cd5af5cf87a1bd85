//! Context words: some identifiers (passport numbers, dates of birth, a lone
//! sort code or account number) are only personal data when a word close before
//! them says what they are; an NHS number is strong personal data when a health
//! word stands near it or a column header above it names it.

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
    /// Health care, near an NHS number.
    Health,
    /// A word that heads a column of NHS numbers (`NHS No`, `CHI`, `Patient`):
    /// it counts anywhere earlier in the text, and near a number too.
    HealthColumn,
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
    ("nhs", Topic::HealthColumn),
    ("chi", Topic::HealthColumn),
    ("patient", Topic::HealthColumn),
    ("patients", Topic::HealthColumn),
    ("hospital", Topic::Health),
    ("hospitals", Topic::Health),
    ("gp", Topic::Health),
    ("gps", Topic::Health),
    ("health", Topic::Health),
    ("healthcare", Topic::Health),
    ("referral", Topic::Health),
    ("referrals", Topic::Health),
];

/// The widest stretch next to a position that [`Context::before`] and
/// [`Context::after`] look at.
pub(super) const MAX_WITHIN: usize = 64;

/// Longer than any word in [`WORDS`].
const LONGEST_WORD: usize = 16;

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

    /// Whether a word of `topic` ends within `within` bytes (at most
    /// [`MAX_WITHIN`]) before `pos` in `text`. A phrase wrapped onto the next
    /// line ("date of\nbirth") still counts.
    pub fn before(&self, text: &[u8], pos: usize, within: usize, topic: Topic) -> bool {
        self.before_any(text, pos, within, &[topic])
    }

    /// Whether a word of one of `topics` starts within `within` bytes (at most
    /// [`MAX_WITHIN`]) after `pos` in `text`.
    pub fn after(&self, text: &[u8], pos: usize, within: usize, topics: &[Topic]) -> bool {
        let pos = pos.min(text.len());
        let within = within.min(MAX_WITHIN - LONGEST_WORD);
        // Look a word further, so a word starting near the edge is whole.
        let to = pos.saturating_add(within + LONGEST_WORD);
        self.any_in(text, pos, to, |t, start| {
            start < within && topics.contains(&t)
        })
    }

    /// Whether a word of one of `topics` lies within `within` bytes before `pos`.
    pub fn before_any(&self, text: &[u8], pos: usize, within: usize, topics: &[Topic]) -> bool {
        let pos = pos.min(text.len());
        let from = pos.saturating_sub(within.min(MAX_WITHIN));
        self.any_in(text, from, pos, |t, _| topics.contains(&t))
    }

    /// The offset of the first whole word of `topic` in `text`, if any
    /// (one pass over the text; meant for single words, not wrapped phrases).
    pub fn first(&self, text: &[u8], topic: Topic) -> Option<usize> {
        self.ac
            .find_overlapping_iter(text)
            .find(|m| {
                WORDS
                    .get(m.pattern().as_usize())
                    .is_some_and(|&(word, t)| t == topic && bounded(text, m.start(), m.end(), word))
            })
            .map(|m| m.start())
    }

    /// Whether a whole word for which `want(topic, offset from from)` holds
    /// lies inside `text[from..to]` (at most [`MAX_WITHIN`] bytes), line
    /// breaks read as spaces.
    fn any_in(
        &self,
        text: &[u8],
        from: usize,
        to: usize,
        want: impl Fn(Topic, usize) -> bool,
    ) -> bool {
        let to = to.min(text.len()).min(from.saturating_add(MAX_WITHIN));
        let Some(src) = text.get(from..to) else {
            return false;
        };
        let mut buf = [0u8; MAX_WITHIN];
        let hay = &mut buf[..src.len()];
        for (d, &s) in hay.iter_mut().zip(src) {
            *d = if matches!(s, b'\n' | b'\r') { b' ' } else { s };
        }
        let hay = &*hay;
        self.ac.find_overlapping_iter(hay).any(|m| {
            WORDS.get(m.pattern().as_usize()).is_some_and(|&(word, t)| {
                want(t, m.start()) && bounded(text, from + m.start(), from + m.end(), word)
            })
        })
    }
}

/// Whether `word`, found at `s..e` of `text`, stands on word boundaries: no
/// letter or digit before it, and no letter after it when it ends in one
/// (`DOB:` and `DOB12` count, `Dobson` does not).
fn bounded(text: &[u8], s: usize, e: usize, word: &str) -> bool {
    let left_ok = s == 0 || !text[s - 1].is_ascii_alphanumeric();
    let ends_alnum = word
        .as_bytes()
        .last()
        .is_some_and(u8::is_ascii_alphanumeric);
    let right_ok = !ends_alnum || text.get(e).is_none_or(|b| !b.is_ascii_alphabetic());
    left_ok && right_ok
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

    #[test]
    fn health_words_after_a_position_are_whole() {
        let c = ctx();
        let t = b"4010232137 xxxxxxxxxxxxxxxxxxxxx healthcare";
        assert!(c.after(t, 10, 32, &[Topic::Health]));
        let t = b"4010232137 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx health";
        assert!(!c.after(t, 10, 32, &[Topic::Health]));
        assert!(!c.after(b"4010232137 healthy", 10, 32, &[Topic::Health]));
        assert!(c.after(b"4010232137 (NHS)", 10, 32, &[Topic::HealthColumn]));
        assert!(!c.after(b"4010232137 (NHS)", 10, 32, &[Topic::Health]));
    }

    #[test]
    fn first_word_of_a_topic() {
        let c = ctx();
        assert_eq!(c.first(b"Name,NHS No,DOB", Topic::HealthColumn), Some(5));
        assert_eq!(c.first(b"Name,Ref,DOB", Topic::HealthColumn), None);
        assert_eq!(c.first(b"minhs nhsx", Topic::HealthColumn), None);
    }
}
