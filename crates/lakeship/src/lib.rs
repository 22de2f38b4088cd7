//! Lakeship moves Amazon Security Lake data (OCSF events in Parquet objects)
//! into OpenSearch.
//!
//! The library holds everything the `lakeship` CLI and the three Lambda
//! functions share: notification parsing, object access, shard planning,
//! conversion to documents, delivery, the ledger and the local executor.

pub mod aws;
pub mod config;
pub mod convert;
pub mod dashboards;
pub mod delivery;
pub mod dlq;
pub mod errors;
pub mod estimate;
pub mod fuzzing;
pub mod guard;
pub mod ledger;
pub mod notification;
pub mod object;
pub mod ocsf;
pub mod pipeline;
pub mod plan;
pub mod reader;
pub mod sample;
pub mod scan;
pub mod starter;
pub mod stepfunctions;
pub mod templates;
