//! Ids that must not change between attempts: an object's id (the prefix of
//! its documents' ids and the ledger's key), a document's id, and run ids.
//! See `convert::routing` for why document ids make retries, redrives and
//! replays idempotent.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::object::ObjectRef;
use crate::time::{civil_from_millis, now_millis};

/// The id of an object's documents: 16 URL-safe base64 characters (96 bits)
/// of the SHA-256 of its identity.
pub(crate) fn object_id(object: &ObjectRef) -> String {
    let digest = Sha256::digest(object.identity().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
}

/// The id of the document of row `row` of row group `row_group`.
pub fn document_id(object_id: &str, row_group: usize, row: u64) -> String {
    format!("{object_id}-{row_group}-{row}")
}

/// A new run id: `YYYYMMDDTHHMMSSZ-xxxxxx` (UTC time and 6 random hex digits).
pub fn new_run_id() -> String {
    let millis = now_millis();
    let (year, month, day) = civil_from_millis(millis);
    let second = millis.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z-{:06x}",
        second / 3600,
        second / 60 % 60,
        second % 60,
        fastrand::u32(..0x100_0000)
    )
}

/// True if `text` is usable as a run id (safe in keys and paths).
pub(crate) fn valid_run_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= 80 && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) && !text.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_depend_on_identity_only() {
        let object = ObjectRef::s3("bucket", "key.parquet").with_etag(Some("\"e1\""));
        assert_eq!(object_id(&object), object_id(&object.clone()));
        assert_eq!(object_id(&object).len(), 16);
        let rewritten = ObjectRef::s3("bucket", "key.parquet").with_etag(Some("e2"));
        assert_ne!(object_id(&object), object_id(&rewritten));
        assert_eq!(document_id("abc", 2, 17), "abc-2-17");
    }
}
