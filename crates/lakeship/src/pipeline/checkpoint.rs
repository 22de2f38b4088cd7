//! Stopping a shard before the invocation deadline, and resuming it.
//!
//! Lambda ends an invocation at its deadline (`Sandbox.Timedout`, which no
//! `Retry` matches, with no result written). A worker given a [`Deadline`]
//! stops feeding documents when the deadline is near, lets the bulk requests
//! in flight finish (abandoning those still running closer to it), stores
//! what it finished as `runs/<run_id>/results/<shard_id>.partial.json` and
//! fails with `Lakeship.OutOfTime`; the state machine retries, and the retry
//! reads the checkpoint back and works only what is left.
//!
//! Progress is kept per row group: a row group is finished when the scan is
//! past it and every one of its documents came back with an outcome. The
//! checkpoint holds the pieces finished and, for the piece in progress, its
//! first finished row groups. A row group that was only partly sent (or
//! whose requests were abandoned) is sent again by the retry: its documents
//! already indexed come back "already present", so counts still reconcile.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::delivery::{BulkSink, DeliveryStats, ItemCounts};
use crate::errors::{ErrorName, NamedError};
use crate::plan::{ShardPiece, ShardTask};

use super::PipelineContext;
use super::payload::{PieceResult, RowGroupFailure};
use crate::time::now_millis;

/// When a worker stops: feeding documents at `stop_at`, waiting for bulk
/// requests in flight at `abandon_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    stop_at: Instant,
    abandon_at: Instant,
}

impl Deadline {
    /// Time kept free before the invocation deadline when no more documents
    /// are fed: the requests in flight (two by default, each a few seconds,
    /// more when throttled) finish in it.
    pub(crate) const STOP_MARGIN: Duration = Duration::from_secs(60);
    /// Time kept free when requests still running are abandoned: storing
    /// dead letters and the checkpoint (two S3 PUTs) and answering.
    pub(crate) const ABANDON_MARGIN: Duration = Duration::from_secs(15);

    /// The deadline of an invocation that Lambda ends at `deadline`
    /// (`Lambda-Runtime-Deadline-Ms`); the margins shrink to a quarter and a
    /// tenth of the time left when it is short.
    pub fn before(deadline: SystemTime) -> Deadline {
        Deadline::within(deadline.duration_since(SystemTime::now()).unwrap_or_default())
    }

    /// The deadline of an invocation with `left` to run.
    pub fn within(left: Duration) -> Deadline {
        let now = Instant::now();
        let stop = left.saturating_sub(Self::STOP_MARGIN.min(left / 4));
        let abandon = left.saturating_sub(Self::ABANDON_MARGIN.min(left / 10));
        Deadline { stop_at: now + stop, abandon_at: now + abandon }
    }

    /// Explicit instants (`abandon_at` no earlier than `stop_at`).
    pub fn at(stop_at: Instant, abandon_at: Instant) -> Deadline {
        Deadline { stop_at, abandon_at: abandon_at.max(stop_at) }
    }

    /// When no more documents are fed.
    pub fn stop_at(&self) -> Instant {
        self.stop_at
    }

    /// When requests still in flight are abandoned.
    pub(crate) fn abandon_at(&self) -> Instant {
        self.abandon_at
    }
}

/// What a shard finished before it stopped, kept as
/// `runs/<run_id>/results/<shard_id>.partial.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardCheckpoint {
    /// The run.
    pub run_id: String,
    /// The shard.
    pub shard_id: String,
    /// The task's pieces in order, as far as they are finished: every entry
    /// but the last is a whole piece; the last covers its first
    /// `num_row_groups` row groups (all of them when finished), with the
    /// rows and outcomes of those.
    pub pieces: Vec<PieceResult>,
    /// True when the last entry of `pieces` is finished.
    pub last_piece_finished: bool,
    /// Dead-letter part files written by the attempts so far.
    #[serde(default)]
    pub dead_letters: Vec<String>,
    /// Compressed bytes read by the attempts so far.
    pub num_bytes_read: u64,
    /// Wire statistics of the attempts so far.
    pub delivery: DeliveryStats,
    /// Start of the first attempt (epoch ms).
    pub started_at: i64,
    /// Attempts that stopped at their deadline.
    pub num_stops: u32,
}

impl ShardCheckpoint {
    /// An empty checkpoint for `task` (nothing finished).
    pub fn empty(task: &ShardTask, started_at: i64) -> ShardCheckpoint {
        ShardCheckpoint {
            run_id: task.run_id.clone(),
            shard_id: task.shard_id.clone(),
            pieces: Vec::new(),
            last_piece_finished: true,
            dead_letters: Vec::new(),
            num_bytes_read: 0,
            delivery: DeliveryStats::default(),
            started_at,
            num_stops: 0,
        }
    }

    /// True if it fits `task` (same run, shard and pieces).
    pub(crate) fn fits(&self, task: &ShardTask) -> bool {
        self.run_id == task.run_id
            && self.shard_id == task.shard_id
            && self.pieces.len() <= task.pieces.len()
            && self.pieces.iter().zip(&task.pieces).all(|(done, piece)| {
                done.object == piece.object && done.first_row_group == piece.first_row_group && done.num_row_groups <= piece.num_row_groups
            })
    }

    /// Row groups finished.
    pub(crate) fn num_row_groups_done(&self) -> usize {
        self.pieces.iter().map(|piece| piece.num_row_groups).sum()
    }

    /// What is left of `task`: its pieces from the first one not finished
    /// (that one without its finished row groups), and for each the index of
    /// its piece in `task`.
    pub(crate) fn remaining(&self, task: &ShardTask) -> (ShardTask, Vec<usize>) {
        let mut pieces = Vec::new();
        let mut origins = Vec::new();
        for (index, piece) in task.pieces.iter().enumerate() {
            let Some(done) = self.pieces.get(index) else {
                pieces.push(piece.clone());
                origins.push(index);
                continue;
            };
            let finished = index + 1 < self.pieces.len() || self.last_piece_finished;
            if finished || done.num_row_groups >= piece.num_row_groups {
                continue;
            }
            pieces.push(ShardPiece {
                object: piece.object.clone(),
                first_row_group: piece.first_row_group + done.num_row_groups,
                num_row_groups: piece.num_row_groups - done.num_row_groups,
                num_rows: piece.num_rows.saturating_sub(done.num_rows_read + done.num_rows_unreadable()),
                num_bytes: piece.num_bytes,
            });
            origins.push(index);
        }
        (ShardTask { run_id: task.run_id.clone(), shard_id: task.shard_id.clone(), pieces }, origins)
    }

    /// This checkpoint followed by what an attempt finished of the remaining
    /// task (`done`, in the remaining task's order, mapped to the task's
    /// pieces by `origins`; the last entry finished if `last_finished`).
    pub(crate) fn followed_by(
        mut self,
        task: &ShardTask,
        origins: &[usize],
        done: Vec<PieceResult>,
        last_finished: bool,
    ) -> ShardCheckpoint {
        let num_done = done.len();
        for (position, result) in done.into_iter().enumerate() {
            let index = origins[position];
            let finished = position + 1 < num_done || last_finished;
            if index < self.pieces.len() {
                let earlier = &mut self.pieces[index];
                earlier.num_row_groups += result.num_row_groups;
                earlier.num_rows_read += result.num_rows_read;
                earlier.counts.add(&result.counts);
                earlier.error = result.error.or(earlier.error.take());
                earlier.failed_row_groups.extend(result.failed_row_groups);
                for column in result.dropped_columns {
                    if !earlier.dropped_columns.contains(&column) {
                        earlier.dropped_columns.push(column);
                    }
                }
            } else {
                self.pieces.push(result);
            }
            if finished {
                self.pieces[index].num_row_groups = task.pieces[index].num_row_groups;
            }
            self.last_piece_finished = finished;
        }
        for (result, piece) in self.pieces.iter_mut().zip(&task.pieces) {
            result.num_rows_expected = piece.num_rows;
        }
        self
    }

    /// The results of every piece of `task`, once the checkpoint covers all
    /// of them.
    pub(crate) fn into_results(self, task: &ShardTask) -> Vec<PieceResult> {
        let mut results = self.pieces;
        for (result, piece) in results.iter_mut().zip(&task.pieces) {
            result.first_row_group = piece.first_row_group;
            result.num_row_groups = piece.num_row_groups;
            result.num_rows_expected = piece.num_rows;
        }
        results
    }
}

/// The checkpoint of `task` kept by an earlier attempt, or an empty one. A
/// checkpoint that cannot be read or does not fit the task is ignored (the
/// work is done again; documents already indexed come back already present).
pub async fn load(context: &PipelineContext, task: &ShardTask) -> Result<ShardCheckpoint, NamedError> {
    let location = context.work.partial_file(&task.run_id, &task.shard_id);
    let found = match context.work.get_json::<ShardCheckpoint>(&location).await {
        Ok(found) => found,
        Err(error) if error.name == ErrorName::InvalidInput => {
            tracing::warn!(location = %location, error = %error, "ignoring a checkpoint that cannot be read");
            None
        }
        Err(error) => return Err(error),
    };
    match found {
        Some(checkpoint) if checkpoint.fits(task) => {
            tracing::info!(
                shard_id = %task.shard_id,
                num_row_groups_done = checkpoint.num_row_groups_done(),
                num_stops = checkpoint.num_stops,
                "resuming from a checkpoint"
            );
            Ok(checkpoint)
        }
        Some(_) => {
            tracing::warn!(location = %location, "ignoring a checkpoint of other pieces");
            Ok(ShardCheckpoint::empty(task, now_millis()))
        }
        None => Ok(ShardCheckpoint::empty(task, now_millis())),
    }
}

/// An attempt that stopped at its deadline, or throttled.
pub(super) struct Stopped<'a> {
    /// The whole task.
    pub task: &'a ShardTask,
    /// What the attempt worked of it.
    pub remaining: &'a ShardTask,
    /// For each piece of `remaining`, its index in `task`.
    pub origins: &'a [usize],
    /// The attempt's units.
    pub units: &'a AttemptUnits,
    /// The deadline it stopped at.
    pub deadline: Deadline,
    /// Why it stopped: `None` for the deadline, or the error that ended it
    /// (`Lakeship.Throttled`: the domain kept pushing back through the
    /// sink's retry budget).
    pub cause: Option<NamedError>,
}

impl Stopped<'_> {
    /// Lets the requests in flight finish (until the deadline's time to
    /// abandon), stores the checkpoint of what is finished, and answers
    /// `Lakeship.OutOfTime` or the cause (or the error that kept it from
    /// storing).
    pub async fn keep(self, context: &PipelineContext, earlier: ShardCheckpoint, sink: BulkSink, num_bytes_read: u64) -> NamedError {
        let report = match sink.stop(self.deadline.abandon_at()).await {
            Ok(report) => report,
            Err(error) => return error.into(),
        };
        let (done, last_finished) = self.units.finished(self.remaining, &report.counts);
        let mut checkpoint = earlier.followed_by(self.task, self.origins, done, last_finished);
        checkpoint.dead_letters.extend(report.dead_letter_parts);
        checkpoint.num_bytes_read += num_bytes_read;
        checkpoint.delivery.add(&report.stats);
        checkpoint.num_stops += 1;
        let location = context.work.partial_file(&self.task.run_id, &self.task.shard_id);
        if let Err(error) = context.work.put_json(&location, &checkpoint).await {
            return error;
        }
        let total: usize = self.task.pieces.iter().map(|piece| piece.num_row_groups).sum();
        if let Some(cause) = self.cause {
            return NamedError::new(
                cause.name,
                format!(
                    "shard {} stopped with {} of {total} row groups done (stop {}): {}; the retry resumes from {location}",
                    self.task.shard_id,
                    checkpoint.num_row_groups_done(),
                    checkpoint.num_stops,
                    cause.message
                ),
            );
        }
        let left = self.deadline.abandon_at().saturating_duration_since(Instant::now()) + Deadline::ABANDON_MARGIN;
        NamedError::new(
            ErrorName::OutOfTime,
            format!(
                "shard {} stopped about {}s before the invocation deadline with {} of {total} row groups done (stop {}); \
                 the retry resumes from {location}",
                self.task.shard_id,
                left.as_secs(),
                checkpoint.num_row_groups_done(),
                checkpoint.num_stops
            ),
        )
    }
}

/// The row groups an attempt works, as units of progress: documents are
/// tagged with their unit when sent, so the bulk sink's outcomes tell which
/// units came back whole. A row group that cannot be read is a unit too
/// (scanned, with its failure), so a checkpoint never skips over it.
#[derive(Debug, Default)]
pub struct AttemptUnits {
    units: Vec<Unit>,
    /// For each piece of the remaining task: scanned to its end (or failed).
    pieces_ended: Vec<bool>,
    /// A piece failure recorded on the piece (invalid or changed object).
    piece_errors: BTreeMap<usize, NamedError>,
    /// Columns left out of the documents, by piece.
    dropped_columns: BTreeMap<usize, BTreeSet<String>>,
    deadline: Option<Deadline>,
}

#[derive(Debug, Clone)]
struct Unit {
    piece: usize,
    row_group: usize,
    num_docs_sent: u64,
    scanned: bool,
    failure: Option<RowGroupFailure>,
}

impl AttemptUnits {
    /// Units of an attempt over `num_pieces` pieces, stopping at `deadline`.
    pub fn new(num_pieces: usize, deadline: Option<Deadline>) -> AttemptUnits {
        AttemptUnits { pieces_ended: vec![false; num_pieces], deadline, ..AttemptUnits::default() }
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Deadline> {
        self.deadline
    }

    /// The unit of `row_group` of `piece`; a new row group begins a new unit
    /// and ends the one before.
    fn unit(&mut self, piece: usize, row_group: usize) -> usize {
        let current = self.units.last().is_some_and(|unit| unit.piece == piece && unit.row_group == row_group);
        if !current {
            if let Some(last) = self.units.last_mut() {
                last.scanned = true;
            }
            self.units.push(Unit { piece, row_group, num_docs_sent: 0, scanned: false, failure: None });
        }
        self.units.len() - 1
    }

    /// The tag of `num_rows` rows (documents and unroutable rows) of
    /// `row_group` of `piece` about to be sent.
    pub(crate) fn tag(&mut self, piece: usize, row_group: usize, num_rows: u64) -> usize {
        let index = self.unit(piece, row_group);
        self.units[index].num_docs_sent += num_rows;
        index
    }

    /// The rest of a row group of `piece` cannot be read: its unit is
    /// scanned, with the failure.
    pub(crate) fn row_group_failed(&mut self, piece: usize, failure: RowGroupFailure) {
        let index = self.unit(piece, failure.row_group);
        self.units[index].scanned = true;
        self.units[index].failure = Some(failure);
    }

    /// Columns of `piece` left out of its documents.
    pub(crate) fn columns_dropped<'a>(&mut self, piece: usize, columns: impl IntoIterator<Item = &'a String>) {
        self.dropped_columns.entry(piece).or_default().extend(columns.into_iter().cloned());
    }

    /// `piece` is scanned to its end, or failed with `error`.
    pub(crate) fn piece_ended(&mut self, piece: usize, error: Option<NamedError>) {
        for unit in self.units.iter_mut().filter(|unit| unit.piece == piece) {
            unit.scanned = true;
        }
        if let Some(ended) = self.pieces_ended.get_mut(piece) {
            *ended = true;
        }
        if let Some(error) = error {
            self.piece_errors.insert(piece, error);
        }
    }

    fn is_complete(&self, tag: usize, counts: &BTreeMap<usize, ItemCounts>) -> bool {
        let unit = &self.units[tag];
        unit.scanned && counts.get(&tag).map_or(0, ItemCounts::total) == unit.num_docs_sent
    }

    /// True when the attempt should stop now: past the stop time once a row
    /// group of this attempt is finished (so every attempt makes progress),
    /// or past the time to abandon in any case.
    pub(crate) fn should_stop(&self, counts: &BTreeMap<usize, ItemCounts>) -> bool {
        let Some(deadline) = self.deadline else { return false };
        let now = Instant::now();
        if now >= deadline.abandon_at {
            return true;
        }
        now >= deadline.stop_at && (0..self.units.len()).any(|tag| self.is_complete(tag, counts))
    }

    /// The result of `piece` (of the task the attempt works) made of the
    /// units `tags`, covering `num_row_groups` row groups.
    fn piece_result(&self, index: usize, piece: &ShardPiece, tags: &[usize], counts: &BTreeMap<usize, ItemCounts>) -> PieceResult {
        let mut result = PieceResult {
            object: piece.object.clone(),
            first_row_group: piece.first_row_group,
            num_row_groups: piece.num_row_groups,
            num_rows_expected: piece.num_rows,
            num_rows_read: 0,
            counts: ItemCounts::default(),
            error: self.piece_errors.get(&index).cloned(),
            failed_row_groups: Vec::new(),
            dropped_columns: self.dropped_columns.get(&index).map(|columns| columns.iter().cloned().collect()).unwrap_or_default(),
        };
        for &tag in tags {
            let unit = &self.units[tag];
            result.num_rows_read += unit.num_docs_sent;
            result.counts.add(&counts.get(&tag).copied().unwrap_or_default());
            result.failed_row_groups.extend(unit.failure.clone());
        }
        result
    }

    /// The results of every piece of `task` (the remaining task the attempt
    /// worked to its end), from all their units.
    pub fn results(&self, task: &ShardTask, counts: &BTreeMap<usize, ItemCounts>) -> Vec<PieceResult> {
        task.pieces
            .iter()
            .enumerate()
            .map(|(index, piece)| {
                let tags: Vec<usize> = (0..self.units.len()).filter(|&tag| self.units[tag].piece == index).collect();
                self.piece_result(index, piece, &tags, counts)
            })
            .collect()
    }

    /// What the attempt finished of `task` (the remaining task it worked),
    /// as piece results in order, and whether the last one is finished:
    /// whole pieces whose row groups all came back, then the finished row
    /// groups of the next one — every row group before its first unit that
    /// did not come back (row groups without documents included: the scan
    /// goes in order).
    pub fn finished(&self, task: &ShardTask, counts: &BTreeMap<usize, ItemCounts>) -> (Vec<PieceResult>, bool) {
        let mut results = Vec::new();
        for (index, piece) in task.pieces.iter().enumerate() {
            let tags: Vec<usize> = (0..self.units.len()).filter(|&tag| self.units[tag].piece == index).collect();
            let num_complete = tags.iter().take_while(|&&tag| self.is_complete(tag, counts)).count();
            let ended = self.pieces_ended.get(index).copied().unwrap_or(false);
            if ended && num_complete == tags.len() {
                results.push(self.piece_result(index, piece, &tags, counts));
                continue;
            }
            let row_groups_end = match tags.get(num_complete) {
                Some(&incomplete) => self.units[incomplete].row_group,
                None => tags.last().map_or(piece.first_row_group, |&tag| self.units[tag].row_group + 1),
            };
            let num_row_groups = row_groups_end.saturating_sub(piece.first_row_group);
            if num_row_groups > 0 {
                let mut result = self.piece_result(index, piece, &tags[..num_complete], counts);
                result.num_row_groups = num_row_groups;
                result.error = None;
                results.push(result);
            }
            return (results, false);
        }
        (results, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ObjectRef;

    fn task(pieces: &[(&str, usize, usize)]) -> ShardTask {
        ShardTask {
            run_id: "r".into(),
            shard_id: "s".into(),
            pieces: pieces
                .iter()
                .map(|&(key, first, count)| ShardPiece {
                    object: ObjectRef::s3("b", key),
                    first_row_group: first,
                    num_row_groups: count,
                    num_rows: 10 * count as u64,
                    num_bytes: 1,
                })
                .collect(),
        }
    }

    fn counts(indexed: u64, present: u64) -> ItemCounts {
        ItemCounts { num_indexed: indexed, num_already_present: present, num_rejected: 0 }
    }

    #[test]
    fn units_finish_when_scanned_and_every_document_came_back() {
        let task = task(&[("a", 0, 2), ("b", 3, 2)]);
        let mut units = AttemptUnits::new(2, None);
        let a0 = units.tag(0, 0, 10);
        let a1 = units.tag(0, 1, 6);
        assert_eq!(units.tag(0, 1, 4), a1, "same row group, same unit");
        units.piece_ended(0, None);
        let b3 = units.tag(1, 3, 10);
        let _b4 = units.tag(1, 4, 10);
        let mut outcomes = BTreeMap::from([(a0, counts(10, 0)), (a1, counts(7, 3)), (b3, counts(9, 0))]);
        let (done, last_finished) = units.finished(&task, &outcomes);
        assert!(!last_finished);
        assert_eq!(done.len(), 1, "b's first row group has one document without an outcome");
        assert_eq!((done[0].num_row_groups, done[0].num_rows_read, done[0].counts), (2, 20, counts(17, 3)));
        outcomes.insert(b3, counts(10, 0));
        let (done, last_finished) = units.finished(&task, &outcomes);
        assert_eq!((done.len(), last_finished, done[1].num_row_groups), (2, false, 1), "b row group 4 is not scanned to its end");
    }

    #[test]
    fn unreadable_and_empty_row_groups_are_finished_in_order_and_kept_with_their_failures() {
        // Row group 1 cannot be read after 4 of its 10 rows; row group 2 has
        // no rows (no unit); row group 3 is in flight when the attempt stops.
        let task = task(&[("a", 0, 5)]);
        let mut units = AttemptUnits::new(1, None);
        let r0 = units.tag(0, 0, 10);
        let r1 = units.tag(0, 1, 4);
        units.row_group_failed(0, RowGroupFailure { row_group: 1, num_rows_lost: 6, reason: "corrupt page".into() });
        let r3 = units.tag(0, 3, 10);
        let outcomes = BTreeMap::from([(r0, counts(10, 0)), (r1, counts(4, 0)), (r3, counts(3, 0))]);
        let (done, last_finished) = units.finished(&task, &outcomes);
        assert!(!last_finished);
        assert_eq!((done[0].num_row_groups, done[0].num_rows_read), (3, 14), "row groups 0-2 are finished, 3 is not");
        assert_eq!(done[0].failed_row_groups.iter().map(|f| (f.row_group, f.num_rows_lost)).collect::<Vec<_>>(), [(1, 6)]);
        let checkpoint = ShardCheckpoint::empty(&task, 0).followed_by(&task, &[0], done, false);
        let (remaining, _) = checkpoint.remaining(&task);
        assert_eq!(
            (remaining.pieces[0].first_row_group, remaining.pieces[0].num_row_groups, remaining.pieces[0].num_rows),
            (3, 2, 50 - 14 - 6),
            "the retry reads row groups 3 and 4, and expects the rows neither read nor lost"
        );
    }

    #[test]
    fn checkpoints_add_up_across_attempts_and_leave_the_rest() {
        let task = task(&[("a", 0, 2), ("b", 3, 3), ("c", 0, 1)]);
        let empty = ShardCheckpoint::empty(&task, 5);
        let (remaining, origins) = empty.remaining(&task);
        assert_eq!((remaining.pieces.len(), origins.as_slice()), (3, [0, 1, 2].as_slice()));
        let piece = |key: &str, first, count, rows, indexed| PieceResult {
            object: ObjectRef::s3("b", key),
            first_row_group: first,
            num_row_groups: count,
            num_rows_expected: 0,
            num_rows_read: rows,
            counts: counts(indexed, 0),
            error: None,
            failed_row_groups: Vec::new(),
            dropped_columns: Vec::new(),
        };
        // First attempt: a whole, b's first row group.
        let first = empty.followed_by(&task, &origins, vec![piece("a", 0, 2, 20, 20), piece("b", 3, 1, 10, 10)], false);
        assert!(first.fits(&task));
        assert_eq!(first.num_row_groups_done(), 3);
        let (remaining, origins) = first.remaining(&task);
        assert_eq!(origins, [1, 2]);
        assert_eq!((remaining.pieces[0].first_row_group, remaining.pieces[0].num_row_groups, remaining.pieces[0].num_rows), (4, 2, 20));
        // Second attempt: the rest of b (one row group came back already present).
        let mut rest_of_b = piece("b", 4, 2, 20, 15);
        rest_of_b.counts.num_already_present = 5;
        let second = first.followed_by(&task, &origins, vec![rest_of_b], true);
        let (remaining, origins) = second.remaining(&task);
        assert_eq!((remaining.pieces.len(), origins.as_slice()), (1, [2].as_slice()));
        let third = second.followed_by(&task, &origins, vec![piece("c", 0, 1, 10, 10)], true);
        assert!(third.remaining(&task).0.pieces.is_empty());
        let results = third.into_results(&task);
        assert_eq!(
            results.iter().map(|r| (r.num_row_groups, r.num_rows_read, r.num_rows_expected)).collect::<Vec<_>>(),
            [(2, 20, 20), (3, 30, 30), (1, 10, 10)]
        );
        assert_eq!(results[1].counts, counts(25, 5));
    }

    #[test]
    fn deadlines_keep_margins_that_shrink_with_the_time_left() {
        let long = Deadline::within(Duration::from_secs(900));
        let now = Instant::now();
        assert!(long.stop_at() > now + Duration::from_secs(835) && long.stop_at() <= now + Duration::from_secs(840));
        assert!(long.abandon_at() > now + Duration::from_secs(880) && long.abandon_at() <= now + Duration::from_secs(885));
        let short = Deadline::within(Duration::from_secs(8));
        assert!(short.stop_at() <= Instant::now() + Duration::from_secs(6));
        assert!(short.abandon_at() > short.stop_at());
        let past = Deadline::before(SystemTime::now() - Duration::from_secs(5));
        assert!(past.abandon_at() <= Instant::now());
    }
}
