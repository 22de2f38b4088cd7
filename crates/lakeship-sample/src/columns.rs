//! Building Arrow columns from generated rows: each function turns a slice of
//! items (rows, or `(row, index)` pairs for list elements) and an accessor
//! into one field and its array, so a class's schema and its data are written
//! in one place and cannot drift apart.
//!
//! The shapes follow Security Lake's objects (see the fixtures): lists have a
//! non-null `element`, maps are `map<string, string>` with non-null values,
//! timestamps are milliseconds in UTC.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Int32Array, Int64Array, ListArray, MapArray, RecordBatch, StructArray,
    TimestampMillisecondArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{Field, FieldRef, Fields, Schema};

/// Name of list elements (the Parquet standard's name).
const ELEMENT: &str = "element";

/// One column: its field and its array.
#[derive(Debug, Clone)]
pub(crate) struct Col {
    field: FieldRef,
    array: ArrayRef,
}

impl Col {
    fn new(name: &str, nullable: bool, array: ArrayRef) -> Col {
        Col { field: Arc::new(Field::new(name, array.data_type().clone(), nullable)), array }
    }
}

/// The record batch of top-level columns.
pub(crate) fn batch(columns: Vec<Col>) -> RecordBatch {
    let (fields, arrays): (Vec<FieldRef>, Vec<ArrayRef>) = columns.into_iter().map(|c| (c.field, c.array)).unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("a generator produced a null in a non-nullable column")
}

/// A string column; `value` returns `None` for null.
pub(crate) fn utf8<'a, T>(name: &str, nullable: bool, items: &'a [T], value: impl Fn(&'a T) -> Option<&'a str>) -> Col {
    let mut builder = StringBuilder::with_capacity(items.len(), items.len() * 16);
    for item in items {
        builder.append_option(value(item));
    }
    Col::new(name, nullable, Arc::new(builder.finish()))
}

/// A string column whose values are formatted into a scratch buffer;
/// `write` returns false for null. No allocation per value.
pub(crate) fn utf8_with<T>(name: &str, nullable: bool, items: &[T], mut write: impl FnMut(&T, &mut String) -> bool) -> Col {
    let mut builder = StringBuilder::with_capacity(items.len(), items.len() * 16);
    let mut scratch = String::with_capacity(64);
    for item in items {
        scratch.clear();
        if write(item, &mut scratch) {
            builder.append_value(&scratch);
        } else {
            builder.append_null();
        }
    }
    Col::new(name, nullable, Arc::new(builder.finish()))
}

/// A string column of dotted IPv4 addresses.
pub(crate) fn ipv4<T>(name: &str, nullable: bool, items: &[T], value: impl Fn(&T) -> Option<u32>) -> Col {
    utf8_with(name, nullable, items, |item, out| match value(item) {
        Some(address) => {
            push_ipv4(out, address);
            true
        }
        None => false,
    })
}

/// Appends `address` as a dotted quad.
pub(crate) fn push_ipv4(out: &mut String, address: u32) {
    let [a, b, c, d] = address.to_be_bytes();
    let _ = write!(out, "{a}.{b}.{c}.{d}");
}

/// Appends `value` as a lowercase UUID (8-4-4-4-12), version 4 bits set.
pub(crate) fn push_uuid(out: &mut String, value: u128) {
    let value = (value & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let (a, b, c) = ((value >> 96) as u32, (value >> 80) as u16, (value >> 64) as u16);
    let (d, e) = ((value >> 48) as u16, (value as u64) & 0xffff_ffff_ffff);
    let _ = write!(out, "{a:08x}-{b:04x}-{c:04x}-{d:04x}-{e:012x}");
}

fn validity(valid: Vec<bool>) -> Option<NullBuffer> {
    if valid.iter().all(|&v| v) { None } else { Some(NullBuffer::from(valid)) }
}

fn primitive_parts<T, V: Default>(items: &[T], value: impl Fn(&T) -> Option<V>) -> (Vec<V>, Option<NullBuffer>) {
    let mut values = Vec::with_capacity(items.len());
    let mut valid = Vec::with_capacity(items.len());
    for item in items {
        let v = value(item);
        valid.push(v.is_some());
        values.push(v.unwrap_or_default());
    }
    (values, validity(valid))
}

/// An int32 column.
pub(crate) fn int32<T>(name: &str, nullable: bool, items: &[T], value: impl Fn(&T) -> Option<i32>) -> Col {
    let (values, nulls) = primitive_parts(items, value);
    Col::new(name, nullable, Arc::new(Int32Array::new(ScalarBuffer::from(values), nulls)))
}

/// An int64 column.
pub(crate) fn int64<T>(name: &str, nullable: bool, items: &[T], value: impl Fn(&T) -> Option<i64>) -> Col {
    let (values, nulls) = primitive_parts(items, value);
    Col::new(name, nullable, Arc::new(Int64Array::new(ScalarBuffer::from(values), nulls)))
}

/// A float32 column.
pub(crate) fn float32<T>(name: &str, nullable: bool, items: &[T], value: impl Fn(&T) -> Option<f32>) -> Col {
    let (values, nulls) = primitive_parts(items, value);
    Col::new(name, nullable, Arc::new(Float32Array::new(ScalarBuffer::from(values), nulls)))
}

/// A boolean column.
pub(crate) fn boolean<T>(name: &str, nullable: bool, items: &[T], value: impl Fn(&T) -> Option<bool>) -> Col {
    let array: BooleanArray = items.iter().map(value).collect();
    Col::new(name, nullable, Arc::new(array))
}

/// A `timestamp[ms, tz=UTC]` column from epoch milliseconds.
pub(crate) fn timestamp_ms<T>(name: &str, nullable: bool, items: &[T], value: impl Fn(&T) -> Option<i64>) -> Col {
    let (values, nulls) = primitive_parts(items, value);
    let array = TimestampMillisecondArray::new(ScalarBuffer::from(values), nulls).with_timezone("UTC");
    Col::new(name, nullable, Arc::new(array))
}

/// A struct column that is never null at the struct level.
pub(crate) fn structure(name: &str, nullable: bool, children: Vec<Col>) -> Col {
    structure_with_nulls(name, nullable, None, children)
}

/// A struct column that is null where `valid` is false. Children should be
/// null there too (non-nullable children must be).
pub(crate) fn structure_where<T>(name: &str, items: &[T], valid: impl Fn(&T) -> bool, children: Vec<Col>) -> Col {
    let nulls = validity(items.iter().map(valid).collect());
    structure_with_nulls(name, true, nulls, children)
}

fn structure_with_nulls(name: &str, nullable: bool, nulls: Option<NullBuffer>, children: Vec<Col>) -> Col {
    let (fields, arrays): (Vec<FieldRef>, Vec<ArrayRef>) = children.into_iter().map(|c| (c.field, c.array)).unzip();
    let array = StructArray::try_new(Fields::from(fields), arrays, nulls).unwrap_or_else(|error| panic!("struct {name}: {error}"));
    Col::new(name, nullable, Arc::new(array))
}

/// The elements of list columns: `(item, position within the item's list)`.
pub(crate) type Elements<'a, T> = Vec<(&'a T, usize)>;

fn flatten<'a, T>(items: &'a [T], count: impl Fn(&'a T) -> Option<usize>) -> (Elements<'a, T>, OffsetBuffer<i32>, Option<NullBuffer>) {
    let mut elements = Vec::new();
    let mut lengths = Vec::with_capacity(items.len());
    let mut valid = Vec::with_capacity(items.len());
    for item in items {
        let length = count(item);
        valid.push(length.is_some());
        let length = length.unwrap_or(0);
        lengths.push(length);
        elements.extend((0..length).map(|position| (item, position)));
    }
    (elements, OffsetBuffer::from_lengths(lengths), validity(valid))
}

/// A list column: `count` gives each item's list length (`None` for a null
/// list); `element` builds the element column (name it [`element_name`])
/// from all elements in order.
pub(crate) fn list<'a, T>(
    name: &str,
    items: &'a [T],
    count: impl Fn(&'a T) -> Option<usize>,
    element: impl FnOnce(&[(&'a T, usize)]) -> Col,
) -> Col {
    let (elements, offsets, nulls) = flatten(items, count);
    let element = element(&elements);
    let array = ListArray::try_new(element.field, offsets, element.array, nulls).unwrap_or_else(|error| panic!("list {name}: {error}"));
    Col::new(name, true, Arc::new(array))
}

/// The name list element columns must have.
pub(crate) fn element_name() -> &'static str {
    ELEMENT
}

/// A list of non-null strings.
pub(crate) fn string_list<'a, T>(
    name: &str,
    items: &'a [T],
    count: impl Fn(&'a T) -> Option<usize>,
    value: impl Fn(&'a T, usize) -> &'a str,
) -> Col {
    list(name, items, count, |elements| utf8(ELEMENT, false, elements, |(item, position)| Some(value(item, *position))))
}

/// A `map<string, string>` column with non-null keys and values; `count`
/// gives each item's number of entries (`None` for a null map).
pub(crate) fn string_map<'a, T>(
    name: &str,
    items: &'a [T],
    count: impl Fn(&'a T) -> Option<usize>,
    entry: impl Fn(&'a T, usize) -> (&'a str, &'a str),
) -> Col {
    let (elements, offsets, nulls) = flatten(items, count);
    let keys = utf8("key", false, &elements, |(item, position)| Some(entry(item, *position).0));
    let values = utf8("value", false, &elements, |(item, position)| Some(entry(item, *position).1));
    let entries = structure("key_value", false, vec![keys, values]);
    let entries_array = entries.array.as_any().downcast_ref::<StructArray>().cloned().expect("entries are a struct");
    let array =
        MapArray::try_new(entries.field, offsets, entries_array, nulls, false).unwrap_or_else(|error| panic!("map {name}: {error}"));
    Col::new(name, true, Arc::new(array))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_addresses_and_uuids() {
        let mut out = String::new();
        push_ipv4(&mut out, 0x0a00_0105);
        assert_eq!(out, "10.0.1.5");
        out.clear();
        push_uuid(&mut out, u128::MAX);
        assert_eq!(out, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }

    #[test]
    fn builds_nested_columns() {
        let rows = [vec!["a", "b"], vec![]];
        let list = string_list("tags", &rows, |row| (!row.is_empty()).then_some(row.len()), |row, i| row[i]);
        let count = int32("n", false, &rows, |row| Some(row.len() as i32));
        let record = batch(vec![structure("s", false, vec![list, count])]);
        assert_eq!(record.num_rows(), 2);
        let expected = "Struct(\"tags\": List(non-null Utf8, field: 'element'), \"n\": non-null Int32)";
        assert_eq!(format!("{}", record.schema().field(0).data_type()), expected);
    }
}
