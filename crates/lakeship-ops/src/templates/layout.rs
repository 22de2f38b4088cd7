//! The index layout's shard counts in an install plan: each OCSF index
//! template whose class the layout gives primary shards gets them as
//! `index.number_of_shards`. The templates match every time suffix of their
//! class (`ocsf-<v>-<class_uid>-*`), so the count applies to the indices
//! created after the install, whatever their suffix; existing indices keep
//! theirs (OpenSearch fixes an index's primary shards when it is created).

use lakeship::convert::IndexLayout;
use serde_json::json;

use super::install::{InstallKind, InstallRequest};

/// Sets the layout's primary shards in the index templates of `plan`;
/// returns how many templates it changed.
pub fn apply_layout(plan: &mut [InstallRequest], layout: &IndexLayout) -> usize {
    let mut num_changed = 0;
    for request in plan.iter_mut().filter(|request| request.kind == InstallKind::IndexTemplate) {
        let Some(class_uid) = request.body["_meta"]["class_uid"].as_i64() else { continue };
        let Some(num_shards) = layout.num_shards(class_uid) else { continue };
        let Some(settings) = request.body["template"]["settings"].as_object_mut() else { continue };
        if settings.get("index.number_of_shards") != Some(&json!(num_shards)) {
            settings.insert("index.number_of_shards".to_string(), json!(num_shards));
            num_changed += 1;
        }
    }
    num_changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_the_shards_of_the_classes_the_layout_names() {
        let mut plan = crate::templates::embedded_install_plan().expect("built-in templates");
        let layout: IndexLayout = "4001=hour/6, 4003=day@2026-01-01, 4003=day/3@2026-02-01".parse().unwrap();
        let num_versions = plan.iter().filter(|r| r.kind == InstallKind::IndexTemplate && r.body["_meta"]["class_uid"] == 4001).count();
        assert!(num_versions >= 2, "4001 in every OCSF version");
        assert_eq!(apply_layout(&mut plan, &layout), 2 * num_versions);
        for request in plan.iter().filter(|r| r.kind == InstallKind::IndexTemplate) {
            let shards = &request.body["template"]["settings"]["index.number_of_shards"];
            match request.body["_meta"]["class_uid"].as_i64() {
                Some(4001) => assert_eq!(shards, &json!(6), "{}", request.path),
                Some(4003) => assert_eq!(shards, &json!(3), "{}", request.path),
                Some(_) => assert_eq!(shards, &json!(1), "{}", request.path),
                None => {}
            }
        }
        assert_eq!(apply_layout(&mut plan, &layout), 0, "applied already");
    }
}
