//! A JSON writer compiled from the Arrow schema once per record batch.
//!
//! Every column becomes an [`Enc`] holding typed slices of its buffers, so
//! writing a value is one `match` and a copy; object keys are escaped once per
//! batch, and dictionary values once per dictionary (cached across batches).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, BinaryViewArray, FixedSizeBinaryArray, StringViewArray, StructArray};
use arrow_buffer::{BooleanBuffer, NullBuffer, i256};
use arrow_schema::{DataType, Fields, IntervalUnit, TimeUnit};
use base64::Engine;

use super::ConvertError;
use super::json::{key_with_comma, put, write_float, write_int, write_str};
use crate::time::{write_date, write_time_of_day, write_timestamp};

/// Dictionary values encoded once: value `i` is `bytes[ends[i-1]..ends[i]]`.
#[derive(Debug)]
pub(crate) struct PreEncoded {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl PreEncoded {
    fn build(values: &Enc<'_>, nulls: Option<&NullBuffer>, len: usize, key: &[u8]) -> PreEncoded {
        let mut bytes = Vec::with_capacity(len * (16 + key.len()));
        let mut ends = Vec::with_capacity(len);
        for index in 0..len {
            bytes.extend_from_slice(key);
            if nulls.is_none_or(|nulls| nulls.is_valid(index)) {
                values.write(index, &mut bytes);
            } else {
                bytes.extend_from_slice(b"null");
            }
            ends.push(bytes.len() as u32);
        }
        PreEncoded { bytes, ends }
    }

    #[inline(always)]
    fn get(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] as usize };
        &self.bytes[start..self.ends[index] as usize]
    }
}

/// Pre-encoded dictionaries kept across the batches of a column chunk. An
/// entry is reused only while the very same values array (same `Arc`) comes
/// back, which the Parquet reader does for every batch of a dictionary page.
#[derive(Debug, Default)]
pub(crate) struct DictionaryCache {
    slots: Vec<Option<(ArrayRef, Arc<PreEncoded>)>>,
}

/// Compilation state: the dictionary cache and the next dictionary slot,
/// and the fields left out because their type has no JSON form.
pub(crate) struct Compiler<'c> {
    cache: &'c mut DictionaryCache,
    next_slot: usize,
    num_rows: usize,
    /// Names of the structs being compiled, outermost first.
    path: Vec<String>,
    /// Dotted paths of the fields left out.
    dropped: Vec<String>,
}

impl<'c> Compiler<'c> {
    pub(crate) fn new(cache: &'c mut DictionaryCache, num_rows: usize) -> Self {
        Compiler { cache, next_slot: 0, num_rows, path: Vec::new(), dropped: Vec::new() }
    }

    /// The fields left out so far (dotted paths).
    pub(crate) fn take_dropped(&mut self) -> Vec<String> {
        std::mem::take(&mut self.dropped)
    }

    fn dictionary_table(&mut self, values: &ArrayRef, key: Option<&[u8]>) -> Result<Option<Arc<PreEncoded>>, ConvertError> {
        let slot = self.next_slot;
        self.next_slot += 1;
        if self.cache.slots.len() <= slot {
            self.cache.slots.resize_with(slot + 1, || None);
        }
        if let Some((cached_values, table)) = &self.cache.slots[slot]
            && Arc::ptr_eq(cached_values, values)
        {
            return Ok(Some(table.clone()));
        }
        // A dictionary much larger than the batch is cheaper to encode lazily.
        if values.len() > self.num_rows.max(1024) * 2 {
            return Ok(None);
        }
        let enc = self.compile(values.as_ref())?;
        let table = Arc::new(PreEncoded::build(&enc, values.logical_nulls().as_ref(), values.len(), key.unwrap_or_default()));
        self.cache.slots[slot] = Some((values.clone(), table.clone()));
        Ok(Some(table))
    }
}

/// The formatted date of the last day seen: consecutive events mostly fall
/// on the same day, so the calendar arithmetic runs once per day, not per
/// value.
#[derive(Debug, Default)]
pub(crate) struct DayCache {
    day: std::cell::Cell<Option<i64>>,
    text: std::cell::Cell<[u8; 10]>,
}

impl DayCache {
    #[inline]
    fn write_timestamp(&self, out: &mut Vec<u8>, value: i64, unit: TimeUnit) {
        let per_day: i64 = match unit {
            TimeUnit::Second => 86_400,
            TimeUnit::Millisecond => 86_400_000,
            TimeUnit::Microsecond => 86_400_000_000,
            TimeUnit::Nanosecond => 86_400_000_000_000,
        };
        let day = value.div_euclid(per_day);
        if self.day.get() != Some(day) {
            let mut text = Vec::with_capacity(12);
            write_date(&mut text, day);
            let Ok(fixed) = <[u8; 10]>::try_from(text.as_slice()) else {
                // Years beyond four digits: no caching.
                write_timestamp(out, value, unit);
                return;
            };
            self.text.set(fixed);
            self.day.set(Some(day));
        }
        put(out, &self.text.get());
        out.push(b'T');
        crate::time::write_time_of_day(out, value.rem_euclid(per_day), unit);
        if unit == TimeUnit::Second {
            put(out, b".000");
        }
        out.push(b'Z');
    }
}

/// Dictionary keys of any integer type.
pub(crate) enum Keys<'a> {
    Int8(&'a [i8]),
    Int16(&'a [i16]),
    Int32(&'a [i32]),
    Int64(&'a [i64]),
    UInt8(&'a [u8]),
    UInt16(&'a [u16]),
    UInt32(&'a [u32]),
    UInt64(&'a [u64]),
}

impl Keys<'_> {
    #[inline(always)]
    fn get(&self, index: usize) -> usize {
        match self {
            Keys::Int8(keys) => keys[index] as usize,
            Keys::Int16(keys) => keys[index] as usize,
            Keys::Int32(keys) => keys[index] as usize,
            Keys::Int64(keys) => keys[index] as usize,
            Keys::UInt8(keys) => keys[index] as usize,
            Keys::UInt16(keys) => keys[index] as usize,
            Keys::UInt32(keys) => keys[index] as usize,
            Keys::UInt64(keys) => keys[index] as usize,
        }
    }
}

/// List offsets of either width.
pub(crate) enum Offsets<'a> {
    Small(&'a [i32]),
    Large(&'a [i64]),
}

impl Offsets<'_> {
    #[inline(always)]
    fn range(&self, index: usize) -> std::ops::Range<usize> {
        match self {
            Offsets::Small(offsets) => offsets[index] as usize..offsets[index + 1] as usize,
            Offsets::Large(offsets) => offsets[index] as usize..offsets[index + 1] as usize,
        }
    }
}

/// One value writer per column (and per nested child).
pub(crate) enum Enc<'a> {
    Bool(&'a BooleanBuffer),
    Int8(&'a [i8]),
    Int16(&'a [i16]),
    Int32(&'a [i32]),
    Int64(&'a [i64]),
    UInt8(&'a [u8]),
    UInt16(&'a [u16]),
    UInt32(&'a [u32]),
    UInt64(&'a [u64]),
    Float16(&'a [half::f16]),
    Float32(&'a [f32]),
    Float64(&'a [f64]),
    Utf8 {
        offsets: &'a [i32],
        data: &'a [u8],
    },
    LargeUtf8 {
        offsets: &'a [i64],
        data: &'a [u8],
    },
    Utf8View(&'a StringViewArray),
    Binary {
        offsets: &'a [i32],
        data: &'a [u8],
    },
    LargeBinary {
        offsets: &'a [i64],
        data: &'a [u8],
    },
    BinaryView(&'a BinaryViewArray),
    FixedSizeBinary(&'a FixedSizeBinaryArray),
    Timestamp(&'a [i64], TimeUnit, DayCache),
    Date32(&'a [i32]),
    Date64(&'a [i64]),
    Time32(&'a [i32], TimeUnit),
    Time64(&'a [i64], TimeUnit),
    /// Values of an all-null type (only met inside lists and maps, whose
    /// null elements are left out).
    Null,
    /// Intervals, as `{"months":…,"days":…,"nanoseconds":…}` (the parts the
    /// unit has).
    Interval(&'a dyn Array, IntervalUnit),
    Decimal32(&'a [i32], i8),
    Decimal64(&'a [i64], i8),
    Decimal128(&'a [i128], i8),
    Decimal256(&'a [i256], i8),
    Dictionary {
        keys: Keys<'a>,
        table: Arc<PreEncoded>,
    },
    /// A dictionary whose table entries carry the field key: `,"key":value`.
    KeyedDictionary {
        keys: Keys<'a>,
        table: Arc<PreEncoded>,
    },
    LazyDictionary {
        keys: Keys<'a>,
        values: Box<Enc<'a>>,
    },
    List {
        offsets: Offsets<'a>,
        child: Box<Enc<'a>>,
        child_nulls: Option<NullBuffer>,
    },
    FixedSizeList {
        size: usize,
        child: Box<Enc<'a>>,
        child_nulls: Option<NullBuffer>,
    },
    Map {
        offsets: &'a [i32],
        keys: Box<Enc<'a>>,
        values: Box<Enc<'a>>,
        value_nulls: Option<NullBuffer>,
    },
    Struct(StructEnc<'a>),
}

/// One field of an object: its pre-escaped key, its (logical) validity and
/// its value writer.
pub(crate) struct FieldEnc<'a> {
    key: Box<[u8]>,
    nulls: Option<NullBuffer>,
    enc: Enc<'a>,
}

/// The fields of a struct (or of a whole record batch).
pub(crate) struct StructEnc<'a> {
    fields: Vec<FieldEnc<'a>>,
}

impl<'a> StructEnc<'a> {
    /// Compiles the fields of a record batch or struct array.
    pub(crate) fn compile(compiler: &mut Compiler<'_>, fields: &Fields, columns: &'a [ArrayRef]) -> Result<Self, ConvertError> {
        let mut encs = Vec::with_capacity(fields.len());
        for (field, column) in fields.iter().zip(columns) {
            if column.data_type() == &DataType::Null || column.null_count() == column.len() {
                // Nothing to write; keep the dictionary slots aligned anyway.
                compiler.skip_slots(column.data_type());
                continue;
            }
            let key = key_with_comma(field.name());
            compiler.path.push(field.name().clone());
            let enc = match column.data_type() {
                DataType::Dictionary(_, _) => compiler.compile_keyed_dictionary(column.as_ref(), &key),
                _ => compiler.compile(column.as_ref()),
            };
            let path = compiler.path.join(".");
            compiler.path.pop();
            match enc {
                Ok(enc) => encs.push(FieldEnc { key, nulls: column.logical_nulls(), enc }),
                // A type with no JSON form: the field is left out, the rest
                // of the row converts.
                Err(ConvertError::UnsupportedType { data_type, .. }) => compiler.dropped.push(format!("{path} ({data_type})")),
            }
        }
        Ok(StructEnc { fields: encs })
    }

    /// Writes the present fields of row `index` as `"key":value` pairs,
    /// comma-separated. Returns true if anything was written.
    #[inline]
    pub(crate) fn write_fields(&self, index: usize, out: &mut Vec<u8>) -> bool {
        let mut first = true;
        for field in &self.fields {
            if field.nulls.as_ref().is_none_or(|nulls| nulls.is_valid(index)) {
                match &field.enc {
                    // The table holds `,"key":value` already.
                    Enc::KeyedDictionary { keys, table } => put(out, &table.get(keys.get(index))[usize::from(first)..]),
                    enc => {
                        put(out, &field.key[usize::from(first)..]);
                        enc.write(index, out);
                    }
                }
                first = false;
            }
        }
        !first
    }
}

impl Compiler<'_> {
    /// Advances the dictionary slot counter past every dictionary of a type
    /// that is skipped in this batch, so slots stay stable between batches.
    fn skip_slots(&mut self, data_type: &DataType) {
        match data_type {
            DataType::Dictionary(_, values) => {
                self.next_slot += 1;
                self.skip_slots(values);
            }
            DataType::List(child) | DataType::LargeList(child) | DataType::FixedSizeList(child, _) | DataType::Map(child, _) => {
                self.skip_slots(child.data_type())
            }
            DataType::Struct(fields) => {
                for field in fields {
                    self.skip_slots(field.data_type());
                }
            }
            _ => {}
        }
    }

    /// Compiles the writer of one array.
    pub(crate) fn compile<'x>(&mut self, array: &'x dyn Array) -> Result<Enc<'x>, ConvertError> {
        Ok(match array.data_type() {
            DataType::Boolean => Enc::Bool(array.as_boolean().values()),
            DataType::Int8 => Enc::Int8(array.as_primitive::<Int8Type>().values()),
            DataType::Int16 => Enc::Int16(array.as_primitive::<Int16Type>().values()),
            DataType::Int32 => Enc::Int32(array.as_primitive::<Int32Type>().values()),
            DataType::Int64 => Enc::Int64(array.as_primitive::<Int64Type>().values()),
            DataType::UInt8 => Enc::UInt8(array.as_primitive::<UInt8Type>().values()),
            DataType::UInt16 => Enc::UInt16(array.as_primitive::<UInt16Type>().values()),
            DataType::UInt32 => Enc::UInt32(array.as_primitive::<UInt32Type>().values()),
            DataType::UInt64 => Enc::UInt64(array.as_primitive::<UInt64Type>().values()),
            DataType::Float16 => Enc::Float16(array.as_primitive::<Float16Type>().values()),
            DataType::Float32 => Enc::Float32(array.as_primitive::<Float32Type>().values()),
            DataType::Float64 => Enc::Float64(array.as_primitive::<Float64Type>().values()),
            DataType::Utf8 => {
                let strings = array.as_string::<i32>();
                Enc::Utf8 { offsets: strings.value_offsets(), data: strings.value_data() }
            }
            DataType::LargeUtf8 => {
                let strings = array.as_string::<i64>();
                Enc::LargeUtf8 { offsets: strings.value_offsets(), data: strings.value_data() }
            }
            DataType::Utf8View => Enc::Utf8View(array.as_string_view()),
            DataType::Binary => {
                let binary = array.as_binary::<i32>();
                Enc::Binary { offsets: binary.value_offsets(), data: binary.value_data() }
            }
            DataType::LargeBinary => {
                let binary = array.as_binary::<i64>();
                Enc::LargeBinary { offsets: binary.value_offsets(), data: binary.value_data() }
            }
            DataType::BinaryView => Enc::BinaryView(array.as_binary_view()),
            DataType::FixedSizeBinary(_) => Enc::FixedSizeBinary(array.as_fixed_size_binary()),
            DataType::Timestamp(unit, _) => Enc::Timestamp(timestamp_values(array, *unit), *unit, DayCache::default()),
            DataType::Date32 => Enc::Date32(array.as_primitive::<Date32Type>().values()),
            DataType::Date64 => Enc::Date64(array.as_primitive::<Date64Type>().values()),
            DataType::Time32(unit) => Enc::Time32(
                match unit {
                    TimeUnit::Second => array.as_primitive::<Time32SecondType>().values(),
                    _ => array.as_primitive::<Time32MillisecondType>().values(),
                },
                *unit,
            ),
            DataType::Time64(unit) => Enc::Time64(
                match unit {
                    TimeUnit::Microsecond => array.as_primitive::<Time64MicrosecondType>().values(),
                    _ => array.as_primitive::<Time64NanosecondType>().values(),
                },
                *unit,
            ),
            DataType::Duration(unit) => Enc::Int64(match unit {
                TimeUnit::Second => array.as_primitive::<DurationSecondType>().values(),
                TimeUnit::Millisecond => array.as_primitive::<DurationMillisecondType>().values(),
                TimeUnit::Microsecond => array.as_primitive::<DurationMicrosecondType>().values(),
                TimeUnit::Nanosecond => array.as_primitive::<DurationNanosecondType>().values(),
            }),
            DataType::Null => Enc::Null,
            DataType::Interval(unit) => Enc::Interval(array, *unit),
            DataType::Decimal32(_, scale) => Enc::Decimal32(array.as_primitive::<Decimal32Type>().values(), *scale),
            DataType::Decimal64(_, scale) => Enc::Decimal64(array.as_primitive::<Decimal64Type>().values(), *scale),
            DataType::Decimal128(_, scale) => Enc::Decimal128(array.as_primitive::<Decimal128Type>().values(), *scale),
            DataType::Decimal256(_, scale) => Enc::Decimal256(array.as_primitive::<Decimal256Type>().values(), *scale),
            DataType::Dictionary(_, _) => self.compile_dictionary(array)?,
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                Enc::List {
                    offsets: Offsets::Small(list.value_offsets()),
                    child: Box::new(self.compile(list.values().as_ref())?),
                    child_nulls: list.values().logical_nulls(),
                }
            }
            DataType::LargeList(_) => {
                let list = array.as_list::<i64>();
                Enc::List {
                    offsets: Offsets::Large(list.value_offsets()),
                    child: Box::new(self.compile(list.values().as_ref())?),
                    child_nulls: list.values().logical_nulls(),
                }
            }
            DataType::FixedSizeList(_, size) => {
                let list = array.as_fixed_size_list();
                Enc::FixedSizeList {
                    size: *size as usize,
                    child: Box::new(self.compile(list.values().as_ref())?),
                    child_nulls: list.values().logical_nulls(),
                }
            }
            DataType::Map(_, _) => {
                let map = array.as_map();
                Enc::Map {
                    offsets: map.value_offsets(),
                    keys: Box::new(self.compile(map.keys().as_ref())?),
                    values: Box::new(self.compile(map.values().as_ref())?),
                    value_nulls: map.values().logical_nulls(),
                }
            }
            DataType::Struct(_) => {
                let structs: &StructArray = array.as_struct();
                Enc::Struct(StructEnc::compile(self, structs.fields(), structs.columns())?)
            }
            other => return Err(ConvertError::UnsupportedType { field: String::new(), data_type: other.to_string() }),
        })
    }

    fn compile_dictionary<'x>(&mut self, array: &'x dyn Array) -> Result<Enc<'x>, ConvertError> {
        let dictionary = array.as_any_dictionary();
        let keys = dictionary_keys(dictionary.keys())?;
        let values = dictionary.values();
        match self.dictionary_table(values, None)? {
            Some(table) => Ok(Enc::Dictionary { keys, table }),
            None => Ok(Enc::LazyDictionary { keys, values: Box::new(self.compile(values.as_ref())?) }),
        }
    }

    /// A dictionary field of a struct, whose table entries also carry the
    /// field's key, so writing the field is one copy.
    fn compile_keyed_dictionary<'x>(&mut self, array: &'x dyn Array, key: &[u8]) -> Result<Enc<'x>, ConvertError> {
        let dictionary = array.as_any_dictionary();
        let keys = dictionary_keys(dictionary.keys())?;
        let values = dictionary.values();
        match self.dictionary_table(values, Some(key))? {
            Some(table) => Ok(Enc::KeyedDictionary { keys, table }),
            None => Ok(Enc::LazyDictionary { keys, values: Box::new(self.compile(values.as_ref())?) }),
        }
    }
}

fn timestamp_values(array: &dyn Array, unit: TimeUnit) -> &[i64] {
    match unit {
        TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values(),
        TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().values(),
        TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().values(),
        TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().values(),
    }
}

fn dictionary_keys(keys: &dyn Array) -> Result<Keys<'_>, ConvertError> {
    Ok(match keys.data_type() {
        DataType::Int8 => Keys::Int8(keys.as_primitive::<Int8Type>().values()),
        DataType::Int16 => Keys::Int16(keys.as_primitive::<Int16Type>().values()),
        DataType::Int32 => Keys::Int32(keys.as_primitive::<Int32Type>().values()),
        DataType::Int64 => Keys::Int64(keys.as_primitive::<Int64Type>().values()),
        DataType::UInt8 => Keys::UInt8(keys.as_primitive::<UInt8Type>().values()),
        DataType::UInt16 => Keys::UInt16(keys.as_primitive::<UInt16Type>().values()),
        DataType::UInt32 => Keys::UInt32(keys.as_primitive::<UInt32Type>().values()),
        DataType::UInt64 => Keys::UInt64(keys.as_primitive::<UInt64Type>().values()),
        other => {
            return Err(ConvertError::UnsupportedType { field: String::new(), data_type: format!("dictionary keys of type {other}") });
        }
    })
}

/// Appends a decimal number from its unscaled digits.
fn write_decimal(out: &mut Vec<u8>, unscaled: &str, scale: i8) {
    let (sign, digits) = match unscaled.strip_prefix('-') {
        Some(digits) => ("-", digits),
        None => ("", unscaled),
    };
    out.extend_from_slice(sign.as_bytes());
    if scale <= 0 {
        out.extend_from_slice(digits.as_bytes());
        out.extend(std::iter::repeat_n(b'0', scale.unsigned_abs() as usize));
        if digits == "0" {
            out.truncate(out.len() - scale.unsigned_abs() as usize);
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(whole.as_bytes());
        out.push(b'.');
        out.extend_from_slice(fraction.as_bytes());
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits.as_bytes());
    }
}

/// Writes an interval as an object of its parts.
fn write_interval(out: &mut Vec<u8>, array: &dyn Array, unit: IntervalUnit, index: usize) {
    match unit {
        IntervalUnit::YearMonth => {
            put(out, b"{\"months\":");
            write_int(out, array.as_primitive::<IntervalYearMonthType>().value(index));
        }
        IntervalUnit::DayTime => {
            let value = array.as_primitive::<IntervalDayTimeType>().value(index);
            put(out, b"{\"days\":");
            write_int(out, value.days);
            put(out, b",\"milliseconds\":");
            write_int(out, value.milliseconds);
        }
        IntervalUnit::MonthDayNano => {
            let value = array.as_primitive::<IntervalMonthDayNanoType>().value(index);
            put(out, b"{\"months\":");
            write_int(out, value.months);
            put(out, b",\"days\":");
            write_int(out, value.days);
            put(out, b",\"nanoseconds\":");
            write_int(out, value.nanoseconds);
        }
    }
    out.push(b'}');
}

fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let mut encoded = String::new();
    base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut encoded);
    out.extend_from_slice(encoded.as_bytes());
    out.push(b'"');
}

impl Enc<'_> {
    /// Writes value `index` (known to be present) as JSON.
    #[inline]
    pub(crate) fn write(&self, index: usize, out: &mut Vec<u8>) {
        match self {
            Enc::Bool(values) => put(out, if values.value(index) { b"true" } else { b"false" }),
            Enc::Int8(values) => write_int(out, values[index]),
            Enc::Int16(values) => write_int(out, values[index]),
            Enc::Int32(values) => write_int(out, values[index]),
            Enc::Int64(values) => write_int(out, values[index]),
            Enc::UInt8(values) => write_int(out, values[index]),
            Enc::UInt16(values) => write_int(out, values[index]),
            Enc::UInt32(values) => write_int(out, values[index]),
            Enc::UInt64(values) => write_int(out, values[index]),
            Enc::Float16(values) => write_float(out, values[index].to_f32()),
            Enc::Float32(values) => write_float(out, values[index]),
            Enc::Float64(values) => write_float(out, values[index]),
            Enc::Utf8 { offsets, data } => write_str(out, &data[offsets[index] as usize..offsets[index + 1] as usize]),
            Enc::LargeUtf8 { offsets, data } => write_str(out, &data[offsets[index] as usize..offsets[index + 1] as usize]),
            Enc::Utf8View(strings) => write_str(out, strings.value(index).as_bytes()),
            Enc::Binary { offsets, data } => write_base64(out, &data[offsets[index] as usize..offsets[index + 1] as usize]),
            Enc::LargeBinary { offsets, data } => write_base64(out, &data[offsets[index] as usize..offsets[index + 1] as usize]),
            Enc::BinaryView(binary) => write_base64(out, binary.value(index)),
            Enc::FixedSizeBinary(binary) => write_base64(out, binary.value(index)),
            Enc::Timestamp(values, unit, days) => {
                out.push(b'"');
                days.write_timestamp(out, values[index], *unit);
                out.push(b'"');
            }
            Enc::Date32(values) => {
                out.push(b'"');
                write_date(out, i64::from(values[index]));
                out.push(b'"');
            }
            Enc::Date64(values) => {
                out.push(b'"');
                write_timestamp(out, values[index], TimeUnit::Millisecond);
                out.push(b'"');
            }
            Enc::Time32(values, unit) => {
                out.push(b'"');
                write_time_of_day(out, i64::from(values[index]), *unit);
                out.push(b'"');
            }
            Enc::Time64(values, unit) => {
                out.push(b'"');
                write_time_of_day(out, values[index], *unit);
                out.push(b'"');
            }
            Enc::Null => put(out, b"null"),
            Enc::Interval(array, unit) => write_interval(out, *array, *unit, index),
            Enc::Decimal32(values, scale) => write_decimal(out, &values[index].to_string(), *scale),
            Enc::Decimal64(values, scale) => write_decimal(out, &values[index].to_string(), *scale),
            Enc::Decimal128(values, scale) => write_decimal(out, &values[index].to_string(), *scale),
            Enc::Decimal256(values, scale) => write_decimal(out, &values[index].to_string(), *scale),
            Enc::Dictionary { keys, table } => put(out, table.get(keys.get(index))),
            Enc::KeyedDictionary { keys, table } => put(out, &table.get(keys.get(index))[1..]),
            Enc::LazyDictionary { keys, values } => values.write(keys.get(index), out),
            Enc::List { offsets, child, child_nulls } => write_array(out, offsets.range(index), child, child_nulls.as_ref()),
            Enc::FixedSizeList { size, child, child_nulls } => {
                write_array(out, index * size..(index + 1) * size, child, child_nulls.as_ref())
            }
            Enc::Map { offsets, keys, values, value_nulls } => {
                let range = offsets[index] as usize..offsets[index + 1] as usize;
                write_map(out, range, keys, values, value_nulls.as_ref())
            }
            Enc::Struct(fields) => {
                out.push(b'{');
                fields.write_fields(index, out);
                out.push(b'}');
            }
        }
    }
}

/// Writes the present elements of a list; null elements are left out.
fn write_array(out: &mut Vec<u8>, range: std::ops::Range<usize>, child: &Enc<'_>, nulls: Option<&NullBuffer>) {
    out.push(b'[');
    let mut first = true;
    for element in range {
        if nulls.is_none_or(|nulls| nulls.is_valid(element)) {
            if !first {
                out.push(b',');
            }
            child.write(element, out);
            first = false;
        }
    }
    out.push(b']');
}

/// Writes a map as a JSON object; keys that are not strings are quoted.
fn write_map(out: &mut Vec<u8>, range: std::ops::Range<usize>, keys: &Enc<'_>, values: &Enc<'_>, value_nulls: Option<&NullBuffer>) {
    out.push(b'{');
    let mut first = true;
    for entry in range {
        if value_nulls.is_some_and(|nulls| nulls.is_null(entry)) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        let key_start = out.len();
        keys.write(entry, out);
        if out.get(key_start) != Some(&b'"') {
            // A number or other literal as key: make it a JSON string.
            let literal = out.split_off(key_start);
            write_str(out, &literal);
        }
        out.push(b':');
        values.write(entry, out);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(unscaled: i128, scale: i8) -> String {
        let mut out = Vec::new();
        write_decimal(&mut out, &unscaled.to_string(), scale);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_decimals() {
        assert_eq!(decimal(12345, 2), "123.45");
        assert_eq!(decimal(-5, 3), "-0.005");
        assert_eq!(decimal(7, 0), "7");
        assert_eq!(decimal(7, -2), "700");
        assert_eq!(decimal(0, -2), "0");
    }
}
