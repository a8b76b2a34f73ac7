//! Which column is what. Headers are compared in a folded form (lowercase, accents and every
//! non-alphanumeric character removed, so `E-mail Address`, `Adresse e-mail` and `EMAIL_ADDRESS`
//! meet their entries) against the headers of Google Contacts, Outlook (English and French) and
//! Mailchimp exports, and the headers people type in French and English spreadsheets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Email,
    FirstName,
    LastName,
    /// One "Name" column: split into first and last name when those are not given.
    FullName,
    Company,
    Position,
    Phone,
    Tags,
    /// Mailchimp's consent evidence.
    OptinTime,
    OptinIp,
    ConfirmTime,
    /// Kept in the contact's metadata under the column's header.
    Metadata,
    Ignore,
}

/// Folded header → target. Google's numbered columns (`E-mail 2 - Value`, `Phone 1 - Value`)
/// fold to the same key once digits are dropped, see [`fold`].
const KNOWN: &[(&str, Target)] = &[
    ("email", Target::Email),
    ("emailaddress", Target::Email),
    ("emailvalue", Target::Email),
    ("mail", Target::Email),
    ("courriel", Target::Email),
    ("adressecourriel", Target::Email),
    ("adresseemail", Target::Email),
    ("adressemail", Target::Email),
    ("adresseelectronique", Target::Email),
    ("adressedemessagerie", Target::Email),
    ("firstname", Target::FirstName),
    ("givenname", Target::FirstName),
    ("first", Target::FirstName),
    ("fname", Target::FirstName),
    ("prenom", Target::FirstName),
    ("lastname", Target::LastName),
    ("familyname", Target::LastName),
    ("surname", Target::LastName),
    ("last", Target::LastName),
    ("lname", Target::LastName),
    ("nom", Target::LastName),
    ("nomdefamille", Target::LastName),
    ("name", Target::FullName),
    ("fullname", Target::FullName),
    ("displayname", Target::FullName),
    ("nomcomplet", Target::FullName),
    ("contact", Target::FullName),
    ("company", Target::Company),
    ("companyname", Target::Company),
    ("organization", Target::Company),
    ("organisation", Target::Company),
    ("organizationname", Target::Company),
    ("societe", Target::Company),
    ("entreprise", Target::Company),
    ("structure", Target::Company),
    ("employer", Target::Company),
    ("jobtitle", Target::Position),
    ("position", Target::Position),
    ("organizationtitle", Target::Position),
    ("fonction", Target::Position),
    ("poste", Target::Position),
    ("phone", Target::Phone),
    ("phonevalue", Target::Phone),
    ("phonenumber", Target::Phone),
    ("mobilephone", Target::Phone),
    ("businessphone", Target::Phone),
    ("primaryphone", Target::Phone),
    ("homephone", Target::Phone),
    ("mobile", Target::Phone),
    ("telephone", Target::Phone),
    ("telephonemobile", Target::Phone),
    ("telephonebureau", Target::Phone),
    ("tel", Target::Phone),
    ("portable", Target::Phone),
    ("tags", Target::Tags),
    ("tag", Target::Tags),
    ("labels", Target::Tags),
    ("groupmembership", Target::Tags),
    ("categories", Target::Tags),
    ("etiquettes", Target::Tags),
    ("etiquette", Target::Tags),
    ("categorie", Target::Tags),
    ("groupes", Target::Tags),
    ("groups", Target::Tags),
    ("optintime", Target::OptinTime),
    ("optinip", Target::OptinIp),
    ("confirmtime", Target::ConfirmTime),
];

/// Lowercase ASCII letters and digits only, accents folded, then digits dropped unless the
/// header is nothing but digits.
pub fn fold(header: &str) -> String {
    let folded: String = header
        .chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' => Some('a'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'î' | 'ï' | 'í' => Some('i'),
            'ô' | 'ö' | 'ó' => Some('o'),
            'ù' | 'û' | 'ü' | 'ú' => Some('u'),
            'ç' => Some('c'),
            'ñ' => Some('n'),
            c if c.is_ascii_alphanumeric() => Some(c),
            _ => None,
        })
        .collect();
    let letters: String = folded.chars().filter(|c| !c.is_ascii_digit()).collect();
    if letters.is_empty() { folded } else { letters }
}

/// What a header means without an explicit mapping: a known export header, else metadata.
pub fn recognize(header: &str) -> Target {
    let folded = fold(header);
    if folded.is_empty() {
        return Target::Ignore;
    }
    KNOWN
        .iter()
        .find(|(known, _)| *known == folded)
        .map_or(Target::Metadata, |(_, target)| *target)
}

/// The target of each column of `headers`: the caller's mapping (by exact header, then folded)
/// wins over recognition.
pub fn map_columns(headers: &[String], explicit: &BTreeMap<String, Target>) -> Vec<Target> {
    let folded_explicit: BTreeMap<String, Target> =
        explicit.iter().map(|(h, t)| (fold(h), *t)).collect();
    headers
        .iter()
        .map(|header| {
            explicit
                .get(header.trim())
                .or_else(|| folded_explicit.get(&fold(header)))
                .copied()
                .unwrap_or_else(|| recognize(header))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_headers_are_recognized() {
        let cases = [
            // Google Contacts
            ("E-mail 1 - Value", Target::Email),
            ("E-mail 2 - Value", Target::Email),
            ("E-mail 1 - Label", Target::Metadata),
            ("Given Name", Target::FirstName),
            ("Family Name", Target::LastName),
            ("Organization 1 - Name", Target::Company),
            ("Organization Title", Target::Position),
            ("Phone 1 - Value", Target::Phone),
            ("Labels", Target::Tags),
            ("Group Membership", Target::Tags),
            // Outlook, English and French
            ("E-mail Address", Target::Email),
            ("E-mail 2 Address", Target::Email),
            ("Job Title", Target::Position),
            ("Title", Target::Metadata),
            ("Mobile Phone", Target::Phone),
            ("Categories", Target::Tags),
            ("Adresse de messagerie", Target::Email),
            ("Adresse de messagerie 2", Target::Email),
            ("Catégories", Target::Tags),
            // Mailchimp
            ("Email Address", Target::Email),
            ("OPTIN_TIME", Target::OptinTime),
            ("OPTIN_IP", Target::OptinIp),
            ("CONFIRM_TIME", Target::ConfirmTime),
            ("TAGS", Target::Tags),
            ("MEMBER_RATING", Target::Metadata),
            // French and English spreadsheets
            ("Prénom", Target::FirstName),
            ("NOM", Target::LastName),
            ("Courriel", Target::Email),
            ("Adresse e-mail", Target::Email),
            ("Société", Target::Company),
            ("Fonction", Target::Position),
            ("Téléphone", Target::Phone),
            ("Étiquettes", Target::Tags),
            ("Ville", Target::Metadata),
            ("  ", Target::Ignore),
        ];
        for (header, target) in cases {
            assert_eq!(recognize(header), target, "{header:?}");
        }
    }

    #[test]
    fn an_explicit_mapping_wins() {
        let headers = vec![
            "Mél perso".to_owned(),
            "Nom".to_owned(),
            "Structure".to_owned(),
        ];
        let explicit = BTreeMap::from([
            ("mél perso".to_owned(), Target::Email),
            ("Structure".to_owned(), Target::Ignore),
        ]);
        assert_eq!(
            map_columns(&headers, &explicit),
            [Target::Email, Target::LastName, Target::Ignore]
        );
    }
}
