//! Names of detectors and the categories of what they find.

use serde::{Deserialize, Serialize};

/// Which detector produced a finding. The serialised names are part of the
/// `cordon check` JSON contract and of the rules files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
}

impl DetectorId {
    /// Every detector, in report order.
    pub const ALL: [DetectorId; 18] = [
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
            _ => Category::PersonalData,
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
