//! Lakeship moves Amazon Security Lake data (OCSF events in Parquet objects)
//! into OpenSearch.
//!
//! This crate is the pipeline the Lambda functions link and the `lakeship`
//! CLI runs: notification parsing, object access, shard planning, reading,
//! conversion to documents, delivery, the dead-letter store, the ledger and
//! the local executor. The sample generator is `lakeship-sample`; templates,
//! dashboards, Step Functions runs and estimates are `lakeship-ops`.

#![warn(missing_docs)]

pub mod aws;
pub mod config;
pub mod convert;
pub mod delivery;
pub mod dlq;
pub mod errors;
#[cfg(feature = "test-support")]
pub mod fuzzing;
pub mod guard;
pub mod ids;
pub mod ledger;
pub mod notification;
pub mod object;
pub mod ocsf;
pub mod pipeline;
pub mod plan;
pub mod reader;
pub mod starter;
pub mod stepfunctions;
pub mod time;

// What users of the crate (the Lambda adapters, the CLI, the operations
// crate, the tests) reach for most, at the root.
pub use config::Config;
pub use delivery::{DeliveryError, OpenSearchClient};
pub use errors::{ErrorName, NamedError};
pub use ledger::{LedgerEntry, Status};
pub use notification::SqsRecord;
pub use object::{Location, ObjectRef, ObjectStore};
pub use pipeline::payload::{DispatchRequest, RunSummary, ShardResult};
pub use pipeline::{PipelineContext, RunReport, dispatch, finalize, run_shard, run_shard_until};
pub use plan::ShardTask;
pub use stepfunctions::StepFunctions;
