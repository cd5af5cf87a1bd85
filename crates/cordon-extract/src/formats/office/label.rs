//! The sensitivity label of an OOXML document, from its custom properties
//! (`docProps/custom.xml`): Microsoft Purview writes one property per label
//! field (`MSIP_Label_<guid>_Enabled`, `..._Name`, `..._SetDate`...), other
//! tools a `Classification` or protective-marking property.
//!
//! The label is written in the shape of the `msip_labels` mail header,
//! `key=value; ` for each property, and recorded as a classification header
//! at `LOCATION:label`: so a document's label counts exactly as a message's
//! label does (a marking in any case, and not when `_Enabled=false`).

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::xml::{attribute, decode_xml, reference_text};
use crate::PartKind;
use crate::collector::Collector;

/// Records the label among the custom properties `xml` of the document at `location`.
pub(super) fn record(c: &mut Collector, location: &str, xml: &[u8]) {
    c.text(
        format!("{location}:label"),
        PartKind::ClassificationHeader,
        &label_text(xml),
    );
}

/// True for a custom property that is part of a classification label.
fn is_label_property(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("msip_label_")
        || name.contains("classification")
        || name.contains("protectivemarking")
        || name.contains("protective marking")
        || name.contains("protective_marking")
}

/// The label properties as `name=value; ` pairs, in document order.
fn label_text(xml: &[u8]) -> String {
    let source = decode_xml(xml);
    let mut reader = Reader::from_str(&source);
    let mut out = String::new();
    let mut current: Option<(String, String)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(Event::Start(e)) if e.local_name().as_ref() == "property" => {
                current = attribute(&e, "name")
                    .filter(|name| is_label_property(name))
                    .map(|name| (name.trim().to_owned(), String::new()));
            }
            Ok(Event::End(e)) if e.local_name().as_ref() == "property" => {
                if let Some((name, value)) = current.take() {
                    // The pair separators must not be forged by a value.
                    let value = value.replace([';', '\n', '\r'], " ");
                    out.push_str(&format!("{name}={}; ", value.trim()));
                }
            }
            Ok(Event::Text(t)) => {
                if let Some((_, value)) = current.as_mut() {
                    value.push_str(&t.xml10_content());
                }
            }
            Ok(Event::CData(t)) => {
                if let Some((_, value)) = current.as_mut() {
                    value.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let (Some((_, value)), Some(ch)) = (current.as_mut(), reference_text(&r)) {
                    value.push(ch);
                }
            }
            Ok(_) => {}
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purview_label_reads_like_the_mail_header() {
        let custom = concat!(
            r#"<Properties xmlns:vt="vt">"#,
            r#"<property fmtid="x" pid="2" name="MSIP_Label_9f1e_Enabled"><vt:lpwstr>true</vt:lpwstr></property>"#,
            r#"<property fmtid="x" pid="3" name="MSIP_Label_9f1e_Name"><vt:lpwstr>Official Sensitive</vt:lpwstr></property>"#,
            r#"<property fmtid="x" pid="4" name="ContentTypeId"><vt:lpwstr>0x0101</vt:lpwstr></property>"#,
            r#"<property fmtid="x" pid="5" name="Classification"><vt:lpwstr>SECRET; x=y &amp; z</vt:lpwstr></property>"#,
            r#"</Properties>"#,
        );
        assert_eq!(
            label_text(custom.as_bytes()),
            "MSIP_Label_9f1e_Enabled=true; MSIP_Label_9f1e_Name=Official Sensitive; Classification=SECRET  x=y & z;"
        );
    }

    #[test]
    fn disabled_label_keeps_its_flag() {
        let custom = concat!(
            r#"<Properties><property name="MSIP_Label_1_Enabled"><vt:bool>false</vt:bool></property>"#,
            r#"<property name="MSIP_Label_1_Name"><vt:lpwstr>SECRET</vt:lpwstr></property></Properties>"#,
        );
        assert_eq!(
            label_text(custom.as_bytes()),
            "MSIP_Label_1_Enabled=false; MSIP_Label_1_Name=SECRET;"
        );
    }
}
