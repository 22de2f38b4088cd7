pub mod convert;
pub mod plan;
pub mod sample;
pub mod templates;
