//! Bounded backfills: a prefix backfill is dispatched in pages of at most
//! [`BackfillOptions::max_objects_per_run`] objects, each page a run of its
//! own. The dispatcher keeps every footer of its page in memory and its
//! manifest and shard list grow with it, so a page is bounded; the rest of
//! the prefix follows in the next page, asked for with the same prefix
//! request plus a [`Continuation`] (list after the page's last key).
//!
//! Deployed, the dispatcher starts the next page itself as an execution of
//! its own state machine, named after the first page's run id
//! (`<first>-p2`, `<first>-p3`, …). A page's bounds are written to
//! `runs/<run_id>/page.json` before the next page is started, so a retried
//! Dispatch plans the same page and asks for the same next execution (same
//! name, same input), which Step Functions answers as already started.
//! Locally (`lakeship run`) the caller runs the pages one after another.
//!
//! The default page, 2,000 objects, comes from the quotas and budgets the
//! page's runs meet (figures from the tests in `pipeline/quotas`):
//! - the Distributed Map collects every child's output into one state
//!   (256 KiB): a page has at most 16,000 shards (8 per 256 MiB object at the
//!   64 MiB target), whose `{}` outputs take 48 KB — room to spare;
//! - the dispatcher (512 MB, 5 min) reads 16 footers at a time and keeps of
//!   each only its planning facts: ~21 MB for a page of the largest names
//!   (the decoded footers themselves, ~45 KB per row group of an OCSF
//!   object, would be ~700 MB), and ~125 rounds of ranged GETs, seconds;
//! - the finalizer reads at most 16,000 shard results, 32 at a time.
//!
//! The page's own payloads do not grow with it: the Map reads the shard list
//! from S3, and the summary and the next page's request stay small.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::errors::{ErrorName, NamedError};
use crate::object::{Location, ObjectRef};
use crate::stepfunctions::{StartedExecution, StepFunctions};

use super::PipelineContext;
use super::listing::{check_days, is_wanted};
use super::payload::{Continuation, DispatchRequest, NextPage};
use super::quotas::EXECUTION_NAME_MAX_CHARS;
use crate::ids::{new_run_id, valid_run_id};

/// Default objects per run of a prefix backfill (`LAKESHIP_MAX_OBJECTS_PER_RUN`).
pub const DEFAULT_MAX_OBJECTS_PER_RUN: usize = 2_000;

/// How the next page of a backfill is started.
#[derive(Debug, Clone, Default)]
pub enum NextPages {
    /// By the caller: `lakeship run` runs the pages one after another.
    #[default]
    Caller,
    /// By the dispatcher, as an execution of this state machine (deployed:
    /// `LAKESHIP_STATE_MACHINE_ARN`, the dispatcher's own state machine).
    StateMachine {
        /// Step Functions.
        client: StepFunctions,
        /// The state machine.
        state_machine_arn: String,
    },
}

/// How prefix backfills are paged.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// Objects per run of a prefix backfill.
    pub max_objects_per_run: usize,
    /// How the next page is started.
    pub next_pages: NextPages,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        BackfillOptions { max_objects_per_run: DEFAULT_MAX_OBJECTS_PER_RUN, next_pages: NextPages::Caller }
    }
}

/// The bounds of one page, kept as `runs/<run_id>/page.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BackfillPage {
    /// The page's number (from 1).
    pub page: u32,
    /// The run id of the backfill's first page.
    pub first_run_id: String,
    /// The page lists the keys after this one.
    #[serde(default)]
    pub start_after: Option<String>,
    /// … up to this one (inclusive); none for an empty page.
    #[serde(default)]
    pub last_key: Option<String>,
    /// The next page, when objects follow.
    #[serde(default)]
    pub next: Option<NextPage>,
}

/// The run id of page `page` of the backfill whose first run is
/// `first_run_id`: `<first>-p<page>`, usable as an execution name (at most
/// 80 characters, none that Step Functions refuses; a long first id is
/// shortened and made unique with a hash of it).
pub(crate) fn page_run_id(first_run_id: &str, page: u32) -> String {
    let suffix = format!("-p{page}");
    let base: String = first_run_id.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' }).collect();
    if base.len() + suffix.len() <= EXECUTION_NAME_MAX_CHARS {
        return format!("{base}{suffix}");
    }
    let hash: String = Sha256::digest(first_run_id.as_bytes())[..4].iter().map(|byte| format!("{byte:02x}")).collect();
    let keep = EXECUTION_NAME_MAX_CHARS - suffix.len() - hash.len() - 1;
    format!("{}-{hash}{suffix}", &base[..keep])
}

/// For a prefix request: this page's objects as an objects request with its
/// run id, and the page's bounds (recorded at the first attempt, read back at
/// a retry). Any other request is returned as it is.
pub(super) async fn page_of(
    context: &PipelineContext,
    request: DispatchRequest,
) -> Result<(DispatchRequest, Option<BackfillPage>), NamedError> {
    // The outermost run id wins, as in `dispatch::resolve_request`.
    let (mut outer_run_id, mut inner) = (None, request);
    while let DispatchRequest::WithRunId { run_id, request } = inner {
        outer_run_id = outer_run_id.or(Some(run_id));
        inner = *request;
    }
    let DispatchRequest::Prefix { prefix, since, until, run_id, continuation } = inner else {
        let request = match outer_run_id {
            Some(run_id) => DispatchRequest::WithRunId { run_id, request: Box::new(inner) },
            None => inner,
        };
        return Ok((request, None));
    };
    let run_id = outer_run_id.or(run_id).unwrap_or_else(new_run_id);
    if !valid_run_id(&run_id) {
        return Err(NamedError::new(ErrorName::InvalidInput, format!("run id {run_id:?} is not usable in keys")));
    }
    let location = Location::parse(&prefix).map_err(|e| NamedError::new(ErrorName::InvalidInput, e.to_string()))?;
    check_days(since.as_deref(), until.as_deref())?;
    let record = context.work.run_file(&run_id, "page.json");
    let (objects, page) = match context.work.get_json::<BackfillPage>(&record).await? {
        Some(page) => {
            let objects = list_recorded(context, &location, since.as_deref(), until.as_deref(), &page).await?;
            (objects, page)
        }
        None => {
            let max = context.backfill.max_objects_per_run.max(1);
            let start_after = continuation.start_after.as_deref();
            let (objects, more) = list_page(context, &location, since.as_deref(), until.as_deref(), start_after, max).await?;
            let number = continuation.page.unwrap_or(1);
            let first_run_id = continuation.first_run_id.clone().unwrap_or_else(|| run_id.clone());
            let last_key = objects.last().map(|object| object.key.clone());
            let next = last_key.clone().filter(|_| more).map(|last_key| NextPage {
                run_id: page_run_id(&first_run_id, number + 1),
                request: DispatchRequest::Prefix {
                    prefix: prefix.clone(),
                    since: since.clone(),
                    until: until.clone(),
                    run_id: None,
                    continuation: Continuation {
                        start_after: Some(last_key),
                        page: Some(number + 1),
                        first_run_id: Some(first_run_id.clone()),
                    },
                },
            });
            let page = BackfillPage { page: number, first_run_id, start_after: continuation.start_after, last_key, next };
            context.work.put_json(&record, &page).await?;
            (objects, page)
        }
    };
    tracing::info!(run_id = %run_id, page = page.page, num_objects = objects.len(), more = page.next.is_some(), "backfill page");
    Ok((DispatchRequest::Objects { objects, run_id: Some(run_id) }, Some(page)))
}

/// The first `max` wanted objects after `start_after`, and whether more follow.
async fn list_page(
    context: &PipelineContext,
    location: &Location,
    since: Option<&str>,
    until: Option<&str>,
    start_after: Option<&str>,
    max: usize,
) -> Result<(Vec<ObjectRef>, bool), NamedError> {
    let mut objects = Vec::new();
    let mut more = false;
    let mut visit = |object: ObjectRef| {
        if !is_wanted(&object, since, until) {
            return true;
        }
        if objects.len() == max {
            more = true;
            return false;
        }
        objects.push(object);
        true
    };
    context.source.list_after(location, start_after, &mut visit).await.map_err(NamedError::from)?;
    Ok((objects, more))
}

/// The wanted objects of a recorded page (a retried Dispatch).
async fn list_recorded(
    context: &PipelineContext,
    location: &Location,
    since: Option<&str>,
    until: Option<&str>,
    page: &BackfillPage,
) -> Result<Vec<ObjectRef>, NamedError> {
    let Some(last_key) = page.last_key.as_deref() else { return Ok(Vec::new()) };
    let mut objects = Vec::new();
    let mut visit = |object: ObjectRef| {
        if object.key.as_str() > last_key {
            return false;
        }
        if is_wanted(&object, since, until) {
            objects.push(object);
        }
        true
    };
    context.source.list_after(location, page.start_after.as_deref(), &mut visit).await.map_err(NamedError::from)?;
    Ok(objects)
}

/// Starts the next page of a backfill when the context says the dispatcher
/// does (deployed); an execution of that name that exists already counts as
/// started (a retried Dispatch).
pub(super) async fn start_next(context: &PipelineContext, page: &BackfillPage) -> Result<(), NamedError> {
    let (Some(next), NextPages::StateMachine { client, state_machine_arn }) = (&page.next, &context.backfill.next_pages) else {
        return Ok(());
    };
    let input = serde_json::to_string(&next.request)
        .map_err(|error| NamedError::new(ErrorName::Transient, format!("cannot encode the next page's request: {error}")))?;
    match client.start_execution_once(state_machine_arn, &next.run_id, &input).await? {
        StartedExecution::New(arn) => tracing::info!(execution = %arn, page = page.page + 1, "started the next page of the backfill"),
        StartedExecution::AlreadyExists => {
            tracing::info!(name = %next.run_id, page = page.page + 1, "the next page of the backfill was started before")
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_run_ids_are_valid_execution_names() {
        assert_eq!(page_run_id("backfill-2024-03", 2), "backfill-2024-03-p2");
        assert_eq!(page_run_id("local:run.1", 3), "local-run.1-p3");
        let long = "x".repeat(80);
        let id = page_run_id(&long, 12);
        assert_eq!(id.len(), 80, "{id}");
        assert!(id.ends_with("-p12") && valid_run_id(&id), "{id}");
        assert_ne!(page_run_id(&format!("{long}a"), 12), page_run_id(&format!("{long}b"), 12), "shortened ids stay distinct");
        for (first, page) in [("20241127T101500Z-3fa2c1", 2), ("a", 999_999), (long.as_str(), u32::MAX)] {
            let id = page_run_id(first, page);
            assert!(id.len() <= EXECUTION_NAME_MAX_CHARS && valid_run_id(&id), "{id}");
            assert!(!id.contains(|c: char| " <>{}[]?*\"#%\\^|~`$&,;:/".contains(c) || c.is_control()), "{id}");
        }
    }
}
