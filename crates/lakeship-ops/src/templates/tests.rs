//! Tests of template generation: resolution, type rules, depth cuts, aliases,
//! the install plan, and the committed `templates/` against a fresh
//! generation from the committed `schema/`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::aliases::{AliasOutcome, AliasSpec, apply_alias};
use super::mapping::{Expander, LeafKind, MappingRules, count_fields, leaf_kind};
use super::resolve::{ResolvedSchema, resolve};
use super::*;

/// A small schema exercising extends, `$include`, profiles, overrides and a
/// recursive object.
fn tiny_schema() -> SchemaSource {
    let source = json!({
        "version": "9.9.9",
        "notice": "test",
        "categories": {"network": 4},
        "types": {
            "boolean_t": null, "datetime_t": "string_t", "float_t": null, "integer_t": null, "ip_t": "string_t",
            "json_t": null, "long_t": null, "port_t": "integer_t", "string_t": null, "timestamp_t": "long_t",
            "url_t": "string_t", "uuid_t": null
        },
        "dictionary": {
            "count": {"type": "integer_t"}, "data": {"type": "json_t"}, "device": {"type": "device"},
            "flag": {"type": "boolean_t"}, "ip": {"type": "ip_t"}, "message": {"type": "string_t"},
            "name": {"type": "string_t"}, "node": {"type": "node"}, "parent": {"type": "node"},
            "port": {"type": "port_t"}, "ratio": {"type": "float_t"}, "size": {"type": "long_t"},
            "time": {"type": "timestamp_t"}, "uid": {"type": "uuid_t"}, "unmapped": {"type": "object"},
            "url_string": {"type": "url_t"}, "children": {"type": "node", "is_array": true}
        },
        "objects": {
            "object": {"attributes": {}},
            "_entity": {"extends": "object", "attributes": {"name": {}, "uid": {}}},
            "device": {"extends": "_entity", "attributes": {"ip": {}, "port": {}, "size": {"type": "integer_t"}}},
            "node": {"extends": "_entity", "attributes": {"parent": {}, "children": {}, "url_string": {}}}
        },
        "includes": {
            "includes/occurrence.json": {"attributes": {"time": {}, "count": {}}},
            "profiles/host.json": {"attributes": {"device": {}}},
            "profiles/extra.json": {"$include": ["includes/occurrence.json"], "attributes": {"flag": {}}}
        },
        "events": {
            "base_event": {
                "caption": "Base Event", "category": "other",
                "$include": ["includes/occurrence.json"],
                "attributes": {"message": {}, "unmapped": {}, "data": {}}
            },
            "network": {"caption": "Network", "category": "network", "extends": "base_event", "profiles": ["host"], "attributes": {}},
            "network_activity": {
                "caption": "Network Activity", "extends": "network", "uid": 1,
                "profiles": ["extra"],
                "attributes": {"node": {}, "ratio": {}, "count": {"type": "long_t"}}
            }
        }
    });
    serde_json::from_value(source).expect("a valid tiny schema")
}

fn resolved_tiny() -> ResolvedSchema {
    resolve(&tiny_schema()).expect("the tiny schema resolves")
}

fn attribute_names(schema: &ResolvedSchema, class_uid: i64) -> Vec<String> {
    let class = schema.classes.iter().find(|class| class.class_uid == class_uid).expect("class");
    class.attributes.keys().cloned().collect()
}

#[test]
fn resolves_extends_includes_and_profiles() {
    let schema = resolved_tiny();
    let class_uids: Vec<i64> = schema.classes.iter().map(|class| class.class_uid).collect();
    assert_eq!(class_uids, [0, 4001], "the abstract `network` is no class; the category is inherited");
    // From base_event (own + $include), `network` (profile listed without
    // $include), and its own (profile `extra`, which includes again).
    assert_eq!(
        attribute_names(&schema, 4001),
        ["count", "data", "device", "flag", "message", "node", "ratio", "time", "time_dt", "unmapped"]
    );
    assert_eq!(attribute_names(&schema, 0), ["count", "data", "message", "time", "time_dt", "unmapped"]);
    let class = &schema.classes[1];
    assert_eq!(class.attributes["count"].type_name, "long_t", "a class refines the dictionary type");
    assert_eq!(schema.classes[0].attributes["count"].type_name, "integer_t");
    assert_eq!(class.attributes["time_dt"].type_name, "datetime_t");
    let device = &schema.objects["device"];
    assert_eq!(device.keys().cloned().collect::<Vec<_>>(), ["ip", "name", "port", "size", "uid"]);
    assert_eq!(device["size"].type_name, "integer_t");
    assert!(schema.objects["node"]["children"].is_array);
}

#[test]
fn resolution_errors_name_the_problem() {
    let mut missing_include = tiny_schema();
    missing_include.includes.remove("profiles/host.json");
    let error = resolve(&missing_include).expect_err("missing profile").to_string();
    assert!(error.contains("network includes missing profiles/host.json"), "{error}");

    let mut cycle = tiny_schema();
    cycle.objects.get_mut("_entity").expect("entity").extends = Some("device".to_string());
    let error = resolve(&cycle).expect_err("cycle").to_string();
    assert!(error.contains("extends cycle"), "{error}");

    let mut unknown = tiny_schema();
    unknown.objects.get_mut("device").expect("device").attributes.insert("nope".to_string(), Default::default());
    let error = resolve(&unknown).expect_err("unknown attribute").to_string();
    assert!(error.contains("attribute device.nope has no type"), "{error}");
}

#[test]
fn maps_types() {
    let schema = resolved_tiny();
    let kind = |name: &str, type_name: &str| {
        let attribute = resolve::Attribute { type_name: type_name.to_string(), is_array: false };
        leaf_kind(&schema, name, &attribute)
    };
    assert_eq!(kind("time", "timestamp_t"), Some(LeafKind::Date));
    assert_eq!(kind("time_dt", "datetime_t"), Some(LeafKind::Date));
    assert_eq!(kind("ip", "ip_t"), Some(LeafKind::Ip));
    assert_eq!(kind("port", "port_t"), Some(LeafKind::Integer));
    assert_eq!(kind("size", "long_t"), Some(LeafKind::Long));
    assert_eq!(kind("ratio", "float_t"), Some(LeafKind::Double));
    assert_eq!(kind("flag", "boolean_t"), Some(LeafKind::Boolean));
    assert_eq!(kind("data", "json_t"), Some(LeafKind::Text));
    assert_eq!(kind("unmapped", "object"), Some(LeafKind::FlatObject));
    assert_eq!(kind("uid", "uuid_t"), Some(LeafKind::Keyword { full_text: false }), "a chain ending elsewhere");
    assert_eq!(kind("message", "string_t"), Some(LeafKind::Keyword { full_text: true }));
    assert_eq!(kind("url_string", "url_t"), Some(LeafKind::Keyword { full_text: true }));
    assert_eq!(kind("device", "device"), None, "objects are no leaves");
}

#[test]
fn cuts_recursive_objects_at_the_depth() {
    let schema = resolved_tiny();
    let node = resolve::Attribute { type_name: "node".to_string(), is_array: false };
    let mut expander = Expander::new(&schema, MappingRules { depth: 2, ignore_above: 256 });
    let mapping = expander.attribute("node", &node, 0, "").expect("level 1 is within the depth");
    let parent = &mapping["properties"]["parent"];
    assert_eq!(parent["properties"]["name"], json!({"type": "keyword", "ignore_above": 256}));
    assert!(parent["properties"].get("parent").is_none(), "level 3 is cut");
    let cut_paths: Vec<&str> = expander.cuts.iter().map(|cut| cut.path.as_str()).collect();
    assert_eq!(cut_paths, ["node.children.children", "node.children.parent", "node.parent.children", "node.parent.parent"]);
    // node and its 3 leaves, parent and children with 3 leaves each, and
    // url_string.text three times.
    let properties = json!({"node": mapping});
    assert_eq!(count_fields(properties.as_object().expect("object")), 1 + 3 + 2 * (1 + 3) + 3);
}

#[test]
fn generates_components_and_index_templates() {
    let aliases = [AliasSpec {
        version: "9.9.9".to_string(),
        path: "device.owner.name".to_string(),
        target: "device.name".to_string(),
        reason: String::new(),
    }];
    let generated = generate(&[tiny_schema()], &aliases, &GenerateOptions::default()).expect("generates");
    let paths: Vec<&str> = generated.files.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "REPORT.md",
            "ism/lakeship-ocsf.json",
            "ocsf-9.9.9/component_templates/ocsf-9.9.9-base_event.json",
            "ocsf-9.9.9/component_templates/ocsf-9.9.9-object-device.json",
            "ocsf-9.9.9/component_templates/ocsf-9.9.9-object-node.json",
            "ocsf-9.9.9/index_templates/ocsf-9.9.9-0-base_event.json",
            "ocsf-9.9.9/index_templates/ocsf-9.9.9-4001-network_activity.json",
        ]
    );
    let template: Value = serde_json::from_slice(&generated.files[6].bytes).expect("json");
    assert_eq!(template["index_patterns"], json!(["ocsf-9.9.9-4001-*"]));
    assert_eq!(template["composed_of"], json!(["ocsf-9.9.9-base_event", "ocsf-9.9.9-object-device", "ocsf-9.9.9-object-node"]));
    let own = &template["template"]["mappings"]["properties"];
    assert_eq!(own["count"], json!({"type": "long"}), "a class's refined base attribute is its own");
    assert_eq!(own["device"]["properties"]["owner"]["properties"]["name"], json!({"type": "alias", "path": "device.name"}));
    assert!(own.get("message").is_none(), "base attributes come from the base component");
    let base: Value = serde_json::from_slice(&generated.files[2].bytes).expect("json");
    let base_properties = &base["template"]["mappings"]["properties"];
    assert_eq!(base_properties["unmapped"], json!({"type": "flat_object"}));
    assert_eq!(base_properties["lakeship"]["properties"]["row"], json!({"type": "long"}));
    assert_eq!(base_properties["accountid"]["type"], "keyword");
    let report = &generated.classes[1];
    assert_eq!(report.aliases, ["device.owner.name"]);
    assert_eq!(template["_meta"]["num_fields"], json!(report.num_fields));
    assert_eq!(template["template"]["settings"]["index.mapping.total_fields.limit"], json!(report.total_fields_limit));
    let bytes = &generated.files[6].bytes;
    assert!(bytes.starts_with(b"{\n  \"_meta\"") && bytes.ends_with(b"}\n"), "sorted, 2-space indent, final newline");
}

#[test]
fn aliases_must_not_collide() {
    let mut composed = json!({
        "cloud": {"properties": {"account_uid": {"type": "keyword"}, "region": {"type": "keyword"}}},
        "unmapped": {"type": "flat_object"},
    });
    let composed = composed.as_object_mut().expect("object");
    let alias = |path: &str, target: &str| AliasSpec {
        version: "1.0.0-rc.2".to_string(),
        path: path.to_string(),
        target: target.to_string(),
        reason: String::new(),
    };
    let mut own = serde_json::Map::new();
    let outcome = apply_alias(&alias("cloud.account.uid", "cloud.account_uid"), composed, &mut own).expect("added");
    assert_eq!(outcome, AliasOutcome::Added);
    assert_eq!(own["cloud"]["properties"]["account"]["properties"]["uid"]["path"], "cloud.account_uid");
    let outcome = apply_alias(&alias("x.y", "cloud.nothing"), composed, &mut own).expect("no target");
    assert_eq!(outcome, AliasOutcome::TargetNotMapped);
    let collision = apply_alias(&alias("cloud.region", "cloud.account_uid"), composed, &mut own);
    assert!(collision.expect_err("collision").to_string().contains("collides with a mapped field"));
    let below_leaf = apply_alias(&alias("cloud.region.name", "cloud.account_uid"), composed, &mut own);
    assert!(below_leaf.expect_err("below a leaf").to_string().contains("non-object field cloud.region"));
    let to_object = apply_alias(&alias("z", "unmapped"), composed, &mut own);
    assert!(to_object.expect_err("flat_object target").to_string().contains("cannot be aliased"));
}

#[test]
fn total_fields_limit_has_headroom() {
    assert_eq!(generate::total_fields_limit(0), 100);
    assert_eq!(generate::total_fields_limit(450), 600);
    assert_eq!(generate::total_fields_limit(1665), 1900);
    assert_eq!(generate::total_fields_limit(5000), 5500);
}

#[test]
fn install_plan_orders_and_conditions_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let generated = generate(&[tiny_schema()], &[], &GenerateOptions::default()).expect("generates");
    write_generated(dir.path(), &generated).expect("written");
    let ledger = json!({"index_patterns": ["lakeship-ledger"], "template": {}});
    std::fs::write(dir.path().join("lakeship-ledger.json"), ledger.to_string()).expect("ledger");
    std::fs::write(dir.path().join("notes.txt"), "ignored").expect("notes");
    let plan = install_plan(dir.path()).expect("plan");
    let paths: Vec<&str> = plan.iter().map(|request| request.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "_component_template/ocsf-9.9.9-base_event",
            "_component_template/ocsf-9.9.9-object-device",
            "_component_template/ocsf-9.9.9-object-node",
            "_index_template/ocsf-9.9.9-0-base_event",
            "_index_template/ocsf-9.9.9-4001-network_activity",
            "_index_template/lakeship-ledger",
            "_plugins/_ism/policies/lakeship-ocsf",
        ]
    );
    assert!(plan.iter().all(|request| request.method == "PUT"));
    assert_eq!(plan[6].condition, Some(InstallCondition::RequiresPlugin("opensearch-index-management".to_string())));
    assert!(plan[..6].iter().all(|request| request.condition.is_none()));
    assert_eq!(plan[5].body, ledger);

    std::fs::remove_file(dir.path().join("ocsf-9.9.9/component_templates/ocsf-9.9.9-object-node.json")).expect("rm");
    let error = install_plan(dir.path()).expect_err("missing component").to_string();
    assert!(error.contains("composes \"ocsf-9.9.9-object-node\""), "{error}");
}

#[test]
fn writing_removes_stale_generated_files_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stale = dir.path().join("ocsf-0.0.1/index_templates/old.json");
    std::fs::create_dir_all(stale.parent().expect("parent")).expect("mkdir");
    std::fs::write(&stale, "{}").expect("stale");
    std::fs::write(dir.path().join("lakeship-ledger.json"), "{}").expect("ledger");
    let generated = generate(&[tiny_schema()], &[], &GenerateOptions::default()).expect("generates");
    let summary = write_generated(dir.path(), &generated).expect("written");
    assert_eq!((summary.num_written, summary.num_removed), (generated.files.len(), 1));
    assert!(!dir.path().join("ocsf-0.0.1").exists() && dir.path().join("lakeship-ledger.json").exists());
    let again = write_generated(dir.path(), &generated).expect("written again");
    assert_eq!((again.num_written, again.num_unchanged), (0, generated.files.len()));
    assert_eq!(read_generated(dir.path()).expect("read"), generated.files);
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The committed `templates/` is exactly what the committed `schema/`
/// generates (regenerate with `lakeship templates generate`).
#[test]
fn committed_templates_are_up_to_date() {
    let root = repo_root();
    let generated = generate_from_dir(&root.join("schema"), None, &GenerateOptions::default()).expect("generates");
    let dir = tempfile::tempdir().expect("tempdir");
    write_generated(dir.path(), &generated).expect("written");
    let fresh = read_generated(dir.path()).expect("read fresh");
    let committed = read_generated(&root.join("templates")).expect("read committed");
    let fresh_paths: Vec<&str> = fresh.iter().map(|file| file.path.as_str()).collect();
    let committed_paths: Vec<&str> = committed.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(committed_paths, fresh_paths, "templates/ holds other files than a generation: run lakeship templates generate");
    for (fresh, committed) in fresh.iter().zip(&committed) {
        assert!(fresh.bytes == committed.bytes, "templates/{} is stale: run lakeship templates generate", fresh.path);
    }
}

/// The classes of the committed schema are the ones `ocsf::class_name` knows.
#[test]
fn committed_schema_classes_match_ocsf_class_names() {
    for source in load_schemas(&repo_root().join("schema")).expect("schemas") {
        let schema = resolve(&source).expect("resolves");
        assert!(schema.classes.len() > 20, "{} has {} classes", source.version, schema.classes.len());
        for class in schema.classes.iter().filter(|class| class.class_uid != 0) {
            let known = lakeship::ocsf::class_name(&source.version, class.class_uid);
            assert_eq!(known, Some(class.caption.as_str()), "OCSF {} class {}", source.version, class.class_uid);
        }
    }
}

/// Index patterns of different classes and versions never overlap (each is
/// a prefix and a `*`; two overlap when one prefix starts the other), and
/// every index name the converter writes matches its class's pattern.
#[test]
fn index_patterns_never_overlap() {
    let generated = generate_from_dir(&repo_root().join("schema"), None, &GenerateOptions::default()).expect("generates");
    let prefixes: Vec<&str> = generated.classes.iter().map(|class| class.index_pattern.strip_suffix('*').expect("trailing *")).collect();
    for (index, a) in prefixes.iter().enumerate() {
        for b in &prefixes[index + 1..] {
            assert!(!a.starts_with(b) && !b.starts_with(a), "{a}* and {b}* overlap");
        }
    }
    for class in &generated.classes {
        let suffix = lakeship::convert::TimeSuffix::Month;
        let name =
            lakeship::convert::index_name("ocsf", Some(&class.version), Some(class.class_uid), Some(&class.caption), suffix, Some(0));
        assert!(name.starts_with(class.index_pattern.trim_end_matches('*')), "{name} vs {}", class.index_pattern);
        assert_eq!(name, format!("{}-1970.01", class.index_template));
    }
}

/// The properties an index template composes: its component templates' in
/// order, then its own.
fn composed_properties(dir: &Path, template: &Value) -> serde_json::Map<String, Value> {
    let version_dir = dir.join(format!("ocsf-{}", template["_meta"]["ocsf_version"].as_str().expect("version")));
    let mut composed = serde_json::Map::new();
    for component in template["composed_of"].as_array().expect("composed_of") {
        let path = version_dir.join(format!("component_templates/{}.json", component.as_str().expect("name")));
        let component: Value = serde_json::from_slice(&std::fs::read(path).expect("component")).expect("json");
        let properties = component["template"]["mappings"]["properties"].as_object().expect("properties");
        mapping::merge_properties(&mut composed, properties);
    }
    let own = template["template"]["mappings"]["properties"].as_object().expect("properties");
    mapping::merge_properties(&mut composed, own);
    composed
}

/// Every field of `document` is mapped with a type that accepts its value.
fn check_document(properties: &serde_json::Map<String, Value>, document: &Value, prefix: &str, problems: &mut Vec<String>) {
    let Some(fields) = document.as_object() else { return };
    for (name, value) in fields {
        let path = format!("{prefix}{name}");
        let Some(mapping) = properties.get(name) else {
            problems.push(format!("{path} is not mapped"));
            continue;
        };
        let kind = mapping.get("type").and_then(Value::as_str).unwrap_or("object");
        let values = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for value in values {
            let accepted = match (kind, value) {
                ("flat_object", Value::Object(_)) => true,
                ("object", Value::Object(_)) => {
                    let empty = serde_json::Map::new();
                    let children = mapping.get("properties").and_then(Value::as_object).unwrap_or(&empty);
                    check_document(children, value, &format!("{path}."), problems);
                    true
                }
                ("keyword" | "text" | "ip" | "date", Value::String(_)) => true,
                ("integer" | "long" | "date", Value::Number(number)) => number.is_i64() || number.is_u64(),
                ("double", Value::Number(_)) | ("boolean", Value::Bool(_)) => true,
                _ => false,
            };
            if !accepted {
                problems.push(format!("{path}: {kind} does not accept {value}"));
            }
        }
    }
}

/// The documents the converter writes from the Security Lake samples (the
/// golden files next to them) fit the committed templates: every field is
/// mapped, with a type that accepts the value, in the index template whose
/// pattern matches the document's index.
#[test]
fn security_lake_samples_fit_the_templates() {
    let root = repo_root();
    let templates_dir = root.join("templates");
    let generated = generate_from_dir(&root.join("schema"), None, &GenerateOptions::default()).expect("generates");
    let mut golden_files = Vec::new();
    let mut folders = vec![root.join("tests/fixtures/security-lake-samples")];
    while let Some(folder) = folders.pop() {
        for path in output::sorted_entries(&folder).expect("fixtures") {
            if path.is_dir() {
                folders.push(path);
            } else if path.to_string_lossy().ends_with(".expected.ndjson") {
                golden_files.push(path);
            }
        }
    }
    assert!(golden_files.len() >= 40, "found {} golden files", golden_files.len());
    let mut num_documents = 0;
    let mut problems = Vec::new();
    for path in golden_files {
        for line in std::fs::read_to_string(&path).expect("golden").lines() {
            let golden: Value = serde_json::from_str(line).expect("json");
            let index = golden["index"].as_str().expect("index");
            let class = generated.classes.iter().find(|class| index.starts_with(class.index_pattern.trim_end_matches('*')));
            let class = class.unwrap_or_else(|| panic!("no index template matches {index}"));
            let template_path = templates_dir.join(format!("ocsf-{}/index_templates/{}.json", class.version, class.index_template));
            let template: Value = serde_json::from_slice(&std::fs::read(template_path).expect("template")).expect("json");
            let properties = composed_properties(&templates_dir, &template);
            check_document(&properties, &golden["document"], "", &mut problems);
            num_documents += 1;
        }
    }
    assert_eq!(num_documents, 51);
    assert!(problems.is_empty(), "{problems:#?}");

    let template_path = templates_dir.join("ocsf-1.1.0/index_templates/ocsf-1.1.0-4001-network_activity.json");
    let template: Value = serde_json::from_slice(&std::fs::read(template_path).expect("template")).expect("json");
    let mut problems = Vec::new();
    let wrong = json!({"nope": 1, "class_uid": "x", "src_endpoint": {"port": 1.5}, "unmapped": {"a.b": "c"}});
    check_document(&composed_properties(&templates_dir, &template), &wrong, "", &mut problems);
    assert_eq!(problems.len(), 3, "{problems:#?}");
}

#[test]
fn the_refresh_interval_is_set_in_the_ocsf_index_templates_only() {
    let mut plan = embedded_install_plan().unwrap();
    set_refresh_interval(&mut plan, "30s").unwrap();
    let index_templates: Vec<&InstallRequest> = plan.iter().filter(|request| request.kind == InstallKind::IndexTemplate).collect();
    let ledger = index_templates.iter().find(|request| request.path.contains("lakeship-ledger")).expect("the ledger's template");
    assert_ne!(ledger.body.pointer("/template/settings/index.refresh_interval"), Some(&serde_json::json!("30s")));
    let ocsf: Vec<_> = index_templates.iter().filter(|request| !request.path.contains("lakeship-ledger")).collect();
    assert!(!ocsf.is_empty());
    for request in ocsf {
        assert_eq!(request.body["template"]["settings"]["index.refresh_interval"], "30s", "{}", request.path);
    }
    for bad in ["", "1", "fast", "1 s", "s"] {
        assert!(set_refresh_interval(&mut plan, bad).is_err(), "{bad:?}");
    }
    for good in ["-1", "500ms", "1s", "2m"] {
        set_refresh_interval(&mut plan, good).unwrap();
    }
}
