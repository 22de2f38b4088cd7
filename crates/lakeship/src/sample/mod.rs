//! Generated sample data: realistic OCSF Parquet objects shaped like Security
//! Lake's. (Being written.)
