//! Role names compiled into small ids: [`Roles`] (the configured names), [`RoleId`]
//! (one of them) and [`RoleSet`] (a 64-bit set of them, as a rule's `allow` list).
//!
//! Pure, no I/O. Looking a name up and testing membership do not allocate.

use std::fmt;

/// At most this many roles can be configured: a [`RoleSet`] is one `u64`.
pub const MAX_ROLES: usize = 64;

/// Why the configured role list was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// No role names were given.
    #[error("roles must list at least one role")]
    NoRoles,
    /// More than [`MAX_ROLES`] names.
    #[error("at most 64 roles are supported, {0} are configured")]
    TooManyRoles(usize),
    /// A name is empty or uses characters other than `A-Z`, `0-9` and `_`.
    #[error("role name {0:?} is invalid; use only A-Z, 0-9 and '_' (for example SELLER)")]
    InvalidRoleName(String),
    /// The same name twice.
    #[error("role {0} is listed twice; list each role once")]
    DuplicateRole(String),
}

/// One configured role, as a small id (its position in the role list).
///
/// Only [`Roles::id`] makes one, so it is always below [`MAX_ROLES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleId(u8);

impl RoleId {
    /// The position of this role in the configured list.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    fn bit(self) -> u64 {
        1u64.checked_shl(u32::from(self.0)).unwrap_or(0)
    }
}

/// A set of roles, one bit per [`RoleId`]. `Copy`, and every operation is a bit test.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(u64);

impl RoleSet {
    /// The empty set.
    pub const fn new() -> Self {
        Self(0)
    }

    /// Whether `role` is in the set.
    pub fn contains(self, role: RoleId) -> bool {
        self.0 & role.bit() != 0
    }

    /// Adds `role` to the set.
    pub fn insert(&mut self, role: RoleId) {
        self.0 |= role.bit();
    }

    /// Whether the set has no role.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of roles in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The set holding just `role`.
    pub fn of(role: RoleId) -> Self {
        Self(role.bit())
    }

    /// Whether the two sets share a role.
    pub fn intersects(self, other: RoleSet) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether every role of `other` is also in `self`.
    pub fn is_superset(self, other: RoleSet) -> bool {
        other.0 & !self.0 == 0
    }

    /// The roles in the set, lowest id first.
    pub fn iter(self) -> impl Iterator<Item = RoleId> {
        (0..MAX_ROLES as u8)
            .map(RoleId)
            .filter(move |role| self.contains(*role))
    }
}

impl FromIterator<RoleId> for RoleSet {
    fn from_iter<I: IntoIterator<Item = RoleId>>(roles: I) -> Self {
        let mut set = Self::new();
        roles.into_iter().for_each(|role| set.insert(role));
        set
    }
}

impl fmt::Debug for RoleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(RoleId::index))
            .finish()
    }
}

/// The configured role names, in order; a name's position is its [`RoleId`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roles {
    names: Vec<String>,
}

impl Roles {
    /// Compiles the configured names. They must be non-empty, unique, at most
    /// [`MAX_ROLES`], and spelled with `A-Z`, `0-9` and `_` only.
    pub fn new(names: impl IntoIterator<Item = impl Into<String>>) -> Result<Self, PolicyError> {
        let mut compiled: Vec<String> = Vec::new();
        for name in names {
            let name: String = name.into();
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(PolicyError::InvalidRoleName(name));
            }
            if compiled.contains(&name) {
                return Err(PolicyError::DuplicateRole(name));
            }
            compiled.push(name);
        }
        match compiled.len() {
            0 => Err(PolicyError::NoRoles),
            n if n > MAX_ROLES => Err(PolicyError::TooManyRoles(n)),
            _ => Ok(Self { names: compiled }),
        }
    }

    /// The id of the role spelled exactly `name` (case-sensitive), if configured.
    pub fn id(&self, name: &str) -> Option<RoleId> {
        let index = self.names.iter().position(|known| known == name)?;
        u8::try_from(index).ok().map(RoleId)
    }

    /// The name of `role`; `"?"` for an id this list did not issue.
    pub fn name(&self, role: RoleId) -> &str {
        self.names.get(role.index()).map_or("?", String::as_str)
    }

    /// Every configured name, in order (position = [`RoleId::index`]).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The number of configured roles (1 to [`MAX_ROLES`]).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Always false: a compiled role list has at least one role.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every configured role, in order.
    pub fn ids(&self) -> impl Iterator<Item = RoleId> + '_ {
        (0..self.names.len()).filter_map(|index| u8::try_from(index).ok().map(RoleId))
    }

    /// The names of the roles in `set`, for messages: `"ADMIN, SELLER"`.
    pub fn describe(&self, set: RoleSet) -> String {
        set.iter()
            .map(|role| self.name(role))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positions_and_lookup_is_exact() {
        let roles = Roles::new(["ADMIN", "SELLER", "CUSTOMER"]).unwrap();
        assert_eq!(roles.len(), 3);
        assert_eq!(roles.id("SELLER").map(RoleId::index), Some(1));
        assert_eq!(roles.id("seller"), None);
        assert_eq!(roles.id("SELLER "), None);
        assert_eq!(roles.id(""), None);
        let admin = roles.id("ADMIN").unwrap();
        assert_eq!(roles.name(admin), "ADMIN");
        assert_eq!(
            roles.ids().map(|id| roles.name(id)).collect::<Vec<_>>(),
            ["ADMIN", "SELLER", "CUSTOMER"]
        );
        assert_eq!(roles.names().join(", "), "ADMIN, SELLER, CUSTOMER");
    }

    #[test]
    fn role_sets_are_bitsets() {
        let roles = Roles::new((0..64).map(|i| format!("R{i}"))).unwrap();
        let (first, last) = (roles.id("R0").unwrap(), roles.id("R63").unwrap());
        let mut set = RoleSet::new();
        assert!(set.is_empty());
        set.insert(last);
        assert!(set.contains(last) && !set.contains(first));
        set.insert(first);
        assert_eq!(set.len(), 2);
        assert!(set.is_superset([last].into_iter().collect()));
        assert!(!RoleSet::new().is_superset(set));
        assert_eq!(roles.describe(set), "R0, R63");
    }

    #[test]
    fn bad_role_lists_are_refused() {
        let none: [&str; 0] = [];
        assert_eq!(Roles::new(none), Err(PolicyError::NoRoles));
        assert_eq!(
            Roles::new((0..65).map(|i| format!("R{i}"))),
            Err(PolicyError::TooManyRoles(65))
        );
        for bad in ["", "admin", "AD-MIN", "AD MIN", "ÄDMIN"] {
            assert_eq!(
                Roles::new([bad]),
                Err(PolicyError::InvalidRoleName(bad.into())),
                "{bad:?}"
            );
        }
        assert_eq!(
            Roles::new(["A", "B", "A"]),
            Err(PolicyError::DuplicateRole("A".into()))
        );
    }
}
