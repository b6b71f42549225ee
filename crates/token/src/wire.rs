//! The JSON shapes of a token on the wire: the strict header and claims structs that
//! incoming tokens are parsed into, and the claims struct minted tokens are written from.
//!
//! Parsing is typed, never `serde_json::Value`: serde's derive rejects a repeated known
//! name (two `role` or two `alg` keys), numbers must be JSON integers, and claims whose
//! type only matters for some rules (`token_type`, `user_id`, `iss`, `aud`, `sub`) are
//! read as [`Loose`] so each rule can give its own simplejwt error.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The JOSE header fields we act on. Others (`typ`, `jku`, `x5u`, `jwk`, `x5c`, ...) are
/// skipped unread.
#[derive(Deserialize)]
pub(crate) struct RawHeader<'a> {
    #[serde(borrow)]
    pub(crate) alg: Cow<'a, str>,
    #[serde(default, borrow)]
    pub(crate) kid: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) crit: Presence,
}

/// Every claim any verification rule reads.
#[derive(Deserialize)]
pub(crate) struct RawClaims<'a> {
    #[serde(default, borrow)]
    pub(crate) token_type: Loose<'a>,
    #[serde(default)]
    pub(crate) exp: Option<u64>,
    #[serde(default)]
    pub(crate) nbf: Option<u64>,
    #[serde(default)]
    pub(crate) iat: Option<u64>,
    #[serde(default)]
    pub(crate) jti: Option<Box<str>>,
    #[serde(default, borrow)]
    pub(crate) user_id: Loose<'a>,
    #[serde(default)]
    pub(crate) username: Option<Box<str>>,
    #[serde(default)]
    pub(crate) role: Option<Box<str>>,
    #[serde(default, borrow)]
    pub(crate) iss: Loose<'a>,
    #[serde(default, borrow)]
    pub(crate) aud: Loose<'a>,
    #[serde(default, borrow)]
    pub(crate) sub: Loose<'a>,
    #[serde(default)]
    pub(crate) fam: Option<String>,
}

/// The claims of a minted token, in simplejwt's order (docs/REFERENCE.md#token-format) followed by ours.
#[derive(Serialize)]
pub(crate) struct MintClaims<'a> {
    pub(crate) token_type: &'static str,
    pub(crate) exp: u64,
    pub(crate) iat: u64,
    pub(crate) jti: &'a str,
    pub(crate) user_id: &'a str,
    pub(crate) username: &'a str,
    pub(crate) role: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) aud: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fam: Option<&'a str>,
}

/// Whether a header parameter is present, whatever its value (even `null`).
#[derive(Default, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    #[default]
    Absent,
    Present,
}

impl<'de> Deserialize<'de> for Presence {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Presence, D::Error> {
        IgnoredAny::deserialize(deserializer)?;
        Ok(Presence::Present)
    }
}

/// A claim read without committing to its JSON type.
#[derive(Default, Debug, PartialEq, Eq)]
pub(crate) enum Loose<'a> {
    #[default]
    Absent,
    Str(Cow<'a, str>),
    Int(i128),
    /// An array whose elements are all strings.
    StrList(Vec<Cow<'a, str>>),
    /// Anything else: `null`, a float, a boolean, an object, a mixed array.
    Other,
}

impl<'a> Loose<'a> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Loose::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Loose<'a>, D::Error> {
        deserializer.deserialize_any(LooseVisitor(PhantomData))
    }
}

struct LooseVisitor<'a>(PhantomData<Loose<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for LooseVisitor<'a> {
    type Value = Loose<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Loose<'a>, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose<'a>, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Loose<'a>, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Loose<'a>, E> {
        Ok(Loose::Int(i128::from(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Loose<'a>, E> {
        Ok(Loose::Int(i128::from(v)))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Loose<'a>, E> {
        Ok(Loose::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Loose<'a>, E> {
        Ok(Loose::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Loose<'a>, E> {
        Ok(Loose::Other)
    }

    fn visit_none<E: de::Error>(self) -> Result<Loose<'a>, E> {
        Ok(Loose::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose<'a>, A::Error> {
        let mut strings = Vec::new();
        let mut all_strings = true;
        while let Some(item) = seq.next_element::<Loose<'a>>()? {
            match item {
                Loose::Str(s) if all_strings => strings.push(s),
                _ => all_strings = false,
            }
        }
        Ok(if all_strings {
            Loose::StrList(strings)
        } else {
            Loose::Other
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose<'a>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Other)
    }
}
