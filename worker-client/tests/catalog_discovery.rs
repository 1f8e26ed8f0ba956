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

#[test]
fn protocol_mismatch_names_both_versions_and_the_side_to_upgrade() {
    let location = format!("{} -m vgi._test_fixtures.bad_protocol", std::env::var("VGI_WORKER_PY").expect("VGI_WORKER_PY"));
    let mut client = Client::connect(&location, &ConnectOptions::default()).unwrap();
    // The worker's own refusal of a request names both versions.
    let err = client.catalogs().unwrap_err().to_string();
    assert!(err.contains("2.2.0") && err.contains("99.0.0"), "{err}");
    // Checked up front through reflection, the client says which side to upgrade.
    let err = client.check_protocol().unwrap_err().to_string();
    assert!(err.contains("99.0.0") && err.contains("upgrade the vgi extension"), "{err}");
    let mut good = Client::connect(&common::stdio_worker(), &ConnectOptions::default()).unwrap();
    good.check_protocol().unwrap();
}
