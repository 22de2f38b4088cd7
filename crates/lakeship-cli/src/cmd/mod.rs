pub mod convert;
pub mod sample;
pub mod templates;
