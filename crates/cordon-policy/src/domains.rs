//! Domain classes: which recipients are inside the force, on a secure network,
//! at a personal webmail provider, or anywhere else.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The class of a recipient's (or sender's) domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainClass {
    /// The force's own domains.
    Internal,
    /// Secure government and criminal justice networks.
    Secure,
    /// Any other organisation.
    External,
    /// Personal webmail providers.
    Personal,
}

impl DomainClass {
    /// Every class, in table order.
    pub const ALL: [DomainClass; 4] = [
        DomainClass::Internal,
        DomainClass::Secure,
        DomainClass::External,
        DomainClass::Personal,
    ];

    /// The class as written in JSON and rules.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainClass::Internal => "internal",
            DomainClass::Secure => "secure",
            DomainClass::External => "external",
            DomainClass::Personal => "personal",
        }
    }
}

/// Maps domains to classes. A listed domain covers its subdomains, and the most
/// specific listed domain wins: `northshire.police.uk` (internal) beats
/// `police.uk` (secure) for `hq.northshire.police.uk`.
#[derive(Clone, Debug, Default)]
pub struct DomainClassifier {
    classes: HashMap<String, DomainClass>,
}

impl DomainClassifier {
    /// Adds `domain` to `class`; returns the class it already had, if any.
    pub fn insert(&mut self, domain: &str, class: DomainClass) -> Option<DomainClass> {
        self.classes.insert(canonical_domain(domain), class)
    }

    /// The class of a domain; unlisted domains are external.
    pub fn classify_domain(&self, domain: &str) -> DomainClass {
        let domain = canonical_domain(domain);
        let mut rest = domain.as_str();
        loop {
            if let Some(class) = self.classes.get(rest) {
                return *class;
            }
            match rest.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => rest = parent,
                _ => return DomainClass::External,
            }
        }
    }

    /// The class of an email address's domain.
    pub fn classify_address(&self, address: &str) -> DomainClass {
        self.classify_domain(domain_of(address))
    }
}

/// The domain part of an address (after the last `@`), or `""`.
pub fn domain_of(address: &str) -> &str {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    address.rsplit_once('@').map_or("", |(_, domain)| domain)
}

/// Lower case, without surrounding dots or brackets.
pub(crate) fn canonical_domain(domain: &str) -> String {
    domain
        .trim()
        .trim_matches(|c| c == '.' || c == '[' || c == ']')
        .to_ascii_lowercase()
}

/// True when `domain` is a plausible DNS name (letters, digits, hyphens, dots).
pub(crate) fn is_valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier() -> DomainClassifier {
        let mut c = DomainClassifier::default();
        c.insert("northshire.police.uk", DomainClass::Internal);
        c.insert("police.uk", DomainClass::Secure);
        c.insert("gov.uk", DomainClass::Secure);
        c.insert("gmail.com", DomainClass::Personal);
        c
    }

    #[test]
    fn most_specific_domain_wins() {
        let c = classifier();
        assert_eq!(
            c.classify_address("k.hughes@northshire.police.uk"),
            DomainClass::Internal
        );
        assert_eq!(
            c.classify_address("x@hq.northshire.police.uk"),
            DomainClass::Internal
        );
        assert_eq!(
            c.classify_address("duty@kent.police.uk"),
            DomainClass::Secure
        );
        assert_eq!(
            c.classify_address("analyst@cps.gov.uk"),
            DomainClass::Secure
        );
    }

    #[test]
    fn case_insensitive_and_unlisted_is_external() {
        let c = classifier();
        assert_eq!(
            c.classify_address("Friend@GMAIL.COM"),
            DomainClass::Personal
        );
        assert_eq!(c.classify_address("<a@Gmail.Com.>"), DomainClass::Personal);
        assert_eq!(c.classify_address("a@notgmail.com"), DomainClass::External);
        assert_eq!(
            c.classify_address("a@police.uk.evil.com"),
            DomainClass::External
        );
        assert_eq!(c.classify_address("no-at-sign"), DomainClass::External);
    }

    #[test]
    fn domain_validation() {
        assert!(is_valid_domain("northshire.police.uk"));
        assert!(!is_valid_domain("bad domain.uk"));
        assert!(!is_valid_domain("-x.uk"));
        assert!(!is_valid_domain(""));
    }
}
