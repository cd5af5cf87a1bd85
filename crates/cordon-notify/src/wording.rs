//! Plain words for what the detectors report: "a National Insurance number,
//! JM 41 ** ** B, in the attachment form.docx" rather than
//! `uk_nino attachment:form.docx`. The force's own detectors are named as
//! `detectors.toml` names them ([`DetectorNouns`]).

use std::collections::BTreeMap;

/// What one detector finds, as a noun phrase: (one, several).
fn noun(detector: &str) -> (&'static str, &'static str) {
    match detector {
        "marking" => ("the marking", "the markings"),
        "uk_nino" => ("a National Insurance number", "National Insurance numbers"),
        "nhs_number" => ("an NHS number", "NHS numbers"),
        "possible_nhs_number" => ("a possible NHS number", "possible NHS numbers"),
        "pnc_id" => ("a PNC ID", "PNC IDs"),
        "cro_number" => ("a CRO number", "CRO numbers"),
        "payment_card" => ("a payment card number", "payment card numbers"),
        "uk_bank_account" => ("a bank account number", "bank account numbers"),
        "iban" => ("an IBAN", "IBANs"),
        "uk_passport" => ("a passport number", "passport numbers"),
        "uk_driving_licence" => ("a driving licence number", "driving licence numbers"),
        "uk_postcode" => ("a postcode", "postcodes"),
        "uk_phone" => ("a phone number", "phone numbers"),
        "date_of_birth" => ("a date of birth", "dates of birth"),
        "special_category" => (
            "special category information",
            "special category information",
        ),
        "operation_name" => ("the live operation name", "live operation names"),
        "exact_match" => (
            "the details of a person in the force's records",
            "the details of people in the force's records",
        ),
        "executable" => ("an executable file", "executable files"),
        "uninspectable" => (
            "content that could not be checked",
            "content that could not be checked",
        ),
        "attachment" => ("the attachment", "attachments"),
        "sender_behaviour" => ("the sender's recent mail", "the sender's recent mail"),
        _ => ("a finding", "findings"),
    }
}

/// What a detector finds, with its count: "a National Insurance number",
/// "3 National Insurance numbers".
pub fn describe_detector(detector: &str, count: usize) -> String {
    let (one, several) = noun(detector);
    counted(one, several, count)
}

/// `one`, or `several` with the count when there are more than one.
fn counted(one: &str, several: &str, count: usize) -> String {
    if count > 1 && one != several {
        format!("{count} {several}")
    } else {
        one.to_owned()
    }
}

/// Where something was found, as a phrase: `attachment:a.zip/b.docx:footer`
/// becomes "in the footer of b.docx in the attachment a.zip".
pub fn describe_location(location: &str) -> String {
    match location {
        "body" => return "in the message body".into(),
        "subject" => return "in the subject line".into(),
        "message" => return "in the message".into(),
        "header:msip_labels" => return "in the message's sensitivity label".into(),
        _ => {}
    }
    if let Some(header) = location.strip_prefix("header:") {
        return format!("in the {header} header");
    }
    let Some(path) = location.strip_prefix("attachment:") else {
        return format!("in {location}");
    };
    let mut segments: Vec<&str> = path.split('/').collect();
    let last = segments.pop().unwrap_or_default();
    // A part of an attached message: its subject, body or a header.
    let message_part = match last {
        "subject" => Some("the subject"),
        "body" => Some("the text"),
        _ if last.starts_with("header:") => Some("a header"),
        _ => None,
    };
    let (lead, file) = match message_part {
        Some(part) if !segments.is_empty() => {
            let file = segments.pop().unwrap_or_default();
            if segments.is_empty() {
                return format!("in {part} of the attached message {}", display_name(file));
            }
            (format!("{part} of the attached message "), file)
        }
        _ => {
            let (file, section) = split_section(last);
            let lead = match section {
                Some("header") => "the header of ".to_owned(),
                Some("footer") => "the footer of ".to_owned(),
                Some("properties") => "the document properties of ".to_owned(),
                Some("label") => "the sensitivity label of ".to_owned(),
                _ => String::new(),
            };
            (lead, file)
        }
    };
    let file = display_name(file);
    let mut phrase = String::from("in ");
    phrase.push_str(&lead);
    if segments.is_empty() {
        phrase.push_str(&format!("the attachment {file}"));
        return phrase;
    }
    phrase.push_str(&file);
    for (i, container) in segments.iter().rev().enumerate() {
        let container = display_name(container);
        if i + 1 == segments.len() {
            phrase.push_str(&format!(" in the attachment {container}"));
        } else {
            phrase.push_str(&format!(" in {container}"));
        }
    }
    phrase
}

/// A file segment and its document section, if any (`notes.docx:footer`).
fn split_section(segment: &str) -> (&str, Option<&str>) {
    match segment.rsplit_once(':') {
        Some((file, section @ ("header" | "footer" | "properties" | "label"))) => {
            (file, Some(section))
        }
        _ => (segment, None),
    }
}

/// A file name as staff know it; unnamed MIME parts are numbered.
fn display_name(segment: &str) -> String {
    match segment.strip_prefix("part-") {
        Some(n) if n.chars().all(|c| c.is_ascii_digit()) => format!("(unnamed part {n})"),
        _ => segment.to_owned(),
    }
}

/// One item of evidence in a sentence: "a National Insurance number,
/// JM 41 ** ** B, in the attachment form.docx".
pub fn describe_evidence(detector: &str, location: &str, sample: &str, count: usize) -> String {
    let place = describe_location(location);
    match detector {
        "marking" => format!("the marking {sample} {place}"),
        "operation_name" => format!("the live operation name {sample} {place}"),
        "special_category" => {
            let (topic, term) = sample.split_once(": ").unwrap_or(("", sample));
            if topic.is_empty() {
                format!("special category information (“{term}”) {place}")
            } else {
                format!("special category information about {topic} (“{term}”) {place}")
            }
        }
        "executable" => format!("an executable file {place}: {sample}"),
        "sender_behaviour" => sample.to_owned(),
        "exact_match" => {
            let what = describe_detector(detector, count);
            format!("{what} ({}) {place}", sample.replace('_', " "))
        }
        "uninspectable" => format!("content that could not be checked {place}: {sample}"),
        "attachment" => place.replacen("in the attachment", "the attached file", 1),
        _ => {
            let (one, several) = noun(detector);
            identifier_evidence(one, several, &place, sample, count)
        }
    }
}

/// An identifier found: "a crime reference number, NS/*****/**, in the
/// message body", "2 PNC IDs, such as 20/******V, in ...".
fn identifier_evidence(
    one: &str,
    several: &str,
    place: &str,
    sample: &str,
    count: usize,
) -> String {
    let what = counted(one, several, count);
    let such_as = if count > 1 { "such as " } else { "" };
    format!("{what}, {such_as}{sample}, {place}")
}

/// How the force's own detectors (`detectors.toml`) are named: detector id
/// -> (one, several), e.g. `crime_reference` -> ("a crime reference
/// number", "crime reference numbers"). Detectors it does not name are
/// described in the built-in words.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetectorNouns(BTreeMap<String, (String, String)>);

impl DetectorNouns {
    /// The names the rules give.
    pub fn new(nouns: BTreeMap<String, (String, String)>) -> Self {
        DetectorNouns(nouns)
    }

    /// [`describe_detector`], in the rules' words for their own detectors.
    pub fn describe_detector(&self, detector: &str, count: usize) -> String {
        match self.0.get(detector) {
            Some((one, several)) => counted(one, several, count),
            None => describe_detector(detector, count),
        }
    }

    /// [`describe_evidence`], in the rules' words for their own detectors.
    pub fn describe_evidence(
        &self,
        detector: &str,
        location: &str,
        sample: &str,
        count: usize,
    ) -> String {
        match self.0.get(detector) {
            Some((one, several)) => {
                identifier_evidence(one, several, &describe_location(location), sample, count)
            }
            None => describe_evidence(detector, location, sample, count),
        }
    }

    /// True when the rules name no detector of their own.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_as_places() {
        assert_eq!(describe_location("body"), "in the message body");
        assert_eq!(describe_location("subject"), "in the subject line");
        assert_eq!(
            describe_location("attachment:suspects.docx"),
            "in the attachment suspects.docx"
        );
        assert_eq!(
            describe_location("attachment:minutes.odt:header"),
            "in the header of the attachment minutes.odt"
        );
        assert_eq!(
            describe_location("attachment:bundle.zip/inner.zip/notes.docx:footer"),
            "in the footer of notes.docx in inner.zip in the attachment bundle.zip"
        );
        assert_eq!(
            describe_location("attachment:part-1/subject"),
            "in the subject of the attached message (unnamed part 1)"
        );
        assert_eq!(
            describe_location("header:msip_labels"),
            "in the message's sensitivity label"
        );
        assert_eq!(
            describe_location("header:X-Protective-Marking"),
            "in the X-Protective-Marking header"
        );
    }

    #[test]
    fn evidence_reads_as_a_sentence_fragment() {
        assert_eq!(
            describe_evidence("uk_nino", "attachment:suspects.docx", "JM 41 ** ** B", 1),
            "a National Insurance number, JM 41 ** ** B, in the attachment suspects.docx"
        );
        assert_eq!(
            describe_evidence("uk_nino", "body", "JM 41 ** ** B", 3),
            "3 National Insurance numbers, such as JM 41 ** ** B, in the message body"
        );
        assert_eq!(
            describe_evidence("marking", "subject", "OFFICIAL-SENSITIVE", 1),
            "the marking OFFICIAL-SENSITIVE in the subject line"
        );
        assert_eq!(
            describe_evidence("special_category", "body", "health: diagnosed with", 2),
            "special category information about health (“diagnosed with”) in the message body"
        );
        assert_eq!(
            describe_evidence(
                "executable",
                "attachment:collect.ps1",
                "PowerShell script (by name, .ps1)",
                1
            ),
            "an executable file in the attachment collect.ps1: PowerShell script (by name, .ps1)"
        );
        assert_eq!(
            describe_evidence(
                "uninspectable",
                "attachment:statement.pdf",
                "encrypted PDF (cannot be inspected)",
                1
            ),
            "content that could not be checked in the attachment statement.pdf: encrypted PDF (cannot be inspected)"
        );
        assert_eq!(
            describe_evidence("attachment", "attachment:photo.jpg", "photo.jpg", 1),
            "the attached file photo.jpg"
        );
        assert_eq!(
            describe_evidence("exact_match", "body", "surname + date_of_birth", 1),
            "the details of a person in the force's records (surname + date of birth) in the message body"
        );
    }

    #[test]
    fn detector_counts() {
        assert_eq!(describe_detector("nhs_number", 1), "an NHS number");
        assert_eq!(describe_detector("nhs_number", 4), "4 NHS numbers");
        assert_eq!(describe_detector("unknown_thing", 1), "a finding");
        let nouns = DetectorNouns::new(
            [(
                "crime_reference".to_owned(),
                (
                    "a crime reference number".to_owned(),
                    "crime reference numbers".to_owned(),
                ),
            )]
            .into(),
        );
        assert_eq!(
            nouns.describe_evidence("crime_reference", "body", "NS/*****/**", 2),
            "2 crime reference numbers, such as NS/*****/**, in the message body"
        );
        assert_eq!(
            nouns.describe_detector("crime_reference", 1),
            "a crime reference number"
        );
        // Built-in detectors keep their own words.
        assert_eq!(nouns.describe_detector("nhs_number", 4), "4 NHS numbers");
    }
}
