//! DRF serializer fields as the identity endpoints need them: `CharField` (trimmed,
//! blank and length checks), `ChoiceField`, `BooleanField`, and [`FieldErrors`], the
//! per-field message lists DRF answers 400 with, in serializer order.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::body::Form;

/// DRF's message for a missing required field.
pub(crate) const REQUIRED: &str = "This field is required.";
/// DRF's message for an empty (or all-whitespace) string.
pub(crate) const BLANK: &str = "This field may not be blank.";
const NULL: &str = "This field may not be null.";
const NOT_A_STRING: &str = "Not a valid string.";
const NOT_A_BOOLEAN: &str = "Must be a valid boolean.";

/// Validation messages by field, serialised as `{"field": ["msg", ...], ...}` with fields
/// in the serializer's declaration order (then any others in the order they were added).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    order: &'static [&'static str],
    entries: Vec<(&'static str, Vec<String>)>,
}

impl FieldErrors {
    /// No errors yet, for a serializer whose fields are declared in `order`.
    pub fn new(order: &'static [&'static str]) -> FieldErrors {
        FieldErrors {
            order,
            entries: Vec::new(),
        }
    }

    /// A single message on one field.
    pub fn one(field: &'static str, message: impl Into<String>) -> FieldErrors {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        errors
    }

    /// Adds `message` to `field`'s list.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        match self.entries.iter_mut().find(|(f, _)| *f == field) {
            Some((_, messages)) => messages.push(message.into()),
            None => self.entries.push((field, vec![message.into()])),
        }
    }

    /// Whether `field` has a message already.
    pub fn has(&self, field: &str) -> bool {
        self.entries.iter().any(|(f, _)| *f == field)
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn rank(&self, field: &str) -> usize {
        self.order
            .iter()
            .position(|f| *f == field)
            .unwrap_or(self.order.len())
    }
}

impl Serialize for FieldErrors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<_> = self.entries.iter().enumerate().collect();
        sorted.sort_by_key(|(added, (field, _))| (self.rank(field), *added));
        let mut map = serializer.serialize_map(Some(sorted.len()))?;
        for (_, (field, messages)) in sorted {
            map.serialize_entry(field, messages)?;
        }
        map.end()
    }
}

/// How a `CharField` treats its input.
#[derive(Debug, Clone, Copy)]
pub struct CharSpec {
    /// Absent is an error ("This field is required.").
    pub required: bool,
    /// `""` (after trimming) is accepted.
    pub allow_blank: bool,
    /// At most this many characters (code points).
    pub max_chars: Option<usize>,
}

impl CharSpec {
    /// Required, not blank, no length limit: DRF's `CharField()`.
    pub const REQUIRED: CharSpec = CharSpec {
        required: true,
        allow_blank: false,
        max_chars: None,
    };
}

/// Reads `name` as a DRF `CharField(trim_whitespace=True)`: a string (numbers are taken as
/// their text), surrounding whitespace stripped. `None` when absent and optional, or when
/// a message was added to `errors`.
pub fn char_field(
    form: &Form,
    name: &'static str,
    spec: CharSpec,
    errors: &mut FieldErrors,
) -> Option<String> {
    let text = match form.get(name) {
        None => {
            if spec.required {
                errors.add(name, REQUIRED);
            }
            return None;
        }
        Some(Value::Null) => {
            errors.add(name, NULL);
            return None;
        }
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            errors.add(name, NOT_A_STRING);
            return None;
        }
    };
    if text.is_empty() && !spec.allow_blank {
        errors.add(name, BLANK);
        return None;
    }
    if let Some(max) = spec.max_chars {
        if text.chars().count() > max {
            errors.add(
                name,
                format!("Ensure this field has no more than {max} characters."),
            );
            return None;
        }
    }
    Some(text)
}

/// Reads `name` as a DRF `ChoiceField` over `choices` (exact, case-sensitive).
pub fn choice_field(
    form: &Form,
    name: &'static str,
    choices: &[&str],
    errors: &mut FieldErrors,
) -> Option<String> {
    let text = match form.get(name)? {
        Value::Null => {
            errors.add(name, NULL);
            return None;
        }
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        other => other.to_string(),
    };
    if choices.contains(&text.as_str()) {
        Some(text)
    } else {
        errors.add(name, format!("\"{text}\" is not a valid choice."));
        None
    }
}

/// Reads `name` as a DRF `BooleanField` (`true`, `"true"`, `"1"`, `1`, `"yes"`, `"on"` ...).
pub fn bool_field(form: &Form, name: &'static str, errors: &mut FieldErrors) -> Option<bool> {
    let parsed = match form.get(name)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on"
            | "On" | "ON" | "1" => Some(true),
            "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off"
            | "Off" | "OFF" | "0" => Some(false),
            _ => None,
        },
        Value::Null => {
            errors.add(name, NULL);
            return None;
        }
        _ => None,
    };
    if parsed.is_none() {
        errors.add(name, NOT_A_BOOLEAN);
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(v: Value) -> Form {
        match v {
            Value::Object(m) => Form::from_json(m),
            _ => unreachable!(),
        }
    }

    #[test]
    fn char_field_follows_drf() {
        let f =
            form(json!({"a": "  x  ", "b": "   ", "c": 12, "d": null, "e": [1], "f": "abcdef"}));
        let mut e = FieldErrors::new(&["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(
            char_field(&f, "a", CharSpec::REQUIRED, &mut e).as_deref(),
            Some("x")
        );
        assert_eq!(char_field(&f, "b", CharSpec::REQUIRED, &mut e), None);
        assert_eq!(
            char_field(&f, "c", CharSpec::REQUIRED, &mut e).as_deref(),
            Some("12")
        );
        assert_eq!(char_field(&f, "d", CharSpec::REQUIRED, &mut e), None);
        assert_eq!(char_field(&f, "e", CharSpec::REQUIRED, &mut e), None);
        let short = CharSpec {
            max_chars: Some(3),
            ..CharSpec::REQUIRED
        };
        assert_eq!(char_field(&f, "f", short, &mut e), None);
        assert_eq!(char_field(&f, "g", CharSpec::REQUIRED, &mut e), None);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"b":["This field may not be blank."],"d":["This field may not be null."],"e":["Not a valid string."],"f":["Ensure this field has no more than 3 characters."],"g":["This field is required."]}"#
        );
    }

    #[test]
    fn errors_serialise_in_declaration_order() {
        let mut e = FieldErrors::new(&["username", "password"]);
        e.add("password", "p1");
        e.add("username", "u1");
        e.add("password", "p2");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"username":["u1"],"password":["p1","p2"]}"#
        );
    }

    #[test]
    fn choices_and_booleans() {
        let f = form(json!({"role": "admin", "ok": "yes", "bad": "maybe", "r2": "SELLER"}));
        let mut e = FieldErrors::new(&[]);
        assert_eq!(choice_field(&f, "role", &["ADMIN"], &mut e), None);
        assert_eq!(
            choice_field(&f, "r2", &["SELLER"], &mut e).as_deref(),
            Some("SELLER")
        );
        assert_eq!(bool_field(&f, "ok", &mut e), Some(true));
        assert_eq!(bool_field(&f, "bad", &mut e), None);
        assert_eq!(bool_field(&f, "absent", &mut e), None);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"role":["\"admin\" is not a valid choice."],"bad":["Must be a valid boolean."]}"#
        );
    }
}
