//! What a key may do. Roles are ordered: each one can do everything the one below can.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Reads and writes the business's data, but cannot manage keys.
    Manager,
    /// Everything, including API keys.
    Admin,
}

/// What an operation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    ManageKeys,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn allows(self, access: Access) -> bool {
        let needed = match access {
            Access::Read => Role::Viewer,
            Access::Write => Role::Manager,
            Access::ManageKeys => Role::Admin,
        };
        self >= needed
    }

    /// A key may hand out at most its own power, never more.
    pub fn may_grant(self, other: Role) -> bool {
        self.allows(Access::ManageKeys) && other <= self
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct UnknownRole;

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("must be one of viewer, manager, admin")
    }
}

impl std::error::Error for UnknownRole {}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(UnknownRole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_allows_exactly_its_level_and_below() {
        let table = [
            (Role::Viewer, [true, false, false]),
            (Role::Manager, [true, true, false]),
            (Role::Admin, [true, true, true]),
        ];
        for (role, expected) in table {
            let got = [Access::Read, Access::Write, Access::ManageKeys].map(|a| role.allows(a));
            assert_eq!(got, expected, "{role}");
        }
    }

    #[test]
    fn only_admins_grant_and_never_above_themselves() {
        assert!(Role::Admin.may_grant(Role::Admin));
        assert!(Role::Admin.may_grant(Role::Viewer));
        assert!(!Role::Manager.may_grant(Role::Viewer));
        assert!(!Role::Viewer.may_grant(Role::Viewer));
    }

    #[test]
    fn parses_only_the_three_names() {
        assert_eq!("manager".parse::<Role>(), Ok(Role::Manager));
        assert_eq!("Admin".parse::<Role>(), Err(UnknownRole));
        assert_eq!("root".parse::<Role>(), Err(UnknownRole));
    }
}
