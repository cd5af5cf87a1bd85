//! The collector: gathers parts, files and problems while enforcing the limits,
//! and contains any panic of a parser to the part it was parsing.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::normalize::visual_order;
use crate::{
    Attachment, Extraction, Limits, PartKind, Problem, TextPart, formats, html, mime, normalize,
};

/// A limit was reached; the caller reports the part as uninspectable and stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LimitReached(pub &'static str);

/// A file about to be inspected: where it is and what its container says of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileRef<'a> {
    /// Location, e.g. `attachment:bundle.zip/notes.docx`.
    pub location: &'a str,
    /// File name given by the sender or the archive.
    pub name: Option<&'a str>,
    /// Declared MIME type with parameters, e.g. `text/csv; charset=utf-8`.
    pub declared: Option<&'a str>,
    /// 0 for a MIME attachment of the message, more when nested.
    pub depth: u32,
    /// An inline image referenced by the HTML body (a signature logo), not an
    /// attachment in the sender's eyes.
    pub inline: bool,
}

/// Accumulates what extraction finds in one message, with the budget it may spend.
pub(crate) struct Collector<'l> {
    pub(crate) limits: &'l Limits,
    out: Extraction,
    expanded: u64,
    parts: usize,
}

impl<'l> Collector<'l> {
    pub(crate) fn new(limits: &'l Limits, message_bytes: usize) -> Self {
        Collector {
            limits,
            out: Extraction {
                message_bytes,
                ..Extraction::default()
            },
            expanded: 0,
            parts: 0,
        }
    }

    /// Extracts the message itself.
    pub(crate) fn top_level_message(&mut self, bytes: &[u8]) {
        if bytes.len() > self.limits.max_message_bytes {
            self.problem(
                "message",
                format!(
                    "message larger than the {} byte limit",
                    self.limits.max_message_bytes
                ),
            );
            return;
        }
        self.guarded("message", |c| mime::extract_message(c, bytes, None, 0));
    }

    /// Extracts a message attached to, or archived in, the message (`message/rfc822`, `.eml`).
    pub(crate) fn nested_message(&mut self, location: &str, bytes: &[u8], depth: u32) {
        if self.enter(location, depth).is_err() {
            return;
        }
        let location = location.to_owned();
        self.guarded(&location.clone(), |c| {
            mime::extract_message(c, bytes, Some(&location), depth)
        });
    }

    /// Inspects one file: records it as an attachment, then extracts its text by type.
    pub(crate) fn file(&mut self, file: &FileRef, bytes: &[u8]) {
        if self.enter(file.location, file.depth).is_err() {
            return;
        }
        self.guarded(file.location, |c| formats::inspect_file(c, file, bytes));
    }

    /// Adds a text part, normalised, and its visual-order reading when
    /// bidirectional text shows it in another order; empty text is dropped.
    pub(crate) fn text(&mut self, location: impl Into<String>, kind: PartKind, raw: &str) {
        self.readings(&location.into(), kind, &[raw]);
    }

    /// Adds the readings of an HTML document: the text a reader sees and the
    /// full text with hidden parts, each as its own part at `location` (one
    /// part when they agree).
    pub(crate) fn html(&mut self, location: impl Into<String>, kind: PartKind, html: &str) {
        let location = location.into();
        let rendered = html::render(html);
        if let Some(reason) = rendered.unrendered {
            self.problem(location.as_str(), reason);
        }
        match &rendered.full {
            Some(full) => self.readings(&location, kind, &[&rendered.visible, full]),
            None => self.readings(&location, kind, &[&rendered.visible]),
        }
    }

    /// Adds each reading of one place as a text part at `location`, with its
    /// visual-order reading, skipping empty texts and texts already added here.
    fn readings(&mut self, location: &str, kind: PartKind, raws: &[&str]) {
        let first = self.out.parts.len();
        for raw in raws {
            let visual = visual_order(raw);
            for reading in std::iter::once(*raw).chain(visual.as_deref()) {
                let text = normalize(reading);
                let known = self.out.parts[first..].iter().any(|p| p.text == text);
                if !text.is_empty() && !known {
                    self.out.parts.push(TextPart {
                        location: location.to_owned(),
                        kind,
                        text,
                    });
                }
            }
        }
    }

    /// Adds another reading of a part already extracted at `location`,
    /// keeping only text that differs from what is already there.
    pub(crate) fn alternative_text(&mut self, location: &str, kind: PartKind, raw: &str) {
        let before = self.out.parts.len();
        self.text(location, kind, raw);
        let (known, new) = self.out.parts.split_at(before);
        let fresh: Vec<TextPart> = new
            .iter()
            .filter(|n| {
                !known
                    .iter()
                    .any(|k| k.location == n.location && k.kind == n.kind && k.text == n.text)
            })
            .cloned()
            .collect();
        self.out.parts.truncate(before);
        self.out.parts.extend(fresh);
    }

    /// Records a part that could not be inspected.
    pub(crate) fn problem(&mut self, location: impl Into<String>, reason: impl Into<String>) {
        let location = location.into();
        let reason = reason.into();
        if !self
            .out
            .problems
            .iter()
            .any(|p| p.location == location && p.reason == reason)
        {
            self.out.problems.push(Problem { location, reason });
        }
    }

    /// Records a file carried by the message.
    pub(crate) fn attachment(&mut self, attachment: Attachment) {
        self.out.attachments.push(attachment);
    }

    /// Records the top-level subject.
    pub(crate) fn set_subject(&mut self, subject: &str) {
        self.out.subject = Some(subject.to_owned());
    }

    /// Records the top-level header addresses.
    pub(crate) fn set_addresses(&mut self, addresses: crate::HeaderAddresses) {
        self.out.addresses = addresses;
    }

    /// Bytes that decoding or decompression may still produce for this message.
    pub(crate) fn expanded_budget(&self) -> u64 {
        self.limits.max_expanded_bytes.saturating_sub(self.expanded)
    }

    /// Spends `bytes` of the expansion budget.
    pub(crate) fn charge_expanded(&mut self, bytes: u64) -> Result<(), LimitReached> {
        self.expanded = self.expanded.saturating_add(bytes);
        if self.expanded > self.limits.max_expanded_bytes {
            Err(LimitReached("expanded size limit reached"))
        } else {
            Ok(())
        }
    }

    /// True once the parts limit is used up, so that archive walkers stop
    /// instead of recording one problem per remaining member.
    pub(crate) fn parts_exhausted(&self) -> bool {
        self.parts >= self.limits.max_parts
    }

    /// Counts one more part or member against the depth and parts limits,
    /// recording a problem at `location` when a limit is reached.
    pub(crate) fn enter(&mut self, location: &str, depth: u32) -> Result<(), LimitReached> {
        self.parts += 1;
        let reached = if depth > self.limits.max_depth {
            Some(LimitReached("nesting depth limit reached"))
        } else if self.parts > self.limits.max_parts {
            Some(LimitReached("too many parts"))
        } else {
            None
        };
        match reached {
            Some(limit) => {
                self.problem(location, limit.0);
                Err(limit)
            }
            None => Ok(()),
        }
    }

    /// Runs `f`, turning a panic inside it into a problem at `location`.
    pub(crate) fn guarded(&mut self, location: &str, f: impl FnOnce(&mut Self)) {
        if catch_unwind(AssertUnwindSafe(|| f(self))).is_err() {
            self.problem(location, "the parser failed on this part");
        }
    }

    pub(crate) fn finish(self) -> Extraction {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts of the parts `add` produces, in order.
    fn parts(add: impl FnOnce(&mut Collector)) -> Vec<(String, String)> {
        let limits = Limits::default();
        let mut c = Collector::new(&limits, 0);
        add(&mut c);
        c.finish()
            .parts
            .into_iter()
            .map(|p| (p.location, p.text))
            .collect()
    }

    #[test]
    fn a_reversed_run_is_also_read_in_the_order_shown() {
        let found = parts(|c| c.text("body", PartKind::Body, "NI: JM 41 \u{202E}B 78 92\u{202C}"));
        assert_eq!(
            found,
            [
                ("body".to_owned(), "NI: JM 41 B 78 92".to_owned()),
                ("body".to_owned(), "NI: JM 41 29 87 B".to_owned()),
            ]
        );
    }

    #[test]
    fn readings_that_agree_make_one_part() {
        // right-to-left text whose visual order normalises to the same text
        // is not added twice, nor is plain HTML
        let found = parts(|c| {
            c.text("subject", PartKind::Subject, "Ref JM 41 29 87 B");
            c.text("body", PartKind::Body, "\u{05D0}");
            c.html("body", PartKind::Body, "<p>Dear <b>all</b></p>");
        });
        assert_eq!(found.len(), 3, "{found:?}");
    }

    #[test]
    fn html_gives_the_visible_and_the_full_reading() {
        let found = parts(|c| {
            c.html(
                "attachment:a.html",
                PartKind::Document,
                r#"JM 41<span style="display:none">x</span> 29 87 B"#,
            )
        });
        assert_eq!(
            found,
            [
                ("attachment:a.html".to_owned(), "JM 41 29 87 B".to_owned()),
                ("attachment:a.html".to_owned(), "JM 41x 29 87 B".to_owned()),
            ]
        );
    }

    #[test]
    fn html_too_deep_to_render_is_a_problem() {
        let limits = Limits::default();
        let mut c = Collector::new(&limits, 0);
        c.html("body", PartKind::Body, &"<span>".repeat(20_000));
        let out = c.finish();
        assert_eq!(out.problems.len(), 1);
        assert_eq!(out.problems[0].location, "body");
    }
}
