//! Dispatch: notifications (or a backfill) in, a planned run out.
//!
//! Parses the messages, reads each object's footer (a ranged GET or two),
//! skips objects the ledger records as complete, packs row groups into
//! shards, writes the manifest and the shard list to the work area, and
//! answers with a small summary.

use futures::FutureExt;
use futures::stream::{self, StreamExt};

use crate::errors::{ErrorName, NamedError};
use crate::notification::{IgnoredMessage, NotificationError, SqsRecord, parse_batch};
use crate::object::{Location, ObjectRef};
use crate::plan::{PlannedObject, ShardTask, plan_objects};
use crate::reader::{DEFAULT_FOOTER_HINT, check_ocsf_shape, read_footer};

use super::payload::{DispatchRequest, FailedObject, RunManifest, RunSummary};
use super::{PipelineContext, backfill};
use crate::ids::{new_run_id, valid_run_id};
use crate::time::now_millis;

/// What a request resolves to: objects to consider, and what was skipped.
#[derive(Debug, Default)]
struct Resolved {
    /// Run id asked for, if any.
    pub run_id: Option<String>,
    /// Objects, in order, without duplicates.
    pub objects: Vec<ObjectRef>,
    /// Messages that could not be understood.
    pub bad_messages: Vec<NotificationError>,
    /// Messages that needed no work, with their kind and reason.
    pub ignored_messages: Vec<IgnoredMessage>,
    /// The records of the batch (to keep the bodies of unreadable ones).
    pub records: Vec<SqsRecord>,
}

/// Turns a dispatch request into the objects it names.
async fn resolve_request(context: &PipelineContext, request: DispatchRequest) -> Result<Resolved, NamedError> {
    match request {
        DispatchRequest::Records(records) => {
            let batch = parse_batch(&records);
            for error in &batch.errors {
                tracing::warn!(message_id = %error.message_id, reason = %error.reason, "{}", ErrorName::BadMessage);
            }
            for ignored in &batch.ignored {
                tracing::info!(message_id = %ignored.message_id, kind = ignored.kind.as_str(), reason = %ignored.reason, "message ignored");
            }
            Ok(Resolved {
                run_id: None,
                objects: batch.objects.into_iter().map(|(_, object)| object).collect(),
                bad_messages: batch.errors,
                ignored_messages: batch.ignored,
                records,
            })
        }
        DispatchRequest::Objects { objects, run_id } => Ok(Resolved { run_id, objects, ..Resolved::default() }),
        // `backfill::page_of` has turned a prefix into this page's objects.
        DispatchRequest::Prefix { .. } => {
            Err(NamedError::new(ErrorName::InvalidInput, "a prefix request is dispatched one page at a time (backfill::page_of)"))
        }
        DispatchRequest::WithRunId { run_id, request } => {
            let mut resolved = Box::pin(resolve_request(context, *request)).await?;
            resolved.run_id = Some(run_id);
            Ok(resolved)
        }
    }
}

/// Plans a run and writes its manifest and shard list. A prefix backfill is
/// planned one page at a time (see `backfill`); deployed, the next page is
/// started here.
pub async fn dispatch(context: &PipelineContext, request: DispatchRequest) -> Result<RunSummary, NamedError> {
    Ok(dispatch_planned(context, request).await?.0)
}

/// [`dispatch`], also answering with the shard list it planned (and wrote),
/// for a caller that works the shards itself (`local`).
pub(super) async fn dispatch_planned(
    context: &PipelineContext,
    request: DispatchRequest,
) -> Result<(RunSummary, Vec<ShardTask>), NamedError> {
    let (request, page) = Box::pin(backfill::page_of(context, request)).await?;
    let resolved = resolve_request(context, request).await?;
    let run_id = resolved.run_id.clone().unwrap_or_else(new_run_id);
    if !valid_run_id(&run_id) {
        return Err(NamedError::new(ErrorName::InvalidInput, format!("run id {run_id:?} is not usable in keys")));
    }
    let unreadable_messages = if context.keep_unreadable_messages && !resolved.bad_messages.is_empty() {
        let unreadable = super::messages::unreadable_of(&run_id, &resolved.records, &resolved.bad_messages);
        Some(super::messages::keep(&context.work, &run_id, &unreadable).await?.to_string())
    } else {
        None
    };
    let objects: Vec<ObjectRef> = resolved.objects.iter().cloned().map(ObjectRef::canonical).collect();
    let (footers, failed) = read_footers(context, &objects).await?;
    let (footers, duplicates) = one_per_identity(footers);
    let completed = if context.skip_complete {
        context.ledger.completed(&footers.iter().map(|f| f.object.clone()).collect::<Vec<_>>()).await?
    } else {
        Default::default()
    };
    let (skipped, footers): (Vec<PlannedObject>, Vec<PlannedObject>) =
        footers.into_iter().partition(|footer| completed.contains(&crate::ids::object_id(&footer.object)));
    for footer in &skipped {
        tracing::info!(object = %footer.object, "already complete in the ledger; skipped");
    }
    let skipped = skipped.into_iter().chain(duplicates);
    let (shards, objects) = plan_objects(&run_id, footers, context.plan);
    let manifest = RunManifest {
        run_id: run_id.clone(),
        created_at: now_millis(),
        shard_ids: shards.iter().map(|shard| shard.shard_id.clone()).collect(),
        objects,
        skipped: skipped.map(|footer| footer.object).collect(),
        failed,
        bad_messages: resolved.bad_messages,
        unreadable_messages,
        ignored_messages: resolved.ignored_messages,
        page: page.as_ref().map(|page| page.page),
        next_run_id: page.as_ref().and_then(|page| page.next.as_ref()).map(|next| next.run_id.clone()),
    };
    let shards_location = context.work.run_file(&run_id, "shards.json");
    let manifest_location = context.work.run_file(&run_id, "manifest.json");
    context.work.put_json(&shards_location, &shards).await?;
    context.work.put_json(&manifest_location, &manifest).await?;
    let (shards_bucket, shards_key) = match &shards_location {
        Location::S3 { bucket, key } => (bucket.clone(), key.clone()),
        Location::Local { path } => (String::new(), path.display().to_string()),
    };
    let summary = RunSummary {
        run_id,
        manifest: manifest_location.to_string(),
        shards_bucket,
        shards_key,
        num_objects: manifest.objects.len(),
        num_shards: shards.len(),
        num_rows: manifest.objects.iter().map(|object| object.num_rows).sum(),
        num_skipped: manifest.skipped.len(),
        num_failed: manifest.failed.len(),
        num_bad_messages: manifest.bad_messages.len(),
        num_ignored_messages: manifest.ignored_messages.len(),
        page: manifest.page,
        next: page.as_ref().and_then(|page| page.next.clone()),
    };
    if let Some(page) = &page {
        Box::pin(backfill::start_next(context, page)).await?;
    }
    context.work.put_json(&context.work.run_file(&summary.run_id, "summary.json"), &summary).await?;
    tracing::info!(run_id = %summary.run_id, num_objects = summary.num_objects, num_shards = summary.num_shards, num_rows = summary.num_rows, "dispatched");
    Ok((summary, shards))
}

/// Keeps the first of each object identity: the same local file named
/// twice (two spellings, a copy) is planned once. Returns the kept objects
/// and the others.
fn one_per_identity(footers: Vec<PlannedObject>) -> (Vec<PlannedObject>, Vec<PlannedObject>) {
    let mut seen = std::collections::HashMap::new();
    let (mut kept, mut duplicates) = (Vec::with_capacity(footers.len()), Vec::new());
    for footer in footers {
        let id = crate::ids::object_id(&footer.object);
        match seen.get(&id) {
            Some(first) => {
                tracing::info!(object = %footer.object, same_as = %first, "the same object as another of this run (same identity); planned once");
                duplicates.push(footer);
            }
            None => {
                seen.insert(id, footer.object.to_string());
                kept.push(footer);
            }
        }
    }
    (kept, duplicates)
}

/// Reads footers with bounded concurrency, in order, keeping of each only
/// what planning needs (a footer of an OCSF object decodes to ~50 KB per row
/// group; its planning facts are a few hundred bytes, so a page of thousands
/// of objects stays small). Bad objects are returned as failures (a panic
/// while reading one is contained to it); a transient failure fails the
/// dispatch.
async fn read_footers(context: &PipelineContext, objects: &[ObjectRef]) -> Result<(Vec<PlannedObject>, Vec<FailedObject>), NamedError> {
    let results: Vec<(ObjectRef, Result<PlannedObject, NamedError>)> = stream::iter(objects.iter().cloned())
        .map(|object| async move {
            let read = async {
                read_footer(&context.source, &object, DEFAULT_FOOTER_HINT)
                    .await
                    .and_then(|footer| check_ocsf_shape(&footer).map(|()| PlannedObject::from_footer(&footer)))
                    .map_err(NamedError::from)
            };
            let footer = std::panic::AssertUnwindSafe(read).catch_unwind().await.unwrap_or_else(|_| {
                Err(NamedError::new(ErrorName::InvalidObject, format!("{object}: {} while planning", crate::guard::PANIC_MARKER)))
            });
            (object, footer)
        })
        .buffered(context.footer_concurrency.max(1))
        .collect()
        .await;
    let mut footers = Vec::with_capacity(results.len());
    let mut failed = Vec::new();
    for (object, result) in results {
        match result {
            Ok(footer) => footers.push(footer),
            Err(error) if error.name.is_retryable() || error.name == ErrorName::Configuration => return Err(error),
            Err(error) => {
                tracing::warn!(object = %object, error = %error, "cannot plan object");
                failed.push(FailedObject { object, error });
            }
        }
    }
    Ok((footers, failed))
}
