//! Secrets: API tokens, session ids and CSRF tokens.
//!
//! Each is 32 bytes (256 bits) from the operating system's random number
//! generator, written as 64 lowercase hex digits: URL- and cookie-safe, and
//! unguessable, so a fast SHA-256 is the right way to store an API token (a
//! slow password hash adds nothing to 256 bits of entropy).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::AccountsError;

/// Every API token starts with this, so that a leaked token is recognisable
/// (secret scanners, logs) and a password is never mistaken for one.
pub const API_TOKEN_PREFIX: &str = "cordon_";

/// Random bytes in every secret.
const SECRET_BYTES: usize = 32;

/// Hex digits in every secret.
pub(crate) const SECRET_HEX_LEN: usize = SECRET_BYTES * 2;

/// A new secret: 32 bytes from the OS random number generator, in hex.
pub(crate) fn random_secret() -> Result<String, AccountsError> {
    Ok(to_hex(&random_bytes::<SECRET_BYTES>()?))
}

/// `N` bytes from the OS random number generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AccountsError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(AccountsError::Random)?;
    Ok(bytes)
}

/// A new API token: [`API_TOKEN_PREFIX`] and a random secret.
pub(crate) fn new_api_token() -> Result<String, AccountsError> {
    Ok(format!("{API_TOKEN_PREFIX}{}", random_secret()?))
}

/// The SHA-256 of `token` (the whole string, prefix included), which is what
/// the users file stores; `None` if `token` is not in the API token format,
/// so garbage is refused before any lookup.
pub(crate) fn api_token_digest(token: &str) -> Option<[u8; 32]> {
    let secret = token.strip_prefix(API_TOKEN_PREFIX)?;
    if secret.len() != SECRET_HEX_LEN || !is_lower_hex(secret) {
        return None;
    }
    Some(sha256(token.as_bytes()))
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Compares two secrets in time that depends only on their lengths (which
/// are public: every secret of a kind has the same length).
pub(crate) fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    hex
}

/// Decodes 64 lowercase hex digits; `None` for anything else.
pub(crate) fn from_hex32(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !is_lower_hex(hex) {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

/// True if `s` is only `0-9a-f`.
fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hex_and_distinct() {
        let a = random_secret().unwrap();
        let b = random_secret().unwrap();
        assert_eq!(a.len(), 64);
        assert!(is_lower_hex(&a), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn api_tokens_have_the_format_the_digest_accepts() {
        let token = new_api_token().unwrap();
        assert!(token.starts_with("cordon_"), "{token}");
        assert_eq!(token.len(), 7 + 64);
        assert_eq!(api_token_digest(&token), Some(sha256(token.as_bytes())));
        let upper = format!("cordon_{}", &token[7..].to_ascii_uppercase());
        let bad = [
            "",
            "cordon_",
            &token[7..],
            &token[..70],
            &upper,
            "cordon_zz00000000000000000000000000000000000000000000000000000000",
            "cordon_ïï000000000000000000000000000000000000000000000000000000",
        ];
        for bad in bad {
            assert_eq!(api_token_digest(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hex_round_trips() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37 + 5) as u8);
        let hex = to_hex(&bytes);
        assert_eq!(&hex[..6], "052a4f");
        assert_eq!(from_hex32(&hex), Some(bytes));
        assert_eq!(from_hex32(&hex.to_ascii_uppercase()), None);
        assert_eq!(from_hex32(&hex[1..]), None);
        assert_eq!(from_hex32("é".repeat(32).as_str()), None);
    }

    #[test]
    fn secret_comparison() {
        assert!(secrets_equal(b"abc", b"abc"));
        assert!(!secrets_equal(b"abc", b"abd"));
        assert!(!secrets_equal(b"abc", b"ab"));
        assert!(!secrets_equal(b"", b"a"));
    }
}
