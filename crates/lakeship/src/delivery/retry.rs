//! Retrying with exponential backoff and full jitter, honouring `Retry-After`,
//! bounded by attempts and by a time budget. The sleep is injectable so tests
//! run without waiting.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::DeliveryError;
use super::bulk::{ItemOutcome, parse_bulk_answer};
use super::client::Response;

/// How to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Upper bound of the first backoff.
    pub initial_backoff: Duration,
    /// Upper bound of any backoff.
    pub max_backoff: Duration,
    /// Total time after which no further attempt starts.
    pub time_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            time_budget: Duration::from_secs(180),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `attempt + 1` (attempt counts from 1):
    /// uniformly random in `[0, min(max, initial * 2^(attempt-1))]` ("full
    /// jitter"), but at least what the server asked for in `Retry-After`.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let ceiling = self.initial_backoff.saturating_mul(1 << exponent).min(self.max_backoff);
        let jittered = ceiling.mul_f64(fastrand::f64());
        match retry_after {
            Some(asked) => jittered.max(asked.min(self.max_backoff)),
            None => jittered,
        }
    }
}

/// Keeps count of attempts and time for one retried operation.
#[derive(Debug)]
pub(crate) struct RetryState {
    policy: RetryPolicy,
    started: Instant,
    attempts: u32,
}

impl RetryState {
    /// Starts counting.
    pub fn new(policy: RetryPolicy) -> Self {
        RetryState { policy, started: Instant::now(), attempts: 0 }
    }

    /// Records an attempt; returns its number (from 1).
    pub fn attempt(&mut self) -> u32 {
        self.attempts += 1;
        self.attempts
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The backoff before the next attempt, or `None` when attempts or the
    /// time budget are spent.
    pub(crate) fn next_backoff(&self, retry_after: Option<Duration>) -> Option<Duration> {
        if self.attempts >= self.policy.max_attempts {
            return None;
        }
        let backoff = self.policy.backoff(self.attempts, retry_after);
        (self.started.elapsed() + backoff < self.policy.time_budget).then_some(backoff)
    }
}

/// A sleep function: real time in production, recorded in tests.
pub(crate) type Sleeper = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The real sleep.
pub(crate) fn tokio_sleeper() -> Sleeper {
    Arc::new(|duration| Box::pin(tokio::time::sleep(duration)))
}

/// Parses `Retry-After` given in seconds (HTTP dates are ignored).
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// What the answer to one bulk request means for the documents it carried.
#[derive(Debug)]
pub(crate) enum BulkRound {
    /// Every document has an outcome, item by item (some may ask for a
    /// retry).
    Items(Vec<ItemOutcome>),
    /// The request as a whole failed in a way a retry can mend (429, 5xx, a
    /// broken connection, an answer that is not a bulk answer): send every
    /// document again.
    RetryAll {
        /// A 429: the node asks for less.
        throttled: bool,
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
        /// What went wrong, for the error if retries run out.
        reason: String,
    },
    /// 413 for several documents: send them again as two halves.
    Split,
    /// 413 for a single document: too large for the endpoint, reject it.
    TooLarge,
    /// A failure no retry mends (a 4xx for the request, bad credentials).
    Fail(DeliveryError),
}

/// Decides what the answer to a bulk request of `num_docs` documents means
/// (a pure function: the sink acts on it).
pub(crate) fn decide_round(answer: Result<Response, DeliveryError>, num_docs: usize) -> BulkRound {
    match answer {
        Err(error @ (DeliveryError::Connection(_) | DeliveryError::Protocol(_))) => {
            BulkRound::RetryAll { throttled: false, retry_after: None, reason: error.to_string() }
        }
        Err(error) => BulkRound::Fail(error),
        Ok(response) if response.status == 429 => BulkRound::RetryAll {
            throttled: true,
            retry_after: parse_retry_after(response.retry_after.as_deref()),
            reason: "bulk request throttled (429)".to_string(),
        },
        Ok(response) if response.status >= 500 => BulkRound::RetryAll {
            throttled: false,
            retry_after: None,
            reason: format!("bulk request answered {}: {}", response.status, response.excerpt()),
        },
        Ok(response) if response.status == 413 && num_docs > 1 => BulkRound::Split,
        Ok(response) if response.status == 413 => BulkRound::TooLarge,
        Ok(response) if !response.is_success() => {
            BulkRound::Fail(DeliveryError::Http { request: "POST /_bulk".to_string(), status: response.status, body: response.excerpt() })
        }
        Ok(response) => match parse_bulk_answer(&response.body, num_docs) {
            Ok(outcomes) => BulkRound::Items(outcomes),
            Err(reason) => BulkRound::RetryAll { throttled: false, retry_after: None, reason },
        },
    }
}

/// HTTP statuses of transient answers: a node throttling (429), a proxy or
/// load balancer without a healthy node behind it (502, 504), a node that is
/// busy or starting (503, such as `process_cluster_event_timeout_exception`
/// when cluster-state updates queue up).
pub fn is_transient_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Which failures of a control request (templates, dashboards, the ledger)
/// are tried again, with the same backoff as delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlRetry {
    /// Backoff, attempts and time budget.
    pub policy: RetryPolicy,
    /// Also try again when the node cannot be reached (a node restarting
    /// under a run); off for interactive commands, where a wrong endpoint
    /// is better reported at once.
    pub connection_errors: bool,
}

impl ControlRetry {
    /// Transient answers only.
    pub fn answers(policy: RetryPolicy) -> Self {
        ControlRetry { policy, connection_errors: false }
    }

    /// Transient answers and connection failures.
    pub(crate) fn answers_and_connections(policy: RetryPolicy) -> Self {
        ControlRetry { policy, connection_errors: true }
    }
}

impl Default for ControlRetry {
    fn default() -> Self {
        ControlRetry::answers(RetryPolicy::default())
    }
}

/// Runs `attempt` until `transient` says its outcome is final, sleeping the
/// policy's backoff in between (at least what `transient` returns as the
/// server's `Retry-After`). The last outcome is returned when attempts or
/// the time budget run out.
pub async fn with_retries<T, F, Fut>(
    policy: RetryPolicy,
    what: &str,
    mut attempt: F,
    transient: impl Fn(&T) -> Option<Option<Duration>>,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let mut state = RetryState::new(policy);
    loop {
        state.attempt();
        let outcome = attempt().await;
        let Some(retry_after) = transient(&outcome) else { return outcome };
        let Some(backoff) = state.next_backoff(retry_after) else { return outcome };
        tracing::warn!(what, attempt = state.attempts(), backoff_ms = backoff.as_millis() as u64, "transient answer; trying again");
        tokio::time::sleep(backoff).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_until_the_answer_is_final() {
        let policy =
            RetryPolicy { initial_backoff: Duration::from_millis(1), max_backoff: Duration::from_millis(2), ..RetryPolicy::default() };
        let answers = std::sync::Mutex::new(vec![200, 503, 503]);
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let status = with_retries(
            policy,
            "test",
            || async {
                attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                answers.lock().unwrap().pop().unwrap_or(0)
            },
            |status: &u16| is_transient_status(*status).then_some(None),
        )
        .await;
        assert_eq!((status, attempts.into_inner()), (200, 3));
        let limited = RetryPolicy { max_attempts: 2, ..policy };
        let status = with_retries(limited, "test", || async { 503u16 }, |status: &u16| is_transient_status(*status).then_some(None)).await;
        assert_eq!(status, 503, "the last answer once attempts run out");
    }

    #[test]
    fn backoff_grows_within_full_jitter_bounds() {
        let policy =
            RetryPolicy { initial_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(1), ..RetryPolicy::default() };
        for attempt in 1..10 {
            let ceiling = Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(1));
            for _ in 0..50 {
                assert!(policy.backoff(attempt, None) <= ceiling);
            }
        }
        assert!(policy.backoff(1, Some(Duration::from_millis(700))) >= Duration::from_millis(700));
        assert!(policy.backoff(1, Some(Duration::from_secs(60))) <= Duration::from_secs(1), "Retry-After is capped");
    }

    #[test]
    fn state_stops_after_attempts_or_budget() {
        let policy = RetryPolicy { max_attempts: 3, time_budget: Duration::from_secs(60), ..RetryPolicy::default() };
        let mut state = RetryState::new(policy);
        state.attempt();
        assert!(state.next_backoff(None).is_some());
        state.attempt();
        state.attempt();
        assert!(state.next_backoff(None).is_none());

        let tight = RetryPolicy {
            time_budget: Duration::from_millis(1),
            initial_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let mut state = RetryState::new(tight);
        state.attempt();
        assert!(state.next_backoff(Some(Duration::from_secs(5))).is_none());
    }

    #[test]
    fn parses_retry_after_seconds() {
        assert_eq!(parse_retry_after(Some(" 3 ")), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(parse_retry_after(None), None);
    }
}
