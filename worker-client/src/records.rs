//! Typed request/response records of the `vgi.v2` protocol (Appendix A.2 of the spec).
use crate::record;
use crate::wire::{Blob, Record};

record! {
    /// `catalog_catalogs` result.
    pub struct CatalogsResponse {
        pub items: Vec<Blob>,
    }
}

record! {
    /// One catalog a worker offers.
    pub struct CatalogInfo {
        pub name: String,
        pub implementation_version: Option<String>,
        pub data_version_spec: Option<String>,
        pub attach_option_specs: Vec<Blob>,
        pub source_url: Option<String>,
    }
}

impl CatalogsResponse {
    pub fn catalogs(&self) -> crate::Result<Vec<CatalogInfo>> {
        self.items.iter().map(|b| CatalogInfo::from_blob(&b.0)).collect()
    }
}
