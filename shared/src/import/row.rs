//! One data row → a contact to import, or the reason it cannot be.
//!
//! Checking a row allocates nothing for the rows real files hold: the analysis pass (a dry run
//! of a million rows) counts and deduplicates [`RowView`]s that borrow their cells from the
//! record; only the rows that will be written become owned [`ImportedContact`]s.

use std::hash::{DefaultHasher, Hasher};

use serde_json::{Map, Value};

use super::headers::Target;
use super::record::Record;
use super::report::RowError;
use crate::domain::{AddressParts, ContactFields, EmailAddress, Tags};

/// A cell longer than this is refused with its row (no field we keep is near it).
pub const MAX_CELL_CHARS: usize = 10_000;

/// A metadata key is its column's header, cut to this many characters.
const METADATA_KEY_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct ImportedContact {
    pub row: u64,
    pub email: EmailAddress,
    pub fields: ContactFields,
    /// Consent evidence the file carried (Mailchimp's opt-in and confirmation).
    pub proof: Option<Value>,
    pub standing: Standing,
}

/// What the source says of the person's wish to be written to. A file says nothing (the team
/// states the consent); a Mailchimp audience says more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Standing {
    /// The consent the team states applies.
    #[default]
    Consents,
    /// Known, but no consent given (Mailchimp's `pending`): the contact has no basis.
    NoConsent,
    /// Opted out at the source: arrives unsubscribed, and an active contact becomes so.
    OptedOut,
    /// Hard-bounced at the source (Mailchimp's `cleaned`).
    Bounced,
}

/// The columns of a file: headers as read, what each one maps to, and the metadata key of each
/// (its header cut to [`METADATA_KEY_CHARS`] characters), derived once per file.
pub struct Columns {
    headers: Vec<String>,
    targets: Vec<Target>,
    keys: Vec<String>,
}

impl Columns {
    pub fn new(headers: Vec<String>, targets: Vec<Target>) -> Self {
        let keys = headers.iter().map(|h| metadata_key(h).to_owned()).collect();
        Self {
            headers,
            targets,
            keys,
        }
    }
}

/// A row that passed every check, its values borrowed from the record.
pub struct RowView<'r> {
    row: u64,
    record: &'r Record,
    columns: &'r Columns,
    address: AddressParts<'r>,
    /// First name, last name, company, position, phone: trimmed and checked.
    text: [Option<&'r str>; 5],
}

impl RowView<'_> {
    /// 64 bits of the address's identity (its normalized form): a million addresses collide
    /// with odds below 1 in 10^7, at an eighth of the memory of keeping the strings.
    pub fn address_key(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.address.hash_identity(&mut hasher);
        hasher.finish()
    }

    pub fn to_contact(&self) -> ImportedContact {
        let owned = |value: Option<&str>| value.map(str::to_owned);
        let [first_name, last_name, company, position, phone] = self.text;
        let mut proof = Map::new();
        for (target, key) in [
            (Target::OptinTime, "optin_time"),
            (Target::OptinIp, "optin_ip"),
            (Target::ConfirmTime, "confirm_time"),
        ] {
            for (_, cell) in self.filled(target) {
                proof.insert(key.to_owned(), Value::String(cell.to_owned()));
            }
        }
        ImportedContact {
            row: self.row,
            email: self.address.to_address(),
            fields: ContactFields {
                first_name: owned(first_name),
                last_name: owned(last_name),
                company: owned(company),
                position: owned(position),
                phone: owned(phone),
                tags: Tags::from_checked(self.tags()),
                metadata: self.metadata(),
            },
            proof: (!proof.is_empty()).then_some(Value::Object(proof)),
            standing: Standing::Consents,
        }
    }

    fn tags(&self) -> impl Iterator<Item = &str> + Clone {
        self.filled(Target::Tags)
            .flat_map(|(_, cell)| split_tags(cell))
    }

    /// Unknown columns under their header; the first filled column of a repeated header wins.
    fn metadata(&self) -> Map<String, Value> {
        let mut metadata = Map::new();
        for (column, cell) in self.filled(Target::Metadata) {
            metadata
                .entry(self.columns.keys[column].clone())
                .or_insert_with(|| Value::String(cell.to_owned()));
        }
        metadata
    }

    /// Whether the metadata passes [`ContactFields::metadata`]: decided from lengths alone when
    /// even fully escaped JSON would fit, else on the map itself.
    fn check_metadata(&self) -> Result<(), String> {
        let mut bound = 2;
        let mut keys_valid = true;
        for (column, cell) in self.filled(Target::Metadata) {
            let key = &self.columns.keys[column];
            keys_valid &= !key.is_empty();
            // Each byte escapes to at most six (`\u00XX`); quotes, colon and comma.
            bound += 6 * (key.len() + cell.len()) + 6;
        }
        if keys_valid && bound <= ContactFields::MAX_METADATA_BYTES {
            return Ok(());
        }
        ContactFields::metadata(self.metadata()).map(drop)
    }

    /// The non-blank cells of the columns mapped to `wanted`, with their column, trimmed.
    fn filled(&self, wanted: Target) -> impl Iterator<Item = (usize, &str)> + Clone {
        let record = self.record;
        self.columns
            .targets
            .iter()
            .enumerate()
            .filter(move |(_, target)| **target == wanted)
            .map(move |(column, _)| (column, trim(record.get(column))))
            .filter(|(_, cell)| !cell.is_empty())
    }
}

/// A contact another system holds, as named cells (`(header, target, value)`), checked as a
/// file's row is: the same address, field, tag and metadata rules and the same errors.
pub fn from_cells(row: u64, cells: &[(&str, Target, &str)]) -> Result<ImportedContact, RowError> {
    let columns = Columns::new(
        cells
            .iter()
            .map(|(header, _, _)| (*header).to_owned())
            .collect(),
        cells.iter().map(|(_, target, _)| *target).collect(),
    );
    let mut record = Record::default();
    for (_, _, value) in cells {
        record.push(value);
    }
    parse(row, &record, &columns).map(|view| view.to_contact())
}

/// Checks one row: every cell, the address, the fields, the tags and the metadata, in that
/// order, as the report states the first problem.
pub fn parse<'r>(
    row: u64,
    record: &'r Record,
    columns: &'r Columns,
) -> Result<RowView<'r>, RowError> {
    let mut address = None;
    let mut email_error = None;
    let mut text: [Option<&str>; 6] = [None; 6];
    for (column, target) in columns.targets.iter().enumerate() {
        let cell = trim(record.get(column));
        if cell.is_empty() || *target == Target::Ignore {
            continue;
        }
        if cell.len() > MAX_CELL_CHARS && cell.chars().count() > MAX_CELL_CHARS {
            return Err(RowError::new(
                row,
                "cell_too_large",
                Some(&columns.headers[column]),
                format!("a cell is longer than {MAX_CELL_CHARS} characters"),
            ));
        }
        let slot = match target {
            Target::Email => {
                if address.is_none() {
                    match first_valid_address(cell) {
                        Ok(parts) => address = Some(parts),
                        Err(error) => {
                            email_error = email_error.or(error);
                        }
                    }
                }
                continue;
            }
            Target::FirstName => 0,
            Target::LastName => 1,
            Target::FullName => 2,
            Target::Company => 3,
            Target::Position => 4,
            Target::Phone => 5,
            _ => continue,
        };
        // Several columns for one field (Outlook's three phones): the first filled one wins.
        text[slot].get_or_insert(cell);
    }
    let Some(address) = address else {
        return Err(match email_error {
            Some(message) => RowError::new(
                row,
                "invalid_email",
                Some("email"),
                format!("the address {message}"),
            ),
            None => RowError::new(
                row,
                "missing_email",
                Some("email"),
                "the row has no email address",
            ),
        });
    };
    let [mut first, mut last, full, company, position, phone] = text;
    if first.is_none()
        && last.is_none()
        && let Some(full) = full
    {
        (first, last) = split_full_name(full);
    }
    let field = |name: &str, value: Option<&'r str>, max: usize| {
        ContactFields::check_text(value, max)
            .map_err(|message| RowError::new(row, "invalid_field", Some(name), message))
    };
    let view = RowView {
        row,
        record,
        columns,
        address,
        text: [
            field("first_name", first, ContactFields::NAME_MAX)?,
            field("last_name", last, ContactFields::NAME_MAX)?,
            field("company", company, ContactFields::ORGANIZATION_MAX)?,
            field("position", position, ContactFields::ORGANIZATION_MAX)?,
            field("phone", phone, ContactFields::PHONE_MAX)?,
        ],
    };
    Tags::check(view.tags())
        .map_err(|message| RowError::new(row, "invalid_field", Some("tags"), message))?;
    view.check_metadata()
        .map_err(|message| RowError::new(row, "invalid_field", Some("metadata"), message))?;
    Ok(view)
}

/// The first address of a cell that parses, among the shapes people paste: quotes, `mailto:`,
/// `Name <address>`, several addresses in one cell. `Err(None)`: the cell holds no candidate;
/// `Err(Some(_))`: why the first candidate was refused.
fn first_valid_address(cell: &str) -> Result<AddressParts<'_>, Option<String>> {
    // Nearly every cell is one bare address.
    if !cell.contains([';', ',', '<', '"', '\'', '`', ':']) {
        return AddressParts::parse(cell).map_err(|error| Some(error.to_string()));
    }
    let mut first_error = None;
    for candidate in cell
        .split([';', ','])
        .map(clean_address)
        .filter(|c| !c.is_empty())
    {
        match AddressParts::parse(candidate) {
            Ok(parts) => return Ok(parts),
            Err(error) => {
                first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
    Err(first_error)
}

fn clean_address(raw: &str) -> &str {
    let mut value = trim(raw);
    if let (Some(open), Some(close)) = (value.rfind('<'), value.rfind('>'))
        && open < close
    {
        value = &value[open + 1..close];
    }
    value = trim(value.trim_matches(['"', '\'', '`']));
    // `get`: the seventh byte may fall inside a character (`abcdé©…`); `mailto:` is ASCII, so
    // when it matches, the cut is on a boundary.
    if let Some(rest) = value
        .get(..7)
        .filter(|prefix| prefix.eq_ignore_ascii_case("mailto:"))
        .and_then(|_| value.get(7..))
    {
        value = rest;
        value = value.split('?').next().unwrap_or(value);
    }
    trim(value)
}

/// Tags split on `,` and `;`, Google's ` ::: `, and Mailchimp's quoted lists; Google's system
/// groups (`* myContacts`) are not tags.
fn split_tags(cell: &str) -> impl Iterator<Item = &str> + Clone {
    // Searching for `:::` sets up a substring searcher; most cells have no colon at all.
    let (google, plain) = if cell.contains(':') {
        (Some(cell.split(":::")), None)
    } else {
        (None, Some(cell))
    };
    google
        .into_iter()
        .flatten()
        .chain(plain)
        .flat_map(|part| part.split([',', ';']))
        .map(|tag| trim(trim(tag).trim_matches('"')))
        .filter(|tag| !tag.is_empty() && !tag.starts_with("* "))
}

/// The header as a metadata key: trimmed, at most [`METADATA_KEY_CHARS`] characters.
fn metadata_key(header: &str) -> &str {
    let header = header.trim();
    let end = header
        .char_indices()
        .nth(METADATA_KEY_CHARS)
        .map_or(header.len(), |(at, _)| at);
    &header[..end]
}

/// `str::trim`, faster where both ends are ASCII (nearly every cell).
fn trim(value: &str) -> &str {
    let trimmed = value.trim_ascii();
    // `trim_ascii` leaves what `char::is_whitespace` also trims: U+000B and non-ASCII blanks.
    let settled = |byte: Option<&u8>| byte.is_none_or(|b| b.is_ascii() && *b != 0x0B);
    let bytes = trimmed.as_bytes();
    if settled(bytes.first()) && settled(bytes.last()) {
        trimmed
    } else {
        trimmed.trim()
    }
}

/// "Zoé Martin" → ("Zoé", "Martin"); "Martin, Zoé" → ("Zoé", "Martin").
fn split_full_name(full: &str) -> (Option<&str>, Option<&str>) {
    if let Some((last, first)) = full.split_once(',') {
        return (
            Some(first.trim()).filter(|s| !s.is_empty()),
            Some(last.trim()).filter(|s| !s.is_empty()),
        );
    }
    match full.trim().split_once(char::is_whitespace) {
        Some((first, last)) => (Some(first), Some(last.trim())),
        None => (Some(full.trim()), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str], targets: &[Target]) -> Result<ImportedContact, RowError> {
        let mut record = Record::default();
        for cell in cells {
            record.push(cell);
        }
        let columns = Columns::new(
            (0..targets.len()).map(|i| format!("col{i}")).collect(),
            targets.to_vec(),
        );
        parse(7, &record, &columns).map(|view| view.to_contact())
    }

    #[test]
    fn the_shapes_people_paste_become_addresses() {
        for pasted in [
            "zoe@radio.example",
            "  zoe@radio.example  ",
            "\"zoe@radio.example\"",
            "'zoe@radio.example'",
            "mailto:zoe@radio.example",
            "MAILTO:zoe@radio.example?subject=hi",
            "Zoé Martin <zoe@radio.example>",
            "\"Martin, Zoé\" <zoe@radio.example>",
            "not an address; zoe@radio.example",
        ] {
            let contact =
                row(&[pasted], &[Target::Email]).unwrap_or_else(|e| panic!("{pasted:?}: {e:?}"));
            assert_eq!(
                contact.email.normalized(),
                "zoe@radio.example",
                "{pasted:?}"
            );
        }
    }

    #[test]
    fn a_character_across_the_seventh_byte_is_read_not_cut() {
        // Found by `infra/dev fuzz`: the `mailto:` check sliced inside `©` and panicked.
        for (pasted, accepted) in [
            ("abcdef©@radio.example", false),
            ("mailtoé:zoe@radio.example", false),
            ("«zoé» <zoe@radio.example>", true),
            ("Zoé©©©©", false),
        ] {
            let contact = row(&[pasted], &[Target::Email]);
            assert_eq!(contact.is_ok(), accepted, "{pasted:?}: {contact:?}");
        }
    }

    #[test]
    fn the_first_valid_of_several_email_columns_wins() {
        let contact = row(
            &["", "broken@", "second@x.example", "third@x.example"],
            &[Target::Email; 4],
        )
        .unwrap();
        assert_eq!(contact.email.normalized(), "second@x.example");
    }

    #[test]
    fn bad_rows_say_why() {
        let long_phone = "9".repeat(51);
        type Case<'a> = (Vec<&'a str>, Vec<Target>, &'a str, Option<&'a str>);
        let cases: Vec<Case> = vec![
            (
                vec!["", "Zoé"],
                vec![Target::Email, Target::FirstName],
                "missing_email",
                Some("email"),
            ),
            (
                vec!["zoe@"],
                vec![Target::Email],
                "invalid_email",
                Some("email"),
            ),
            (
                vec!["a@b.example", "line\nbreak"],
                vec![Target::Email, Target::LastName],
                "invalid_field",
                Some("last_name"),
            ),
            (
                vec!["a@b.example", &long_phone],
                vec![Target::Email, Target::Phone],
                "invalid_field",
                Some("phone"),
            ),
        ];
        for (cells, targets, code, field) in cases {
            let error = row(&cells, &targets).unwrap_err();
            assert_eq!(
                (error.code.as_str(), error.field.as_deref(), error.row),
                (code, field, 7),
                "{cells:?}"
            );
        }
        let huge = "x".repeat(100_000);
        let error = row(&["a@b.example", &huge], &[Target::Email, Target::Metadata]).unwrap_err();
        assert_eq!(error.code, "cell_too_large");
    }

    #[test]
    fn fields_tags_metadata_and_consent_proof_are_kept() {
        let targets = [
            Target::Email,
            Target::FullName,
            Target::Tags,
            Target::Metadata,
            Target::OptinTime,
            Target::OptinIp,
            Target::Phone,
            Target::Phone,
        ];
        let cells = [
            "a@b.example",
            "Martin, Zoé",
            "\"Radio\",\"VIP\"",
            "Paris",
            "2024-03-01 10:00:00",
            "203.0.113.7",
            "",
            "=1+1",
        ];
        let contact = row(&cells, &targets).unwrap();
        assert_eq!(contact.fields.first_name.as_deref(), Some("Zoé"));
        assert_eq!(contact.fields.last_name.as_deref(), Some("Martin"));
        assert_eq!(contact.fields.tags.as_slice(), ["radio", "vip"]);
        assert_eq!(contact.fields.metadata["col3"], "Paris");
        assert_eq!(
            contact.fields.phone.as_deref(),
            Some("=1+1"),
            "stored as text, verbatim"
        );
        assert_eq!(contact.proof.unwrap()["optin_ip"], "203.0.113.7");
    }

    #[test]
    fn google_labels_drop_system_groups() {
        let tags: Vec<&str> = split_tags("* myContacts ::: Presse ::: Radio; Tournée").collect();
        assert_eq!(tags, ["Presse", "Radio", "Tournée"]);
    }

    proptest::proptest! {
        #[test]
        fn the_fast_trim_is_str_trim(value in "[ \t\u{b}\u{a0}\u{3000}a-zé\n]{0,12}") {
            proptest::prop_assert_eq!(trim(&value), value.trim());
        }

        #[test]
        fn metadata_is_refused_exactly_when_its_json_is_too_large(
            cells in proptest::collection::vec("[a-z\"\\\u{1}é]{0,3000}", 1..12),
        ) {
            let mut targets = vec![Target::Email];
            targets.extend(std::iter::repeat_n(Target::Metadata, cells.len()));
            let mut all = vec!["a@b.example"];
            all.extend(cells.iter().map(String::as_str));
            let mut record = Record::default();
            for cell in &all {
                record.push(cell);
            }
            let columns = Columns::new(
                (0..targets.len()).map(|i| format!("h{}", i % 5)).collect(),
                targets,
            );
            let checked = parse(1, &record, &columns);
            let mut map = Map::new();
            for (i, cell) in cells.iter().enumerate() {
                let cell = cell.trim();
                if !cell.is_empty() {
                    map.entry(format!("h{}", (i + 1) % 5))
                        .or_insert_with(|| Value::String(cell.to_owned()));
                }
            }
            let exact = ContactFields::metadata(map.clone());
            proptest::prop_assert_eq!(checked.is_ok(), exact.is_ok());
            if let Ok(view) = checked {
                proptest::prop_assert_eq!(view.to_contact().fields.metadata, map);
            }
        }
    }
}
