//! Method and host conditions of a rule: [`Methods`] (a bitmask of the standard
//! methods plus a short list of others) and [`HostMatch`] (exact or `*.suffix`), with
//! the set relations that [`analysis`](super::analysis) needs, and [`Query`], the
//! request side prepared once per lookup.
//!
//! Pure, no I/O; matching does not allocate.

use std::fmt;

/// The standard methods, in bit order.
const STANDARD: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

fn standard_bit(method: &str) -> u16 {
    STANDARD
        .iter()
        .position(|m| *m == method)
        .map_or(0, |i| 1 << i)
}

/// Why a method or host condition was refused (wrapped in a rule error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// `methods: []`.
    #[error("methods must list at least one method; leave it out to match any method")]
    NoMethods,
    /// A method that is not an uppercase token.
    #[error("method {0:?} is not an uppercase HTTP method such as GET")]
    BadMethod(String),
    /// A malformed host.
    #[error("host {host:?} is invalid: {reason}")]
    BadHost {
        /// The host as written.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The methods a rule applies to. Matching is exact: `get` is not `GET`, and `GET`
/// does not imply `HEAD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Methods {
    /// Any method.
    Any,
    /// Only these: standard methods as bits, others by name.
    Only {
        /// One bit per entry of the standard list (GET, HEAD, POST, ...).
        mask: u16,
        /// Extension methods (for example `PROPFIND`), sorted.
        other: Box<[Box<str>]>,
    },
}

impl Methods {
    /// Compiles a method list; `None` means any method. Tokens are `A-Z`, `0-9`,
    /// `-` and `_`, starting with a letter; duplicates are harmless.
    pub fn parse(list: Option<&[String]>) -> Result<Self, ConditionError> {
        let Some(list) = list else {
            return Ok(Methods::Any);
        };
        if list.is_empty() {
            return Err(ConditionError::NoMethods);
        }
        let (mut mask, mut other) = (0u16, Vec::<Box<str>>::new());
        for method in list {
            let valid = method.starts_with(|c: char| c.is_ascii_uppercase())
                && method.bytes().all(|b| {
                    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid {
                return Err(ConditionError::BadMethod(method.clone()));
            }
            match standard_bit(method) {
                0 => other.push(method.as_str().into()),
                bit => mask |= bit,
            }
        }
        other.sort();
        other.dedup();
        Ok(Methods::Only {
            mask,
            other: other.into(),
        })
    }

    /// Whether the request method matches.
    pub(crate) fn matches(&self, query: &Query<'_>) -> bool {
        match self {
            Methods::Any => true,
            Methods::Only { mask, .. } if query.method_bit != 0 => mask & query.method_bit != 0,
            Methods::Only { other, .. } => other.iter().any(|m| **m == *query.method),
        }
    }

    /// Whether every method `other` matches is also matched by `self`.
    pub fn covers(&self, other: &Methods) -> bool {
        match (self, other) {
            (Methods::Any, _) => true,
            (Methods::Only { .. }, Methods::Any) => false,
            (Methods::Only { mask: a, other: x }, Methods::Only { mask: b, other: y }) => {
                b & !a == 0 && y.iter().all(|m| x.contains(m))
            }
        }
    }

    /// Whether some method matches both.
    pub fn overlaps(&self, other: &Methods) -> bool {
        match (self, other) {
            (Methods::Any, _) | (_, Methods::Any) => true,
            (Methods::Only { mask: a, other: x }, Methods::Only { mask: b, other: y }) => {
                a & b != 0 || y.iter().any(|m| x.contains(m))
            }
        }
    }
}

impl fmt::Display for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Methods::Only { mask, other } = self else {
            return f.write_str("any method");
        };
        let standard = STANDARD
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, m)| *m);
        let names: Vec<&str> = standard.chain(other.iter().map(|m| &**m)).collect();
        f.write_str(&names.join(","))
    }
}

/// The host a rule applies to. Comparison ignores ASCII case, a `:port` and one
/// trailing dot on the request's host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostMatch {
    /// Any host, or none.
    Any,
    /// Exactly this host (stored lower-case).
    Exact(Box<str>),
    /// `*.example.com`: one or more labels before `.example.com` (stored lower-case,
    /// with its leading dot); `example.com` itself does not match.
    Suffix(Box<str>),
}

impl HostMatch {
    /// Compiles a host condition; `None` means any host.
    pub fn parse(host: Option<&str>) -> Result<Self, ConditionError> {
        let Some(host) = host else {
            return Ok(HostMatch::Any);
        };
        let bad = |reason| ConditionError::BadHost {
            host: host.to_owned(),
            reason,
        };
        let (suffix, name) = match host.strip_prefix("*.") {
            Some(name) => (true, name),
            None => (false, host),
        };
        if name.contains(':') {
            return Err(bad("a host must not include a port"));
        }
        if name.split('.').any(str::is_empty) {
            return Err(bad("labels must be non-empty, as in api.example.com"));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(bad(
                "use letters, digits, '-' and '.', with '*.' only at the start",
            ));
        }
        let name = name.to_ascii_lowercase();
        Ok(if suffix {
            HostMatch::Suffix(format!(".{name}").into())
        } else {
            HostMatch::Exact(name.into())
        })
    }

    /// Whether the request host (already stripped by [`Query::new`]) matches.
    pub(crate) fn matches(&self, host: Option<&str>) -> bool {
        match (self, host) {
            (HostMatch::Any, _) => true,
            (_, None) => false,
            (HostMatch::Exact(want), Some(host)) => host.eq_ignore_ascii_case(want),
            (HostMatch::Suffix(suffix), Some(host)) => has_suffix(host, suffix),
        }
    }

    /// Whether every host `other` matches is also matched by `self`.
    pub fn covers(&self, other: &HostMatch) -> bool {
        match (self, other) {
            (HostMatch::Any, _) => true,
            (_, HostMatch::Any) => false,
            (HostMatch::Exact(a), HostMatch::Exact(b)) => a == b,
            (HostMatch::Exact(_), HostMatch::Suffix(_)) => false,
            (HostMatch::Suffix(s), HostMatch::Exact(h)) => has_suffix(h, s),
            (HostMatch::Suffix(a), HostMatch::Suffix(b)) => b.ends_with(&**a),
        }
    }

    /// Whether some host matches both.
    pub fn overlaps(&self, other: &HostMatch) -> bool {
        match (self, other) {
            (HostMatch::Suffix(a), HostMatch::Suffix(b)) => a.ends_with(&**b) || b.ends_with(&**a),
            _ => self.covers(other) || other.covers(self),
        }
    }
}

impl fmt::Display for HostMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostMatch::Any => f.write_str("any host"),
            HostMatch::Exact(host) => write!(f, "host {host}"),
            HostMatch::Suffix(suffix) => write!(f, "host *{suffix}"),
        }
    }
}

/// `host` ends with `suffix` (which starts with '.') and has a label before it.
fn has_suffix(host: &str, suffix: &str) -> bool {
    let (host, suffix) = (host.as_bytes(), suffix.as_bytes());
    host.len() > suffix.len() && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// The method and host of one request, prepared once for all the rules it meets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Query<'a> {
    method: &'a str,
    method_bit: u16,
    host: Option<&'a str>,
}

impl<'a> Query<'a> {
    /// Prepares `method` (exact token) and `host` (the `Host` header or authority,
    /// `:port` and one trailing dot dropped).
    pub(crate) fn new(method: &'a str, host: Option<&'a str>) -> Self {
        Self {
            method,
            method_bit: standard_bit(method),
            host: host.map(strip_host),
        }
    }

    /// The prepared host.
    pub(crate) fn host(&self) -> Option<&'a str> {
        self.host
    }
}

fn strip_host(host: &str) -> &str {
    // An IP literal keeps its brackets; a `[` without its `]` is no literal, so its
    // `:port` is dropped like a name's (the gateway refuses such a Host before matching,
    // but `explain` and the policy `tests:` must not read it as two different names).
    let literal_end = if host.starts_with('[') { host.find(']') } else { None };
    let name = if let Some(end) = literal_end {
        &host[..=end]
    } else {
        // A byte loop rather than `rsplit_once`, which costs more to set up than to run here.
        match host.bytes().rposition(|b| b == b':') {
            Some(colon) if host.as_bytes()[colon + 1..].iter().all(u8::is_ascii_digit) => {
                host.get(..colon).unwrap_or(host)
            }
            _ => host,
        }
    };
    name.strip_suffix('.').unwrap_or(name)
}
