//! One data row → a contact to import, or the reason it cannot be.

use serde_json::{Map, Value};

use super::headers::Target;
use super::record::Record;
use super::report::RowError;
use crate::domain::{ContactFields, EmailAddress, Tags};

/// A cell longer than this is refused with its row (no field we keep is near it).
pub const MAX_CELL_CHARS: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct ImportedContact {
    pub row: u64,
    pub email: EmailAddress,
    pub fields: ContactFields,
    /// Consent evidence the file carried (Mailchimp's opt-in and confirmation).
    pub proof: Option<Value>,
}

/// Builds the contact of one row. `headers` and `targets` describe the columns.
pub fn parse(
    row: u64,
    record: &Record,
    headers: &[String],
    targets: &[Target],
) -> Result<ImportedContact, RowError> {
    let mut emails: Vec<&str> = Vec::new();
    let mut text: [Option<&str>; 6] = [None; 6];
    let mut tags: Vec<&str> = Vec::new();
    let mut metadata = Map::new();
    let mut proof = Map::new();
    for (column, target) in targets.iter().enumerate() {
        let cell = record.get(column).trim();
        if cell.is_empty() || *target == Target::Ignore {
            continue;
        }
        if cell.chars().count() > MAX_CELL_CHARS {
            return Err(RowError::new(
                row,
                "cell_too_large",
                Some(&headers[column]),
                format!("a cell is longer than {MAX_CELL_CHARS} characters"),
            ));
        }
        let slot = match target {
            Target::Email => {
                emails.push(cell);
                None
            }
            Target::FirstName => Some(0),
            Target::LastName => Some(1),
            Target::FullName => Some(2),
            Target::Company => Some(3),
            Target::Position => Some(4),
            Target::Phone => Some(5),
            Target::Tags => {
                tags.extend(split_tags(cell));
                None
            }
            Target::OptinTime | Target::OptinIp | Target::ConfirmTime => {
                let key = match target {
                    Target::OptinTime => "optin_time",
                    Target::OptinIp => "optin_ip",
                    _ => "confirm_time",
                };
                proof.insert(key.to_owned(), Value::String(cell.to_owned()));
                None
            }
            Target::Metadata => {
                let key: String = headers[column].trim().chars().take(100).collect();
                metadata
                    .entry(key)
                    .or_insert_with(|| Value::String(cell.to_owned()));
                None
            }
            Target::Ignore => None,
        };
        // Several columns for one field (Outlook's three phones): the first filled one wins.
        if let Some(slot) = slot {
            text[slot].get_or_insert(cell);
        }
    }
    let email = first_valid_email(row, &emails)?;
    let [mut first, mut last, full, company, position, phone] = text;
    if first.is_none()
        && last.is_none()
        && let Some(full) = full
    {
        (first, last) = split_full_name(full);
    }
    let field = |name: &str, value: Option<&str>, max: usize| {
        ContactFields::text(value, max)
            .map_err(|message| RowError::new(row, "invalid_field", Some(name), message))
    };
    let fields = ContactFields {
        first_name: field("first_name", first, ContactFields::NAME_MAX)?,
        last_name: field("last_name", last, ContactFields::NAME_MAX)?,
        company: field("company", company, ContactFields::ORGANIZATION_MAX)?,
        position: field("position", position, ContactFields::ORGANIZATION_MAX)?,
        phone: field("phone", phone, ContactFields::PHONE_MAX)?,
        tags: Tags::parse(&tags)
            .map_err(|message| RowError::new(row, "invalid_field", Some("tags"), message))?,
        metadata: ContactFields::metadata(metadata)
            .map_err(|message| RowError::new(row, "invalid_field", Some("metadata"), message))?,
    };
    Ok(ImportedContact {
        row,
        email,
        fields,
        proof: (!proof.is_empty()).then_some(Value::Object(proof)),
    })
}

/// The first address that parses, across the email columns and the shapes people paste:
/// quotes, `mailto:`, `Name <address>`, several addresses in one cell.
fn first_valid_email(row: u64, cells: &[&str]) -> Result<EmailAddress, RowError> {
    let mut first_error = None;
    for cell in cells {
        for candidate in cell
            .split([';', ','])
            .map(clean_address)
            .filter(|c| !c.is_empty())
        {
            match EmailAddress::parse(candidate) {
                Ok(email) => return Ok(email),
                Err(error) => {
                    first_error.get_or_insert_with(|| format!("{error}"));
                }
            }
        }
    }
    Err(match first_error {
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
    })
}

fn clean_address(raw: &str) -> &str {
    let mut value = raw.trim();
    if let (Some(open), Some(close)) = (value.rfind('<'), value.rfind('>'))
        && open < close
    {
        value = &value[open + 1..close];
    }
    value = value
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '`'))
        .trim();
    if value.len() >= 7 && value[..7].eq_ignore_ascii_case("mailto:") {
        value = &value[7..];
        value = value.split('?').next().unwrap_or(value);
    }
    value.trim()
}

/// Tags split on `,` and `;`, Google's ` ::: `, and Mailchimp's quoted lists; Google's system
/// groups (`* myContacts`) are not tags.
fn split_tags(cell: &str) -> impl Iterator<Item = &str> + '_ {
    cell.split(":::")
        .flat_map(|part| part.split([',', ';']))
        .map(|tag| tag.trim().trim_matches('"').trim())
        .filter(|tag| !tag.is_empty() && !tag.starts_with("* "))
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
        let headers: Vec<String> = (0..targets.len()).map(|i| format!("col{i}")).collect();
        parse(7, &record, &headers, targets)
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
}
