//! Classification markings: found where a marking stands, never in prose.
//!
//! A marking counts in a classification header, in the subject (bracketed, as a
//! prefix, or written in capitals), on a banner line of a body or document (a
//! line that is only the marking, optionally with a descriptor or caveat in
//! capitals such as `OFFICIAL-SENSITIVE: PERSONAL` or `SECRET UK EYES ONLY`),
//! and in the page header or footer of a document (in capitals). "An official
//! complaint", "Secret Santa" and "keep this confidential" are not markings.

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
            PartKind::ClassificationHeader => {
                for m in self.token.find_iter(&part.text) {
                    push(out, part, m.as_str(), None);
                }
            }
            PartKind::Subject => self.scan_subject(part, out),
            PartKind::Body | PartKind::Document => self.scan_banners(part, out, false),
            PartKind::DocumentHeader | PartKind::DocumentFooter => {
                self.scan_banners(part, out, true)
            }
            PartKind::Header | PartKind::FileName => {}
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
            if capitals || bracketed || prefix {
                push(out, part, m.as_str(), None);
            }
        }
    }

    /// Banner lines anywhere in the text; with `capitals_anywhere`, also any
    /// marking written in capitals (document headers and footers).
    fn scan_banners(&self, part: &TextPart, out: &mut Vec<Marking>, capitals_anywhere: bool) {
        let text = part.text.as_str();
        let mut last_line_start = usize::MAX;
        for m in self.token.find_iter(text) {
            let line_start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
            if line_start == last_line_start {
                continue; // one marking per line: the first token decides
            }
            let line_end = text[m.end()..]
                .find('\n')
                .map_or(text.len(), |i| m.end() + i);
            let line = &text[line_start..line_end];
            let token_in_line = m.start() - line_start..m.end() - line_start;
            if let Some(descriptor) = banner(line, token_in_line) {
                last_line_start = line_start;
                push(out, part, m.as_str(), descriptor);
            } else if capitals_anywhere && is_capitals(m.as_str()) {
                last_line_start = line_start;
                push(out, part, m.as_str(), None);
            }
        }
    }
}

/// If `line` is a banner line whose marking is at `token`, the descriptor or
/// caveat written after it (`Some(None)` when there is none).
fn banner(line: &str, token: std::ops::Range<usize>) -> Option<Option<String>> {
    // quoted replies: "> OFFICIAL-SENSITIVE" is still the marking of the quoted text
    let head = &line[..token.start];
    if !head.chars().all(|c| DECORATION.contains(&c)) {
        return None;
    }
    let tail = line[token.end..].trim_matches(DECORATION);
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
}
