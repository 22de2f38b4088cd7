//! Removing the rows of an object version that a newer version replaced
//! while it was being read, so a key holds the rows of its current version
//! only.
//!
//! A document's id is `<object id>-<row group>-<row>` and its object id
//! hashes the version (`ids.rs`), so the ids an old version's rows can have
//! are known from its plan without reading the (gone) bytes: every row of
//! every row group. Its rows are spread over time-suffixed indices, so they
//! are removed with `_delete_by_query` over the index prefix, by those ids
//! (an id names one version of one object: the hash of bucket, key and
//! version). Rows the newer version wrote have other ids and stay. `_delete_by_query` sees
//! what a refresh made searchable, so the indices are refreshed first
//! (every write of the old version ended before the finalizer runs).
//! <https://docs.opensearch.org/latest/api-reference/document-apis/delete-by-query/>

use reqwest::Method;
use serde_json::json;

use crate::delivery::DeliveryError;
use crate::errors::{ErrorName, NamedError};
use crate::ids::{document_id, object_id};
use crate::plan::PlannedObject;

use super::PipelineContext;

/// Ids per `_delete_by_query`: well under the 65,536 terms OpenSearch
/// accepts in one query by default (`index.max_terms_count`).
const IDS_PER_REQUEST: usize = 10_000;

/// Removes every row `objects` (superseded versions) can have written;
/// answers how many documents were deleted.
pub(crate) async fn remove_rows(context: &PipelineContext, objects: &[&PlannedObject]) -> Result<u64, NamedError> {
    if objects.is_empty() {
        return Ok(0);
    }
    let indices = format!("{}-*", context.scan.convert.index_prefix);
    request(context, Method::POST, &format!("{indices}/_refresh?ignore_unavailable=true&allow_no_indices=true"), None).await?;
    let mut num_deleted = 0;
    for planned in objects {
        let id = object_id(&planned.object);
        let ids: Vec<String> = planned
            .row_groups
            .iter()
            .flat_map(|row_group| (0..row_group.num_rows).map(|row| document_id(&id, row_group.index, row)))
            .collect();
        for chunk in ids.chunks(IDS_PER_REQUEST) {
            let query = json!({"query": {"ids": {"values": chunk}}});
            let path = format!("{indices}/_delete_by_query?conflicts=proceed&refresh=true&ignore_unavailable=true&allow_no_indices=true");
            let answer = request(context, Method::POST, &path, Some(&query)).await?;
            num_deleted += answer["deleted"].as_u64().unwrap_or(0);
        }
        tracing::info!(object = %planned.object, num_deleted, "removed the rows of a superseded version");
    }
    Ok(num_deleted)
}

async fn request(
    context: &PipelineContext,
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<serde_json::Value, NamedError> {
    let retry = crate::delivery::ControlRetry::answers_and_connections(context.delivery.retry);
    let response = context.client.json_retried(retry, method.clone(), path, body).await.map_err(NamedError::from)?;
    if !response.is_success() {
        let error = DeliveryError::Http { request: format!("{method} /{path}"), status: response.status, body: response.excerpt() };
        return Err(NamedError::new(ErrorName::Transient, format!("removing the rows of a superseded object version failed: {error}")));
    }
    response.json().map_err(NamedError::from)
}
