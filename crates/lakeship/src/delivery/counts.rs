//! What a delivery counts: per-document outcomes and what was sent on the
//! wire. The sink adds them up; observers and reports read them.

/// Per-document outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ItemCounts {
    /// Documents created.
    pub num_indexed: u64,
    /// Documents that existed already (a replay or retry).
    pub num_already_present: u64,
    /// Documents refused for good (in the dead-letter store).
    pub num_rejected: u64,
}

impl ItemCounts {
    /// All documents accounted for.
    pub fn total(&self) -> u64 {
        self.num_indexed + self.num_already_present + self.num_rejected
    }

    /// Adds the outcomes of `other`.
    pub fn add(&mut self, other: &ItemCounts) {
        self.num_indexed += other.num_indexed;
        self.num_already_present += other.num_already_present;
        self.num_rejected += other.num_rejected;
    }
}

/// What the sink did on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryStats {
    /// Bulk requests sent (retries included).
    pub num_requests: u64,
    /// Documents sent again after a 429/5xx item or a failed request.
    pub num_retried_docs: u64,
    /// Whole requests answered 429.
    pub num_throttled_requests: u64,
    /// Items answered 429.
    pub num_throttled_items: u64,
    /// Requests that failed to connect or answered 5xx.
    pub num_failed_requests: u64,
    /// Bytes of request bodies sent (before compression).
    pub num_bytes_sent: u64,
}

impl DeliveryStats {
    /// Adds the statistics of `other` (another attempt, another chunk).
    pub fn add(&mut self, other: &DeliveryStats) {
        self.num_requests += other.num_requests;
        self.num_retried_docs += other.num_retried_docs;
        self.num_throttled_requests += other.num_throttled_requests;
        self.num_throttled_items += other.num_throttled_items;
        self.num_failed_requests += other.num_failed_requests;
        self.num_bytes_sent += other.num_bytes_sent;
    }
}
