//! One audit entry: what is recorded, how it is written and how its hash is
//! computed.
//!
//! The canonical form and the hash are specified in the crate documentation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::AuditError;

/// The `prev` of the first entry: 64 zeros.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The longest line (entry plus newline) the log holds. Readers treat a
/// longer line as damage without holding it in memory, so appends refuse
/// entries that would be longer.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// How deeply objects and arrays may nest in an event's detail (the detail
/// object itself is depth 1). Far below serde_json's reading limit, so every
/// entry written can be read back.
pub const MAX_DETAIL_DEPTH: usize = 64;

/// What happened: the closed set of actions the gateway records.
///
/// Written in the log as the kebab-case name ([`Action::as_str`]). Entries
/// read from a log keep the action as text ([`Entry::action`]), so a log
/// written by a newer version with more actions still reads and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The gateway started (subject: the host name or instance).
    Started,
    /// The gateway stopped in an orderly way.
    Stopped,
    /// The policy in `rules/` was loaded or reloaded (subject: rules directory).
    RulesLoaded,
    /// A message was accepted over SMTP and spooled (subject: queue id).
    Accepted,
    /// Inspection decided what happens to each recipient (subject: queue id).
    Verdict,
    /// A copy was handed to the smarthost or written to the outbox.
    Delivered,
    /// Delivery failed permanently or was given up.
    DeliveryFailed,
    /// A notice (held, rejected, released, or a delivery status
    /// notification) was sent to the sender.
    NoticeSent,
    /// An officer viewed a held message (subject: quarantine id).
    View,
    /// An officer downloaded a held message or one of its attachments.
    Download,
    /// An officer released a held message.
    Release,
    /// An officer rejected a held message.
    Reject,
    /// A held message expired undecided.
    Expire,
    /// A console user signed in.
    Login,
    /// A sign-in failed (subject: the user name given).
    LoginFailed,
    /// A console user signed out.
    Logout,
    /// A console account was created.
    UserAdded,
    /// A console account was removed.
    UserRemoved,
    /// A console account's password or API tokens changed (the detail
    /// says which).
    UserChanged,
    /// A request was refused for want of authority: no or a bad token
    /// (API 401), a role that may not (403), a missing or wrong CSRF token,
    /// a login form from another site (subject: the path asked for).
    Refused,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 20] = [
        Action::Started,
        Action::Stopped,
        Action::RulesLoaded,
        Action::Accepted,
        Action::Verdict,
        Action::Delivered,
        Action::DeliveryFailed,
        Action::NoticeSent,
        Action::View,
        Action::Download,
        Action::Release,
        Action::Reject,
        Action::Expire,
        Action::Login,
        Action::LoginFailed,
        Action::Logout,
        Action::UserAdded,
        Action::UserRemoved,
        Action::UserChanged,
        Action::Refused,
    ];

    /// The name written in the log, e.g. `"login-failed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Started => "started",
            Action::Stopped => "stopped",
            Action::RulesLoaded => "rules-loaded",
            Action::Accepted => "accepted",
            Action::Verdict => "verdict",
            Action::Delivered => "delivered",
            Action::DeliveryFailed => "delivery-failed",
            Action::NoticeSent => "notice-sent",
            Action::View => "view",
            Action::Download => "download",
            Action::Release => "release",
            Action::Reject => "reject",
            Action::Expire => "expire",
            Action::Login => "login",
            Action::LoginFailed => "login-failed",
            Action::Logout => "logout",
            Action::UserAdded => "user-added",
            Action::UserRemoved => "user-removed",
            Action::UserChanged => "user-changed",
            Action::Refused => "refused",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not the name of an [`Action`] this version knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit action {0:?}")]
pub struct UnknownAction(pub String);

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Action, UnknownAction> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAction(s.to_owned()))
    }
}

/// Something to record: who did what to which subject. The log adds the
/// time, the sequence number and the hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Who: `"officer:<user>"`, `"gateway"` or `"cli:<os user>"`.
    pub actor: String,
    /// What.
    pub action: Action,
    /// To what: a queue or quarantine id, a user name; empty if none.
    pub subject: String,
    /// Anything else worth keeping (recipients, rules, a note): a JSON
    /// object, or `null` for none (recorded as `{}`).
    pub detail: Value,
}

impl Event {
    /// An event with an empty detail.
    pub fn new(actor: impl Into<String>, action: Action, subject: impl Into<String>) -> Event {
        Event {
            actor: actor.into(),
            action,
            subject: subject.into(),
            detail: Value::Object(Map::new()),
        }
    }

    /// The same event with `detail` as its detail.
    pub fn with_detail(mut self, detail: Value) -> Event {
        self.detail = detail;
        self
    }
}

/// One line of the log, as read back.
///
/// `action` is kept as text so that entries with actions from a newer
/// version still read; [`Entry::known_action`] parses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the chain: 1 for the first entry, then one more each time.
    pub seq: u64,
    /// When it was recorded, in Unix seconds.
    pub at: u64,
    /// Who (see [`Event::actor`]).
    pub actor: String,
    /// What (an [`Action`] name).
    pub action: String,
    /// To what (see [`Event::subject`]).
    pub subject: String,
    /// Anything else recorded.
    pub detail: Map<String, Value>,
    /// The `hash` of the entry before, or [`ZERO_HASH`] for the first.
    pub prev: String,
    /// SHA-256 of this entry's canonical form without `hash`, lowercase hex.
    pub hash: String,
}

impl Entry {
    /// The action, if this version knows it.
    pub fn known_action(&self) -> Option<Action> {
        self.action.parse().ok()
    }

    /// Builds the entry recording `event` at position `seq` after the entry
    /// whose hash is `prev`, and its line (canonical form and `\n`).
    pub(crate) fn seal(
        event: Event,
        seq: u64,
        at: u64,
        prev: String,
    ) -> Result<(Entry, Vec<u8>), AuditError> {
        let detail = match event.detail {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(AuditError::InvalidDetail("detail must be a JSON object")),
        };
        if detail.values().any(|v| depth(v, 2) > MAX_DETAIL_DEPTH) {
            return Err(AuditError::InvalidDetail("detail is nested too deeply"));
        }
        let mut entry = Entry {
            seq,
            at,
            actor: event.actor,
            action: event.action.as_str().to_owned(),
            subject: event.subject,
            detail,
            prev,
            hash: String::new(),
        };
        let mut object = entry.unsealed_object();
        entry.hash = hash_hex(&canonical(&Value::Object(object.clone())));
        object.insert("hash".to_owned(), Value::String(entry.hash.clone()));
        let mut line = canonical(&Value::Object(object));
        line.push(b'\n');
        if line.len() > MAX_LINE_BYTES {
            return Err(AuditError::TooLarge {
                len: line.len(),
                max: MAX_LINE_BYTES,
            });
        }
        Ok((entry, line))
    }

    /// The entry as a JSON object without its `hash`.
    fn unsealed_object(&self) -> Map<String, Value> {
        let mut object = Map::new();
        object.insert("seq".to_owned(), self.seq.into());
        object.insert("at".to_owned(), self.at.into());
        object.insert("actor".to_owned(), self.actor.clone().into());
        object.insert("action".to_owned(), self.action.clone().into());
        object.insert("subject".to_owned(), self.subject.clone().into());
        object.insert("detail".to_owned(), Value::Object(self.detail.clone()));
        object.insert("prev".to_owned(), self.prev.clone().into());
        object
    }
}

/// How deep `value` nests, counting `level` for itself; stops counting once
/// past [`MAX_DETAIL_DEPTH`], so the recursion is bounded.
fn depth(value: &Value, level: usize) -> usize {
    if level > MAX_DETAIL_DEPTH {
        return level;
    }
    let children: Box<dyn Iterator<Item = &Value>> = match value {
        Value::Array(items) => Box::new(items.iter()),
        Value::Object(map) => Box::new(map.values()),
        _ => return level,
    };
    children
        .map(|child| depth(child, level + 1))
        .max()
        .unwrap_or(level)
}

/// A line of the log, read and checked on its own (not against its
/// neighbours).
#[derive(Debug)]
pub(crate) struct CheckedLine {
    /// The entry it holds.
    pub entry: Entry,
    /// Whether the recorded hash is the hash of the entry's contents.
    pub hash_matches: bool,
    /// Whether the line is exactly the entry's canonical form.
    pub canonical: bool,
}

/// Parses a line (without its newline) as an entry and checks its hash and
/// form. `Err` says why it is not an entry at all. Never panics.
pub(crate) fn check_line(line: &[u8]) -> Result<CheckedLine, String> {
    let value: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON ({e})"))?;
    let entry = Entry::deserialize(&value).map_err(|e| format!("not an audit entry ({e})"))?;
    if !is_hash(&entry.hash) {
        return Err("its hash is not 64 lowercase hex digits".to_owned());
    }
    if !is_hash(&entry.prev) {
        return Err("its prev is not 64 lowercase hex digits".to_owned());
    }
    let canonical_line = canonical(&value);
    let Value::Object(mut object) = value else {
        return Err("not a JSON object".to_owned());
    };
    object.remove("hash");
    let hash_matches = hash_hex(&canonical(&Value::Object(object))) == entry.hash;
    Ok(CheckedLine {
        entry,
        hash_matches,
        canonical: canonical_line == line,
    })
}

/// Parses a line as an entry without checking it (for readers that report
/// what the log says; [`crate::verify`] says whether to believe it).
pub(crate) fn parse_line(line: &[u8]) -> Option<Entry> {
    serde_json::from_slice(line).ok()
}

/// Whether `s` is 64 lowercase hex digits.
pub(crate) fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Lowercase hex SHA-256 of `bytes`.
fn hash_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// The canonical form of `value` (see the module documentation).
pub(crate) fn canonical(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // Sorted here, whatever order the map keeps (serde_json's
            // `preserve_order` feature changes it).
            let mut pairs: Vec<(&String, &Value)> = map.iter().collect();
            pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in pairs.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x00..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0x0f)]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sealed(event: Event) -> (Entry, Vec<u8>) {
        Entry::seal(event, 7, 1_763_900_000, ZERO_HASH.to_owned()).unwrap()
    }

    #[test]
    fn action_names_match_serde_and_parse_back() {
        for action in Action::ALL {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
            assert_eq!(action.as_str().parse::<Action>(), Ok(action));
        }
        assert_eq!(Action::LoginFailed.as_str(), "login-failed");
        assert_eq!(
            "promote".parse::<Action>(),
            Err(UnknownAction("promote".into()))
        );
    }

    #[test]
    fn line_is_documented_canonical_form() {
        let event = Event::new("officer:j.smith", Action::Release, "01JABC")
            .with_detail(json!({"note": "ok\n\"fine\"\u{1}", "b": [1, -2, 2.5, null, true], "a": {"z": 1, "y": "é"}}));
        let (entry, line) = sealed(event);
        let expected = format!(
            "{{\"action\":\"release\",\"actor\":\"officer:j.smith\",\"at\":1763900000,\
             \"detail\":{{\"a\":{{\"y\":\"é\",\"z\":1}},\"b\":[1,-2,2.5,null,true],\
             \"note\":\"ok\\n\\\"fine\\\"\\u0001\"}},\"hash\":\"{}\",\"prev\":\"{ZERO_HASH}\",\
             \"seq\":7,\"subject\":\"01JABC\"}}\n",
            entry.hash
        );
        assert_eq!(String::from_utf8(line).unwrap(), expected);
    }

    #[test]
    fn hash_is_sha256_of_canonical_form_without_hash() {
        let (entry, _) = sealed(Event::new("gateway", Action::Accepted, "Q1"));
        let unsealed = format!(
            "{{\"action\":\"accepted\",\"actor\":\"gateway\",\"at\":1763900000,\"detail\":{{}},\
             \"prev\":\"{ZERO_HASH}\",\"seq\":7,\"subject\":\"Q1\"}}"
        );
        assert_eq!(entry.hash, hash_hex(unsealed.as_bytes()));
        // A known SHA-256 vector, so the hex encoding is checked too.
        assert_eq!(
            hash_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn check_line_accepts_own_lines_and_flags_changes() {
        let (entry, line) =
            sealed(Event::new("officer:a", Action::View, "Q2").with_detail(json!({"k": "v"})));
        let body = &line[..line.len() - 1];
        let checked = check_line(body).unwrap();
        assert!(checked.hash_matches && checked.canonical);
        assert_eq!(checked.entry, entry);
        assert_eq!(checked.entry.known_action(), Some(Action::View));

        let text = String::from_utf8(body.to_vec()).unwrap();
        let altered = text.replace("officer:a", "officer:b");
        let checked = check_line(altered.as_bytes()).unwrap();
        assert!(!checked.hash_matches);

        // Same contents, different text: hash fine, form not.
        let spaced = text.replacen("{\"action\"", "{ \"action\"", 1);
        let checked = check_line(spaced.as_bytes()).unwrap();
        assert!(checked.hash_matches && !checked.canonical);

        // A duplicated key that readers might take instead of the real one.
        let duplicated = text.replacen("{\"action\"", "{\"actor\":\"officer:z\",\"action\"", 1);
        let checked = check_line(duplicated.as_bytes()).unwrap_or_else(|reason| {
            panic!("duplicate key should parse (last wins), got {reason}")
        });
        assert!(!checked.canonical);
    }

    #[test]
    fn unknown_keys_and_actions_still_verify() {
        let mut object = Map::new();
        object.insert("seq".into(), json!(1));
        object.insert("at".into(), json!(5));
        object.insert("actor".into(), json!("gateway"));
        object.insert("action".into(), json!("quarantine-exported"));
        object.insert("subject".into(), json!(""));
        object.insert("detail".into(), json!({}));
        object.insert("prev".into(), json!(ZERO_HASH));
        object.insert("host".into(), json!("gw2"));
        let hash = hash_hex(&canonical(&Value::Object(object.clone())));
        object.insert("hash".into(), json!(hash));
        let line = canonical(&Value::Object(object));
        let checked = check_line(&line).unwrap();
        assert!(checked.hash_matches && checked.canonical);
        assert_eq!(checked.entry.known_action(), None);
        assert_eq!(checked.entry.action, "quarantine-exported");
    }

    #[test]
    fn check_line_never_panics_on_junk() {
        for junk in [
            &b""[..],
            b"{",
            b"null",
            b"[]",
            b"\xff\xfe",
            b"{\"seq\":1}",
            b"{\"seq\":1.5,\"at\":1,\"actor\":\"\",\"action\":\"\",\"subject\":\"\",\"detail\":{},\"prev\":\"\",\"hash\":\"\"}",
            b"{\"seq\":1,\"at\":1,\"actor\":\"\",\"action\":\"\",\"subject\":\"\",\"detail\":{},\"prev\":\"x\",\"hash\":\"y\"}",
            b"\"\\ud800\"",
        ] {
            assert!(check_line(junk).is_err(), "{:?}", String::from_utf8_lossy(junk));
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(check_line(deep.as_bytes()).is_err());
    }

    #[test]
    fn seal_rejects_bad_detail() {
        let seal = |detail: Value| {
            Entry::seal(
                Event::new("gateway", Action::Verdict, "Q").with_detail(detail),
                1,
                1,
                ZERO_HASH.to_owned(),
            )
        };
        assert!(matches!(
            seal(json!([1])),
            Err(AuditError::InvalidDetail(_))
        ));
        assert!(matches!(
            seal(json!("x")),
            Err(AuditError::InvalidDetail(_))
        ));
        assert_eq!(seal(Value::Null).unwrap().0.detail, Map::new());

        let mut deep = json!(1);
        for _ in 0..MAX_DETAIL_DEPTH {
            deep = json!([deep]);
        }
        assert!(matches!(
            seal(json!({ "d": deep })),
            Err(AuditError::InvalidDetail(_))
        ));
        let mut ok = json!(1);
        for _ in 0..MAX_DETAIL_DEPTH - 2 {
            ok = json!([ok]);
        }
        let (_, line) = seal(json!({ "d": ok })).unwrap();
        assert!(check_line(&line[..line.len() - 1]).unwrap().hash_matches);

        let big = "x".repeat(MAX_LINE_BYTES);
        assert!(matches!(
            seal(json!({ "note": big })),
            Err(AuditError::TooLarge { .. })
        ));
    }
}
