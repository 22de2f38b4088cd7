//! Lakeship moves Amazon Security Lake data (OCSF events in Parquet objects)
//! into OpenSearch.
//!
//! This crate is the pipeline the Lambda functions link and the `lakeship`
//! CLI runs: notification parsing, object access, shard planning, reading,
//! conversion to documents, delivery, the dead-letter store, the ledger and
//! the local executor. The sample generator is `lakeship-sample`; templates,
//! dashboards, Step Functions runs and estimates are `lakeship-ops`.

pub mod aws_calls;
pub mod aws_errors;
pub mod config;
pub mod convert;
pub mod delivery;
pub mod dlq;
pub mod errors;
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
