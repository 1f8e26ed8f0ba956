//! Typed wrappers for the `vgi.v2` methods the extension calls.
use crate::client::Client;
use crate::error::Result;
use crate::framing::empty_batch;
use crate::records::{CatalogInfo, CatalogsResponse};

impl Client {
    /// `catalog_catalogs`: the catalogs this worker can attach.
    pub fn catalogs(&mut self) -> Result<Vec<CatalogInfo>> {
        let response: CatalogsResponse = self.call_record("catalog_catalogs", &empty_batch(1), None)?;
        response.catalogs()
    }
}
