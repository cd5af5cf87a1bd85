//! Classification markings: found where a marking stands, never in prose.
//!
//! A marking counts in a classification header, in the subject (bracketed, as a
//! prefix, or written in capitals), on a banner line of a body or document (a
//! line that is only the marking, optionally with a descriptor or caveat in
//! capitals such as `OFFICIAL-SENSITIVE: PERSONAL` or `SECRET UK EYES ONLY`),
//! on a label line (a label word, a separator and the marking in any case, such
//! as `Classification: OFFICIAL-SENSITIVE` or `Sensitivity: Official`), and in
//! the page header or footer of a document (in capitals). "An official
//! complaint", "Secret Santa", "keep this confidential" and "the
//! classification of this is secret" are not markings.
//!
//! A Microsoft Purview label list (`MSIP_Label_<id>_Enabled=false; ...
//! MSIP_Label_<id>_Name=Secret;`) in a classification header or a document's
//! custom properties counts only its enabled labels: a label switched off
//! does not classify the message.

use std::collections::HashSet;

use cordon_extract::{PartKind, TextPart};
use regex::Regex;
use serde::Serialize;

use crate::Level;

/// One marking found in a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Marking {
    /// The marking as written, e.g. `RESTRICTED` or `OFFICIAL-SENSITIVE`.
    pub text: String,
    /// Where it stands, e.g. `subject` or `attachment:notes.docx:footer`.
    #[serde(rename = "where")]
    pub location: String,
    /// The level it states (legacy markings mapped to GSC).
    pub level: Level,
    /// Descriptor or caveat written with it, e.g. `PERSONAL`, `UK EYES ONLY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub descriptor: Option<String>,
}

/// Finds markings in text parts; compiled once.
#[derive(Debug)]
pub struct MarkingDetector {
    token: Regex,
    reply_prefix: Regex,
}

impl Default for MarkingDetector {
    fn default() -> Self {
        Self::new()
    }
}

/// Characters that decorate a banner line around the marking.
const DECORATION: &[char] = &[
    ' ', '*', '#', '=', '_', '[', ']', '(', ')', '{', '}', '|', '<', '>', '"', '\'', '~', '-', '.',
];

/// Words and phrases that name a line's classification, lowercase, longest
/// spelling first where one begins another.
const LABELS: &[&str] = &[
    "government security classification",
    "security classification",
    "document classification",
    "information classification",
    "data classification",
    "classification marking",
    "classification level",
    "classification",
    "protective marking",
    "security marking",
    "marking",
    "sensitivity label",
    "sensitivity",
    "security label",
    "security level",
    "handling",
];

/// What separates a label from its marking: `Classification: SECRET`,
/// `Classification - SECRET`, `Classification = SECRET`, or a table cell
/// border `| Classification | SECRET |`.
const LABEL_SEPARATORS: &[char] = &[':', '-', '=', '|', '\u{2013}', '\u{2014}'];

/// What may surround a label's separator: spaces, emphasis and quotes.
const LABEL_PADDING: &[char] = &[
    ' ', '*', '_', '"', '\'', '[', '(', '\u{201C}', '\u{2018}', '\u{00AB}',
];

/// Words a descriptor or caveat after a label line's marking may be made of,
/// in any case (`Classification: Official-Sensitive Personal`).
const DESCRIPTOR_WORDS: &[&str] = &[
    "personal",
    "commercial",
    "locsen",
    "uk",
    "eyes",
    "only",
    "hmg",
    "nato",
    "rel",
    "releasable",
    "to",
];

/// Property names that hold a classification in a document's custom
/// properties (`ProtectiveMarking=Restricted`), compared lowercase.
const LABEL_KEYS: &[&str] = &[
    "classification",
    "marking",
    "sensitivity",
    "label",
    "security",
    "protective",
    "handling",
    "gsc",
    "gpms",
];

impl MarkingDetector {
    /// Compiles the marking patterns.
    pub fn new() -> Self {
        // Longer spellings first: leftmost-first alternation prefers them.
        let token = Regex::new(
            r"(?i)\b(?:TOP\s*SECRET|SECRET|OFFICIAL\s*[-:]?\s*SENSITIVE|OFFICIAL|NOT\s+PROTECTIVELY\s+MARKED|PROTECT|RESTRICTED|CONFIDENTIAL)\b",
        )
        .expect("static marking pattern compiles");
        let reply_prefix =
            Regex::new(r"(?i)^(?:\s*(?:re|fw|fwd|aw|wg|sv|tr)\s*(?:\[\d+\])?\s*:)*\s*")
                .expect("static reply prefix pattern compiles");
        MarkingDetector {
            token,
            reply_prefix,
        }
    }

    /// Appends the markings found in `part` to `out`.
    pub fn scan(&self, part: &TextPart, out: &mut Vec<Marking>) {
        match part.kind {
            _ if is_property_list(part) => self.scan_properties(part, out),
            PartKind::ClassificationHeader => self.scan_anywhere(&part.text, part, out),
            PartKind::Subject => self.scan_subject(part, out),
            PartKind::Body | PartKind::Document => {
                self.scan_banners(&part.text, part, out, false);
                self.scan_letter_spaced(part, out, false);
            }
            PartKind::DocumentHeader | PartKind::DocumentFooter => {
                self.scan_banners(&part.text, part, out, true);
                self.scan_letter_spaced(part, out, true);
            }
            PartKind::Header | PartKind::FileName => {}
        }
    }

    /// Banner lines typed letter by letter (`S E C R E T`,
    /// `O F F I C I A L - S E N S I T I V E`): the reader sees the marking,
    /// so each such line is read again with the letters closed up.
    fn scan_letter_spaced(&self, part: &TextPart, out: &mut Vec<Marking>, capitals_anywhere: bool) {
        for line in part.text.lines() {
            if let Some(closed) = close_up_letter_spacing(line) {
                self.scan_banners(&closed, part, out, capitals_anywhere);
            }
        }
    }

    /// Every marking word in `text`, in any case: the text is a label's value.
    fn scan_anywhere(&self, text: &str, part: &TextPart, out: &mut Vec<Marking>) {
        for m in self.token.find_iter(text) {
            push(out, part, m.as_str(), None);
        }
    }

    /// A `key=value; key=value` list (an `msip_labels` header, a document's
    /// custom properties): Purview labels count only when enabled, label-like
    /// properties count in any case, other items are read as the part's kind
    /// reads text.
    fn scan_properties(&self, part: &TextPart, out: &mut Vec<Marking>) {
        // A label said to be both enabled and disabled may be read either
        // way by different clients: the enabled reading is the strictest.
        let (mut disabled, mut enabled) = (HashSet::new(), HashSet::new());
        for pair in items(&part.text).filter_map(msip_pair) {
            if pair.field.eq_ignore_ascii_case("enabled") {
                let set = if pair.value.eq_ignore_ascii_case("false") {
                    &mut disabled
                } else {
                    &mut enabled
                };
                set.insert(pair.label.to_ascii_lowercase());
            }
        }
        disabled.retain(|label| !enabled.contains(label));
        for item in items(&part.text) {
            if let Some(pair) = msip_pair(item) {
                if !disabled.contains(&pair.label.to_ascii_lowercase()) {
                    self.scan_anywhere(pair.value, part, out);
                }
                continue;
            }
            let label_value = item.split_once('=').filter(|(key, _)| {
                let key = key.to_ascii_lowercase();
                LABEL_KEYS.iter().any(|k| key.contains(k))
            });
            match label_value {
                Some((_, value)) => self.scan_anywhere(value, part, out),
                None if part.kind == PartKind::ClassificationHeader => {
                    self.scan_anywhere(item, part, out)
                }
                None => self.scan_banners(item, part, out, true),
            }
        }
    }

    fn scan_subject(&self, part: &TextPart, out: &mut Vec<Marking>) {
        let subject = part.text.as_str();
        let start_of_subject = self.reply_prefix.find(subject).map_or(0, |m| m.end());
        for m in self.token.find_iter(subject) {
            let before = subject[..m.start()].trim_end();
            let after = subject[m.end()..].trim_start();
            let capitals = is_capitals(m.as_str());
            let bracketed = before.ends_with(['[', '(']);
            let prefix = m.start() <= start_of_subject
                && (after.is_empty() || after.starts_with([':', '-', ']', ')', '|', '/']));
            // "Classification: Official-Sensitive - rota", after any "RE:".
            let labelled = subject
                .get(start_of_subject..m.start())
                .is_some_and(labelled);
            if capitals || bracketed || prefix || labelled {
                push(out, part, m.as_str(), None);
            }
        }
    }

    /// Banner lines and label lines anywhere in `text` (the part's text or a
    /// piece of it); with `capitals_anywhere`, also any marking written in
    /// capitals (document headers and footers).
    fn scan_banners(
        &self,
        text: &str,
        part: &TextPart,
        out: &mut Vec<Marking>,
        capitals_anywhere: bool,
    ) {
        let mut last_line_start = usize::MAX;
        // The line of the previous token: its bounds are found once per
        // line, so many tokens on one long line cost no more than the line.
        let mut current: Option<(usize, usize)> = None;
        for m in self.token.find_iter(text) {
            let (line_start, line_end) = match current {
                Some((start, end)) if m.end() <= end => (start, end),
                previous => {
                    // Search back only to the previous line (its start, when a
                    // marking written over a line break reached past its end).
                    let from = previous.map_or(
                        0,
                        |(start, end)| {
                            if m.start() < end { start } else { end }
                        },
                    );
                    let start = text[from..m.start()]
                        .rfind('\n')
                        .map_or(from, |i| from + i + 1);
                    let end = text[m.end()..]
                        .find('\n')
                        .map_or(text.len(), |i| m.end() + i);
                    current = Some((start, end));
                    (start, end)
                }
            };
            if line_start == last_line_start {
                continue; // one marking per line: the first token decides
            }
            let line = &text[line_start..line_end];
            let token_in_line = m.start() - line_start..m.end() - line_start;
            if let Some(descriptor) =
                banner(line, token_in_line.clone()).or_else(|| label_line(line, token_in_line))
            {
                last_line_start = line_start;
                push(out, part, m.as_str(), descriptor);
            } else if capitals_anywhere && is_capitals(m.as_str()) {
                last_line_start = line_start;
                push(out, part, m.as_str(), None);
            }
        }
    }
}

/// The most bytes before or after a marking that a banner or label line
/// may hold; past it the line is prose (and a long line costs no more).
const MAX_LINE_SIDE: usize = 256;

/// If `line` is a banner line whose marking is at `token`, the descriptor or
/// caveat written after it (`Some(None)` when there is none).
fn banner(line: &str, token: std::ops::Range<usize>) -> Option<Option<String>> {
    if token.start > MAX_LINE_SIDE || line.len().saturating_sub(token.end) > MAX_LINE_SIDE {
        return None;
    }
    // quoted replies: "> OFFICIAL-SENSITIVE" is still the marking of the quoted text
    let head = line.get(..token.start)?;
    if !head.chars().all(|c| DECORATION.contains(&c)) {
        return None;
    }
    banner_tail(line.get(token.end..)?)
}

/// The descriptor or caveat after a banner's marking: nothing but
/// decoration (`Some(None)`), or a short phrase in capitals.
fn banner_tail(tail: &str) -> Option<Option<String>> {
    let tail = tail.trim_matches(DECORATION);
    let tail = tail.trim_start_matches([':', '-', '/', ',', ' ']).trim();
    if tail.is_empty() {
        return Some(None);
    }
    // a descriptor or caveat is short and written in capitals
    let plausible = tail.len() <= 80
        && tail.chars().any(|c| c.is_ascii_uppercase())
        && !tail.chars().any(char::is_lowercase)
        && tail
            .chars()
            .all(|c| c.is_alphanumeric() || " /&-:,.()[]'".contains(c));
    plausible.then(|| Some(tail.to_owned()))
}

/// If `line` is a label line whose marking is at `token` (`Classification:
/// OFFICIAL-SENSITIVE`, `Security Classification - SECRET`, `Sensitivity:
/// Official`), the descriptor or caveat written after it (`Some(None)` when
/// there is none). The label must be all that stands before the marking,
/// so prose ("the classification of this is secret") is not one.
fn label_line(line: &str, token: std::ops::Range<usize>) -> Option<Option<String>> {
    if token.start > MAX_LINE_SIDE || line.len().saturating_sub(token.end) > MAX_LINE_SIDE {
        return None;
    }
    if !labelled(line.get(..token.start)?) {
        return None;
    }
    let tail = line.get(token.end..)?;
    banner_tail(tail).or_else(|| descriptor_words(tail))
}

/// Whether `head`, the text before a marking, is a label and its separator.
fn labelled(head: &str) -> bool {
    let head = head.trim_start_matches(DECORATION);
    let label = LABELS.iter().find(|l| {
        head.get(..l.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(l))
            && !head[l.len()..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric)
    });
    let Some(between) = label.and_then(|l| head.get(l.len()..)) else {
        return false;
    };
    between
        .chars()
        .all(|c| LABEL_SEPARATORS.contains(&c) || LABEL_PADDING.contains(&c))
        && between.contains(LABEL_SEPARATORS)
}

/// A label line's descriptor or caveat written in any case from the usual
/// words (`Personal`, `UK Eyes Only`).
fn descriptor_words(tail: &str) -> Option<Option<String>> {
    let tail = tail
        .trim_matches(DECORATION)
        .trim_start_matches([':', '-', '/', ',', ' '])
        .trim();
    let known = tail.len() <= 40
        && tail
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .all(|w| DESCRIPTOR_WORDS.iter().any(|d| w.eq_ignore_ascii_case(d)));
    known.then(|| Some(tail.to_owned()))
}

/// Whether a part is a `key=value; ` property list: an `msip_labels`
/// classification header, or a document's custom properties (at
/// `...:label`) and any document header holding Purview label pairs.
fn is_property_list(part: &TextPart) -> bool {
    let msip = || contains_ignore_ascii_case(&part.text, "msip_label_");
    match part.kind {
        PartKind::ClassificationHeader => msip(),
        PartKind::DocumentHeader => part.location.ends_with(":label") || msip(),
        _ => false,
    }
}

/// The line with its spaces removed when it is letter-spaced: at least four
/// characters, each standing alone between single spaces.
fn close_up_letter_spacing(line: &str) -> Option<String> {
    let bytes = line.as_bytes();
    // cheap rejection of ordinary lines: the second byte of a spaced line is a space
    if bytes.len() < 7 || bytes.get(1) != Some(&b' ') {
        return None;
    }
    let mut count = 0usize;
    for token in line.split(' ') {
        let mut chars = token.chars();
        match (chars.next(), chars.next()) {
            (Some(_), None) => count += 1,
            _ => return None,
        }
    }
    (count >= 4).then(|| line.replace(' ', ""))
}

/// Whether `hay` contains the ASCII lowercase `needle` in any case.
fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The items of a `key=value; key=value` list (or one per line), trimmed.
fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split([';', '\n'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// One `MSIP_Label_<label>_<field>=<value>` pair.
struct MsipPair<'a> {
    label: &'a str,
    field: &'a str,
    value: &'a str,
}

/// Reads an item as a Purview label pair, if it is one.
fn msip_pair(item: &str) -> Option<MsipPair<'_>> {
    const PREFIX: &str = "msip_label_";
    let (key, value) = item.split_once('=')?;
    let key = key.trim();
    let head = key.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let (label, field) = key[PREFIX.len()..].rsplit_once('_')?;
    (!label.is_empty()).then_some(MsipPair {
        label,
        field,
        value: value.trim(),
    })
}

/// True when every letter in `s` is a capital.
fn is_capitals(s: &str) -> bool {
    !s.chars().any(char::is_lowercase)
}

fn push(out: &mut Vec<Marking>, part: &TextPart, token: &str, descriptor: Option<String>) {
    let Some(level) = Level::from_marking(token) else {
        return;
    };
    let text = token.split_whitespace().collect::<Vec<_>>().join(" ");
    out.push(Marking {
        text,
        location: part.location.clone(),
        level,
        descriptor,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(kind: PartKind, text: &str) -> TextPart {
        TextPart {
            location: "here".into(),
            kind,
            text: text.into(),
        }
    }

    fn levels(kind: PartKind, text: &str) -> Vec<Level> {
        let mut out = Vec::new();
        MarkingDetector::new().scan(&part(kind, text), &mut out);
        out.into_iter().map(|m| m.level).collect()
    }

    #[test]
    fn subject_forms() {
        assert_eq!(
            levels(
                PartKind::Subject,
                "[OFFICIAL-SENSITIVE] Interview disclosure"
            ),
            [Level::OfficialSensitive]
        );
        assert_eq!(
            levels(PartKind::Subject, "OFFICIAL-SENSITIVE: rota changes"),
            [Level::OfficialSensitive]
        );
        assert_eq!(
            levels(PartKind::Subject, "PROTECT - venue booking"),
            [Level::Official]
        );
        assert_eq!(
            levels(PartKind::Subject, "RE: FW: Official-Sensitive: rota"),
            [Level::OfficialSensitive]
        );
        assert_eq!(
            levels(PartKind::Subject, "Interview notes (Restricted)"),
            [Level::OfficialSensitive]
        );
        assert_eq!(
            levels(PartKind::Subject, "Notes for the SECRET meeting"),
            [Level::Secret]
        );
    }

    #[test]
    fn subject_prose_is_not_a_marking() {
        assert!(levels(PartKind::Subject, "Secret Santa").is_empty());
        assert!(levels(PartKind::Subject, "An official complaint").is_empty());
        assert!(levels(PartKind::Subject, "Re: keep this confidential please").is_empty());
        assert!(levels(PartKind::Subject, "Re: the classification of secret files").is_empty());
    }

    #[test]
    fn banner_lines_with_descriptors_and_caveats() {
        assert_eq!(
            levels(PartKind::Body, "SECRET\nThe source reporting.\nSECRET"),
            [Level::Secret, Level::Secret]
        );
        assert_eq!(
            levels(PartKind::Body, "OFFICIAL-SENSITIVE: PERSONAL\nDear all"),
            [Level::OfficialSensitive]
        );
        assert_eq!(
            levels(PartKind::Body, "Hi\n*** TOP SECRET UK EYES ONLY ***\n"),
            [Level::TopSecret]
        );
        assert_eq!(
            levels(PartKind::Body, "> > Official - Sensitive\n> quoted text"),
            [Level::OfficialSensitive]
        );
        assert_eq!(
            levels(PartKind::Body, "NOT PROTECTIVELY MARKED"),
            [Level::Official]
        );
    }

    #[test]
    fn letter_spaced_banner_lines() {
        assert_eq!(
            levels(PartKind::Body, "S E C R E T\nThe source reporting."),
            [Level::Secret]
        );
        assert_eq!(
            levels(
                PartKind::Body,
                "Dear all\nO F F I C I A L - S E N S I T I V E"
            ),
            [Level::OfficialSensitive]
        );
        assert_eq!(
            levels(PartKind::DocumentFooter, "* * * T O P S E C R E T * * *"),
            [Level::TopSecret]
        );
        // letter-spaced prose is still prose, and short spaced runs are not lines of letters
        assert!(levels(PartKind::Body, "s e c r e t s a n t a").is_empty());
        assert!(levels(PartKind::Body, "N O T E S\nhello").is_empty());
    }

    #[test]
    fn body_prose_is_not_a_marking() {
        let prose =
            "It's no secret I lost the official Secret Santa draw again. Keep it confidential!";
        assert!(levels(PartKind::Body, prose).is_empty());
        assert!(levels(PartKind::Body, "Secret Santa is on Friday").is_empty());
        assert!(levels(PartKind::Body, "SECRET: see you at the party").is_empty());
        assert!(levels(PartKind::Body, "We were told it is restricted to staff").is_empty());
    }

    #[test]
    fn document_footer_capitals_anywhere() {
        assert_eq!(
            levels(PartKind::DocumentFooter, "RESTRICTED"),
            [Level::OfficialSensitive]
        );
        assert_eq!(
            levels(PartKind::DocumentFooter, "Page 1 of 3 - OFFICIAL"),
            [Level::Official]
        );
        assert!(
            levels(
                PartKind::DocumentFooter,
                "Page 1 of 3 - company confidential"
            )
            .is_empty()
        );
        assert!(levels(PartKind::Document, "Page 1 of 3 - OFFICIAL").is_empty());
    }

    #[test]
    fn classification_headers_count_in_any_case() {
        let epms = "VER=2012.2, NS=gov.uk, SEC=TOP SECRET, ORIGIN=sam.okafor@northshire.police.uk";
        assert_eq!(
            levels(PartKind::ClassificationHeader, epms),
            [Level::TopSecret]
        );
        let mip = "MSIP_Label_1234_Enabled=true; MSIP_Label_1234_Name=Official Sensitive;";
        assert_eq!(
            levels(PartKind::ClassificationHeader, mip),
            [Level::OfficialSensitive]
        );
        assert!(
            levels(
                PartKind::ClassificationHeader,
                "SEC=UNOFFICIAL, ORIGIN=secretary@x.gov.uk"
            )
            .is_empty()
        );
    }

    #[test]
    fn file_names_and_free_text_headers_carry_no_marking() {
        assert!(levels(PartKind::FileName, "SECRET").is_empty());
        assert!(levels(PartKind::Header, "SECRET").is_empty());
    }

    fn part_at(location: &str, kind: PartKind, text: &str) -> Vec<Marking> {
        let mut out = Vec::new();
        let part = TextPart {
            location: location.into(),
            kind,
            text: text.into(),
        };
        MarkingDetector::new().scan(&part, &mut out);
        out
    }

    #[test]
    fn label_lines_count_in_body_and_documents() {
        for (text, level) in [
            (
                "Classification: OFFICIAL-SENSITIVE",
                Level::OfficialSensitive,
            ),
            ("Protective Marking: RESTRICTED", Level::OfficialSensitive),
            ("Security Classification - SECRET", Level::Secret),
            ("Sensitivity: Official", Level::Official),
            ("sensitivity = official sensitive", Level::OfficialSensitive),
            ("Security Marking \u{2013} Top Secret", Level::TopSecret),
            ("Marking: Restricted", Level::OfficialSensitive),
            ("**Classification:** Secret", Level::Secret),
            ("| Classification | OFFICIAL |", Level::Official),
            ("> Protective marking: \"Confidential\"", Level::Secret),
            ("Handling: official-sensitive", Level::OfficialSensitive),
        ] {
            for kind in [
                PartKind::Body,
                PartKind::Document,
                PartKind::DocumentHeader,
                PartKind::DocumentFooter,
            ] {
                let body = format!("Dear all,\n{text}\nPlease see attached.");
                assert_eq!(levels(kind, &body), [level], "{kind:?} {text}");
            }
        }
    }

    #[test]
    fn label_line_descriptors_and_caveats() {
        let mut out = Vec::new();
        let p = part(
            PartKind::Body,
            "Classification: OFFICIAL-SENSITIVE PERSONAL\nSensitivity: Official Sensitive - Personal\nClassification: Secret UK Eyes Only",
        );
        MarkingDetector::new().scan(&p, &mut out);
        let got: Vec<_> = out
            .iter()
            .map(|m| (m.level, m.descriptor.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (Level::OfficialSensitive, Some("PERSONAL")),
                (Level::OfficialSensitive, Some("Personal")),
                (Level::Secret, Some("UK Eyes Only")),
            ]
        );
    }

    #[test]
    fn label_prose_is_not_a_marking() {
        for text in [
            "the classification of this is secret",
            "Sensitivity: low",
            "Our classification: secret, as agreed",
            "Classification: secret squirrel stuff",
            "Classification secret",
            "Reclassification: official",
            "Classification: the official one",
            "Marking: secret santa presents",
        ] {
            assert!(levels(PartKind::Body, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn subject_label() {
        assert_eq!(
            levels(
                PartKind::Subject,
                "Classification: Official-Sensitive - rota"
            ),
            [Level::OfficialSensitive]
        );
    }

    #[test]
    fn many_markings_on_long_lines_stay_linear() {
        // Each of these only has to finish quickly (linear work).
        for text in [
            "secret ".repeat(100_000),
            format!("{}SECRET", "=".repeat(200_000)),
            format!("{} secret", "Classification: ".repeat(50_000)),
            "TOP\nSECRET ".repeat(50_000),
            format!("SECRET {}", "secret ".repeat(100_000)),
        ] {
            for kind in [PartKind::Body, PartKind::DocumentFooter, PartKind::Subject] {
                let _ = levels(kind, &text);
            }
        }
        // A marking written over a line break is still one banner.
        assert_eq!(
            levels(PartKind::Body, "x\nTOP\nSECRET\ny"),
            [Level::TopSecret]
        );
    }

    #[test]
    fn disabled_purview_labels_do_not_count() {
        let header = "MSIP_Label_aaaa-1111_Enabled=false; MSIP_Label_aaaa-1111_SetDate=2024-05-01T10:00:00Z; \
            MSIP_Label_aaaa-1111_Name=Secret; MSIP_Label_bbbb-2222_Enabled=true; \
            MSIP_Label_bbbb-2222_Name=Official;";
        assert_eq!(
            levels(PartKind::ClassificationHeader, header),
            [Level::Official]
        );
        // Enabled written after the name, in another case: still disabled.
        let header = "MSIP_Label_x_Name=Top Secret; msip_label_X_enabled=False";
        assert!(levels(PartKind::ClassificationHeader, header).is_empty());
        // Text outside the pairs is read as before.
        let header = "MSIP_Label_x_Enabled=false; MSIP_Label_x_Name=Secret; SEC=OFFICIAL-SENSITIVE";
        assert_eq!(
            levels(PartKind::ClassificationHeader, header),
            [Level::OfficialSensitive]
        );
        // No Enabled pair at all: the label counts.
        let header = "MSIP_Label_x_Name=Secret";
        assert_eq!(
            levels(PartKind::ClassificationHeader, header),
            [Level::Secret]
        );
        // Disabled and enabled at once: the strictest reading counts it.
        let header =
            "MSIP_Label_x_Enabled=false; MSIP_Label_x_Enabled=true; MSIP_Label_x_Name=Secret";
        assert_eq!(
            levels(PartKind::ClassificationHeader, header),
            [Level::Secret]
        );
    }

    #[test]
    fn document_custom_properties() {
        let props = "MSIP_Label_aaaa_Enabled=false; MSIP_Label_aaaa_Name=Secret; \
            MSIP_Label_bbbb_Enabled=true; MSIP_Label_bbbb_Name=Official Sensitive; Author=Sam Okafor; ";
        let got: Vec<_> = part_at("attachment:a.docx:label", PartKind::DocumentHeader, props)
            .into_iter()
            .map(|m| m.level)
            .collect();
        assert_eq!(got, [Level::OfficialSensitive]);
        let got: Vec<_> = part_at(
            "attachment:a.docx:label",
            PartKind::DocumentHeader,
            "ProtectiveMarking=Restricted; Title=Secret Santa rota; SecurityLevel=official; ",
        )
        .into_iter()
        .map(|m| m.level)
        .collect();
        assert_eq!(got, [Level::OfficialSensitive, Level::Official]);
        // A page header that merely mentions a property list shape is read as before.
        let got: Vec<_> = part_at(
            "attachment:a.docx:header",
            PartKind::DocumentHeader,
            "OFFICIAL; page 1",
        )
        .into_iter()
        .map(|m| m.level)
        .collect();
        assert_eq!(got, [Level::Official]);
    }
}
