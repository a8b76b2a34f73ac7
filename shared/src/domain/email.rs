//! Email addresses as mail servers accept them.
//!
//! Identity is case-insensitive over the whole address and IDN domains compare by their ASCII
//! (punycode) form, so `Zoé@Café.fr` and `zoé@xn--caf-dma.fr` are one person. Local parts are
//! ASCII dot-atoms: quoted local parts and non-ASCII local parts (SMTPUTF8) are refused because
//! Amazon SES and most receiving servers refuse them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const MAX_ADDRESS: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;
const MAX_LABEL: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("is empty")]
    Empty,
    #[error("must contain exactly one @ between a local part and a domain")]
    NotOneAt,
    #[error("has an empty local part before @")]
    EmptyLocal,
    #[error("local part is longer than 64 characters")]
    LocalTooLong,
    #[error("local part may only use letters, digits and !#$%&'*+/=?^_`{{|}}~.- (found {0:?})")]
    LocalCharacter(char),
    #[error("local part cannot start or end with a dot, or contain two dots in a row")]
    LocalDots,
    #[error("has no domain after @")]
    EmptyDomain,
    #[error("domain is not a valid internet domain name")]
    DomainInvalid,
    #[error("domain needs at least two labels, like example.com")]
    DomainSingleLabel,
    #[error("domain literals and IP addresses are not accepted")]
    DomainLiteral,
    #[error("address is longer than 254 characters")]
    TooLong,
}

/// A parsed, valid address. `normalized()` is its identity.
///
/// The three forms are usually one string (a lowercase ASCII address): the other two are kept
/// only when they differ, which spares an import two allocations per row.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    /// Local part as typed, `@`, domain lowercased in Unicode form: what people see.
    display: String,
    /// Local part as typed, `@`, ASCII domain: what goes on the wire (if not `display`).
    ascii: Option<Box<str>>,
    /// Lowercase local part, `@`, ASCII domain: the identity (if not the ASCII form).
    normalized: Option<Box<str>>,
}

/// An address checked but not yet owned: what an import's analysis pass needs to know that a
/// row is valid and who it is, without allocating (only IDN domains allocate).
pub struct AddressParts<'a> {
    local: &'a str,
    /// Lowercase ASCII (punycode) domain.
    domain: std::borrow::Cow<'a, str>,
    international: bool,
}

impl<'a> AddressParts<'a> {
    pub fn parse(input: &'a str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        let mut parts = trimmed.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::NotOneAt);
        };
        check_local(local)?;
        let (domain, international) = parse_domain(domain)?;
        if local.len() + 1 + domain.len() > MAX_ADDRESS {
            return Err(EmailError::TooLong);
        }
        Ok(Self {
            local,
            domain,
            international,
        })
    }

    /// Feeds `hasher` exactly the bytes of [`EmailAddress::normalized`].
    pub fn hash_identity<H: std::hash::Hasher>(&self, hasher: &mut H) {
        let mut identity = [0u8; MAX_ADDRESS];
        let (local, rest) = identity.split_at_mut(self.local.len());
        local.copy_from_slice(self.local.as_bytes());
        local.make_ascii_lowercase();
        rest[0] = b'@';
        rest[1..=self.domain.len()].copy_from_slice(self.domain.as_bytes());
        hasher.write(&identity[..self.local.len() + 1 + self.domain.len()]);
    }

    pub fn to_address(&self) -> EmailAddress {
        let (local, domain) = (self.local, &*self.domain);
        // Plain concatenation: `format!` costs an import a tenth of its time here.
        let mut ascii = String::with_capacity(local.len() + 1 + domain.len());
        ascii.push_str(local);
        ascii.push('@');
        ascii.push_str(domain);
        let normalized = local
            .bytes()
            .any(|b| b.is_ascii_uppercase())
            .then(|| ascii.to_ascii_lowercase().into_boxed_str());
        if self.international {
            let display = format!("{local}@{}", idna::domain_to_unicode(domain).0);
            EmailAddress {
                display,
                ascii: Some(ascii.into_boxed_str()),
                normalized,
            }
        } else {
            EmailAddress {
                display: ascii,
                ascii: None,
                normalized,
            }
        }
    }
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        AddressParts::parse(input).map(|parts| parts.to_address())
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }

    pub fn ascii(&self) -> &str {
        self.ascii.as_deref().unwrap_or(&self.display)
    }

    pub fn normalized(&self) -> &str {
        self.normalized.as_deref().unwrap_or_else(|| self.ascii())
    }

    pub fn domain(&self) -> &str {
        self.normalized()
            .rsplit_once('@')
            .map_or("", |(_, domain)| domain)
    }
}

fn check_local(local: &str) -> Result<(), EmailError> {
    if local.is_empty() {
        return Err(EmailError::EmptyLocal);
    }
    if let Some(bad) = local.chars().find(|c| !is_atext(*c) && *c != '.') {
        return Err(EmailError::LocalCharacter(bad));
    }
    if local.len() > MAX_LOCAL {
        return Err(EmailError::LocalTooLong);
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::LocalDots);
    }
    Ok(())
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '!' | '#'
                | '$'
                | '%'
                | '&'
                | '\''
                | '*'
                | '+'
                | '/'
                | '='
                | '?'
                | '^'
                | '_'
                | '`'
                | '{'
                | '|'
                | '}'
                | '~'
                | '-'
        )
}

/// A domain name (a sending domain, the inbound domain): an address's domain rules, kept in
/// lowercase ASCII (punycode for internationalized names).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct DomainName(String);

impl DomainName {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        parse_domain(input.trim()).map(|(ascii, _)| Self(ascii.into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DomainName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The domain's lowercase ASCII form, and whether it is internationalized (its readable form
/// differs).
fn parse_domain(domain: &str) -> Result<(std::borrow::Cow<'_, str>, bool), EmailError> {
    if domain.is_empty() {
        return Err(EmailError::EmptyDomain);
    }
    if domain.starts_with('[') {
        return Err(EmailError::DomainLiteral);
    }
    // A trailing dot is the DNS root; people paste it from zone files, servers accept it.
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    // Most domains are plain ASCII without punycode labels: for them IDNA processing is only
    // lowercasing, and the label checks below are the whole of its rules. Skipping it makes
    // imports about twice as fast.
    let international = !domain.is_ascii()
        || domain.split('.').any(|label| {
            label
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
        });
    let ascii: std::borrow::Cow<'_, str> = if international {
        idna::domain_to_ascii_strict(domain)
            .map_err(|_| EmailError::DomainInvalid)?
            .to_ascii_lowercase()
            .into()
    } else if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        domain.to_ascii_lowercase().into()
    } else {
        domain.into()
    };
    if ascii.is_empty() || ascii.len() > MAX_DOMAIN {
        return Err(EmailError::DomainInvalid);
    }
    if !ascii.contains('.') {
        return Err(EmailError::DomainSingleLabel);
    }
    for label in ascii.split('.') {
        // Hyphens in third and fourth place are reserved for IDNA's `xn--` (RFC 5891 4.2.3.1).
        let reserved_hyphens = !international && label.get(2..4) == Some("--");
        let valid = !label.is_empty()
            && label.len() <= MAX_LABEL
            && !label.starts_with('-')
            && !label.ends_with('-')
            && !reserved_hyphens
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(EmailError::DomainInvalid);
        }
    }
    if ascii
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(EmailError::DomainLiteral);
    }
    Ok((ascii, international))
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// Addresses are personal data: debug output shows only the domain.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress(…@{})", self.domain())
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.display)
    }
}

/// An address as it is shown (Unicode domain), so IDN mail form.
#[cfg(feature = "openapi")]
impl schemars::JsonSchema for EmailAddress {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EmailAddress".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "idn-email", "maxLength": 254 })
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_addresses_parse_to_their_identity() {
        let cases = [
            ("alice@example.com", "alice@example.com"),
            ("  Alice.Smith@Example.COM \n", "alice.smith@example.com"),
            ("o'brien+press@label.co.uk", "o'brien+press@label.co.uk"),
            ("zoe@Café.fr", "zoe@xn--caf-dma.fr"),
            ("agent@Bücher.example", "agent@xn--bcher-kva.example"),
            (
                "booking@xn--bcher-kva.example",
                "booking@xn--bcher-kva.example",
            ),
            ("a@b.co", "a@b.co"),
            ("trailing@dot.example.", "trailing@dot.example"),
            (
                "x{y}=z@sub-domain.example.org",
                "x{y}=z@sub-domain.example.org",
            ),
        ];
        for (input, normalized) in cases {
            let parsed = EmailAddress::parse(input)
                .unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
            assert_eq!(parsed.normalized(), normalized, "for {input:?}");
        }
    }

    #[test]
    fn invalid_addresses_are_refused_with_the_reason() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        let long_address = format!("{}@{}com", "a".repeat(64), "b.".repeat(95));
        let cases: &[(&str, EmailError)] = &[
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("alice", EmailError::NotOneAt),
            ("a@b@example.com", EmailError::NotOneAt),
            ("@example.com", EmailError::EmptyLocal),
            ("alice@", EmailError::EmptyDomain),
            (".alice@example.com", EmailError::LocalDots),
            ("alice.@example.com", EmailError::LocalDots),
            ("al..ice@example.com", EmailError::LocalDots),
            ("al ice@example.com", EmailError::LocalCharacter(' ')),
            ("\"quoted\"@example.com", EmailError::LocalCharacter('"')),
            ("zoé@example.com", EmailError::LocalCharacter('é')),
            ("alice@localhost", EmailError::DomainSingleLabel),
            ("alice@[192.168.0.1]", EmailError::DomainLiteral),
            ("alice@192.168.0.1", EmailError::DomainLiteral),
            ("alice@-example.com", EmailError::DomainInvalid),
            ("alice@exa_mple.com", EmailError::DomainInvalid),
            ("alice@example..com", EmailError::DomainInvalid),
            ("alice@ab--cd.example", EmailError::DomainInvalid),
            ("alice@xn--zz.example", EmailError::DomainInvalid),
            ("alice@exa mple.com", EmailError::DomainInvalid),
            (
                "alice@example.com\r\nBcc: x@evil.example",
                EmailError::NotOneAt,
            ),
            (
                "alice@example.com\r\nX-Injected: yes",
                EmailError::DomainInvalid,
            ),
            (long_local.as_str(), EmailError::LocalTooLong),
            (long_label.as_str(), EmailError::DomainInvalid),
            (long_address.as_str(), EmailError::TooLong),
        ];
        for (input, expected) in cases {
            assert_eq!(
                EmailAddress::parse(input).as_ref().err(),
                Some(expected),
                "for {input:?}"
            );
        }
    }

    #[test]
    fn display_keeps_the_typed_local_part_and_a_readable_domain() {
        let parsed = EmailAddress::parse("Booking@XN--BCHER-KVA.example").unwrap();
        assert_eq!(parsed.as_str(), "Booking@bücher.example");
        assert_eq!(parsed.ascii(), "Booking@xn--bcher-kva.example");
        assert_eq!(
            format!("{parsed:?}"),
            "EmailAddress(…@xn--bcher-kva.example)"
        );
    }

    fn local_part() -> impl Strategy<Value = String> {
        "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[A-Za-z0-9_-]{1,10}){0,2}"
    }

    fn domain() -> impl Strategy<Value = String> {
        "([a-zA-Z0-9]{1,10}(-[a-zA-Z0-9]{1,5})?\\.){1,3}[a-zA-Z]{2,6}"
    }

    proptest! {
        #[test]
        fn parsing_never_panics(input in any::<String>()) {
            let _ = EmailAddress::parse(&input);
        }

        #[test]
        fn identity_ignores_case_and_surrounding_blanks(local in local_part(), domain in domain()) {
            let address = format!("{local}@{domain}");
            let plain = EmailAddress::parse(&address).unwrap();
            let shouted = EmailAddress::parse(&format!("  {}\t", address.to_uppercase())).unwrap();
            prop_assert_eq!(plain.normalized(), shouted.normalized());
            prop_assert_eq!(plain.normalized(), address.to_lowercase());
        }

        #[test]
        fn the_identity_hash_is_the_hash_of_the_normalized_address(input in "[ -~]{0,60}|[a-zA-Z.]{1,20}@[a-zA-Zé.-]{1,30}") {
            use std::hash::{DefaultHasher, Hasher};
            if let Ok(parts) = AddressParts::parse(&input) {
                let (mut ours, mut expected) = (DefaultHasher::new(), DefaultHasher::new());
                parts.hash_identity(&mut ours);
                expected.write(parts.to_address().normalized().as_bytes());
                prop_assert_eq!(ours.finish(), expected.finish());
            }
        }

        #[test]
        fn the_ascii_fast_path_agrees_with_idna(domain in "[a-zA-Z0-9-]{1,8}(\\.[a-zA-Z0-9-]{1,8}){1,3}") {
            let ours = EmailAddress::parse(&format!("x@{domain}"));
            match idna::domain_to_ascii_strict(&domain) {
                Err(_) => prop_assert!(ours.is_err(), "idna refuses {domain}, we accepted it"),
                Ok(expected) => {
                    if let Ok(ours) = ours {
                        prop_assert_eq!(ours.domain(), expected.to_ascii_lowercase());
                    }
                }
            }
        }

        #[test]
        fn a_parsed_address_reparses_to_itself(input in "[ -~]{0,80}") {
            if let Ok(parsed) = EmailAddress::parse(&input) {
                let again = EmailAddress::parse(parsed.as_str()).unwrap();
                prop_assert_eq!(&again, &parsed);
                prop_assert!(parsed.normalized().len() <= MAX_ADDRESS);
                prop_assert!(parsed.normalized().is_ascii());
                prop_assert!(!parsed.as_str().contains(['\r', '\n', ' ', '<', '>', ',', ';']));
            }
        }
    }
}
