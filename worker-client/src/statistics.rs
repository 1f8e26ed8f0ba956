//! Column statistics as workers send them (`table_function_statistics`,
//! `catalog_table_column_statistics_get`, `TableInfo.column_statistics`): an IPC stream of
//! rows `column_name, min, max, has_null, has_not_null, distinct_count, contains_unicode,
//! max_string_length`, where `min`/`max` are sparse unions (one child per column type).
use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array, StringArray, UnionArray};

use crate::error::{Error, Result};
use crate::framing::MessageReader;

/// What a worker knows about one column's values. `None` = unknown.
#[derive(Debug, Clone)]
pub struct ColumnStatistics {
    pub column_name: String,
    /// One-element arrays of the column's (worker-side) type.
    pub min: Option<ArrayRef>,
    pub max: Option<ArrayRef>,
    pub has_null: Option<bool>,
    pub has_not_null: Option<bool>,
    pub distinct_count: Option<i64>,
}

/// Decodes a statistics IPC stream (possibly several batches).
pub fn decode_statistics(bytes: &[u8]) -> Result<Vec<ColumnStatistics>> {
    let mut reader = MessageReader::new(bytes);
    reader.read_schema()?;
    let mut out = Vec::new();
    while let Some((batch, _)) = reader.read_batch()? {
        let names = column::<StringArray>(&batch, "column_name")?;
        let min = batch.column_by_name("min").and_then(|c| c.as_any().downcast_ref::<UnionArray>().cloned());
        let max = batch.column_by_name("max").and_then(|c| c.as_any().downcast_ref::<UnionArray>().cloned());
        let has_null = column::<BooleanArray>(&batch, "has_null").ok();
        let has_not_null = column::<BooleanArray>(&batch, "has_not_null").ok();
        let distinct = column::<Int64Array>(&batch, "distinct_count").ok();
        for row in 0..batch.num_rows() {
            if names.is_null(row) {
                continue;
            }
            let flag = |a: &Option<&BooleanArray>| a.filter(|a| a.is_valid(row)).map(|a| a.value(row));
            out.push(ColumnStatistics {
                column_name: names.value(row).to_string(),
                min: min.as_ref().and_then(|u| union_value(u, row)),
                max: max.as_ref().and_then(|u| union_value(u, row)),
                has_null: flag(&has_null),
                has_not_null: flag(&has_not_null),
                distinct_count: distinct.filter(|a| a.is_valid(row)).map(|a| a.value(row)),
            });
        }
    }
    Ok(out)
}

fn column<'a, T: 'static>(batch: &'a arrow_array::RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| Error::protocol(format!("statistics batch has no `{name}` column of the expected type")))
}

/// The value of a union at `row`, as a one-element array; `None` when it is NULL.
fn union_value(union: &UnionArray, row: usize) -> Option<ArrayRef> {
    if row >= union.len() {
        return None;
    }
    let value = union.value(row);
    (value.len() == 1 && value.is_valid(0)).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch};
    use arrow_buffer::ScalarBuffer;
    use arrow_schema::{DataType, Field, Schema, UnionFields};

    #[test]
    fn decodes_sparse_union_bounds_and_flags() {
        let fields = UnionFields::try_new(vec![0], vec![Field::new("0", DataType::Int64, true)]).unwrap();
        let union = |v: i64| -> ArrayRef {
            Arc::new(
                UnionArray::try_new(fields.clone(), ScalarBuffer::from(vec![0i8]), None, vec![Arc::new(Int64Array::from(vec![v]))])
                    .unwrap(),
            )
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("column_name", DataType::Utf8, false),
            Field::new("min", union(0).data_type().clone(), true),
            Field::new("max", union(0).data_type().clone(), true),
            Field::new("has_null", DataType::Boolean, true),
            Field::new("has_not_null", DataType::Boolean, true),
            Field::new("distinct_count", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["n"])),
                union(3),
                union(99),
                Arc::new(BooleanArray::from(vec![false])),
                Arc::new(BooleanArray::from(vec![true])),
                Arc::new(Int64Array::from(vec![Some(97)])),
            ],
        )
        .unwrap();
        let bytes = crate::framing::encode_stream(&batch, &[]).unwrap();
        let stats = decode_statistics(&bytes).unwrap();
        assert_eq!(stats.len(), 1);
        let s = &stats[0];
        assert_eq!(s.column_name, "n");
        assert_eq!(s.min.as_ref().unwrap().as_any().downcast_ref::<Int64Array>().unwrap().value(0), 3);
        assert_eq!(s.max.as_ref().unwrap().as_any().downcast_ref::<Int64Array>().unwrap().value(0), 99);
        assert_eq!((s.has_null, s.has_not_null, s.distinct_count), (Some(false), Some(true), Some(97)));
    }
}
