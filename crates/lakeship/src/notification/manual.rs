//! The manual backfill request (Lakeship's own shape):
//! `{"objects":[{"bucket":…,"key":…[,"etag":…][,"version_id":…]}]}`. Its
//! objects are taken as given, Parquet suffix or not.

use serde_json::Value;

use super::{Announced, Announcement, IgnoreKind, str_at};
use crate::object::ObjectRef;

/// The objects a manual request names.
pub(super) fn parse(objects: &Value) -> Result<Announcement, String> {
    let entries = objects.as_array().ok_or("manual request whose objects is not an array")?;
    let mut found = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let bucket = str_at(entry, "/bucket").ok_or(format!("manual request whose objects[{index}] has no bucket"))?;
        let key = str_at(entry, "/key").ok_or(format!("manual request whose objects[{index}] has no key"))?;
        let object = ObjectRef::s3(bucket, key).with_etag(str_at(entry, "/etag"));
        let object = ObjectRef { version_id: str_at(entry, "/version_id").map(str::to_string), ..object };
        found.push(Announced { object, sequencer: None });
    }
    if found.is_empty() {
        return Ok(Announcement::Ignored(IgnoreKind::EmptyRequest, "manual request with no objects".to_string()));
    }
    Ok(Announcement::Objects(found))
}
