//! Who is calling and what they may touch, from the scopes the JWT authorizer validated.
//!
//! Scopes: `artist:{artistId}:{role}` (one team of one artist), `artist:{artistId}:*` (every team
//! of one artist), `mailing:admin` (everything). Anything else grants nothing: deny by default.

use std::collections::BTreeSet;

use crate::ApiError;
use crate::domain::{ArtistId, ContactRole, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Grant {
    Admin,
    Artist(ArtistId),
    Team(ArtistId, ContactRole),
}

impl Grant {
    fn parse(scope: &str) -> Option<Self> {
        if scope == "mailing:admin" {
            return Some(Self::Admin);
        }
        let rest = scope.strip_prefix("artist:")?;
        let (artist, role) = rest.split_once(':')?;
        let artist = artist.parse().ok()?;
        match role {
            "*" => Some(Self::Artist(artist)),
            role => role.parse().ok().map(|role| Self::Team(artist, role)),
        }
    }
}

/// Which roles of one artist a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleAccess {
    All,
    Only(BTreeSet<ContactRole>),
}

impl RoleAccess {
    pub fn allows(&self, role: ContactRole) -> bool {
        match self {
            Self::All => true,
            Self::Only(roles) => roles.contains(&role),
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserId,
    grants: Vec<Grant>,
}

impl Caller {
    pub fn new<'a>(user: UserId, scopes: impl IntoIterator<Item = &'a str>) -> Self {
        let grants = scopes.into_iter().filter_map(Grant::parse).collect();
        Self { user, grants }
    }

    pub fn is_admin(&self) -> bool {
        self.grants.contains(&Grant::Admin)
    }

    /// The roles of `artist` this caller may see, or `None` when they have no grant on it.
    pub fn roles_of(&self, artist: ArtistId) -> Option<RoleAccess> {
        let mut roles = BTreeSet::new();
        for grant in &self.grants {
            match grant {
                Grant::Admin => return Some(RoleAccess::All),
                Grant::Artist(a) if *a == artist => return Some(RoleAccess::All),
                Grant::Team(a, role) if *a == artist => {
                    roles.insert(*role);
                }
                _ => {}
            }
        }
        (!roles.is_empty()).then_some(RoleAccess::Only(roles))
    }

    /// Any access to the artist at all, or 403.
    pub fn require_artist(&self, artist: ArtistId) -> Result<RoleAccess, ApiError> {
        self.roles_of(artist)
            .ok_or_else(|| ApiError::forbidden("you have no access to this artist"))
    }

    /// Access to every team of the artist, or 403 saying `why` the action needs it.
    pub fn require_artist_wide(&self, artist: ArtistId, why: &str) -> Result<(), ApiError> {
        if self.require_artist(artist)? == RoleAccess::All {
            Ok(())
        } else {
            Err(ApiError::forbidden(why.to_owned()))
        }
    }

    /// Access to one team of the artist, or 403 naming it.
    pub fn require_team(&self, artist: ArtistId, role: ContactRole) -> Result<(), ApiError> {
        if self.require_artist(artist)?.allows(role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "you have no access to this artist's {role} team"
            )))
        }
    }

    pub fn can(&self, artist: ArtistId, role: ContactRole) -> bool {
        self.roles_of(artist)
            .is_some_and(|access| access.allows(role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0190f4c2-0000-7000-8000-00000000000a";
    const B: &str = "0190f4c2-0000-7000-8000-00000000000b";

    fn caller(scopes: &[&str]) -> Caller {
        Caller::new(UserId::new("user-1"), scopes.iter().copied())
    }

    #[test]
    fn a_team_scope_grants_that_team_of_that_artist_only() {
        let (a, b) = (A.parse().unwrap(), B.parse().unwrap());
        let press = caller(&[&format!("artist:{A}:press")]);
        assert!(press.can(a, ContactRole::Press));
        assert!(!press.can(a, ContactRole::Finance));
        assert!(!press.can(b, ContactRole::Press));
        assert!(press.require_artist(b).is_err());
        assert_eq!(
            press
                .require_team(a, ContactRole::Finance)
                .unwrap_err()
                .status(),
            403
        );
    }

    #[test]
    fn artist_wide_and_admin_scopes_grant_every_team() {
        let (a, b) = (A.parse().unwrap(), B.parse().unwrap());
        let wide = caller(&[&format!("artist:{A}:*")]);
        assert_eq!(wide.roles_of(a), Some(RoleAccess::All));
        assert_eq!(wide.roles_of(b), None);
        let admin = caller(&["mailing:admin"]);
        assert!(ContactRole::ALL.iter().all(|role| admin.can(b, *role)));
    }

    #[test]
    fn malformed_or_foreign_scopes_grant_nothing() {
        let a = A.parse().unwrap();
        for scope in [
            "",
            "openid",
            "mailing:admins",
            "artist:*:*",
            &format!("artist:{A}"),
            &format!("artist:{A}:Press"),
            &format!("artist:{A}:press:extra"),
            &format!("Artist:{A}:press"),
        ] {
            assert_eq!(caller(&[scope]).roles_of(a), None, "{scope:?}");
        }
    }
}
