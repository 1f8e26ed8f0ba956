//! `catalog_catalogs` against the real fixture worker over stdio and HTTP.
mod common;

use worker_client::{Client, ConnectOptions, Error};

#[test]
fn catalogs_lists_the_example_catalog_on_every_transport() {
    for (transport, location) in common::all_workers() {
        let mut client = Client::connect(&location, &ConnectOptions::default()).unwrap();
        let catalogs = client.catalogs().unwrap_or_else(|e| panic!("{transport}: {e}"));
        let names: Vec<_> = catalogs.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"example"), "{transport}: {names:?}");
        // The connection stays usable for a second call.
        assert_eq!(client.catalogs().unwrap().len(), catalogs.len(), "{transport}");
    }
}

#[test]
fn unknown_command_is_a_clear_error() {
    let mut client = Client::connect("/nonexistent/vgi-worker-binary", &ConnectOptions::default()).unwrap();
    let err = client.catalogs().unwrap_err();
    assert!(matches!(err, Error::Disconnected(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("not found") || text.contains("No such file"), "{text}");
}

#[test]
fn unreachable_http_worker_is_a_connect_error() {
    let mut client = Client::connect("http://127.0.0.1:9", &ConnectOptions::default()).unwrap();
    let err = client.catalogs().unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
}
