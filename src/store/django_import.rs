//! Reading an export of Django's `accounts_user` table (docs/REFERENCE.md#django-import) for
//! `nexora-gate user import-django`. Pure parsing; the CLI inserts the rows.
//!
//! Accepted forms:
//! - **CSV** (RFC 4180, header row, any column order): at least `id`, `username` and
//!   `password`; also `email`, `role`, `phone`, `address`, `is_active`, `date_joined`,
//!   `last_login`. Other columns (`first_name`, `is_staff`, …) are ignored. NULL may be
//!   written as an unquoted empty field, `NULL` or `\N`. Python's `csv` module writes
//!   this form (docs/IMPORT-DJANGO.md has a `manage.py shell` one-liner); MySQL's
//!   `INTO OUTFILE` does not (it escapes line breaks with its escape character).
//! - **JSON**: `python manage.py dumpdata accounts.user` (a list of
//!   `{"model", "pk", "fields": {…}}`), or a plain list of row objects with an `id`.
//!
//! Booleans are `1`/`0`, `true`/`false` (any case), `t`/`f`; datetimes are RFC 3339,
//! Python's `YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM`, or MySQL's `YYYY-MM-DD HH:MM:SS[.ffffff]`
//! read as UTC (Django stores UTC when
//! `USE_TZ = True`). Password hashes are kept exactly as stored.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::ImportedUser;

/// One record that could not be read, with its 1-based record number (header excluded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {record}: {message}")]
pub struct ImportRowError {
    /// Which record (1 = first user).
    pub record: usize,
    /// What is wrong with it.
    pub message: String,
}

/// The file could not be read as an export at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportFormatError {
    /// Not valid JSON, or not a list of objects.
    #[error("not a Django user export in JSON: {0} (expected `manage.py dumpdata accounts.user` output or a list of row objects)")]
    Json(String),
    /// A CSV problem (unterminated quote, no header, missing required column).
    #[error("not a Django user export in CSV: {0} (expected a header row with at least id, username, password)")]
    Csv(String),
}

/// Which parser to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// `dumpdata` JSON or a list of row objects.
    Json,
}

impl ImportFormat {
    /// JSON when the text starts with `[` (after whitespace and a BOM), CSV otherwise.
    pub fn sniff(text: &str) -> ImportFormat {
        if text.trim_start_matches('\u{feff}').trim_start().starts_with('[') {
            ImportFormat::Json
        } else {
            ImportFormat::Csv
        }
    }
}

/// Parses an export: every record becomes a user or a per-record error.
pub fn parse_export(
    text: &str,
    format: ImportFormat,
) -> Result<Vec<Result<ImportedUser, ImportRowError>>, ImportFormatError> {
    let text = text.trim_start_matches('\u{feff}');
    let rows = match format {
        ImportFormat::Csv => csv_rows(text)?,
        ImportFormat::Json => json_rows(text)?,
    };
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| to_user(&row, now).map_err(|message| ImportRowError { record: i + 1, message }))
        .collect())
}

/// A record as column → value; `None` is SQL NULL.
type Row = HashMap<String, Option<String>>;

fn to_user(row: &Row, now: DateTime<Utc>) -> Result<ImportedUser, String> {
    let get = |k: &str| row.get(k).cloned().flatten();
    let required = |k: &str| get(k).filter(|v| !v.is_empty()).ok_or_else(|| format!("{k} is missing"));
    let id = required("id")?;
    let id: i64 = id.trim().parse().map_err(|_| format!("id {id:?} is not an integer"))?;
    let is_active = match get("is_active") {
        None => true,
        Some(v) => parse_bool(&v).ok_or_else(|| format!("is_active {v:?} is not a boolean"))?,
    };
    let date_joined = match get("date_joined").filter(|v| !v.is_empty()) {
        None => now,
        Some(v) => parse_datetime(&v).ok_or_else(|| format!("date_joined {v:?} is not a datetime"))?,
    };
    let last_login = match get("last_login").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(parse_datetime(&v).ok_or_else(|| format!("last_login {v:?} is not a datetime"))?),
    };
    Ok(ImportedUser {
        id,
        username: required("username")?,
        email: get("email").unwrap_or_default(),
        password_hash: required("password")?,
        role: get("role").filter(|r| !r.is_empty()).unwrap_or_else(|| "CUSTOMER".to_owned()),
        phone: get("phone").unwrap_or_default(),
        address: get("address").unwrap_or_default(),
        is_active,
        date_joined,
        last_login,
    })
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" => Some(true),
        "0" | "false" | "f" | "no" => Some(false),
        _ => None,
    }
}

fn parse_datetime(v: &str) -> Option<DateTime<Utc>> {
    let v = v.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v).or_else(|_| DateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f%:z")) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
        .map(|naive| naive.and_utc())
}

fn json_rows(text: &str) -> Result<Vec<Row>, ImportFormatError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ImportFormatError::Json(e.to_string()))?;
    let serde_json::Value::Array(items) = value else {
        return Err(ImportFormatError::Json("the top level is not a list".into()));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let serde_json::Value::Object(mut object) = item else {
                return Err(ImportFormatError::Json(format!("record {} is not an object", i + 1)));
            };
            // dumpdata: {"model": "accounts.user", "pk": 1, "fields": {...}}
            if let Some(serde_json::Value::Object(fields)) = object.remove("fields") {
                let pk = object.remove("pk").unwrap_or(serde_json::Value::Null);
                object = fields;
                object.insert("id".into(), pk);
            }
            Ok(object.into_iter().map(|(k, v)| (k, json_scalar(v))).collect())
        })
        .collect()
}

fn json_scalar(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

fn csv_rows(text: &str) -> Result<Vec<Row>, ImportFormatError> {
    let mut records = csv_records(text)?.into_iter();
    let header: Vec<String> = records
        .next()
        .ok_or_else(|| ImportFormatError::Csv("the file is empty".into()))?
        .into_iter()
        .map(|h| h.value.trim().to_ascii_lowercase())
        .collect();
    for required in ["id", "username", "password"] {
        if !header.iter().any(|h| h == required) {
            return Err(ImportFormatError::Csv(format!("no {required} column")));
        }
    }
    Ok(records
        .filter(|r| !(r.len() == 1 && r[0].value.is_empty() && !r[0].quoted))
        .map(|record| {
            header
                .iter()
                .zip(record)
                .map(|(h, field)| {
                    let null = !field.quoted && matches!(field.value.as_str(), "" | "NULL" | "\\N");
                    (h.clone(), (!null).then_some(field.value))
                })
                .collect()
        })
        .collect())
}

/// One CSV field: its text, and whether it was quoted (a quoted `""` is an empty string,
/// an unquoted empty field is NULL).
struct Field {
    value: String,
    quoted: bool,
}

/// RFC 4180: `,` separators, `"` quoting with `""` for a quote, CRLF or LF line ends,
/// line breaks allowed inside quotes.
fn csv_records(text: &str) -> Result<Vec<Vec<Field>>, ImportFormatError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = Field { value: String::new(), quoted: false };
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '"' if field.value.is_empty() && !field.quoted => {
                field.quoted = true;
                let start = line;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.value.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            line += usize::from(c == '\n');
                            field.value.push(c);
                        }
                        None => {
                            return Err(ImportFormatError::Csv(format!("unterminated quote opened on line {start}")))
                        }
                    }
                }
            }
            ',' => record.push(std::mem::replace(&mut field, Field { value: String::new(), quoted: false })),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                line += 1;
                record.push(std::mem::replace(&mut field, Field { value: String::new(), quoted: false }));
                records.push(std::mem::take(&mut record));
            }
            c => field.value.push(c),
        }
    }
    if !field.value.is_empty() || field.quoted || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests;
