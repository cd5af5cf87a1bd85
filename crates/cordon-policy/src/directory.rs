//! The staff directory: force addresses with their registered personal
//! addresses and their own identifiers (for the pay-slip exception).

use std::collections::{HashMap, HashSet};

/// One member of staff.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaffMember {
    /// Registered personal addresses, lower case.
    pub personal_addresses: HashSet<String>,
    /// Own identifiers (NI number ...), as canonical keys.
    pub identifiers: HashSet<String>,
}

/// Staff by force address (lower case).
#[derive(Clone, Debug, Default)]
pub struct Directory {
    staff: HashMap<String, StaffMember>,
}

impl Directory {
    /// Adds or replaces a member of staff.
    pub fn insert(&mut self, address: &str, member: StaffMember) -> Option<StaffMember> {
        self.staff
            .insert(address.trim().to_ascii_lowercase(), member)
    }

    /// The member of staff with this force address, if registered.
    pub fn get(&self, address: &str) -> Option<&StaffMember> {
        self.staff.get(&address.trim().to_ascii_lowercase())
    }
}

impl StaffMember {
    /// True when `address` is one of this person's registered personal addresses.
    pub fn owns_personal_address(&self, address: &str) -> bool {
        self.personal_addresses
            .contains(&address.trim().to_ascii_lowercase())
    }

    /// True when `value` (a detector's canonical value) is one of this person's identifiers.
    pub fn owns_identifier(&self, value: &str) -> bool {
        self.identifiers.contains(&identifier_key(value))
    }
}

/// The key identifiers are compared by: letters and digits only, upper case,
/// so `AB 12 34 56 C` and `ab123456c` are the same.
pub fn identifier_key(value: &str) -> String {
    value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case_and_spacing() {
        let mut d = Directory::default();
        let member = StaffMember {
            personal_addresses: ["alex.turner84@gmail.com".to_owned()].into(),
            identifiers: [identifier_key("AB 12 34 56 C")].into(),
        };
        d.insert("Alex.Turner@northshire.police.uk", member);
        let m = d
            .get("alex.turner@NORTHSHIRE.police.uk")
            .expect("registered");
        assert!(m.owns_personal_address("Alex.Turner84@Gmail.com"));
        assert!(m.owns_identifier("AB123456C"));
        assert!(!m.owns_identifier("JM412987B"));
        assert!(d.get("someone@northshire.police.uk").is_none());
    }
}
