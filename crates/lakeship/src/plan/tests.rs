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
    let (shards, planned) = plan_shards("run", &footers, PlanOptions { target_shard_bytes: target });
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
    let (shards, _) = plan_shards("run", &footers, PlanOptions { target_shard_bytes: 10 });
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
