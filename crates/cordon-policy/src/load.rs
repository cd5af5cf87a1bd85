//! Reading the rules directory: one TOML file per concern, each checked at load
//! so that a mistake fails with its file, line and reason, never at send time.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use cordon_detect::IdentifierScanner;
use cordon_exact_match::{ColumnKind, ColumnSpec, ExactMatchConfig, ExactMatchIndex};

use cordon_detect::{
    Category, CustomDetector, CustomDetectorSpec, DetectorId, DictionaryConfig, Level, Operation,
    SpecialTerm, Strength,
    custom::{CheckScheme, ContextSpec, Redaction, Validator},
};
use cordon_extract::Limits;
use serde::Deserialize;
use toml::Spanned;

use crate::behaviour::BehaviourCondition;
use crate::directory::{Directory, StaffMember, identifier_key};
use crate::domains::{DomainClass, DomainClassifier, canonical_domain, is_valid_domain};
use crate::error::{RulesError, Source};
use crate::rules::{Actions, Carries, FindingKind, Rule, When};
use crate::{CustomDetectorInfo, Force, Policy, SelfSend};

/// The files of a rules directory.
pub const DOMAINS_FILE: &str = "domains.toml";
/// Staff directory file.
pub const DIRECTORY_FILE: &str = "directory.toml";
/// Live operation names file.
pub const OPERATIONS_FILE: &str = "operations.toml";
/// Special category terms file.
pub const SPECIAL_CATEGORY_FILE: &str = "special-category.toml";
/// Decision table file.
pub const DECISIONS_FILE: &str = "decisions.toml";
/// Optional inspection limits file.
pub const LIMITS_FILE: &str = "limits.toml";
/// Optional custom detectors file.
pub const DETECTORS_FILE: &str = "detectors.toml";
/// Optional exact data match file.
pub const EXACT_MATCH_FILE: &str = "exact-match.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExactMatchFile {
    file: Spanned<String>,
    min_columns: usize,
    within: usize,
    column: Vec<Spanned<ExactColumnFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExactColumnFile {
    name: String,
    #[serde(default = "words")]
    kind: String,
}

fn words() -> String {
    "words".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainsFile {
    internal: Vec<Spanned<String>>,
    secure: Vec<Spanned<String>>,
    personal: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    #[serde(default)]
    staff: Vec<StaffFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffFile {
    address: Spanned<String>,
    #[serde(default)]
    personal_addresses: Vec<Spanned<String>>,
    #[serde(default)]
    identifiers: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationsFile {
    prefixes: Vec<String>,
    live: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecialCategoryFile {
    category: Vec<CategoryFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryFile {
    name: String,
    #[allow(dead_code)]
    #[serde(default)]
    description: String,
    terms: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionsFile {
    force: Force,
    self_send: SelfSendFile,
    rule: Vec<Spanned<RuleFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelfSendFile {
    enabled: bool,
    max_level: Level,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: Spanned<String>,
    policy: String,
    explanation: String,
    #[serde(default)]
    when: WhenFile,
    action: Actions,
    #[serde(default)]
    release_needs_second_officer: bool,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WhenFile {
    #[serde(default)]
    level: Vec<Level>,
    #[serde(default)]
    found: Vec<Spanned<String>>,
    #[serde(default)]
    and_found: Vec<Spanned<String>>,
    #[serde(default)]
    sender: Vec<DomainClass>,
    #[serde(default)]
    carries: Vec<Carries>,
    behaviour: Option<BehaviourCondition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectorsFile {
    #[serde(default)]
    detector: Vec<Spanned<DetectorFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectorFile {
    id: Spanned<String>,
    #[allow(dead_code)]
    #[serde(default)]
    description: String,
    noun: Option<String>,
    plural: Option<String>,
    pattern: Spanned<String>,
    validator: Option<Spanned<ValidatorFile>>,
    context: Option<Spanned<ContextFile>>,
    #[serde(default = "one")]
    min_count: usize,
    category: Category,
    strength: Strength,
    redact: Option<RedactFile>,
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ValidatorFile {
    Named(String),
    Scheme(SchemeFile),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemeFile {
    modulus: u32,
    #[serde(default)]
    weights: Vec<u32>,
    alphabet: String,
    #[serde(default)]
    subtract: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextFile {
    words: Vec<String>,
    within: usize,
    #[serde(default = "yes")]
    required: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedactFile {
    #[serde(default)]
    keep_start: usize,
    #[serde(default)]
    keep_end: usize,
}

/// Reads one file of the rules directory.
fn read(dir: &Path, name: &str) -> Result<(std::path::PathBuf, String), RulesError> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).map_err(|source| RulesError::Read {
        path: path.clone(),
        source,
    })?;
    Ok((path, text))
}

/// Loads and checks every rules file in `dir`.
pub(crate) fn load(dir: &Path) -> Result<Policy, RulesError> {
    let domains = {
        let (path, text) = read(dir, DOMAINS_FILE)?;
        domains(&Source {
            path: &path,
            text: &text,
        })?
    };
    let directory = {
        let (path, text) = read(dir, DIRECTORY_FILE)?;
        directory(
            &Source {
                path: &path,
                text: &text,
            },
            &domains,
        )?
    };
    let mut dictionary = {
        let (path, text) = read(dir, OPERATIONS_FILE)?;
        operations(&Source {
            path: &path,
            text: &text,
        })?
    };
    {
        let (path, text) = read(dir, SPECIAL_CATEGORY_FILE)?;
        dictionary.special_terms = special_terms(&Source {
            path: &path,
            text: &text,
        })?;
    }
    let custom_detectors = match read(dir, DETECTORS_FILE) {
        Ok((path, text)) => custom_detectors(&Source {
            path: &path,
            text: &text,
        })?,
        Err(RulesError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let exact_match = match read(dir, EXACT_MATCH_FILE) {
        Ok((path, text)) => Some(exact_match(
            &Source {
                path: &path,
                text: &text,
            },
            dir,
        )?),
        Err(RulesError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            None
        }
        Err(e) => return Err(e),
    };
    let custom_ids: Vec<DetectorId> = custom_detectors
        .iter()
        .flat_map(|d| [Some(d.detector.id()), d.detector.possible_id()])
        .flatten()
        .collect();
    let (force, self_send, rules) = {
        let (path, text) = read(dir, DECISIONS_FILE)?;
        decisions(
            &Source {
                path: &path,
                text: &text,
            },
            &custom_ids,
        )?
    };
    let limits = match read(dir, LIMITS_FILE) {
        Ok((path, text)) => Source {
            path: &path,
            text: &text,
        }
        .parse::<Limits>()?,
        Err(RulesError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Limits::default()
        }
        Err(e) => return Err(e),
    };
    Ok(Policy {
        force,
        domains,
        directory,
        dictionary,
        self_send,
        rules,
        limits,
        custom_detectors,
        exact_match,
    })
}

/// Reads `exact-match.toml` and loads the export it names (relative to the
/// rules directory) into salted hashes.
fn exact_match(src: &Source, dir: &Path) -> Result<Arc<ExactMatchIndex>, RulesError> {
    let file: ExactMatchFile = src.parse()?;
    let kinds = cordon_detect::exact::typed_kinds();
    let mut columns = Vec::new();
    for column in &file.column {
        let c = column.get_ref();
        let kind = match c.kind.as_str() {
            "words" => ColumnKind::Words,
            k if kinds.contains(&k) => ColumnKind::Typed(k.to_owned()),
            other => {
                return Err(src.error_at(
                    column.span().start,
                    format!(
                        "column `{}`: unknown kind `{other}`; kinds: words, {}",
                        c.name,
                        kinds.join(", ")
                    ),
                ));
            }
        };
        columns.push(ColumnSpec {
            name: c.name.clone(),
            kind,
        });
    }
    let config = ExactMatchConfig {
        file: dir.join(file.file.get_ref()),
        columns,
        min_columns: file.min_columns,
        within: file.within,
    };
    let scanner = IdentifierScanner::new();
    let canonical = |kind: &str, cell: &str| cordon_detect::exact::canonical(&scanner, kind, cell);
    let (index, _stats) = ExactMatchIndex::load(&config, &canonical)
        .map_err(|e| src.error_at(file.file.span().start, e.to_string()))?;
    Ok(Arc::new(index))
}

/// Reads `detectors.toml`: each detector checked and compiled, errors at its line.
fn custom_detectors(src: &Source) -> Result<Vec<CustomDetectorInfo>, RulesError> {
    let file: DetectorsFile = src.parse()?;
    let mut out: Vec<CustomDetectorInfo> = Vec::new();
    for entry in file.detector {
        let at = entry.span().start;
        let d = entry.into_inner();
        let id = d.id.get_ref().trim().to_owned();
        let taken = out.iter().any(|o| {
            o.detector.id().as_str() == id
                || o.detector.possible_id().is_some_and(|p| p.as_str() == id)
                || format!("possible_{}", o.detector.id()) == id
        });
        if taken {
            return Err(src.error_at(
                d.id.span().start,
                format!("detector id `{id}` is used twice"),
            ));
        }
        let validator = match d.validator {
            None => None,
            Some(v) => {
                let v_at = v.span().start;
                Some(match v.into_inner() {
                    ValidatorFile::Named(name) => match name.as_str() {
                        "luhn" => Validator::Luhn,
                        "mod11" => Validator::Mod11,
                        "mod23" => Validator::Mod23,
                        other => {
                            return Err(src.error_at(
                                v_at,
                                format!(
                                    "unknown validator `{other}`: use luhn, mod11, mod23 or a table {{ modulus, weights, alphabet, subtract }}"
                                ),
                            ));
                        }
                    },
                    ValidatorFile::Scheme(scheme) => Validator::Check(CheckScheme {
                        modulus: scheme.modulus,
                        weights: scheme.weights,
                        alphabet: scheme.alphabet.chars().collect(),
                        subtract: scheme.subtract,
                    }),
                })
            }
        };
        let context = d.context.map(|c| {
            let c = c.into_inner();
            ContextSpec {
                words: c.words,
                within: c.within,
                required: c.required,
            }
        });
        let redact = d.redact.map_or_else(Redaction::default, |r| Redaction {
            keep_start: r.keep_start,
            keep_end: r.keep_end,
        });
        let spec = CustomDetectorSpec {
            id: id.clone(),
            pattern: d.pattern.get_ref().clone(),
            validator,
            context,
            min_count: d.min_count,
            category: d.category,
            strength: d.strength,
            redact,
        };
        let detector = CustomDetector::new(spec).map_err(|e| {
            let where_ = match e {
                cordon_detect::CustomDetectorError::Pattern(_)
                | cordon_detect::CustomDetectorError::TooShort(_)
                | cordon_detect::CustomDetectorError::TooSlow { .. } => d.pattern.span().start,
                cordon_detect::CustomDetectorError::BadId(_)
                | cordon_detect::CustomDetectorError::Reserved(_) => d.id.span().start,
                _ => at,
            };
            src.error_at(where_, format!("detector `{id}`: {e}"))
        })?;
        let noun = d
            .noun
            .unwrap_or_else(|| format!("a {}", id.replace('_', " ")));
        let plural = d
            .plural
            .unwrap_or_else(|| format!("{}s", id.replace('_', " ")));
        out.push(CustomDetectorInfo {
            detector,
            noun,
            plural,
        });
    }
    Ok(out)
}

/// Resolves the detector and category names of a rule's condition.
fn finding_kinds(
    src: &Source,
    names: &[Spanned<String>],
    custom: &[DetectorId],
) -> Result<Vec<FindingKind>, RulesError> {
    names
        .iter()
        .map(|name| {
            FindingKind::parse(name.get_ref(), custom)
                .map_err(|reason| src.error_at(name.span().start, reason))
        })
        .collect()
}

fn domains(src: &Source) -> Result<DomainClassifier, RulesError> {
    let file: DomainsFile = src.parse()?;
    let mut classifier = DomainClassifier::default();
    for (class, list) in [
        (DomainClass::Internal, &file.internal),
        (DomainClass::Secure, &file.secure),
        (DomainClass::Personal, &file.personal),
    ] {
        for domain in list {
            let name = canonical_domain(domain.get_ref());
            if !is_valid_domain(&name) {
                return Err(src.error_at(
                    domain.span().start,
                    format!("`{}` is not a domain name", domain.get_ref()),
                ));
            }
            if let Some(previous) = classifier.insert(&name, class) {
                return Err(src.error_at(
                    domain.span().start,
                    format!(
                        "`{name}` is listed as both {} and {}",
                        previous.as_str(),
                        class.as_str()
                    ),
                ));
            }
        }
    }
    Ok(classifier)
}

/// Checks that `address` looks like `local@domain`.
fn check_address(src: &Source, address: &Spanned<String>) -> Result<String, RulesError> {
    let text = address.get_ref().trim().to_ascii_lowercase();
    match text.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && is_valid_domain(domain) => Ok(text),
        _ => Err(src.error_at(
            address.span().start,
            format!("`{}` is not an email address", address.get_ref()),
        )),
    }
}

fn directory(src: &Source, domains: &DomainClassifier) -> Result<Directory, RulesError> {
    let file: DirectoryFile = src.parse()?;
    let mut directory = Directory::default();
    for staff in &file.staff {
        let address = check_address(src, &staff.address)?;
        if domains.classify_address(&address) != DomainClass::Internal {
            return Err(src.error_at(
                staff.address.span().start,
                format!("`{address}` is not at one of the force's internal domains"),
            ));
        }
        let mut member = StaffMember::default();
        for personal in &staff.personal_addresses {
            member
                .personal_addresses
                .insert(check_address(src, personal)?);
        }
        for id in &staff.identifiers {
            let key = identifier_key(id.get_ref());
            if key.len() < 6 {
                return Err(src.error_at(
                    id.span().start,
                    format!("`{}` is too short to be an identifier", id.get_ref()),
                ));
            }
            member.identifiers.insert(key);
        }
        if directory.insert(&address, member).is_some() {
            return Err(src.error_at(
                staff.address.span().start,
                format!("`{address}` is listed twice"),
            ));
        }
    }
    Ok(directory)
}

fn operations(src: &Source) -> Result<DictionaryConfig, RulesError> {
    let file: OperationsFile = src.parse()?;
    let prefixes: Vec<String> = file
        .prefixes
        .iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let mut operations = Vec::new();
    for live in &file.live {
        let name = live.get_ref().trim();
        // "Operation Nightjar" and "Nightjar" both name the code word Nightjar.
        let code_word = prefixes
            .iter()
            .find_map(|p| {
                let head = name.get(..p.len())?;
                let rest = name.get(p.len()..)?;
                (head.eq_ignore_ascii_case(p) && rest.starts_with(char::is_whitespace))
                    .then(|| rest.trim())
            })
            .unwrap_or(name);
        if code_word.is_empty() {
            return Err(src.error_at(
                live.span().start,
                "an operation needs a name after its prefix",
            ));
        }
        operations.push(Operation {
            name: code_word.to_owned(),
        });
    }
    Ok(DictionaryConfig {
        operation_prefixes: prefixes,
        operations,
        special_terms: Vec::new(),
    })
}

fn special_terms(src: &Source) -> Result<Vec<SpecialTerm>, RulesError> {
    let file: SpecialCategoryFile = src.parse()?;
    let mut terms = Vec::new();
    for category in &file.category {
        for term in &category.terms {
            if term.get_ref().trim().chars().count() < 3 {
                return Err(src.error_at(
                    term.span().start,
                    format!("term `{}` is too short to match safely", term.get_ref()),
                ));
            }
            terms.push(SpecialTerm {
                term: term.get_ref().trim().to_owned(),
                category: category.name.clone(),
            });
        }
    }
    Ok(terms)
}

fn decisions(
    src: &Source,
    custom: &[DetectorId],
) -> Result<(Force, SelfSend, Vec<Rule>), RulesError> {
    let file: DecisionsFile = src.parse()?;
    let mut seen = HashSet::new();
    let mut rules = Vec::new();
    for spanned in file.rule {
        let start = spanned.span().start;
        let rule = spanned.into_inner();
        let id = rule.id.get_ref().trim().to_owned();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(src.error_at(
                rule.id.span().start,
                format!("rule id `{id}` must be letters, digits and dashes"),
            ));
        }
        if !seen.insert(id.clone()) {
            return Err(src.error_at(
                rule.id.span().start,
                format!("rule id `{id}` is used twice"),
            ));
        }
        let when = When {
            level: rule.when.level,
            found: finding_kinds(src, &rule.when.found, custom)?,
            and_found: finding_kinds(src, &rule.when.and_found, custom)?,
            sender: rule.when.sender,
            carries: rule.when.carries,
            behaviour: rule.when.behaviour,
        };
        if when.is_empty() {
            return Err(src.error_at(
                start,
                format!("rule `{id}` has an empty `when`: it would apply to every message"),
            ));
        }
        if rule.policy.trim().is_empty() || rule.explanation.trim().is_empty() {
            return Err(src.error_at(
                start,
                format!("rule `{id}` needs both a `policy` and an `explanation`"),
            ));
        }
        rules.push(Rule {
            id,
            policy: one_line(&rule.policy),
            explanation: one_line(&rule.explanation),
            when,
            action: rule.action,
            release_needs_second_officer: rule.release_needs_second_officer,
        });
    }
    let self_send = SelfSend {
        enabled: file.self_send.enabled,
        max_level: file.self_send.max_level,
        allow: file
            .self_send
            .allow
            .iter()
            .map(|name| match FindingKind::parse(name.get_ref(), custom) {
                Ok(FindingKind::Detector(d)) => Ok(d),
                _ => Err(src.error_at(
                    name.span().start,
                    format!("`{}` is not a detector", name.get_ref()),
                )),
            })
            .collect::<Result<_, _>>()?,
    };
    Ok((file.force, self_send, rules))
}

/// Text written over several lines in the file, as one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
