//! Prints what a worker offers: `cargo run --example describe_worker -- LOCATION [CATALOG]`.
//! Lists catalogs, then for the catalog (default: the first) its schemas, tables (with
//! columns) and functions (with argument and output schemas).
use worker_client::framing::decode_schema;
use worker_client::methods::{AttachScope, SchemaObjectsScope, SchemaScope};
use worker_client::records::{CatalogAttachRequest, SchemaObjectType};
use worker_client::{Client, ConnectOptions};

fn fields(schema_bytes: &[u8]) -> String {
    match decode_schema(schema_bytes) {
        Ok(s) => s
            .fields()
            .iter()
            .map(|f| {
                let md = if f.metadata().is_empty() { String::new() } else { format!("{:?}", f.metadata()) };
                format!("{}: {}{}", f.name(), f.data_type(), md)
            })
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("<{e}>"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let location = args.next().ok_or("usage: describe_worker LOCATION [CATALOG]")?;
    let mut client = Client::connect(&location, &ConnectOptions::default())?;
    let catalogs = client.catalogs()?;
    println!("catalogs: {:?}", catalogs.iter().map(|c| &c.name).collect::<Vec<_>>());
    let name = args.next().unwrap_or_else(|| catalogs[0].name.clone());
    let attached = client.attach(&CatalogAttachRequest { name: name.clone(), ..Default::default() })?;
    let scope = AttachScope { attach_opaque_data: attached.attach_opaque_data.clone(), transaction_opaque_data: None };
    for schema in client.schemas(&scope)? {
        println!("schema {:?} {:?}", schema.path, schema.estimated_object_count);
        let at = SchemaScope { attach_opaque_data: scope.attach_opaque_data.clone(), path: schema.path.clone(), transaction_opaque_data: None };
        for t in client.tables(&at)? {
            println!("  table {}({})", t.name, fields(&t.columns.0));
        }
        for kind in [SchemaObjectType::TableFunction, SchemaObjectType::ScalarFunction, SchemaObjectType::AggregateFunction] {
            let fs = SchemaObjectsScope { attach_opaque_data: scope.attach_opaque_data.clone(), path: schema.path.clone(), r#type: kind, transaction_opaque_data: None };
            for f in client.functions(&fs)? {
                println!("  {:?} {}({}) -> ({})", f.function_type, f.name, fields(&f.arguments.0 .0), fields(&f.output_schema.0 .0));
            }
        }
    }
    Ok(())
}
