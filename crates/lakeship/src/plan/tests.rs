use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use super::*;
use crate::object::ObjectStore;
use crate::reader::{DEFAULT_FOOTER_HINT, read_footer};

/// Writes a Parquet file of `num_rows` rows in row groups of `group_rows`.
fn write_file(dir: &std::path::Path, name: &str, num_rows: usize, group_rows: usize) -> ObjectRef {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let properties = WriterProperties::builder().set_max_row_group_row_count(Some(group_rows)).build();
    let ids = Arc::new(Int64Array::from_iter_values(0..num_rows as i64)) as ArrayRef;
    let names = Arc::new(StringArray::from_iter_values((0..num_rows).map(|i| format!("row-{i:08}")))) as ArrayRef;
    let batch = RecordBatch::try_from_iter([("id", ids), ("name", names)]).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    ObjectRef::local(path)
}

async fn footers(objects: &[ObjectRef]) -> Vec<ParquetFooter> {
    let store = ObjectStore::local_only();
    let mut footers = Vec::new();
    for object in objects {
        footers.push(read_footer(&store, object, DEFAULT_FOOTER_HINT).await.unwrap());
    }
    footers
}

fn assert_covers_every_row_group_once(shards: &[ShardTask], footers: &[ParquetFooter]) {
    for footer in footers {
        let mut seen = vec![0; footer.num_row_groups()];
        for piece in shards.iter().flat_map(|shard| &shard.pieces).filter(|piece| piece.object == footer.object) {
            for row_group in piece.row_groups() {
                seen[row_group] += 1;
            }
        }
        assert!(seen.iter().all(|&count| count == 1), "{}: {seen:?}", footer.object);
    }
}

#[tokio::test]
async fn packs_consecutive_row_groups_under_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let object = write_file(dir.path(), "a.parquet", 10_000, 1_000);
    let footers = footers(&[object]).await;
    let sizes: Vec<u64> = row_group_infos(&footers[0]).iter().map(|group| group.num_bytes).collect();
    assert_eq!(sizes.len(), 10);
    let target = sizes[0] * 3 + sizes[0] / 2;
    let (shards, planned) = plan_shards("run", &footers, PlanOptions::default().with_target_shard_bytes(target));
    assert_eq!(shards.len(), 4, "10 row groups of ~equal size, 3 per shard");
    for shard in &shards {
        assert!(shard.num_bytes() <= target);
        assert_eq!(shard.pieces.len(), 1);
    }
    assert_covers_every_row_group_once(&shards, &footers);
    assert_eq!(shards.iter().map(ShardTask::num_rows).sum::<u64>(), 10_000);
    assert_eq!(planned[0].shard_ids.len(), 4);
    assert_eq!(planned[0].num_rows, 10_000);
}

#[tokio::test]
async fn an_oversized_row_group_is_a_shard_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let object = write_file(dir.path(), "a.parquet", 3_000, 1_000);
    let footers = footers(&[object]).await;
    let (shards, _) = plan_shards("run", &footers, PlanOptions::default().with_target_shard_bytes(10));
    assert_eq!(shards.len(), 3);
    assert!(shards.iter().all(|shard| shard.pieces[0].num_row_groups == 1));
    assert_covers_every_row_group_once(&shards, &footers);
}

#[tokio::test]
async fn small_objects_share_shards_and_ids_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let objects: Vec<ObjectRef> = (0..5).map(|i| write_file(dir.path(), &format!("{i}.parquet"), 100, 1_000)).collect();
    let footers = footers(&objects).await;
    let (shards, planned) = plan_shards("run", &footers, PlanOptions::default());
    assert_eq!(shards.len(), 1);
    assert_eq!(shards[0].pieces.len(), 5);
    assert!(planned.iter().all(|object| object.shard_ids == [shards[0].shard_id.clone()]));
    let (again, _) = plan_shards("other-run", &footers, PlanOptions::default());
    assert_eq!(again[0].shard_id, shards[0].shard_id, "ids depend on the pieces only");
    assert_eq!(shards[0].shard_id.len(), 16);
}

/// `count` objects with Security Lake's names (a 63-character bucket, keys
/// with source, region, account, day and a 32-hex name), etags and version
/// ids, all with the footer of one small file (one row group each).
fn security_lake_backfill(footer: &ParquetFooter, count: usize) -> Vec<ParquetFooter> {
    let bucket = "aws-security-data-lake-ap-southeast-2-o3x5gqxw7mkfbzr0ubssdcpjn";
    assert_eq!(bucket.len(), 63, "the longest bucket name S3 allows");
    (0..count)
        .map(|i| {
            let key = format!(
                "aws/CLOUD_TRAIL_MGMT/2.0/region=ap-southeast-2/accountId={:012}/eventDay=202403{:02}/{:032x}.zstd.parquet",
                100_000_000_000 + i % 40,
                1 + i % 28,
                0x5eed_0000_0000_0000_u128 * (i as u128 + 1)
            );
            let mut object = ObjectRef::s3(bucket, key).with_etag(Some(&format!("\"{:032x}\"", i * 7919))).with_size(Some(48_213));
            object.version_id = Some(format!("Xq3.{:028}", i));
            ParquetFooter { object, metadata: footer.metadata.clone() }
        })
        .collect()
}

#[tokio::test]
async fn a_backfill_of_small_objects_with_security_lake_names_fits_the_step_functions_input_limit() {
    let dir = tempfile::tempdir().unwrap();
    let small = footers(&[write_file(dir.path(), "small.parquet", 100, 1_000)]).await.remove(0);
    let footers = security_lake_backfill(&small, 1_500);
    let run_id = "backfill-2024-03-ap-southeast-2-cloudtrail-p1";

    let uncapped = PlanOptions { max_shard_json_bytes: usize::MAX, max_shard_pieces: usize::MAX, ..PlanOptions::default() };
    let (before, _) = plan_shards(run_id, &footers, uncapped);
    let before_bytes = before.iter().map(json_len).max().unwrap();
    assert_eq!(before.len(), 1, "1,500 small objects fit the 64 MiB target: one shard without caps");
    assert!(before_bytes > crate::pipeline::quotas::STATE_PAYLOAD_MAX_BYTES, "{before_bytes} bytes: the defect the caps fix");

    let (after, planned) = plan_shards(run_id, &footers, PlanOptions::default());
    let after_bytes = after.iter().map(json_len).max().unwrap();
    println!(
        "1,500 objects: before 1 shard of {} pieces, {before_bytes} bytes ({:.0} KiB); after {} shards, the largest {after_bytes} bytes ({:.1} KiB)",
        before[0].pieces.len(),
        before_bytes as f64 / 1024.0,
        after.len(),
        after_bytes as f64 / 1024.0
    );
    for shard in &after {
        assert!(json_len(shard) <= DEFAULT_MAX_SHARD_JSON_BYTES, "{} bytes", json_len(shard));
        assert!(shard.pieces.len() <= DEFAULT_MAX_SHARD_PIECES);
    }
    assert_covers_every_row_group_once(&after, &footers);
    assert!(planned.iter().all(|object| object.shard_ids.len() == 1));
    let (again, _) = plan_shards("another-run", &footers, PlanOptions::default());
    let ids = |shards: &[ShardTask]| shards.iter().map(|shard| shard.shard_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&after), "shard ids stay stable");
}

#[tokio::test]
async fn the_json_cap_closes_shards_before_they_outgrow_it_and_a_huge_piece_stands_alone() {
    let dir = tempfile::tempdir().unwrap();
    let small = footers(&[write_file(dir.path(), "small.parquet", 100, 1_000)]).await.remove(0);
    let mut footers = security_lake_backfill(&small, 40);
    // A key of control characters: every byte is escaped as six in JSON.
    footers[7].object.key = "\u{1}".repeat(1024);
    for cap in [2_000, 5_000, 9_000] {
        let options = PlanOptions { max_shard_json_bytes: cap, ..PlanOptions::default() };
        let (shards, _) = plan_shards("run", &footers, options);
        assert_covers_every_row_group_once(&shards, &footers);
        for shard in &shards {
            let shown = json_len(shard);
            assert!(shown <= cap || shard.pieces.len() == 1, "cap {cap}: {shown} bytes in {} pieces", shard.pieces.len());
        }
        let alone = shards.iter().find(|shard| shard.pieces.iter().any(|piece| piece.object == footers[7].object)).unwrap();
        if json_len(alone) > cap {
            assert_eq!(alone.pieces.len(), 1, "a piece larger than the cap is a shard of its own");
        }
    }
    let options = PlanOptions { max_shard_pieces: 7, ..PlanOptions::default() };
    let (shards, _) = plan_shards("run", &footers, options);
    assert_eq!(shards.iter().map(|shard| shard.pieces.len()).collect::<Vec<_>>(), [7, 7, 7, 7, 7, 5]);
}

#[tokio::test]
async fn row_groups_of_one_object_extend_its_piece_without_counting_as_new_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let object = write_file(dir.path(), "a.parquet", 10_000, 1_000);
    let footers = footers(&[object]).await;
    let options = PlanOptions { max_shard_pieces: 1, max_shard_json_bytes: 1, ..PlanOptions::default() };
    let (shards, _) = plan_shards("run", &footers, options);
    assert_eq!(shards.len(), 1, "one piece of 10 row groups: the caps count pieces, not row groups");
    assert_eq!(shards[0].pieces[0].num_row_groups, 10);
}

#[tokio::test]
async fn a_run_smaller_than_its_workers_is_spread_over_them() {
    let dir = tempfile::tempdir().unwrap();
    let object = write_file(dir.path(), "large.parquet", 10_000, 1_000);
    let footers = footers(&[object]).await;
    let (packed, _) = plan_shards("run", &footers, PlanOptions::default());
    assert_eq!(packed.len(), 1, "10 row groups fit one 64 MiB shard");
    for workers in [2, 4, 10] {
        let (spread, planned) = plan_shards("run", &footers, PlanOptions::default().with_spread(workers));
        assert!((workers..=workers + 1).contains(&spread.len()), "{workers} workers: {} shards", spread.len());
        assert_covers_every_row_group_once(&spread, &footers);
        assert_eq!(planned[0].shard_ids.len(), spread.len());
    }
    let (one_per_row_group, _) = plan_shards("run", &footers, PlanOptions::default().with_spread(64));
    assert_eq!(one_per_row_group.len(), 10, "never less than a row group per shard");
}
