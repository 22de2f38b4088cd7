//! Deploy-time content and operations of Lakeship, apart from the pipeline
//! the Lambda functions link (the `lakeship` crate): the OpenSearch index
//! templates (generated from the OCSF schema and embedded), the dashboards
//! (saved objects, their verification and rendering), the runs of a deployed
//! state machine (list, inspect, redrive), cost estimates and the index
//! layout proposed from a sample of the lake.

pub mod dashboards;
pub mod estimate;
pub mod runs;
pub mod sizing;
pub mod templates;
