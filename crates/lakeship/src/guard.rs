//! Guards between hostile bytes and the Parquet crate.
//!
//! Custom Security Lake sources write their own Parquet, and any object can
//! be corrupt. The `parquet` crate answers most corruption with an error, but
//! not all of it: a negative column-chunk offset or size trips an `assert!`
//! in `ColumnChunkMetaData::byte_range`, and a schema nested thousands of
//! levels deep overflows the stack of the recursive schema conversions (an
//! abort that no `catch_unwind` can stop). So, before the crate sees an
//! object's numbers:
//!
//! * [`schema_depth`] walks the footer's Thrift bytes (without recursion)
//!   and the reader refuses schemas nested deeper than [`MAX_SCHEMA_DEPTH`];
//! * [`check_footer_numbers`] refuses negative or out-of-object offsets,
//!   sizes and counts, and [`check_schema_shapes`] schema shapes the Arrow
//!   conversion panics on;
//! * [`check_pages`] walks a column chunk's page headers before it is
//!   decoded (dictionary encodings without a dictionary page, empty data
//!   pages);
//! * [`contain_panics`] turns a panic that still escapes the crate into an
//!   error of that one object (the last resort; `panic = "unwind"` is set for
//!   release builds so it works there too).

use std::panic::{AssertUnwindSafe, catch_unwind};

use parquet::basic::ConvertedType;
use parquet::file::metadata::ParquetMetaData;
use parquet::schema::types::Type;

/// The deepest schema nesting (groups below the root: structs, lists, maps,
/// each list or map counting two levels) Lakeship reads. OCSF 1.1.0 objects
/// are at most about 12 levels deep; deeper schemas are refused as
/// `Lakeship.InvalidObject` before any reader is built.
pub(crate) const MAX_SCHEMA_DEPTH: usize = 64;

/// The largest Parquet footer Lakeship reads. Security Lake footers are
/// 10-60 KiB; a footer larger than this is refused as `Lakeship.InvalidObject`.
pub(crate) const MAX_FOOTER_BYTES: u64 = 64 * 1024 * 1024;

/// Marks the reason of an error that came from a contained panic (the
/// fuzzing harness counts these as findings).
pub(crate) const PANIC_MARKER: &str = "the Parquet reader panicked";

/// Runs `work`, turning a panic into `Err` with the panic's message. Errors
/// of `work` pass through.
pub(crate) fn contain_panics<T>(what: &str, work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            tracing::error!(what, panic = %message, "contained a panic");
            Err(format!("{what}: {PANIC_MARKER} ({message}); the object is treated as corrupt"))
        }
    }
}

/// Checks the numbers of a decoded footer that the Parquet crate trusts:
/// row counts, and for every column chunk its offsets, size and value count
/// (non-negative, inside the object of `size` bytes, after the leading
/// magic). Must run before anything calls `ColumnChunkMetaData::byte_range`.
pub(crate) fn check_footer_numbers(metadata: &ParquetMetaData, size: u64) -> Result<(), String> {
    let file_rows = metadata.file_metadata().num_rows();
    if file_rows < 0 {
        return Err(format!("the footer gives a negative row count ({file_rows})"));
    }
    let mut group_rows: i128 = 0;
    for (index, row_group) in metadata.row_groups().iter().enumerate() {
        if row_group.num_rows() < 0 {
            return Err(format!("row group {index} has a negative row count ({})", row_group.num_rows()));
        }
        group_rows += i128::from(row_group.num_rows());
        for column in row_group.columns() {
            let name = column.column_path().string();
            let numbers = [
                ("data page offset", Some(column.data_page_offset())),
                ("dictionary page offset", column.dictionary_page_offset()),
                ("compressed size", Some(column.compressed_size())),
                ("value count", Some(column.num_values())),
            ];
            for (what, value) in numbers {
                if let Some(value) = value.filter(|value| *value < 0) {
                    return Err(format!("row group {index}, column {name}: negative {what} ({value})"));
                }
            }
            let start = column.dictionary_page_offset().unwrap_or(column.data_page_offset());
            let end = i128::from(start) + i128::from(column.compressed_size());
            if start < 4 || end > i128::from(size) {
                return Err(format!("row group {index}, column {name}: bytes {start}..{end} lie outside the object ({size} bytes)"));
            }
        }
    }
    if group_rows != i128::from(file_rows) {
        return Err(format!("the footer gives {file_rows} rows, but its row groups hold {group_rows}"));
    }
    Ok(())
}

/// Refuses schema shapes that the Parquet crate's Arrow conversion panics
/// on instead of answering an error: a `MAP` group whose single child is a
/// primitive (the crate asks it for its fields).
pub(crate) fn check_schema_shapes(root: &Type) -> Result<(), String> {
    let mut pending = vec![root];
    while let Some(node) = pending.pop() {
        if node.is_primitive() {
            continue;
        }
        let fields = node.get_fields();
        let is_map = matches!(node.get_basic_info().converted_type(), ConvertedType::MAP | ConvertedType::MAP_KEY_VALUE);
        if is_map && fields.len() == 1 && fields[0].is_primitive() {
            return Err(format!("map {} has a primitive key_value child ({})", node.name(), fields[0].name()));
        }
        pending.extend(fields.iter().map(AsRef::as_ref));
    }
    Ok(())
}

/// Checks the page headers of one column chunk (its bytes) before the
/// Parquet crate decodes it: page sizes non-negative and inside the chunk,
/// data pages that hold values, and a dictionary page before any data page
/// with a dictionary encoding (the crate panics on the last two). A header
/// that cannot be parsed here is left to the crate, which names the problem.
pub(crate) fn check_pages(chunk: &[u8]) -> Result<(), String> {
    let mut position = 0usize;
    let mut has_dictionary = false;
    while position < chunk.len() {
        let mut input = Compact { bytes: &chunk[position..], position: 0 };
        let Some(page) = input.page_header() else { return Ok(()) };
        if page.compressed_size < 0 {
            return Err(format!("page at byte {position} of the column chunk: negative size ({})", page.compressed_size));
        }
        match page.page_type {
            DICTIONARY_PAGE => has_dictionary = true,
            DATA_PAGE | DATA_PAGE_V2 => {
                if let Some(num_values) = page.num_values.filter(|num_values| *num_values <= 0) {
                    return Err(format!("data page at byte {position} of the column chunk holds {num_values} values"));
                }
                if matches!(page.encoding, Some(PLAIN_DICTIONARY | RLE_DICTIONARY)) && !has_dictionary {
                    return Err(format!("data page at byte {position} uses a dictionary encoding, but no dictionary page comes before it"));
                }
            }
            _ => {}
        }
        position = position.saturating_add(input.position).saturating_add(page.compressed_size as usize);
    }
    Ok(())
}

const DATA_PAGE: i64 = 0;
const DICTIONARY_PAGE: i64 = 2;
const DATA_PAGE_V2: i64 = 3;
const PLAIN_DICTIONARY: i64 = 2;
const RLE_DICTIONARY: i64 = 8;

/// What [`check_pages`] needs of a `PageHeader`.
#[derive(Debug)]
struct PageFacts {
    page_type: i64,
    compressed_size: i64,
    num_values: Option<i64>,
    encoding: Option<i64>,
}

/// The nesting depth of the schema in a footer's Thrift bytes (groups below
/// the root), read without recursion and without trusting any count; `None`
/// when the bytes are not a readable `FileMetaData` (the Parquet crate then
/// names the problem).
pub(crate) fn schema_depth(footer: &[u8]) -> Option<usize> {
    let children = schema_children(footer)?;
    let mut open: Vec<i64> = Vec::new();
    let mut deepest = 0;
    for num_children in children {
        if let Some(remaining) = open.last_mut() {
            *remaining -= 1;
        }
        if num_children > 0 {
            open.push(i64::from(num_children));
            deepest = deepest.max(open.len());
        }
        while open.last() == Some(&0) {
            open.pop();
        }
    }
    Some(deepest.saturating_sub(1))
}

/// The `num_children` of every `SchemaElement` of a `FileMetaData` (field 2,
/// a list of structs; field 5 of each is `num_children`), in order.
fn schema_children(footer: &[u8]) -> Option<Vec<i32>> {
    let mut input = Compact { bytes: footer, position: 0 };
    let mut last_id = 0;
    while let Some((id, field_type)) = input.field_header(&mut last_id)? {
        if id != 2 || field_type != LIST {
            input.skip(field_type, MAX_SKIP_DEPTH)?;
            continue;
        }
        let (size, element_type) = input.list_header()?;
        if element_type != STRUCT {
            return None;
        }
        let mut children = Vec::new();
        for _ in 0..size {
            children.push(input.schema_element()?);
        }
        return Some(children);
    }
    None
}

const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;
/// Nesting of Thrift values skipped while looking for the schema (the
/// `FileMetaData` definition nests about 6 deep).
const MAX_SKIP_DEPTH: u32 = 32;

/// A reader of the Thrift compact protocol, just enough to skip values.
/// Every value consumes at least one byte, so no loop outlasts the input.
struct Compact<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl Compact<'_> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.position)?;
        self.position += 1;
        Some(byte)
    }

    fn advance(&mut self, num_bytes: u64) -> Option<()> {
        let end = (self.position as u64).checked_add(num_bytes)?;
        if end > self.bytes.len() as u64 {
            return None;
        }
        self.position = end as usize;
        Some(())
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn zigzag(&mut self) -> Option<i64> {
        let value = self.varint()?;
        Some((value >> 1) as i64 ^ -((value & 1) as i64))
    }

    /// `Some(None)` at the end of a struct.
    fn field_header(&mut self, last_id: &mut i64) -> Option<Option<(i64, u8)>> {
        let header = self.byte()?;
        if header == 0 {
            return Some(None);
        }
        let delta = i64::from(header >> 4);
        let id = if delta == 0 { self.zigzag()? } else { *last_id + delta };
        *last_id = id;
        Some(Some((id, header & 0x0f)))
    }

    fn list_header(&mut self) -> Option<(u64, u8)> {
        let header = self.byte()?;
        let size = match header >> 4 {
            15 => self.varint()?,
            size => u64::from(size),
        };
        Some((size, header & 0x0f))
    }

    /// Skips a value of `field_type` (as a struct field: booleans carry no
    /// bytes of their own).
    fn skip(&mut self, field_type: u8, depth: u32) -> Option<()> {
        match field_type {
            BOOL_TRUE | BOOL_FALSE => Some(()),
            _ => self.skip_value(field_type, depth),
        }
    }

    /// Skips a value of `value_type` as an element of a list, set or map.
    fn skip_value(&mut self, value_type: u8, depth: u32) -> Option<()> {
        let depth = depth.checked_sub(1)?;
        match value_type {
            BOOL_TRUE | BOOL_FALSE | 3 => self.advance(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.advance(8),
            8 => {
                let length = self.varint()?;
                self.advance(length)
            }
            LIST | SET => {
                let (size, element_type) = self.list_header()?;
                (0..size).try_for_each(|_| self.skip_value(element_type, depth))
            }
            MAP => {
                let size = self.varint()?;
                if size == 0 {
                    return Some(());
                }
                let types = self.byte()?;
                (0..size).try_for_each(|_| {
                    self.skip_value(types >> 4, depth)?;
                    self.skip_value(types & 0x0f, depth)
                })
            }
            STRUCT => {
                let mut last_id = 0;
                while let Some((_, field_type)) = self.field_header(&mut last_id)? {
                    self.skip(field_type, depth)?;
                }
                Some(())
            }
            13 => self.advance(16),
            _ => None,
        }
    }

    /// Reads a `PageHeader` struct (type 1, compressed size 3, data page
    /// header 5 or data page header v2 8 with their value count and
    /// encoding).
    fn page_header(&mut self) -> Option<PageFacts> {
        let mut page = PageFacts { page_type: -1, compressed_size: 0, num_values: None, encoding: None };
        let mut last_id = 0;
        while let Some((id, field_type)) = self.field_header(&mut last_id)? {
            match (id, field_type) {
                (1, 5) => page.page_type = self.zigzag()?,
                (3, 5) => page.compressed_size = self.zigzag()?,
                (5 | 8, STRUCT) => {
                    let encoding_id = if id == 5 { 2 } else { 4 };
                    let mut inner_last = 0;
                    while let Some((inner, inner_type)) = self.field_header(&mut inner_last)? {
                        match (inner, inner_type) {
                            (1, 5) => page.num_values = Some(self.zigzag()?),
                            (inner, 5) if inner == encoding_id => page.encoding = Some(self.zigzag()?),
                            _ => self.skip(inner_type, MAX_SKIP_DEPTH)?,
                        }
                    }
                }
                _ => self.skip(field_type, MAX_SKIP_DEPTH)?,
            }
        }
        Some(page)
    }

    /// Reads a `SchemaElement` struct; returns its `num_children` (0 when
    /// absent).
    fn schema_element(&mut self) -> Option<i32> {
        let mut last_id = 0;
        let mut num_children = 0;
        while let Some((id, field_type)) = self.field_header(&mut last_id)? {
            if id == 5 && field_type == 5 {
                num_children = i32::try_from(self.zigzag()?).ok()?;
            } else {
                self.skip(field_type, MAX_SKIP_DEPTH)?;
            }
        }
        Some(num_children)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int32Array, RecordBatch, StructArray};
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::ParquetMetaDataReader;

    use super::*;

    /// A file whose column `deep` is a struct nested `depth` levels.
    fn nested_file(depth: usize) -> Vec<u8> {
        let mut array: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
        for _ in 0..depth {
            array = Arc::new(StructArray::try_from(vec![("child", array)]).unwrap());
        }
        let batch = RecordBatch::try_from_iter([("flat", Arc::new(Int32Array::from(vec![3, 4])) as ArrayRef), ("deep", array)]).unwrap();
        let mut bytes = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        bytes
    }

    fn footer_of(file: &[u8]) -> &[u8] {
        let length = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap()) as usize;
        &file[file.len() - 8 - length..file.len() - 8]
    }

    #[test]
    fn measures_schema_depth_without_recursion() {
        for depth in [0, 1, 5, 20] {
            let file = nested_file(depth);
            assert_eq!(schema_depth(footer_of(&file)), Some(depth), "depth {depth}");
        }
        assert_eq!(schema_depth(b"\x00"), None, "no schema field");
        assert_eq!(schema_depth(b"\x19\xfc"), None, "a list cut short");
    }

    #[test]
    fn accepts_the_numbers_of_a_good_footer() {
        let file = nested_file(2);
        let metadata = ParquetMetaDataReader::decode_metadata(footer_of(&file)).unwrap();
        check_footer_numbers(&metadata, file.len() as u64).unwrap();
        let error = check_footer_numbers(&metadata, 20).unwrap_err();
        assert!(error.contains("outside the object"), "{error}");
    }

    #[test]
    fn checks_page_headers() {
        let file = nested_file(0);
        let metadata = ParquetMetaDataReader::decode_metadata(footer_of(&file)).unwrap();
        for column in metadata.row_group(0).columns() {
            let (start, length) = column.byte_range();
            check_pages(&file[start as usize..(start + length) as usize]).unwrap();
        }
        // type DATA_PAGE, sizes 8, data page header: 2 values, RLE_DICTIONARY.
        let dictionary_data_page = [0x15, 0x00, 0x15, 0x10, 0x15, 0x10, 0x2c, 0x15, 0x04, 0x15, 0x10, 0x00, 0x00];
        let error = check_pages(&dictionary_data_page).unwrap_err();
        assert!(error.contains("no dictionary page"), "{error}");
        let empty_page = [0x15, 0x00, 0x15, 0x10, 0x15, 0x10, 0x2c, 0x15, 0x00, 0x15, 0x00, 0x00, 0x00];
        assert!(check_pages(&empty_page).unwrap_err().contains("holds 0 values"));
    }

    #[test]
    fn contains_panics() {
        let outcome: Result<(), String> = contain_panics("decoding", || panic!("boom"));
        let error = outcome.unwrap_err();
        assert!(error.contains(PANIC_MARKER) && error.contains("boom"), "{error}");
        assert_eq!(contain_panics("x", || Ok(3)), Ok(3));
    }
}
