//! The Open Packaging Conventions of OOXML: which part is what. A package's
//! `_rels/.rels` names its main part; each part's own `_rels/NAME.rels` names
//! the parts it uses (headers, sheets, slides, comments...) by relationship
//! type; `[Content_Types].xml` gives every part a content type. Office finds
//! its parts this way, whatever they are called, and so must cordon.

use std::collections::HashMap;

use super::xml::{attribute, each_element};

/// One relationship of a part: what the target is to it, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Relationship {
    /// The relationship id (`rId7`), by which the source refers to it.
    pub(super) id: String,
    /// The last segment of the relationship type URI, lower case:
    /// `header`, `worksheet`, `afchunk`, `officedocument`...
    pub(super) kind: String,
    /// The target's part name, resolved against the source part, without a
    /// leading slash (`word/header1.xml`).
    pub(super) target: String,
}

/// The relationships part describing `part` (`word/document.xml` ->
/// `word/_rels/document.xml.rels`; the package itself, `""`, -> `_rels/.rels`).
pub(super) fn rels_path(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/_rels/{name}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

/// The internal relationships in a `.rels` part of the part `source`
/// (`""` for the package). External targets (web links) are left out, and so
/// are targets that cannot be resolved to a part name.
pub(super) fn parse_rels(xml: &[u8], source: &str) -> Vec<Relationship> {
    let mut out = Vec::new();
    each_element(xml, |e| {
        if e.local_name().as_ref() != "Relationship" {
            return;
        }
        let external =
            attribute(e, "TargetMode").is_some_and(|m| m.trim().eq_ignore_ascii_case("external"));
        let (Some(kind), Some(target)) = (attribute(e, "Type"), attribute(e, "Target")) else {
            return;
        };
        if external {
            return;
        }
        let Some(target) = resolve(source, &target) else {
            return;
        };
        out.push(Relationship {
            id: attribute(e, "Id").unwrap_or_default().into_owned(),
            kind: kind
                .trim()
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            target,
        });
    });
    out
}

/// Resolves a relationship target against the part it belongs to, as a
/// relative URI: `header1.xml` from `word/document.xml` is
/// `word/header1.xml`, `../media/a.png` from `word/document.xml` is
/// `media/a.png`, `/xl/data.xml` is `xl/data.xml`. `None` for a target that
/// climbs above the package root or is empty.
pub(super) fn resolve(source: &str, target: &str) -> Option<String> {
    let target = target.trim();
    let target = target.split(['#', '?']).next().unwrap_or_default();
    if target.is_empty() {
        return None;
    }
    let target = percent_decode(target);
    let mut segments: Vec<&str> = Vec::new();
    let relative = !target.starts_with('/');
    if relative {
        let dir = source.rsplit_once('/').map_or("", |(dir, _)| dir);
        segments.extend(dir.split('/').filter(|s| !s.is_empty()));
    }
    for segment in target.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            _ => segments.push(segment),
        }
    }
    (!segments.is_empty()).then(|| segments.join("/"))
}

/// Decodes `%XX` escapes (part names with spaces are written `%20`); a
/// malformed escape stays as written.
fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The content types of a package's parts, from `[Content_Types].xml`: an
/// override per part name, else a default per file extension. Both are
/// matched without regard to case, as the conventions require.
#[derive(Debug, Default)]
pub(super) struct ContentTypes {
    defaults: HashMap<String, String>,
    overrides: HashMap<String, String>,
}

impl ContentTypes {
    /// Reads `[Content_Types].xml` (what cannot be read is simply absent).
    pub(super) fn parse(xml: &[u8]) -> Self {
        let mut types = ContentTypes::default();
        each_element(xml, |e| {
            let Some(content_type) = attribute(e, "ContentType") else {
                return;
            };
            let content_type = content_type.trim().to_ascii_lowercase();
            match e.local_name().as_ref() {
                "Default" => {
                    if let Some(ext) = attribute(e, "Extension") {
                        types
                            .defaults
                            .insert(ext.trim().to_ascii_lowercase(), content_type);
                    }
                }
                "Override" => {
                    if let Some(name) = attribute(e, "PartName")
                        && let Some(path) = resolve("", &name)
                    {
                        types.overrides.insert(path.to_lowercase(), content_type);
                    }
                }
                _ => {}
            }
        });
        types
    }

    /// The content type of the part at `path`, lower case, if declared.
    pub(super) fn of(&self, path: &str) -> Option<&str> {
        if let Some(declared) = self.overrides.get(&path.to_lowercase()) {
            return Some(declared);
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        let (_, ext) = name.rsplit_once('.')?;
        self.defaults
            .get(&ext.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The parts declared with an override whose content type satisfies `matches`.
    pub(super) fn overridden(&self, matches: impl Fn(&str) -> bool) -> Vec<&str> {
        let mut paths: Vec<&str> = self
            .overrides
            .iter()
            .filter(|(_, ct)| matches(ct))
            .map(|(path, _)| path.as_str())
            .collect();
        paths.sort_unstable();
        paths
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_against_their_source() {
        assert_eq!(
            rels_path("word/document.xml"),
            "word/_rels/document.xml.rels"
        );
        assert_eq!(rels_path(""), "_rels/.rels");
        assert_eq!(
            resolve("word/document.xml", "hdr7.xml").as_deref(),
            Some("word/hdr7.xml")
        );
        assert_eq!(
            resolve("xl/worksheets/data.xml", "../comments1.xml").as_deref(),
            Some("xl/comments1.xml")
        );
        assert_eq!(
            resolve("ppt/slides/s.xml", "/ppt/notes%20one.xml#x").as_deref(),
            Some("ppt/notes one.xml")
        );
        assert_eq!(
            resolve("", "word/document2.xml").as_deref(),
            Some("word/document2.xml")
        );
        assert_eq!(resolve("word/document.xml", "../../x.xml"), None);
        assert_eq!(resolve("word/document.xml", ""), None);
    }

    #[test]
    fn relationships_by_type_without_external_links() {
        let rels = concat!(
            r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
            r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="hdr7.xml"/>"#,
            r#"<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.org/" TargetMode="External"/>"#,
            r#"<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/aFChunk" Target="/word/chunk.htm"/>"#,
            r#"</Relationships>"#,
        );
        let parsed = parse_rels(rels.as_bytes(), "word/document.xml");
        assert_eq!(
            parsed,
            [
                Relationship {
                    id: "rId1".into(),
                    kind: "header".into(),
                    target: "word/hdr7.xml".into()
                },
                Relationship {
                    id: "rId3".into(),
                    kind: "afchunk".into(),
                    target: "word/chunk.htm".into()
                },
            ]
        );
    }

    #[test]
    fn content_types_by_override_then_extension() {
        let types = ContentTypes::parse(
            concat!(
                r#"<Types><Default Extension="XML" ContentType="application/xml"/>"#,
                r#"<Default Extension="htm" ContentType="text/html"/>"#,
                r#"<Override PartName="/word/hdr7.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/></Types>"#,
            )
            .as_bytes(),
        );
        assert_eq!(
            types.of("word/HDR7.xml"),
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml")
        );
        assert_eq!(types.of("word/other.xml"), Some("application/xml"));
        assert_eq!(types.of("word/chunk.htm"), Some("text/html"));
        assert_eq!(types.of("word/noext"), None);
        assert_eq!(
            types.overridden(|ct| ct.ends_with("header+xml")),
            ["word/hdr7.xml"]
        );
    }
}
