//! OpenSearch index templates compiled from the OCSF schema. (Being written.)
