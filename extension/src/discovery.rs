//! Discovery functions that need no ATTACH: `vgi_catalogs(location)` lists the catalogs a
//! worker offers (`catalog_catalogs`), `vgi_protocols(location)` the protocols it hosts
//! (`vgi_rpc.Reflection.v1 list_protocols`).
use std::sync::Arc;

use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use worker_client::{Client, ConnectOptions};

use crate::error::Result;
use crate::pushdown::ScanRequest;
use crate::scan::{Binding, Execution, MemoryExecution};

pub struct CatalogsBinding {
    location: String,
}

impl CatalogsBinding {
    pub fn new(location: &str) -> Self {
        CatalogsBinding { location: location.to_string() }
    }
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("implementation_version", DataType::Utf8, true),
        Field::new("data_version_spec", DataType::Utf8, true),
        Field::new("source_url", DataType::Utf8, true),
    ]))
}

impl Binding for CatalogsBinding {
    fn schema(&self) -> SchemaRef {
        schema()
    }

    fn open(&self, _request: &ScanRequest, _cancel: worker_client::CancelHandle) -> Result<Box<dyn Execution>> {
        let mut client = Client::connect(&self.location, &ConnectOptions::default())?;
        let catalogs = client.catalogs()?;
        let column = |f: fn(&worker_client::records::CatalogInfo) -> Option<&str>| {
            Arc::new(catalogs.iter().map(f).collect::<StringArray>()) as arrow_array::ArrayRef
        };
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                column(|c| Some(c.name.as_str())),
                column(|c| c.implementation_version.as_deref()),
                column(|c| c.data_version_spec.as_deref()),
                column(|c| c.source_url.as_deref()),
            ],
        )?;
        Ok(Box::new(MemoryExecution::new(schema(), vec![batch])))
    }
}

pub struct ProtocolsBinding {
    location: String,
}

impl ProtocolsBinding {
    pub fn new(location: &str) -> Self {
        ProtocolsBinding { location: location.to_string() }
    }
}

fn protocols_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("protocol", DataType::Utf8, false),
        Field::new("protocol_version", DataType::Utf8, true),
    ]))
}

impl Binding for ProtocolsBinding {
    fn schema(&self) -> SchemaRef {
        protocols_schema()
    }

    fn open(&self, _request: &ScanRequest, _cancel: worker_client::CancelHandle) -> Result<Box<dyn Execution>> {
        let mut client = Client::connect(&self.location, &ConnectOptions::default())?;
        let protocols = client.list_protocols()?;
        let names: StringArray = protocols.iter().map(|(n, _)| Some(n.as_str())).collect();
        let versions: StringArray = protocols.iter().map(|(_, v)| (!v.is_empty()).then_some(v.as_str())).collect();
        let batch = RecordBatch::try_new(protocols_schema(), vec![Arc::new(names), Arc::new(versions)])?;
        Ok(Box::new(MemoryExecution::new(protocols_schema(), vec![batch])))
    }
}
