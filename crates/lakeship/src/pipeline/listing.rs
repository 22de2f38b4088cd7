//! Listing a backfill's prefix: which objects of a Security Lake prefix a
//! run wants (Parquet, in a partition between two days).

use crate::errors::{ErrorName, NamedError};
use crate::object::{Location, ObjectRef, ObjectStore};

/// The day (`YYYYMMDD`) of a Security Lake partition in a key
/// (`eventDay=20240314` or `eventHour=2024031418`), if any.
pub(crate) fn partition_day(key: &str) -> Option<&str> {
    key.split('/')
        .find_map(|part| part.strip_prefix("eventDay=").or_else(|| part.strip_prefix("eventHour=")).and_then(|value| value.get(..8)))
}

/// Lists the Parquet objects under a prefix, keeping only the partitions
/// between `since` and `until` (inclusive, `YYYYMMDD`) when given.
pub async fn list_prefix(
    store: &ObjectStore,
    prefix: &Location,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<Vec<ObjectRef>, NamedError> {
    check_days(since, until)?;
    let listed = store.list(prefix).await.map_err(NamedError::from)?;
    Ok(listed.into_iter().filter(|object| is_wanted(object, since, until)).collect())
}

/// `Lakeship.InvalidInput` unless `since` and `until` are `YYYYMMDD`.
pub(super) fn check_days(since: Option<&str>, until: Option<&str>) -> Result<(), NamedError> {
    for day in [since, until].into_iter().flatten() {
        if day.len() != 8 || !day.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(NamedError::new(ErrorName::InvalidInput, format!("day {day:?} is not YYYYMMDD")));
        }
    }
    Ok(())
}

/// True for a Parquet object in a partition between `since` and `until`.
pub(super) fn is_wanted(object: &ObjectRef, since: Option<&str>, until: Option<&str>) -> bool {
    if !object.key.ends_with(".parquet") {
        return false;
    }
    let Some(day) = partition_day(&object.key) else { return since.is_none() && until.is_none() };
    since.is_none_or(|since| day >= since) && until.is_none_or(|until| day <= until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_partition_days() {
        assert_eq!(partition_day("aws/VPC_FLOW/2.0/region=us-east-1/accountId=1/eventDay=20240314/x.parquet"), Some("20240314"));
        assert_eq!(partition_day("aws/ROUTE53/1.0/region=us-east-1/accountId=1/eventHour=2024031418/x.parquet"), Some("20240314"));
        assert_eq!(partition_day("plain/x.parquet"), None);
    }
}
