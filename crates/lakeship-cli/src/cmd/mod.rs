pub mod config;
pub mod convert;
pub mod index;
pub mod plan;
pub mod replay;
pub mod sample;
pub mod templates;
