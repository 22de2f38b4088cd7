//! Local file access, with the same semantics as the S3 backend.

use std::fs::File;
use std::io::ErrorKind;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{ObjectError, ObjectRef, ObjectTail, Result};

fn io_error(path: &Path, error: &std::io::Error) -> ObjectError {
    let location = path.display().to_string();
    match error.kind() {
        ErrorKind::NotFound => ObjectError::NotFound { location },
        ErrorKind::PermissionDenied => ObjectError::AccessDenied { location, message: error.to_string() },
        _ => ObjectError::Other { location, message: error.to_string() },
    }
}

async fn blocking<T: Send + 'static>(path: &Path, work: impl FnOnce(PathBuf) -> std::io::Result<T> + Send + 'static) -> Result<T> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || work(owned))
        .await
        .map_err(|error| ObjectError::Other { location: path.display().to_string(), message: format!("file task failed: {error}") })?
        .map_err(|error| io_error(path, &error))
}

fn read_at(file: &File, offset: u64, len: usize) -> std::io::Result<Bytes> {
    let mut buffer = vec![0u8; len];
    file.read_exact_at(&mut buffer, offset)?;
    Ok(Bytes::from(buffer))
}

pub(super) async fn get_tail(path: &Path, num_bytes: u64) -> Result<ObjectTail> {
    blocking(path, move |path| {
        let file = File::open(&path)?;
        let size = file.metadata()?.len();
        let len = num_bytes.min(size);
        let bytes = read_at(&file, size - len, len as usize)?;
        Ok(ObjectTail { bytes, size, etag: None, version_id: None })
    })
    .await
}

pub(super) async fn get_range(path: &Path, range: Range<u64>) -> Result<Bytes> {
    blocking(path, move |path| {
        let file = File::open(&path)?;
        read_at(&file, range.start, (range.end - range.start) as usize)
    })
    .await
}

pub(super) async fn content_hash(path: &Path) -> Result<String> {
    blocking(path, |path| {
        use sha2::{Digest, Sha256};
        use std::io::Read;
        let mut file = File::open(&path)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
        }
        Ok(hasher.finalize()[..16].iter().map(|byte| format!("{byte:02x}")).collect())
    })
    .await
}

pub(super) async fn get_whole(path: &Path) -> Result<Bytes> {
    blocking(path, |path| std::fs::read(path).map(Bytes::from)).await
}

pub(super) async fn put(path: &Path, body: Bytes) -> Result<()> {
    blocking(path, move |path| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Write to a temporary name first so readers never see half a file.
        let temporary = path.with_extension("partial");
        std::fs::write(&temporary, &body)?;
        std::fs::rename(&temporary, &path)
    })
    .await
}

pub(super) async fn delete(path: &Path) -> Result<()> {
    blocking(path, |path| match std::fs::remove_file(path) {
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    })
    .await
}

pub(super) async fn list(path: &Path) -> Result<Vec<ObjectRef>> {
    blocking(path, |root| {
        let mut files = Vec::new();
        if root.is_file() {
            let size = root.metadata()?.len();
            files.push(ObjectRef::local(&root).with_size(Some(size)));
            return Ok(files);
        }
        let mut pending = vec![root];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let file_type = entry.file_type()?;
                let name = entry.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                if file_type.is_dir() {
                    pending.push(entry.path());
                } else if file_type.is_file() {
                    let size = entry.metadata()?.len();
                    files.push(ObjectRef::local(entry.path()).with_size(Some(size)));
                }
            }
        }
        files.sort();
        Ok(files)
    })
    .await
}
