//! The business teams of an artist (the seed's métiers).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    Marketing,
    Press,
    Tour,
    Label,
    Finance,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a role; expected one of marketing, press, tour, label, finance")]
pub struct UnknownRole;

impl ContactRole {
    pub const ALL: [ContactRole; 5] = [
        Self::Marketing,
        Self::Press,
        Self::Tour,
        Self::Label,
        Self::Finance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Marketing => "marketing",
            Self::Press => "press",
            Self::Tour => "tour",
            Self::Label => "label",
            Self::Finance => "finance",
        }
    }
}

impl FromStr for ContactRole {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or(UnknownRole)
    }
}

impl fmt::Display for ContactRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in ContactRole::ALL {
            assert_eq!(role.as_str().parse(), Ok(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        for bad in ["", "Press", "booking", "*"] {
            assert_eq!(bad.parse::<ContactRole>(), Err(UnknownRole), "{bad:?}");
        }
    }
}
