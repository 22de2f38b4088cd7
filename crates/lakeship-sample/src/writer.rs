//! Writing objects: the Parquet writer settings (zstd, dictionary encoding,
//! row groups of `row_group_rows`), object keys, and the loop over classes,
//! versions and objects.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::context::ObjectHome;
use super::rng::{derive_seed, hash_str};
use super::values::stream;
use super::{GeneratedObject, OcsfVersion, Result, SampleClass, SampleError, SampleLayout, SampleOptions, event_day, record_batches};

/// What [`write_object`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenObject {
    /// Number of rows.
    pub num_rows: u64,
    /// Number of row groups.
    pub num_row_groups: usize,
}

fn writer_properties(options: &SampleOptions) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_dictionary_enabled(true)
        .set_max_row_group_row_count(Some(options.row_group_rows))
        .build()
}

/// Writes object `object_index` of `class` in `version` as Parquet to
/// `writer`, streaming: batches are generated one at a time and row groups
/// are flushed every [`SampleOptions::row_group_rows`] rows.
///
/// The file carries no embedded Arrow schema (as Security Lake's objects),
/// and its schema root is the OCSF class name, e.g. `network_activity`.
pub fn write_object<W: Write + Send>(
    writer: W,
    class: SampleClass,
    version: OcsfVersion,
    options: &SampleOptions,
    object_index: usize,
) -> Result<WrittenObject> {
    let batches = record_batches(class, version, options, object_index)?;
    let failed = |cause| SampleError::Parquet { object: format!("{version} {class} #{object_index}"), cause };
    let writer_options = ArrowWriterOptions::new()
        .with_properties(writer_properties(options))
        .with_skip_arrow_metadata(true)
        .with_schema_root(class.ocsf_name(version).to_string());
    let mut parquet = ArrowWriter::try_new_with_options(writer, batches.schema(), writer_options).map_err(failed)?;
    for batch in batches {
        parquet.write(&batch).map_err(failed)?;
    }
    let metadata = parquet.close().map_err(failed)?;
    Ok(WrittenObject { num_rows: metadata.file_metadata().num_rows().max(0) as u64, num_row_groups: metadata.num_row_groups() })
}

/// The key of object `object_index` of `class` in `version`, relative to
/// the output directory, in the options' layout. Deterministic: the same
/// options give the same keys.
pub fn object_key(class: SampleClass, version: OcsfVersion, options: &SampleOptions, object_index: usize) -> PathBuf {
    match options.layout {
        SampleLayout::Flat => PathBuf::from(format!("{version}/{}-{object_index}.parquet", class.ocsf_name(version))),
        SampleLayout::SecurityLake => {
            let home = ObjectHome::new(options, object_index);
            let parts = [stream::KEY, hash_str(&class.to_string()), hash_str(version.as_str()), object_index as u64];
            let name = format!("{:016x}{:016x}", derive_seed(options.seed, &parts), derive_seed(!options.seed, &parts));
            PathBuf::from(format!(
                "aws/{}/{}/region={}/accountId={}/eventDay={}/{name}.zstd.parquet",
                class.security_lake_source(),
                version.source_version(),
                home.region.name,
                home.account,
                event_day(home.start_millis),
            ))
        }
    }
}

/// Writes every object the options describe under `out_dir` (classes ×
/// versions × objects per class) and returns them in order.
pub fn generate(options: &SampleOptions, out_dir: &Path) -> Result<Vec<GeneratedObject>> {
    generate_with_progress(options, out_dir, |_| {})
}

/// [`generate`], calling `on_object` after each object is written.
///
/// Each object is written to a `.partial` file that is renamed into place
/// once complete, so a reader never sees a half-written object.
pub fn generate_with_progress(
    options: &SampleOptions,
    out_dir: &Path,
    mut on_object: impl FnMut(&GeneratedObject),
) -> Result<Vec<GeneratedObject>> {
    options.validate()?;
    let pairs = options.class_versions();
    if pairs.is_empty() || options.objects_per_class == 0 {
        return Err(SampleError::InvalidOptions("nothing to generate: no classes, versions or objects".to_string()));
    }
    let mut objects = Vec::with_capacity(pairs.len() * options.objects_per_class);
    for (class, version) in pairs {
        for object_index in 0..options.objects_per_class {
            let key = object_key(class, version, options, object_index);
            let path = out_dir.join(&key);
            let written = write_file(&path, class, version, options, object_index)?;
            let bytes = fs::metadata(&path).map_err(|cause| SampleError::Io { path: path.clone(), cause })?.len();
            let object = GeneratedObject {
                path: key,
                class,
                class_uid: class.class_uid(version),
                version,
                num_rows: written.num_rows,
                num_row_groups: written.num_row_groups,
                bytes,
            };
            on_object(&object);
            objects.push(object);
        }
    }
    Ok(objects)
}

fn write_file(
    path: &Path,
    class: SampleClass,
    version: OcsfVersion,
    options: &SampleOptions,
    object_index: usize,
) -> Result<WrittenObject> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| SampleError::Io { path, cause }
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = File::create(&partial).map_err(io_error(&partial))?;
    let mut buffered = BufWriter::with_capacity(1 << 20, file);
    let written = write_object(&mut buffered, class, version, options, object_index);
    let flushed = buffered.flush().map_err(io_error(&partial));
    let written = match written.and_then(|written| flushed.map(|()| written)) {
        Ok(written) => written,
        Err(error) => {
            let _ = fs::remove_file(&partial);
            return Err(error);
        }
    };
    fs::rename(&partial, path).map_err(io_error(path))?;
    Ok(written)
}
