//! Which worker LOCATIONs a database may use, decided before anything is started or dialled.
//!
//! * DuckDB's `enable_external_access = false` is a sandbox: a LOCATION that starts a process
//!   (a shell command, `launch:`) is always refused, and one that reaches out (`http(s)://`,
//!   `unix://`) only when the embedder allowed it by name in `vgi_allowed_locations`.
//! * `vgi_allowed_locations` narrows what is accepted at any time: a comma-separated list of
//!   forms (`command`, `launch`, `unix`, `http`, `https`) and/or location prefixes
//!   (`https://workers.example.com/`). Empty (the default) accepts every form. An embedder
//!   fixes it with `SET lock_configuration = true`.
use worker_client::transport::{redacted, Location};

use crate::error::{Error, Result};

/// The form keyword of a location, as `vgi_allowed_locations` names it.
fn form(location: &Location, text: &str) -> &'static str {
    match location {
        Location::Command(_) => "command",
        Location::Launch(_) => "launch",
        Location::Unix(_) => "unix",
        Location::Http(_) if text.trim_start().to_ascii_lowercase().starts_with("https:") => "https",
        Location::Http(_) => "http",
    }
}

/// Whether `location` may be used; the error says which rule refused it and how to allow it.
/// `what` names the caller in DuckDB's terms ("ATTACH", "vgi_catalogs").
pub fn check_location(what: &str, location: &str, external_access: bool, allowed: &str) -> Result<()> {
    let parsed = Location::parse(location).map_err(|e| Error::invalid_input(format!("{what}: {e}")))?;
    let form = form(&parsed, location);
    let entries: Vec<&str> = allowed.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
    let listed = entries.iter().any(|e| e.eq_ignore_ascii_case(form) || (e.contains(':') && location.trim().starts_with(e)));
    let shown = redacted(location);
    if !external_access {
        if matches!(parsed, Location::Command(_) | Location::Launch(_)) {
            return Err(Error::permission(format!(
                "{what}: LOCATION '{shown}' would start a process, which is not allowed while enable_external_access = false"
            )));
        }
        if !listed {
            return Err(Error::permission(format!(
                "{what}: LOCATION '{shown}' reaches outside DuckDB, which is not allowed while enable_external_access = false \
                 unless vgi_allowed_locations names it (e.g. SET vgi_allowed_locations = '{form}')"
            )));
        }
        return Ok(());
    }
    if !entries.is_empty() && !listed {
        return Err(Error::permission(format!(
            "{what}: LOCATION '{shown}' ({form}) is not one of vgi_allowed_locations ('{}')",
            entries.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_access_off_refuses_processes_whatever_is_allowed() {
        for location in ["touch /tmp/x; false", "launch:vgi-serve w:W"] {
            let err = check_location("ATTACH", location, false, "command,launch").unwrap_err();
            assert!(err.message.contains("would start a process"), "{}", err.message);
        }
    }

    #[test]
    fn external_access_off_needs_network_forms_named() {
        assert!(check_location("ATTACH", "https://w.example.com", false, "").is_err());
        assert!(check_location("ATTACH", "https://w.example.com", false, "https").is_ok());
        assert!(check_location("ATTACH", "http://w.example.com", false, "https").is_err());
        assert!(check_location("ATTACH", "unix:///run/w.sock", false, "unix").is_ok());
    }

    #[test]
    fn allowed_list_by_form_and_prefix() {
        assert!(check_location("ATTACH", "vgi-serve w:W", true, "").is_ok());
        assert!(check_location("ATTACH", "vgi-serve w:W", true, "https").is_err());
        assert!(check_location("ATTACH", "https://a.example.com/v", true, "https://a.example.com/").is_ok());
        assert!(check_location("ATTACH", "https://b.example.com/v", true, "https://a.example.com/").is_err());
        assert!(check_location("ATTACH", "HTTP://a", true, "http").is_ok());
    }

    #[test]
    fn credentials_in_urls_are_not_shown() {
        assert_eq!(redacted("https://user:s3cret@host:1/p"), "https://***@host:1/p");
        assert_eq!(redacted("vgi-serve a@b"), "vgi-serve a@b");
        let err = check_location("ATTACH", "https://user:s3cret@host/p", true, "unix").unwrap_err();
        assert!(!err.message.contains("s3cret"), "{}", err.message);
    }
}
