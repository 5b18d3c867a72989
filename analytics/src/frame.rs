//! DuckDB → Polars: a query's Arrow batches copied column by column into a DataFrame.

use duckdb::Connection;
use duckdb::arrow::array::AsArray;
use duckdb::arrow::datatypes::{DataType, Date32Type, Float64Type, Int32Type, Int64Type};
use duckdb::arrow::record_batch::RecordBatch;
use polars::prelude::{Column, DataFrame, NamedFrom, Series};

use crate::{Error, Result};

/// Runs `sql` and returns the result as a DataFrame. Supported column types: BIGINT, INTEGER,
/// DOUBLE, VARCHAR, BOOLEAN and DATE (as days since 1970-01-01, Int32); cast others in SQL.
pub fn query(conn: &Connection, sql: &str) -> Result<DataFrame> {
    let started = std::time::Instant::now();
    let mut stmt = conn.prepare(sql)?;
    let batches: Vec<RecordBatch> = stmt.query_arrow([])?.collect();
    let queried = started.elapsed();
    let schema = stmt.schema();
    let height: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (c, field) in schema.fields().iter().enumerate() {
        let name = field.name().as_str().into();
        let arrays = batches.iter().map(|b| b.column(c));
        let series = match field.data_type() {
            DataType::Int64 => Series::new(
                name,
                arrays
                    .flat_map(|a| a.as_primitive::<Int64Type>().iter())
                    .collect::<Vec<_>>(),
            ),
            DataType::Int32 => Series::new(
                name,
                arrays
                    .flat_map(|a| a.as_primitive::<Int32Type>().iter())
                    .collect::<Vec<_>>(),
            ),
            DataType::Date32 => Series::new(
                name,
                arrays
                    .flat_map(|a| a.as_primitive::<Date32Type>().iter())
                    .collect::<Vec<_>>(),
            ),
            DataType::Float64 => Series::new(
                name,
                arrays
                    .flat_map(|a| a.as_primitive::<Float64Type>().iter())
                    .collect::<Vec<_>>(),
            ),
            DataType::Boolean => Series::new(
                name,
                arrays
                    .flat_map(|a| a.as_boolean().iter())
                    .collect::<Vec<_>>(),
            ),
            DataType::Utf8 => Series::new(
                name,
                arrays
                    .flat_map(|a| a.as_string::<i32>().iter())
                    .collect::<Vec<_>>(),
            ),
            DataType::LargeUtf8 => Series::new(
                name,
                arrays
                    .flat_map(|a| a.as_string::<i64>().iter())
                    .collect::<Vec<_>>(),
            ),
            DataType::Utf8View => Series::new(
                name,
                arrays
                    .flat_map(|a| a.as_string_view().iter())
                    .collect::<Vec<_>>(),
            ),
            other => {
                return Err(Error::Unsupported(format!(
                    "column {} of type {other}; cast it in SQL",
                    field.name()
                )));
            }
        };
        columns.push(Column::from(series));
    }
    tracing::debug!(
        rows = height,
        query_ms = queried.as_millis() as u64,
        convert_ms = (started.elapsed() - queried).as_millis() as u64,
        "frame"
    );
    Ok(DataFrame::new(height, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_type_crosses_over() {
        let conn = Connection::open_in_memory().unwrap();
        let df = query(
            &conn,
            "SELECT * FROM (VALUES (1::BIGINT, 2::INTEGER, 1.5::DOUBLE, 'a', true, DATE '1970-01-03'),
                                   (NULL, NULL, NULL, NULL, NULL, NULL)) t(a, b, c, d, e, f)",
        )
        .unwrap();
        assert_eq!(df.height(), 2);
        assert_eq!(df.column("a").unwrap().i64().unwrap().get(0), Some(1));
        assert_eq!(df.column("b").unwrap().i32().unwrap().get(1), None);
        assert_eq!(df.column("c").unwrap().f64().unwrap().get(0), Some(1.5));
        assert_eq!(df.column("d").unwrap().str().unwrap().get(0), Some("a"));
        assert_eq!(df.column("e").unwrap().bool().unwrap().get(0), Some(true));
        assert_eq!(df.column("f").unwrap().i32().unwrap().get(0), Some(2));
    }
}
