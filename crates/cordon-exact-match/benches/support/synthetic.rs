//! Synthetic nominals and prose for the benchmark and the `million` example:
//! deterministic, realistic in shape (Zipf-like name frequencies, dates over
//! 80 years, unique PNC IDs with valid check letters), no real person.

use std::io::{BufWriter, Write};
use std::path::Path;

use cordon_exact_match::{ColumnSpec, ExactMatchConfig, TypedValue};

/// A small, fast, deterministic PRNG (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

const SURNAME_HEADS: &[&str] = &[
    "Ash", "Black", "Brad", "Bur", "Carl", "Chad", "Dal", "Dun", "Ed", "Fair", "Fen", "Gold",
    "Good", "Green", "Hal", "Hart", "Hay", "Hol", "Kings", "Lang", "Lin", "Mar", "Mid", "Mill",
    "Nor", "Old", "Pen", "Rad", "Red", "Ross", "Roth", "Sand", "Shel", "Stan", "Sut", "Thorn",
    "Wal", "Wether", "Whit", "Wood", "Brom", "Cran", "Ether", "Feather", "Hather", "Kel", "Lox",
    "Marl", "Pem", "Quen", "Rams", "Sel", "Tad", "Ux", "Ventn", "Wick", "Yarn", "Gar", "Bel",
    "Crom", "Dor", "Elm", "Fal", "Glas", "Hen",
];
const SURNAME_TAILS: &[&str] = &[
    "ton", "ley", "worth", "field", "by", "ham", "wood", "ford", "well", "stone", "croft", "more",
    "ridge", "shaw", "combe", "den", "hurst", "wick", "thorpe", "bury", "dale", "cliffe", "sall",
    "grave", "ington", "man", "er", "son", "ing", "low", "mere", "land", "cott", "brook", "gate",
    "house", "ell", "ock", "ard", "ey", "ow", "all", "ick", "er",
];
const COMMON_SURNAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Hughes",
    "Edwards",
    "Turner",
    "Hill",
    "Moore",
    "Cooper",
    "Ward",
    "Harrison",
    "Morris",
    "Lewis",
    "Martin",
    "Parker",
    "Baker",
    "Collins",
    "Bennett",
    "Price",
    "Shaw",
    "Cook",
    "Allen",
    "Bell",
    "Young",
    "King",
    "Scott",
    "Mitchell",
    "Phillips",
    "Campbell",
    "Anderson",
    "Carter",
    "O'Neill",
    "van der Berg",
    "Smith-Jones",
];
const FORENAME_ROOTS: &[&str] = &[
    "Darren",
    "Jamie",
    "Liam",
    "Kyle",
    "Connor",
    "Ryan",
    "Dean",
    "Wayne",
    "Lee",
    "Craig",
    "Jordan",
    "Callum",
    "Jake",
    "Nathan",
    "Scott",
    "Mark",
    "Paul",
    "Gary",
    "Stuart",
    "Shane",
    "Reece",
    "Tyler",
    "Ashley",
    "Kayleigh",
    "Chelsea",
    "Jade",
    "Stacey",
    "Leanne",
    "Gemma",
    "Danielle",
    "Kerry",
    "Nicola",
    "Sophie",
    "Chloe",
    "Amber",
    "Megan",
    "Bethany",
    "Shannon",
    "Demi",
    "Aaliyah",
    "Mohammed",
    "Imran",
    "Bilal",
    "Tomasz",
    "Piotr",
    "Siobhan",
    "Niamh",
    "Rhys",
    "Gareth",
    "Cerys",
    "Eilidh",
    "Zoë",
    "Renée",
    "Tariq",
    "Kwame",
    "Aoife",
    "John",
    "David",
    "Michael",
    "James",
    "Robert",
    "Susan",
    "Sarah",
    "Emma",
    "Claire",
    "Karen",
    "Stephen",
    "Andrew",
    "Christopher",
    "Daniel",
    "Thomas",
    "Matthew",
    "Joanne",
    "Rachel",
];
const FORENAME_TAILS: &[&str] = &["", "ie", "a", "o", "ey", "an", "el", "ina", "on", "elle"];

fn zipf_table(n: usize) -> Vec<f64> {
    let mut acc = 0.0;
    (0..n)
        .map(|k| {
            acc += 1.0 / (k as f64 + 1.0);
            acc
        })
        .collect()
}

fn pick<'a>(rng: &mut Rng, names: &'a [String], cdf: &[f64]) -> &'a str {
    let total = cdf.last().copied().unwrap_or(1.0);
    let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
    let i = cdf.partition_point(|c| *c < u).min(names.len() - 1);
    &names[i]
}

fn surnames() -> Vec<String> {
    let mut v: Vec<String> = COMMON_SURNAMES.iter().map(|s| s.to_string()).collect();
    for h in SURNAME_HEADS {
        for t in SURNAME_TAILS {
            v.push(format!("{h}{t}"));
        }
    }
    v.sort();
    v.dedup();
    // Common names first (highest frequency), then a fixed shuffle.
    let mut rng = Rng::new(7);
    let (mut common, mut rest): (Vec<String>, Vec<String>) = v
        .into_iter()
        .partition(|s| COMMON_SURNAMES.contains(&s.as_str()));
    for i in (1..rest.len()).rev() {
        rest.swap(i, rng.below(i as u64 + 1) as usize);
    }
    common.append(&mut rest);
    common
}

fn forenames() -> Vec<String> {
    let mut v = Vec::new();
    for t in FORENAME_TAILS {
        for r in FORENAME_ROOTS {
            v.push(format!("{r}{t}"));
        }
    }
    v
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A PNC ID with a valid check letter.
fn pnc(year: u64, serial: u64) -> String {
    let n = (year % 100) * 10_000_000 + serial;
    let letter = b"ZABCDEFGHJKLMNPQRTUVWXY"[(n % 23) as usize] as char;
    format!("{year}/{serial:07}{letter}")
}

/// Writes `rows` synthetic nominals to `path`; returns the distinct names
/// used (surnames, forenames).
pub fn write_export(path: &Path, rows: u64) -> (usize, usize) {
    let surnames = surnames();
    let forenames = forenames();
    let (scdf, fcdf) = (zipf_table(surnames.len()), zipf_table(forenames.len()));
    let mut rng = Rng::new(0x00c0_ffee);
    let file = std::fs::File::create(path).expect("create export");
    let mut w = BufWriter::new(file);
    writeln!(
        w,
        "nominal_id,surname,forename,date_of_birth,pnc_id,address_town"
    )
    .expect("write");
    let from_1925 = -16_436; // 1925-01-01, in days since 1970-01-01
    for i in 0..rows {
        let s = pick(&mut rng, &surnames, &scdf);
        let f = pick(&mut rng, &forenames, &fcdf);
        let (y, m, d) = civil(from_1925 + rng.below(80 * 365) as i64);
        // Unique: the serial is the row number, the year one of 30.
        let year = 1995 + (i % 30);
        writeln!(
            w,
            "NS-{i:07},{s},{f},{y:04}-{m:02}-{d:02},{},Northby",
            pnc(year, i % 10_000_000)
        )
        .expect("write");
    }
    w.flush().expect("flush");
    (surnames.len(), forenames.len())
}

/// The configuration of the benchmark: 4 columns, N = 2, W = 120 bytes.
pub fn config(path: &Path) -> ExactMatchConfig {
    ExactMatchConfig {
        file: path.to_path_buf(),
        columns: vec![
            ColumnSpec::words("surname"),
            ColumnSpec::words("forename"),
            ColumnSpec::typed("date_of_birth", "date"),
            ColumnSpec::typed("pnc_id", "pnc_id"),
        ],
        min_columns: 2,
        within: 120,
    }
}

/// Dates pass through (already canonical), PNC IDs upper-cased.
pub fn canonical(kind: &str, cell: &str) -> Option<String> {
    match kind {
        "date" if cell.len() == 10 => Some(cell.to_string()),
        "pnc_id" => Some(cell.to_ascii_uppercase()),
        _ => None,
    }
}

const SENTENCES: &[&str] = &[
    "Thank you for sending the revised schedule for the estates programme.",
    "The procurement board met on 14 March 2024 and approved the second phase, subject to the usual conditions.",
    "Please find attached the draft contract, which reflects the points we agreed during last week's call.",
    "The supplier has confirmed that delivery of the replacement vehicles will begin in the first quarter.",
    "We would be grateful if your finance team could review the payment milestones before the end of the month.",
    "The total cost of the upgrade is estimated at £184,500, including installation and the first year of support.",
    "As discussed, the training sessions for control room staff are now booked for 2024-05-21 and 2024-05-23.",
    "Our facilities manager will arrange access to the site and escort the engineers while they are on the premises.",
    "The risk register has been updated to reflect the delay to the network migration.",
    "If the timetable slips again, we will need to consider extending the current maintenance agreement by six months.",
    "I have copied in the project office so that the change request can be logged and tracked.",
    "The quarterly performance report shows that response times improved by 7 per cent compared with the previous period.",
    "Could you let me know whether the invoice dated 2024-02-29 has been processed, as the supplier has chased it twice.",
    "We are still waiting for the signed data processing agreement from the software vendor.",
    "The working group recommends that the pilot is extended to two further stations before any wider roll-out.",
    "Budget holders should submit their revised forecasts by the deadline set out in the attached guidance.",
    "The meeting room on the third floor is unavailable on Thursday, so we have moved the session to the training suite.",
    "Minutes of the last steering group are attached for information; no actions are outstanding from our side.",
    "The contractor has asked for clarification on the specification for the custody suite heating system.",
    "Following the audit, we have tightened the approval process for purchase orders above the delegated limit.",
    "Please treat the figures in appendix B as provisional until the year-end accounts have been closed.",
    "The fleet team reports that 23 of the 140 vehicles are due for replacement in the next financial year.",
    "We expect the tender evaluation to be completed within four weeks of the closing date.",
    "Any questions about the new expenses system should be directed to the service desk in the first instance.",
    "The landlord has agreed to a rent review in line with the terms of the existing lease.",
    "Overall the project remains within budget, although the contingency has been partly used.",
    "Kind regards, and thank you again for your help in bringing this to a conclusion.",
];

/// About 20 KB of business prose: sentences in a fixed pseudo-random order.
pub fn prose(bytes: usize) -> String {
    let mut rng = Rng::new(42);
    let mut text = String::with_capacity(bytes + 200);
    while text.len() < bytes {
        let s = SENTENCES[rng.below(SENTENCES.len() as u64) as usize];
        text.push_str(s);
        text.push(if rng.below(5) == 0 { '\n' } else { ' ' });
    }
    text
}

/// The ISO dates of `text`, as a caller's date detector would give them.
pub fn iso_dates(text: &str) -> Vec<TypedValue<'_>> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(9))
        .filter(|&i| {
            let w = &b[i..i + 10];
            w[4] == b'-'
                && w[7] == b'-'
                && [0, 1, 2, 3, 5, 6, 8, 9]
                    .iter()
                    .all(|&k| w[k].is_ascii_digit())
        })
        .map(|i| TypedValue {
            kind: "date",
            start: i,
            end: i + 10,
            value: &text[i..i + 10],
        })
        .collect()
}
