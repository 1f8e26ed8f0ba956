//! The `Arguments` blob of bind requests (§4.1): one row of a single `args` struct column
//! whose fields are `positional_0..N` then `named_<name>`, each typed by its value.
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};
use arrow_schema::{Field, Fields, Schema};

use crate::error::{Error, Result};
use crate::framing::{decode_single_batch, encode_stream};
use crate::wire::Blob;

/// Function arguments: positional values in order, then named ones. Each value is a
/// one-element array (its Arrow type is the argument's type; a NULL may be of type `null`).
#[derive(Clone, Debug, Default)]
pub struct Arguments {
    pub positional: Vec<ArrayRef>,
    pub named: Vec<(String, ArrayRef)>,
}

impl Arguments {
    pub fn positional(values: Vec<ArrayRef>) -> Self {
        Arguments { positional: values, named: Vec::new() }
    }

    pub fn with_named(mut self, name: &str, value: ArrayRef) -> Self {
        self.named.push((name.to_string(), value));
        self
    }

    /// The `Arguments` IPC blob.
    pub fn to_blob(&self) -> Result<Blob> {
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        for (i, value) in self.positional.iter().enumerate() {
            fields.push(Field::new(format!("positional_{i}"), value.data_type().clone(), true));
            columns.push(one_value(value)?);
        }
        for (name, value) in &self.named {
            fields.push(Field::new(format!("named_{name}"), value.data_type().clone(), true));
            columns.push(one_value(value)?);
        }
        let fields = Fields::from(fields);
        let args: ArrayRef = if columns.is_empty() {
            Arc::new(StructArray::new_empty_fields(1, None))
        } else {
            Arc::new(StructArray::try_new(fields.clone(), columns, None)?)
        };
        let schema = Arc::new(Schema::new(vec![Field::new("args", args.data_type().clone(), false)]));
        Ok(Blob(encode_stream(&RecordBatch::try_new(schema, vec![args])?, &[])?))
    }

    /// Reads the layout `ScanFunctionResult.arguments` uses (`arg_0, arg_1, ...` positional
    /// columns, then one column per named argument under its bare name).
    pub fn from_scan_function_result(bytes: &[u8]) -> Result<Self> {
        let batch = decode_single_batch(bytes)?;
        // Workers send a function without arguments as a zero-row, zero-column batch.
        if batch.num_rows() == 0 && batch.num_columns() == 0 {
            return Ok(Arguments::default());
        }
        if batch.num_rows() != 1 {
            return Err(Error::protocol("scan function arguments must be one row"));
        }
        let mut positional = Vec::new();
        let mut named = Vec::new();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            match field.name().strip_prefix("arg_").and_then(|n| n.parse::<usize>().ok()) {
                Some(index) => positional.push((index, column.clone())),
                None => named.push((field.name().clone(), column.clone())),
            }
        }
        positional.sort_by_key(|(i, _)| *i);
        Ok(Arguments { positional: positional.into_iter().map(|(_, c)| c).collect(), named })
    }
}

fn one_value(value: &ArrayRef) -> Result<ArrayRef> {
    if value.len() != 1 {
        return Err(Error::InvalidArgument(format!("an argument value must be one element, got {}", value.len())));
    }
    Ok(value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::{Int64Array, StringArray};

    #[test]
    fn arguments_blob_has_positional_then_named_fields() {
        let args = Arguments::positional(vec![Arc::new(Int64Array::from(vec![3]))])
            .with_named("batch_size", Arc::new(Int64Array::from(vec![10])))
            .with_named("label", Arc::new(StringArray::from(vec!["x"])));
        let batch = decode_single_batch(&args.to_blob().unwrap().0).unwrap();
        let args = batch.column(0).as_struct();
        let names: Vec<_> = args.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["positional_0", "named_batch_size", "named_label"]);
        assert_eq!(batch.num_rows(), 1);
    }

    #[test]
    fn no_arguments_is_an_empty_struct_row() {
        let batch = decode_single_batch(&Arguments::default().to_blob().unwrap().0).unwrap();
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.column(0).as_struct().num_columns(), 0);
    }
}
