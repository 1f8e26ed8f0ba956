//! `vgi_catalogs(location)`: lists the catalogs a worker offers (the `catalog_catalogs` call).
use std::sync::Arc;

use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use worker_client::{Client, ConnectOptions};

use crate::error::Result;
use crate::scan::{Binding, MemoryScan, Scan};

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

    fn open(&self, _projection: Option<&[usize]>, _cancel: worker_client::CancelHandle) -> Result<Box<dyn Scan>> {
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
        Ok(Box::new(MemoryScan::new(schema(), vec![batch])))
    }
}
