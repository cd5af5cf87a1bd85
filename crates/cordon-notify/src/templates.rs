//! The notice templates: minijinja files in `rules/notices/`, so that a force
//! words its own notices. Every template is compiled and rendered against
//! sample facts at load, so a broken template stops the gateway from
//! starting instead of failing when the first notice is due.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::NoticeError;
use crate::facts::{
    AffectedRecipient, EvidenceFacts, ForceFacts, NoticeFacts, NoticeKind, ReasonFacts,
};

/// The shipped templates (Northshire's wording), used for any file a force's
/// `rules/notices/` does not provide.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "rejected.txt",
        include_str!("../../../rules/notices/rejected.txt"),
    ),
    (
        "rejected.html",
        include_str!("../../../rules/notices/rejected.html"),
    ),
    ("held.txt", include_str!("../../../rules/notices/held.txt")),
    (
        "held.html",
        include_str!("../../../rules/notices/held.html"),
    ),
    (
        "released.txt",
        include_str!("../../../rules/notices/released.txt"),
    ),
    (
        "released.html",
        include_str!("../../../rules/notices/released.html"),
    ),
    (
        "rejected-by-officer.txt",
        include_str!("../../../rules/notices/rejected-by-officer.txt"),
    ),
    (
        "rejected-by-officer.html",
        include_str!("../../../rules/notices/rejected-by-officer.html"),
    ),
    (
        "expired.txt",
        include_str!("../../../rules/notices/expired.txt"),
    ),
    (
        "expired.html",
        include_str!("../../../rules/notices/expired.html"),
    ),
    (
        "undeliverable.txt",
        include_str!("../../../rules/notices/undeliverable.txt"),
    ),
    (
        "undeliverable.html",
        include_str!("../../../rules/notices/undeliverable.html"),
    ),
    (
        "_recipients.txt",
        include_str!("../../../rules/notices/_recipients.txt"),
    ),
    (
        "_recipients.html",
        include_str!("../../../rules/notices/_recipients.html"),
    ),
    (
        "_layout.html",
        include_str!("../../../rules/notices/_layout.html"),
    ),
    (
        "_footer.txt",
        include_str!("../../../rules/notices/_footer.txt"),
    ),
];

/// The directory under the rules directory that holds the notice templates.
pub const NOTICES_DIR: &str = "notices";

/// The time zone dates in notices are written in: staff read UK time.
const TIME_ZONE: &str = "Europe/London";

/// One notice rendered: its subject and both bodies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML alternative.
    pub html: String,
}

/// The compiled notice templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// Where each template came from, for error messages.
    origins: BTreeMap<String, String>,
}

impl Templates {
    /// The shipped templates only.
    pub fn built_in() -> Result<Templates, NoticeError> {
        Self::from_sources(
            BUILT_IN
                .iter()
                .map(|(name, source)| {
                    (
                        (*name).to_owned(),
                        (*source).to_owned(),
                        "built-in".to_owned(),
                    )
                })
                .collect(),
        )
    }

    /// Loads `RULES/notices/*.txt|*.html` over the shipped templates, then
    /// renders every notice kind against sample facts: any error names the
    /// file and line.
    pub fn load(rules_dir: &Path) -> Result<Templates, NoticeError> {
        let dir = rules_dir.join(NOTICES_DIR);
        let mut sources: BTreeMap<String, (String, String)> = BUILT_IN
            .iter()
            .map(|(name, source)| {
                (
                    (*name).to_owned(),
                    ((*source).to_owned(), "built-in".to_owned()),
                )
            })
            .collect();
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let path = entry
                        .map_err(|source| NoticeError::Read {
                            path: dir.clone(),
                            source,
                        })?
                        .path();
                    let Some(name) = template_name(&path) else {
                        continue;
                    };
                    let source =
                        std::fs::read_to_string(&path).map_err(|source| NoticeError::Read {
                            path: path.clone(),
                            source,
                        })?;
                    sources.insert(name, (source, path.display().to_string()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(NoticeError::Read { path: dir, source }),
        }
        Self::from_sources(sources.into_iter().map(|(n, (s, o))| (n, s, o)).collect())
    }

    fn from_sources(sources: Vec<(String, String, String)>) -> Result<Templates, NoticeError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        let zone = TimeZone::get(TIME_ZONE).unwrap_or(TimeZone::UTC);
        let date_zone = zone.clone();
        env.add_filter("date", move |seconds: i64| {
            format_time(seconds, &date_zone, "%A %-d %B %Y")
        });
        env.add_filter("datetime", move |seconds: i64| {
            format_time(seconds, &zone, "%A %-d %B %Y at %H:%M %Z")
        });
        env.add_filter("wrap", wrap);
        let mut origins = BTreeMap::new();
        for (name, source, origin) in sources {
            env.add_template_owned(name.clone(), source)
                .map_err(|e| template_error(&origin, e))?;
            origins.insert(name, origin);
        }
        let templates = Templates { env, origins };
        for kind in NoticeKind::ALL {
            for facts in [sample_facts(kind, true), sample_facts(kind, false)] {
                templates.render(&facts)?;
            }
        }
        Ok(templates)
    }

    /// Renders the notice for `facts.kind`.
    pub fn render(&self, facts: &NoticeFacts) -> Result<Rendered, NoticeError> {
        let text_name = format!("{}.txt", facts.kind.as_str());
        let html_name = format!("{}.html", facts.kind.as_str());
        let text = self.render_one(&text_name, facts)?;
        let html = self.render_one(&html_name, facts)?;
        let (subject, text) = split_subject(&text).ok_or_else(|| NoticeError::Template {
            origin: self.origin(&text_name),
            message: "the first line must be `Subject: ...` followed by a blank line".into(),
        })?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }

    fn render_one(&self, name: &str, facts: &NoticeFacts) -> Result<String, NoticeError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| template_error(&self.origin(name), e))?;
        template
            .render(facts)
            .map_err(|e| template_error(&self.origin(name), e))
    }

    fn origin(&self, name: &str) -> String {
        self.origins
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    }
}

/// The template name of a file in the notices directory, if it is one.
fn template_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    (name.ends_with(".txt") || name.ends_with(".html")).then(|| name.to_owned())
}

/// A template error as one message naming the file and line.
fn template_error(origin: &str, error: minijinja::Error) -> NoticeError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    NoticeError::Template {
        origin: origin.to_owned(),
        message,
    }
}

/// Unix seconds as local time in words.
fn format_time(seconds: i64, zone: &TimeZone, format: &str) -> String {
    match Timestamp::from_second(seconds) {
        Ok(t) => t.to_zoned(zone.clone()).strftime(format).to_string(),
        Err(_) => "(unknown time)".to_owned(),
    }
}

/// The `wrap(width, indent)` filter: reflows text into lines of at most
/// `width` characters (a longer word stands alone), every line after the
/// first indented by `indent` spaces, for plain-text notices.
fn wrap(text: &str, width: usize, indent: usize) -> String {
    let width = width.max(20);
    let mut out = String::with_capacity(text.len() + text.len() / width * (indent + 1));
    let mut column = indent;
    for word in text.split_whitespace() {
        let length = word.chars().count();
        if column > indent && column + 1 + length > width {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent));
            column = indent;
        } else if column > indent || !out.is_empty() {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += length;
    }
    out
}

/// Splits `Subject: ...\n\nbody` into the subject and the body.
fn split_subject(rendered: &str) -> Option<(String, String)> {
    let rendered = rendered.trim_start_matches(['\n', '\r']);
    let (first, rest) = rendered.split_once('\n')?;
    let subject = first
        .trim_end_matches('\r')
        .strip_prefix("Subject:")?
        .trim();
    if subject.is_empty() {
        return None;
    }
    let body = rest.trim_start_matches(['\n', '\r']);
    Some((subject.to_owned(), body.to_owned()))
}

/// Facts that exercise every field of a template (`full`) or as few as a
/// notice can have, for checking templates at load.
fn sample_facts(kind: NoticeKind, full: bool) -> NoticeFacts {
    let evidence = EvidenceFacts {
        detector: "uk_nino".into(),
        location: "attachment:form.docx".into(),
        sample: "JM 41 ** ** B".into(),
        count: 1,
        place: "in the attachment form.docx".into(),
        text: "a National Insurance number, JM 41 ** ** B, in the attachment form.docx".into(),
    };
    let reason = ReasonFacts {
        rule: "personal-data-to-insecure".into(),
        action: "hold".into(),
        policy: "Data Protection Act 2018".into(),
        explanation: "Send it to a secure address.".into(),
        evidence: if full { vec![evidence] } else { Vec::new() },
    };
    let affected = |address: &str| AffectedRecipient {
        address: address.into(),
        status: "5.7.1".into(),
        diagnostic: "refused by policy".into(),
        reasons: if full {
            vec![reason.clone()]
        } else {
            Vec::new()
        },
    };
    let mut facts = NoticeFacts {
        kind,
        force: ForceFacts {
            name: "Example Constabulary".into(),
            information_security: "infosec@example.police.uk".into(),
        },
        reference: "01KAEXAMPLE0000000000000000".into(),
        sender: "someone@example.police.uk".into(),
        subject: "(no subject)".into(),
        received_at: 1_763_900_000,
        expires_at: full.then_some(1_765_100_000),
        hold_days: 14,
        officer_note: full.then(|| "Not approved.".to_owned()),
        rejected: Vec::new(),
        held: Vec::new(),
        failed: Vec::new(),
        delivered: if full {
            vec!["colleague@example.police.uk".into()]
        } else {
            Vec::new()
        },
        pending: if full {
            vec!["later@example.org".into()]
        } else {
            Vec::new()
        },
    };
    let first = affected("a@gmail.com");
    match kind {
        NoticeKind::Rejected | NoticeKind::RejectedByOfficer => facts.rejected.push(first),
        NoticeKind::Held => facts.held.push(first),
        NoticeKind::Released => facts.delivered.push("a@gmail.com".into()),
        NoticeKind::Expired | NoticeKind::Undeliverable => facts.failed.push(first),
    }
    if full {
        facts.held.push(affected("b@example.org"));
        facts.failed.push(affected("c@example.org"));
        facts.rejected.push(affected("d@hotmail.com"));
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_render_every_kind() {
        let templates = Templates::built_in().expect("the shipped templates load");
        for kind in NoticeKind::ALL {
            let rendered = templates
                .render(&sample_facts(kind, true))
                .expect("renders");
            assert!(!rendered.subject.is_empty());
            assert!(
                rendered.text.contains("01KAEXAMPLE0000000000000000"),
                "{kind:?}: reference"
            );
            assert!(
                rendered.html.contains("01KAEXAMPLE0000000000000000"),
                "{kind:?}: reference"
            );
        }
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let templates = Templates::built_in().unwrap();
        let mut facts = sample_facts(NoticeKind::Held, true);
        facts.subject = "<script>alert(1)</script> & more".into();
        let rendered = templates.render(&facts).unwrap();
        assert!(!rendered.html.contains("<script>"));
        assert!(rendered.html.contains("&lt;script&gt;"));
        assert!(
            rendered
                .subject
                .contains("<script>alert(1)</script> & more")
        );
    }

    #[test]
    fn a_broken_template_fails_at_load_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let notices = dir.path().join(NOTICES_DIR);
        std::fs::create_dir(&notices).unwrap();
        std::fs::write(notices.join("held.txt"), "Subject: held\n\n{% if %}\n").unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("held.txt"), "{err}");

        std::fs::write(
            notices.join("held.txt"),
            "Subject: held\n\n{{ no_such_field }}\n",
        )
        .unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("held.txt") && err.contains("undefined"),
            "{err}"
        );

        std::fs::write(notices.join("held.txt"), "no subject line\n").unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("Subject:"), "{err}");
    }

    #[test]
    fn a_force_can_override_one_template() {
        let dir = tempfile::tempdir().unwrap();
        let notices = dir.path().join(NOTICES_DIR);
        std::fs::create_dir(&notices).unwrap();
        std::fs::write(
            notices.join("held.txt"),
            "Subject: Held: {{ subject }}\n\nCall {{ force.information_security }} quoting {{ reference }}.\n",
        )
        .unwrap();
        let templates = Templates::load(dir.path()).unwrap();
        let rendered = templates
            .render(&sample_facts(NoticeKind::Held, true))
            .unwrap();
        assert_eq!(rendered.subject, "Held: (no subject)");
        assert_eq!(
            rendered.text.trim(),
            "Call infosec@example.police.uk quoting 01KAEXAMPLE0000000000000000."
        );
        let rejected = templates
            .render(&sample_facts(NoticeKind::Rejected, true))
            .unwrap();
        assert!(
            rejected.text.contains("personal-data-to-insecure"),
            "others stay built in"
        );
    }

    #[test]
    fn wrap_reflows_with_a_hanging_indent() {
        let text = "The message contains personal data such as a National Insurance number,\nand the recipient is not on a secure network.";
        let wrapped = wrap(text, 40, 4);
        for line in wrapped.lines() {
            assert!(line.chars().count() <= 40, "{line:?}");
        }
        assert!(
            wrapped
                .lines()
                .skip(1)
                .all(|l| l.starts_with("    ") && !l.starts_with("     "))
        );
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
        assert_eq!(wrap("", 40, 4), "");
    }

    #[test]
    fn dates_are_uk_local_time() {
        let zone = TimeZone::get(TIME_ZONE).unwrap();
        // 1 July 2026 12:00 UTC is 13:00 BST.
        assert_eq!(
            format_time(1_782_907_200, &zone, "%A %-d %B %Y at %H:%M %Z"),
            "Wednesday 1 July 2026 at 13:00 BST"
        );
    }
}
