//! How many bulk requests a worker keeps in flight: fixed, or adapted to the
//! domain (AIMD, after the idea of Vector's adaptive request concurrency).
//!
//! Adaptive, the limit starts at one request and is reconsidered once per
//! window (about one mean round trip long):
//!
//! - the domain pushed back (a 429, a 5xx or a broken connection) → the
//!   limit is halved (multiplicative decrease, never below one);
//! - round trips grew above their moving average by more than twice their
//!   moving deviation, and by a fifth at least (queues are filling) → the limit drops by a tenth
//!   (at least one);
//! - otherwise, if the worker had to wait for room during the window (the
//!   limit was what held it back) → the limit grows by one, up to the cap
//!   (additive increase).
//!
//! The controller keeps no clock: every call is given `now`, so tests drive
//! it with a made-up sequence of instants and outcomes.

use std::time::{Duration, Instant};

/// Weight of the newest window in the moving averages of round trips.
const EWMA_ALPHA: f64 = 0.4;
/// How many moving deviations above the moving mean a window's round trips
/// may be before the limit drops.
const RTT_DEVIATION_SCALE: f64 = 2.0;
/// Share of the moving mean that round trips may grow by in any case (the
/// deviation is zero after the first window).
const RTT_TOLERANCE: f64 = 0.2;
/// Factor of the limit when the domain pushes back.
const BACK_PRESSURE_DECREASE: f64 = 0.5;
/// Factor of the limit when round trips grow.
const LATENCY_DECREASE: f64 = 0.9;
/// Shortest window, so a fast local node does not reconsider at every answer.
const MIN_WINDOW: Duration = Duration::from_millis(50);

/// Bulk requests in flight per worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// Always this many (at least one).
    Fixed(usize),
    /// Adapted to the domain, from one up to this many.
    Adaptive(usize),
}

impl Concurrency {
    /// The most requests in flight it allows.
    pub fn cap(&self) -> usize {
        match *self {
            Concurrency::Fixed(limit) | Concurrency::Adaptive(limit) => limit.max(1),
        }
    }
}

/// How a bulk request went, as far as concurrency is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// The domain answered the request (items may still have been rejected
    /// for their content).
    Answered,
    /// The domain pushed back: 429 for the request or an item, 5xx, or the
    /// connection broke.
    BackPressure,
    /// Neither (a request refused for its own sake): not counted.
    Ignored,
}

/// A moving average of round trips and of their deviation from it.
#[derive(Debug, Clone, Copy)]
struct MovingRtt {
    mean: f64,
    deviation: f64,
}

impl MovingRtt {
    fn update(&mut self, sample: f64) {
        self.deviation = (1.0 - EWMA_ALPHA) * self.deviation + EWMA_ALPHA * (sample - self.mean).abs();
        self.mean = (1.0 - EWMA_ALPHA) * self.mean + EWMA_ALPHA * sample;
    }
}

/// What happened since the window started.
#[derive(Debug, Clone, Copy)]
struct Window {
    started_at: Instant,
    sum_rtt_secs: f64,
    num_answered: u32,
    back_pressure: bool,
    reached_limit: bool,
}

impl Window {
    fn new(started_at: Instant) -> Window {
        Window { started_at, sum_rtt_secs: 0.0, num_answered: 0, back_pressure: false, reached_limit: false }
    }

    fn mean_rtt_secs(&self) -> Option<f64> {
        (self.num_answered > 0).then(|| self.sum_rtt_secs / f64::from(self.num_answered))
    }
}

/// Decides the number of bulk requests in flight of one worker.
#[derive(Debug, Clone)]
pub struct ConcurrencyController {
    concurrency: Concurrency,
    limit: usize,
    past_rtt: Option<MovingRtt>,
    window: Window,
    num_decreases: u64,
    max_limit_reached: usize,
}

impl ConcurrencyController {
    /// A controller starting its first window at `now`.
    pub fn new(concurrency: Concurrency, now: Instant) -> ConcurrencyController {
        let limit = match concurrency {
            Concurrency::Fixed(limit) => limit.max(1),
            Concurrency::Adaptive(_) => 1,
        };
        ConcurrencyController { concurrency, limit, past_rtt: None, window: Window::new(now), num_decreases: 0, max_limit_reached: limit }
    }

    /// Requests allowed in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Times the limit went down.
    pub fn num_decreases(&self) -> u64 {
        self.num_decreases
    }

    /// The highest limit so far.
    pub fn max_limit_reached(&self) -> usize {
        self.max_limit_reached
    }

    /// The worker has `limit` requests in flight and waits for room.
    pub fn at_limit(&mut self) {
        self.window.reached_limit = true;
    }

    /// A request that took `rtt` ended at `now` with `outcome`.
    pub fn record(&mut self, now: Instant, rtt: Duration, outcome: RequestOutcome) {
        let Concurrency::Adaptive(cap) = self.concurrency else { return };
        match outcome {
            RequestOutcome::Answered => {
                self.window.sum_rtt_secs += rtt.as_secs_f64();
                self.window.num_answered += 1;
            }
            RequestOutcome::BackPressure => self.window.back_pressure = true,
            RequestOutcome::Ignored => return,
        }
        let window_length = self.past_rtt.map_or(rtt.as_secs_f64(), |past| past.mean);
        let window_length = Duration::from_secs_f64(window_length).max(MIN_WINDOW);
        if now.saturating_duration_since(self.window.started_at) >= window_length {
            self.end_window(now, cap.max(1));
        }
    }

    fn end_window(&mut self, now: Instant, cap: usize) {
        let window = std::mem::replace(&mut self.window, Window::new(now));
        let current = window.mean_rtt_secs();
        let slower = match (self.past_rtt, current) {
            (Some(past), Some(current)) => current > past.mean + (RTT_DEVIATION_SCALE * past.deviation).max(RTT_TOLERANCE * past.mean),
            _ => false,
        };
        let before = self.limit;
        if window.back_pressure {
            self.limit = decrease(self.limit, BACK_PRESSURE_DECREASE);
        } else if slower {
            self.limit = decrease(self.limit, LATENCY_DECREASE);
        } else if window.reached_limit && self.limit < cap {
            self.limit += 1;
        }
        if self.limit < before {
            self.num_decreases += 1;
        }
        self.max_limit_reached = self.max_limit_reached.max(self.limit);
        if let Some(current) = current {
            match &mut self.past_rtt {
                Some(past) => past.update(current),
                None => self.past_rtt = Some(MovingRtt { mean: current, deviation: 0.0 }),
            }
        }
        tracing::debug!(limit = self.limit, back_pressure = window.back_pressure, slower, "bulk concurrency reconsidered");
    }
}

/// `limit` times `factor`, down by one at least, one at the least.
fn decrease(limit: usize, factor: f64) -> usize {
    let lower = (limit as f64 * factor).floor() as usize;
    lower.min(limit.saturating_sub(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTT: Duration = Duration::from_millis(100);

    /// Drives a controller through windows of one round trip each: every
    /// window the worker waits at the limit and `outcome(window)` comes back
    /// with round trip `rtt(window)`.
    struct Script {
        controller: ConcurrencyController,
        now: Instant,
    }

    impl Script {
        fn new(concurrency: Concurrency) -> Script {
            let now = Instant::now();
            Script { controller: ConcurrencyController::new(concurrency, now), now }
        }

        fn window(&mut self, rtt: Duration, outcome: RequestOutcome) -> usize {
            self.controller.at_limit();
            self.now += rtt.max(MIN_WINDOW);
            self.controller.record(self.now, rtt, outcome);
            self.controller.limit()
        }
    }

    #[test]
    fn grows_by_one_per_window_up_to_the_cap_while_the_domain_keeps_up() {
        let mut script = Script::new(Concurrency::Adaptive(8));
        assert_eq!(script.controller.limit(), 1);
        let limits: Vec<usize> = (0..10).map(|_| script.window(RTT, RequestOutcome::Answered)).collect();
        assert_eq!(limits, vec![2, 3, 4, 5, 6, 7, 8, 8, 8, 8]);
        assert_eq!(script.controller.num_decreases(), 0);
        assert_eq!(script.controller.max_limit_reached(), 8);
    }

    #[test]
    fn does_not_grow_when_the_limit_held_nothing_back() {
        let mut script = Script::new(Concurrency::Adaptive(8));
        for _ in 0..5 {
            script.now += RTT;
            script.controller.record(script.now, RTT, RequestOutcome::Answered);
        }
        assert_eq!(script.controller.limit(), 1);
    }

    #[test]
    fn halves_on_back_pressure_and_grows_back_afterwards() {
        let mut script = Script::new(Concurrency::Adaptive(8));
        for _ in 0..7 {
            script.window(RTT, RequestOutcome::Answered);
        }
        assert_eq!(script.controller.limit(), 8);
        assert_eq!(script.window(RTT, RequestOutcome::BackPressure), 4);
        assert_eq!(script.window(RTT, RequestOutcome::BackPressure), 2);
        assert_eq!(script.window(RTT, RequestOutcome::BackPressure), 1);
        assert_eq!(script.window(RTT, RequestOutcome::BackPressure), 1, "never below one");
        assert_eq!(script.controller.num_decreases(), 3);
        assert_eq!(script.window(RTT, RequestOutcome::Answered), 2);
        assert_eq!(script.window(RTT, RequestOutcome::Answered), 3);
    }

    #[test]
    fn backs_off_when_round_trips_rise_above_their_moving_average() {
        let mut script = Script::new(Concurrency::Adaptive(8));
        for _ in 0..7 {
            script.window(RTT, RequestOutcome::Answered);
        }
        assert_eq!(script.controller.limit(), 8);
        // Four times slower: queues fill on the domain.
        assert_eq!(script.window(RTT * 4, RequestOutcome::Answered), 7);
        // A little jitter around the average is not a reason.
        let mut script = Script::new(Concurrency::Adaptive(8));
        let jittered = [100, 104, 98, 102, 100, 103, 99, 101, 100, 102, 98, 104, 100, 101, 99, 103];
        let limits: Vec<usize> = jittered.iter().map(|&ms| script.window(Duration::from_millis(ms), RequestOutcome::Answered)).collect();
        assert!(limits.windows(2).all(|pair| pair[0] <= pair[1]), "{limits:?}");
        assert_eq!(*limits.last().unwrap(), 8, "{limits:?}");
        assert_eq!(script.controller.num_decreases(), 0);
    }

    #[test]
    fn answers_within_a_window_are_decided_together() {
        let mut script = Script::new(Concurrency::Adaptive(8));
        script.window(RTT, RequestOutcome::Answered);
        assert_eq!(script.controller.limit(), 2);
        // Several answers and one 429 inside one window: one decrease.
        script.controller.at_limit();
        for step in 1..=4 {
            let outcome = if step == 2 { RequestOutcome::BackPressure } else { RequestOutcome::Answered };
            script.controller.record(script.now + RTT * step / 4, RTT, outcome);
        }
        assert_eq!(script.controller.limit(), 1);
        assert_eq!(script.controller.num_decreases(), 1);
    }

    #[test]
    fn fixed_never_moves_and_ignored_outcomes_change_nothing() {
        let mut script = Script::new(Concurrency::Fixed(3));
        assert_eq!(script.window(RTT, RequestOutcome::BackPressure), 3);
        assert_eq!(script.window(RTT, RequestOutcome::Answered), 3);
        let mut script = Script::new(Concurrency::Adaptive(4));
        assert_eq!(script.window(RTT, RequestOutcome::Ignored), 1);
        assert_eq!(Concurrency::Fixed(0).cap(), 1);
    }

    #[test]
    fn decreases_are_multiplicative_and_at_least_one() {
        assert_eq!(decrease(8, 0.5), 4);
        assert_eq!(decrease(8, 0.9), 7);
        assert_eq!(decrease(2, 0.9), 1);
        assert_eq!(decrease(1, 0.5), 1);
        assert_eq!(decrease(40, 0.9), 36);
    }
}
