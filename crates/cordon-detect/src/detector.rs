//! Names of detectors, the categories of what they find, and whether a finding
//! is strong enough to act on alone.

use std::sync::Mutex;

use serde::{Deserialize, Serialize, Serializer};

/// Which detector produced a finding. The names are part of the `cordon
/// check` JSON contract and of the rules files: the built-in ones are fixed,
/// custom ones come from `rules/detectors.toml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DetectorId {
    /// A security classification marking.
    Marking,
    /// UK National Insurance number.
    UkNino,
    /// NHS number (mod 11 checked) with NHS context: a health word near it, a
    /// column header naming it, or a list of several.
    NhsNumber,
    /// A valid mod 11 ten-digit number with no NHS context: perhaps an NHS
    /// number, perhaps an order reference (one in eleven pass the check).
    PossibleNhsNumber,
    /// Police National Computer ID (check letter verified).
    PncId,
    /// Criminal Records Office number (check letter verified).
    CroNumber,
    /// Payment card number (Luhn and issuer checked).
    PaymentCard,
    /// UK sort code with account number, or a GB IBAN.
    UkBankAccount,
    /// Non-UK IBAN (mod 97 checked).
    Iban,
    /// UK passport number (with context).
    UkPassport,
    /// DVLA driving licence number.
    UkDrivingLicence,
    /// UK postcode.
    UkPostcode,
    /// UK telephone number.
    UkPhone,
    /// A date stated as someone's date of birth.
    DateOfBirth,
    /// Special category data terms (health, ethnicity, religion, sex life, offences ...).
    SpecialCategory,
    /// A live operation name.
    OperationName,
    /// An executable file, by content or by name.
    Executable,
    /// Content that could not be inspected.
    Uninspectable,
    /// A combination of values of one of the force's own records (exact data
    /// match against an export named in the rules).
    ExactMatch,
    /// A detector the force defined in `rules/detectors.toml`.
    Custom(CustomId),
}

impl DetectorId {
    /// Every built-in detector, in report order.
    pub const ALL: [DetectorId; 19] = [
        DetectorId::Marking,
        DetectorId::UkNino,
        DetectorId::NhsNumber,
        DetectorId::PossibleNhsNumber,
        DetectorId::PncId,
        DetectorId::CroNumber,
        DetectorId::PaymentCard,
        DetectorId::UkBankAccount,
        DetectorId::Iban,
        DetectorId::UkPassport,
        DetectorId::UkDrivingLicence,
        DetectorId::UkPostcode,
        DetectorId::UkPhone,
        DetectorId::DateOfBirth,
        DetectorId::SpecialCategory,
        DetectorId::OperationName,
        DetectorId::Executable,
        DetectorId::Uninspectable,
        DetectorId::ExactMatch,
    ];

    /// The id as written in JSON and rules files, e.g. `uk_nino`.
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorId::Marking => "marking",
            DetectorId::UkNino => "uk_nino",
            DetectorId::NhsNumber => "nhs_number",
            DetectorId::PossibleNhsNumber => "possible_nhs_number",
            DetectorId::PncId => "pnc_id",
            DetectorId::CroNumber => "cro_number",
            DetectorId::PaymentCard => "payment_card",
            DetectorId::UkBankAccount => "uk_bank_account",
            DetectorId::Iban => "iban",
            DetectorId::UkPassport => "uk_passport",
            DetectorId::UkDrivingLicence => "uk_driving_licence",
            DetectorId::UkPostcode => "uk_postcode",
            DetectorId::UkPhone => "uk_phone",
            DetectorId::DateOfBirth => "date_of_birth",
            DetectorId::SpecialCategory => "special_category",
            DetectorId::OperationName => "operation_name",
            DetectorId::Executable => "executable",
            DetectorId::Uninspectable => "uninspectable",
            DetectorId::ExactMatch => "exact_match",
            DetectorId::Custom(id) => id.0.name,
        }
    }

    /// The built-in detector of this name, if any.
    pub fn builtin(name: &str) -> Option<DetectorId> {
        DetectorId::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// Whether a finding of this detector is personal data strong enough to
    /// act on alone (a National Insurance number), rather than weak (a
    /// postcode, a phone number, a date of birth, a number that may be an NHS
    /// number) that only counts together with something else.
    pub fn strength(self) -> Strength {
        match self {
            DetectorId::PossibleNhsNumber
            | DetectorId::UkPostcode
            | DetectorId::UkPhone
            | DetectorId::DateOfBirth => Strength::Weak,
            DetectorId::Custom(id) => id.0.strength,
            _ => Strength::Strong,
        }
    }

    /// The category a finding of this detector belongs to.
    pub fn category(self) -> Category {
        match self {
            DetectorId::Marking => Category::Classification,
            DetectorId::SpecialCategory => Category::SpecialCategory,
            DetectorId::OperationName => Category::Operational,
            DetectorId::Executable => Category::Executable,
            DetectorId::Uninspectable => Category::Uninspectable,
            DetectorId::Custom(id) => id.0.category,
            _ => Category::PersonalData,
        }
    }
}

impl Serialize for DetectorId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A custom detector's id with its category and strength, interned: copied as
/// cheaply as a built-in id, named by a `&'static str` like one. Each distinct
/// (name, category, strength) is kept once for the life of the process, so
/// reloading the same rules allocates nothing new.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomId(&'static CustomIdInfo);

#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct CustomIdInfo {
    name: &'static str,
    category: Category,
    strength: Strength,
}

/// Every custom id interned so far.
static INTERNED: Mutex<Vec<&'static CustomIdInfo>> = Mutex::new(Vec::new());

impl CustomId {
    /// The id for a custom detector `name` of `category` and `strength`.
    /// The caller checks the name (see `cordon_detect::custom`).
    pub fn intern(name: &str, category: Category, strength: Strength) -> CustomId {
        // A poisoned lock only means another thread panicked while pushing:
        // the list itself is still valid.
        let mut interned = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(info) = interned
            .iter()
            .find(|i| i.name == name && i.category == category && i.strength == strength)
        {
            return CustomId(info);
        }
        let info: &'static CustomIdInfo = Box::leak(Box::new(CustomIdInfo {
            name: Box::leak(name.to_owned().into_boxed_str()),
            category,
            strength,
        }));
        interned.push(info);
        CustomId(info)
    }
}

/// Whether a personal-data finding is enough on its own (`strong`) or only
/// counts with something else (`weak`), as rules select it with
/// `personal_data:strong`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// Acted on alone.
    Strong,
    /// Counts only with something else.
    Weak,
}

impl Strength {
    /// As written in rules and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::Strong => "strong",
            Strength::Weak => "weak",
        }
    }
}

impl std::fmt::Display for DetectorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of thing a finding is, as reported in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Security classification markings.
    Classification,
    /// Personal data (identifiers, contact details).
    PersonalData,
    /// Special category data under the DPA 2018.
    SpecialCategory,
    /// Operational information such as live operation names.
    Operational,
    /// Executable files.
    Executable,
    /// Content that could not be inspected.
    Uninspectable,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 6] = [
        Category::Classification,
        Category::PersonalData,
        Category::SpecialCategory,
        Category::Operational,
        Category::Executable,
        Category::Uninspectable,
    ];

    /// As written in rules and JSON, e.g. `personal_data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Classification => "classification",
            Category::PersonalData => "personal_data",
            Category::SpecialCategory => "special_category",
            Category::Operational => "operational",
            Category::Executable => "executable",
            Category::Uninspectable => "uninspectable",
        }
    }

    /// The category of this name, if any.
    pub fn named(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detector_listed_once() {
        let mut names: Vec<_> = DetectorId::ALL.iter().map(|d| d.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DetectorId::ALL.len());
    }

    #[test]
    fn custom_ids_are_interned_once_and_carry_their_category() {
        let a = CustomId::intern("crime_reference", Category::PersonalData, Strength::Strong);
        let b = CustomId::intern("crime_reference", Category::PersonalData, Strength::Strong);
        assert!(std::ptr::eq(a.0, b.0));
        let id = DetectorId::Custom(a);
        assert_eq!(id.as_str(), "crime_reference");
        assert_eq!(id.category(), Category::PersonalData);
        assert_eq!(id.strength(), Strength::Strong);
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"crime_reference\"");
        let weak = CustomId::intern("crime_reference", Category::PersonalData, Strength::Weak);
        assert_ne!(DetectorId::Custom(weak), id);
        assert_eq!(DetectorId::builtin("crime_reference"), None);
        assert_eq!(DetectorId::builtin("uk_nino"), Some(DetectorId::UkNino));
    }

    #[test]
    fn categories_name_themselves() {
        for c in Category::ALL {
            assert_eq!(Category::named(c.as_str()), Some(c));
        }
    }

    #[test]
    fn possible_nhs_number_is_weak_personal_data() {
        assert!(DetectorId::ALL.contains(&DetectorId::PossibleNhsNumber));
        assert_eq!(
            DetectorId::PossibleNhsNumber.as_str(),
            "possible_nhs_number"
        );
        assert_eq!(
            DetectorId::PossibleNhsNumber.category(),
            Category::PersonalData
        );
    }
}
