//! Envelope addresses as the client wrote them.
//!
//! smtp-proto validates the command syntax but hands back addresses with quotes and escapes
//! removed (and `<postmaster>` turned into `""`); the gateway keeps addresses exactly as given,
//! so the path is cut from the raw command line here and checked for obvious malformation.

/// Longest path accepted, in octets (RFC 5321 4.5.3.1.3 gives 256 with the brackets).
const MAX_PATH: usize = 256;
/// Longest domain accepted, in octets (RFC 5321 4.5.3.1.2).
const MAX_DOMAIN: usize = 255;

/// Why an address was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressError {
    /// Not a plausible `local@domain` mailbox.
    Syntax,
    /// Non-ASCII, but the transaction did not ask for SMTPUTF8.
    NeedsSmtpUtf8,
}

/// The text between `<` and its closing `>` in a MAIL or RCPT line (quotes respected), with
/// any source route (`@a,@b:`) dropped as RFC 5321 4.1.2 asks. `None` if there is no path.
pub fn raw_path(line: &[u8]) -> Option<&[u8]> {
    let start = line.iter().position(|&b| b == b'<')? + 1;
    let rest = line.get(start..)?;
    let mut in_quote = false;
    let mut escaped = false;
    let mut end = None;
    for (i, &b) in rest.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if in_quote => escaped = true,
            b'"' => in_quote = !in_quote,
            b'>' if !in_quote => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let path = rest.get(..end?)?;
    if path.first() == Some(&b'@') {
        let colon = path.iter().position(|&b| b == b':')?;
        return path.get(colon + 1..);
    }
    Some(path)
}

/// Checks that `raw` is a plausible mailbox and returns it unchanged as a string.
pub fn mailbox(raw: &[u8], smtputf8: bool) -> Result<String, AddressError> {
    let text = std::str::from_utf8(raw).map_err(|_| AddressError::Syntax)?;
    if text.is_empty() || text.len() > MAX_PATH || text.chars().any(char::is_control) {
        return Err(AddressError::Syntax);
    }
    let (local, domain) = text.rsplit_once('@').ok_or(AddressError::Syntax)?;
    if !valid_local_part(local) || !valid_domain(domain) {
        return Err(AddressError::Syntax);
    }
    if !smtputf8 && !text.is_ascii() {
        return Err(AddressError::NeedsSmtpUtf8);
    }
    Ok(text.to_owned())
}

fn valid_local_part(local: &str) -> bool {
    if let Some(inner) = local.strip_prefix('"') {
        // Quoted string: must close, and the closing quote must not be escaped.
        let Some(inner) = inner.strip_suffix('"') else {
            return false;
        };
        let mut escaped = false;
        for c in inner.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return false,
                _ => {}
            }
        }
        return !escaped;
    }
    !local.is_empty()
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom.chars().all(|c| {
                    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
                })
        })
}

fn valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > MAX_DOMAIN {
        return false;
    }
    if let Some(literal) = domain.strip_prefix('[') {
        let Some(inner) = literal.strip_suffix(']') else {
            return false;
        };
        return !inner.is_empty()
            && inner
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'[' | b']' | b'\\'));
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_path_keeps_quotes_and_drops_source_route() {
        assert_eq!(
            raw_path(b"MAIL FROM:<A.B@X.uk> SIZE=1\r\n"),
            Some(&b"A.B@X.uk"[..])
        );
        assert_eq!(raw_path(b"MAIL FROM:<>\r\n"), Some(&b""[..]));
        assert_eq!(
            raw_path(b"RCPT TO:<\"a>b\"@x>\r\n"),
            Some(&b"\"a>b\"@x"[..])
        );
        assert_eq!(raw_path(b"RCPT TO:<@r1,@r2:u@h>\r\n"), Some(&b"u@h"[..]));
        assert_eq!(raw_path(b"RCPT TO:<u@h\r\n"), None);
        assert_eq!(raw_path(b"RCPT TO:u@h\r\n"), None);
    }

    #[test]
    fn mailbox_checks() {
        assert_eq!(
            mailbox(b"Sam.Okafor@Northshire.Police.UK", false),
            Ok("Sam.Okafor@Northshire.Police.UK".into())
        );
        assert_eq!(
            mailbox(b"\"john doe\"@x.uk", false),
            Ok("\"john doe\"@x.uk".into())
        );
        assert_eq!(mailbox(b"a@[192.0.2.1]", false), Ok("a@[192.0.2.1]".into()));
        for bad in [
            &b"postmaster"[..],
            b"@x",
            b"a@",
            b"a@b..c",
            b"a..b@c",
            b".a@c",
            b"a@-b.c",
            b"a@b c",
            b"a\x01@b",
            b"\"a@b",
            b"a@[x",
        ] {
            assert_eq!(mailbox(bad, true), Err(AddressError::Syntax), "{bad:?}");
        }
        assert_eq!(mailbox(b"\xff@x", true), Err(AddressError::Syntax));
        assert_eq!(
            mailbox("jos\u{e9}@x.fr".as_bytes(), false),
            Err(AddressError::NeedsSmtpUtf8)
        );
        assert!(mailbox("jos\u{e9}@x.fr".as_bytes(), true).is_ok());
    }
}
