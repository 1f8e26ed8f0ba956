//! What an ATTACH names: the worker's catalog and the options to attach it with, in either of
//! the forms the reference extension accepts:
//!
//! ```sql
//! ATTACH 'example' AS ex (TYPE vgi, LOCATION 'vgi-serve m:W', data_version '1');
//! ATTACH 'example?location=vgi-serve%20m:W&data_version=1' AS ex (TYPE vgi);
//! ```
//!
//! In the connection-string form the path's query string carries options as `key=value`
//! pairs separated by `&`, each percent-decoded (`%20` a space, `%26` an `&`, `%25` a `%`;
//! a `+` stays a plus sign, as shell commands use it). Spaces may also be written as they are.
//! An option given both in the path and in the option list is an error rather than a silent
//! choice: the two would disagree about which worker or version is meant. Secrets
//! (`bearer_token`, options the worker marks secret) are refused in the path: a path is
//! not redacted where DuckDB shows or logs it.
use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};

use crate::error::{Error, Result};

/// The option naming the worker.
pub const LOCATION: &str = "location";
/// The requested data version, and the reference extension's spelling of it.
pub const DATA_VERSION: &str = "data_version";
const DATA_VERSION_ALIAS: &str = "data_version_spec";
/// Options that are secrets whatever the worker declares.
pub const BEARER_TOKEN: &str = "bearer_token";

/// One option's value, and whether it came from the ATTACH path.
#[derive(Debug)]
pub struct OptionValue {
    pub value: ArrayRef,
    pub from_path: bool,
}

#[derive(Debug)]
pub struct AttachTarget {
    /// The catalog's name at the worker: the ATTACH path up to any `?`.
    pub catalog: String,
    /// Every option by canonical lower-case name (aliases resolved).
    pub options: BTreeMap<String, OptionValue>,
}

impl AttachTarget {
    /// Splits the ATTACH path and merges its options with the option list (`options`: one row,
    /// one column per option as DuckDB parsed it).
    pub fn resolve(path: &str, options: &RecordBatch) -> Result<AttachTarget> {
        let mut merged: BTreeMap<String, OptionValue> = BTreeMap::new();
        for (field, column) in options.schema().fields().iter().zip(options.columns()) {
            let name = canonical(&field.name().to_ascii_lowercase());
            if merged.insert(name.clone(), OptionValue { value: column.clone(), from_path: false }).is_some() {
                return Err(given_twice(&name, "in the option list"));
            }
        }
        let (catalog, query) = match path.split_once('?') {
            Some((catalog, query)) => (catalog, Some(query)),
            None => (path, None),
        };
        if catalog.is_empty() {
            return Err(Error::binder(format!("ATTACH '{}': the path names no catalog before '?'", redact_query(path))));
        }
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(Error::binder(format!(
                    "ATTACH path option '{}' has no value (write {}=value)",
                    truncate(pair),
                    truncate(pair)
                )));
            };
            let key = percent_decode(key)?.to_ascii_lowercase();
            if key.is_empty() {
                return Err(Error::binder("ATTACH path has an option with an empty name (`=value`)"));
            }
            let name = canonical(&key);
            if name == BEARER_TOKEN {
                return Err(secret_in_path(&name));
            }
            let value: ArrayRef = Arc::new(StringArray::from(vec![percent_decode(value)?]));
            match merged.get(&name) {
                Some(existing) if existing.from_path => return Err(given_twice(&name, "in the ATTACH path")),
                Some(_) => return Err(given_twice(&name, "in the ATTACH path and in the option list")),
                None => {
                    merged.insert(name, OptionValue { value, from_path: true });
                }
            }
        }
        Ok(AttachTarget { catalog: catalog.to_string(), options: merged })
    }
}

/// The name an option is known by (its aliases folded in).
fn canonical(name: &str) -> String {
    match name {
        DATA_VERSION_ALIAS => DATA_VERSION.into(),
        other => other.into(),
    }
}

fn given_twice(name: &str, where_: &str) -> Error {
    let spelled = match name {
        LOCATION => "LOCATION".to_string(),
        DATA_VERSION => "data_version (or data_version_spec)".to_string(),
        other => format!("'{other}'"),
    };
    Error::binder(format!("ATTACH option {spelled} is given twice, {where_}; give it once"))
}

/// The error for a secret option written into the ATTACH path.
pub fn secret_in_path(name: &str) -> Error {
    Error::binder(format!(
        "ATTACH option '{name}' is a secret and must not be in the ATTACH path (a path is not kept secret); \
         pass it in the option list: ATTACH '...' (TYPE vgi, {name} '...')"
    ))
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits is an error (so `%` in a
/// command is written `%25` and nothing is guessed).
fn percent_decode(text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err(Error::binder(format!(
                    "ATTACH path option '{}' has a '%' that is not a %XX escape (write %25 for a literal %)",
                    truncate(text)
                )));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::binder(format!("ATTACH path option '{}' decodes to invalid UTF-8", truncate(text))))
}

/// A path as errors show it: the query string may hold a location with credentials.
fn redact_query(path: &str) -> String {
    match path.split_once('?') {
        Some((catalog, _)) => format!("{catalog}?..."),
        None => path.to_string(),
    }
}

fn truncate(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field, Schema};

    fn options(pairs: &[(&str, &str)]) -> RecordBatch {
        let fields: Vec<Field> = pairs.iter().map(|(k, _)| Field::new(*k, DataType::Utf8, true)).collect();
        let columns: Vec<ArrayRef> = pairs.iter().map(|(_, v)| Arc::new(StringArray::from(vec![*v])) as ArrayRef).collect();
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(1));
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &options).unwrap()
    }

    fn text(target: &AttachTarget, key: &str) -> String {
        worker_client::wire::string_at(target.options[key].value.as_ref(), 0).unwrap().unwrap()
    }

    #[test]
    fn plain_path_is_the_catalog() {
        let target = AttachTarget::resolve("example", &options(&[("LOCATION", "cmd")])).unwrap();
        assert_eq!(target.catalog, "example");
        assert_eq!(text(&target, "location"), "cmd");
        assert!(!target.options["location"].from_path);
    }

    #[test]
    fn query_string_carries_decoded_options() {
        let target =
            AttachTarget::resolve("example?location=vgi-serve%20m:W --x=1+2&data_version_spec=%5E1.0.0&pool=false", &options(&[]))
                .unwrap();
        assert_eq!(target.catalog, "example");
        assert_eq!(text(&target, "location"), "vgi-serve m:W --x=1+2");
        assert_eq!(text(&target, "data_version"), "^1.0.0");
        assert_eq!(text(&target, "pool"), "false");
        assert!(target.options["location"].from_path);
    }

    #[test]
    fn an_url_location_keeps_its_own_query_when_encoded() {
        let target = AttachTarget::resolve("example?location=http://h:1/w%3Fa=1%26b=2", &options(&[])).unwrap();
        assert_eq!(text(&target, "location"), "http://h:1/w?a=1&b=2");
    }

    #[test]
    fn the_same_option_twice_is_an_error() {
        let err = AttachTarget::resolve("example?location=a", &options(&[("location", "b")])).unwrap_err();
        assert!(err.message.contains("given twice, in the ATTACH path and in the option list"), "{}", err.message);
        let err = AttachTarget::resolve("example?location=a&LOCATION=b", &options(&[])).unwrap_err();
        assert!(err.message.contains("LOCATION is given twice, in the ATTACH path"), "{}", err.message);
        let err = AttachTarget::resolve("example", &options(&[("data_version", "1"), ("data_version_spec", "2")])).unwrap_err();
        assert!(err.message.contains("data_version (or data_version_spec) is given twice"), "{}", err.message);
    }

    #[test]
    fn malformed_paths_are_errors() {
        assert!(AttachTarget::resolve("?location=a", &options(&[])).unwrap_err().message.contains("names no catalog"));
        assert!(AttachTarget::resolve("example?location", &options(&[])).unwrap_err().message.contains("has no value"));
        assert!(AttachTarget::resolve("example?=a", &options(&[])).unwrap_err().message.contains("empty name"));
        assert!(AttachTarget::resolve("example?location=date +%s", &options(&[])).unwrap_err().message.contains("%25"));
        assert!(AttachTarget::resolve("example?location=%ff", &options(&[])).unwrap_err().message.contains("UTF-8"));
    }

    #[test]
    fn secrets_are_refused_in_the_path() {
        let err = AttachTarget::resolve("example?location=a&bearer_token=t0ken", &options(&[])).unwrap_err();
        assert!(err.message.contains("is a secret"), "{}", err.message);
        assert!(!err.message.contains("t0ken"), "{}", err.message);
    }

    #[test]
    fn empty_query_and_stray_ampersands_are_ignored() {
        let target = AttachTarget::resolve("example?&location=a&", &options(&[])).unwrap();
        assert_eq!(text(&target, "location"), "a");
        assert_eq!(AttachTarget::resolve("example?", &options(&[])).unwrap().catalog, "example");
    }
}
