//! Component templates, composable index templates and the ISM policy of one
//! or more OCSF versions.
//!
//! Per version:
//!
//! * `ocsf-<v>-base_event`: the base event's scalar attributes (with the
//!   `_dt` siblings and `unmapped` as `flat_object`), the provenance object
//!   `lakeship`, and the fields Security Lake adds outside OCSF.
//! * `ocsf-<v>-object-<attribute>`: one per object held at the event root
//!   (`device`, `src_endpoint`, `metadata`, …), expanded to the depth limit.
//!   Component templates merge at the document root, so an object's mapping
//!   is anchored at the attribute that holds it; `src_endpoint` and
//!   `dst_endpoint` (both `network_endpoint` objects) get one each, and every
//!   class composes exactly the objects it has. `_meta.ocsf_object` names the
//!   object.
//! * `ocsf-<v>-<class_uid>-<class_name>`: one index template per class,
//!   pattern `ocsf-<v>-<class_uid>-*`, composed of the base and its root
//!   objects, with the class's own scalar attributes, the bridge aliases,
//!   and settings (`total_fields.limit` from the real field count).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::aliases::{AliasOutcome, AliasSpec, apply_alias};
use super::mapping::{Cut, Expander, MappingRules, count_fields, cuts_by_object, leaf_kind, merge_properties};
use super::output::GeneratedFile;
use super::resolve::{Attribute, EventClass, ResolvedSchema};
use super::{Result, TemplateError};
use lakeship::convert::routing::sanitize_name_part;

/// The default object depth (see [`GenerateOptions::depth`]).
pub const DEFAULT_DEPTH: usize = 3;

/// The folder (under the output folder) of the ISM policies.
pub const ISM_DIR: &str = "ism";
/// The generated report (under the output folder).
pub const REPORT_FILE: &str = "REPORT.md";
/// The plugin the ISM policy needs, as `GET _cat/plugins` lists it.
pub const ISM_PLUGIN: &str = "opensearch-index-management";
/// The name of the ISM policy.
pub const ISM_POLICY: &str = "lakeship-ocsf";

/// The folder of one version's templates: `ocsf-<version>`.
pub fn version_dir(version: &str) -> String {
    format!("ocsf-{version}")
}
/// The sub-folder of component templates.
pub const COMPONENT_DIR: &str = "component_templates";
/// The sub-folder of index templates.
pub const INDEX_DIR: &str = "index_templates";

/// Fields Security Lake writes next to the OCSF attributes of 1.1.0 objects.
pub const SECURITY_LAKE_FIELDS: &[&str] = &["accountid", "asl_version", "region"];
/// The provenance object the converter adds to every document.
pub const PROVENANCE_FIELD: &str = "lakeship";

/// Options of generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Object levels mapped below the document root (`src_endpoint` is level
    /// 1, `actor.process.file` level 3). Default [`DEFAULT_DEPTH`].
    pub depth: usize,
    /// `ignore_above` of keyword fields. Default 1024.
    pub ignore_above: u32,
    /// Prefix of index names, as the converter writes them. Default `ocsf`.
    pub index_prefix: String,
    /// `index.number_of_shards`. Default 1.
    pub number_of_shards: u32,
    /// `index.auto_expand_replicas`. Default `0-1`: one replica where a
    /// second data node exists, none on a single node (which stays green).
    /// `1-1` is a fixed single replica.
    pub auto_expand_replicas: String,
    /// `index.refresh_interval`. Default `1s`: a row is searchable about a
    /// second after it is indexed (freshness is the point of near-real-time
    /// analysis); set explicitly, because an index without it stops
    /// refreshing while no one searches it ("search idle"). Its cost in
    /// indexing throughput is measured in BENCHMARKS.md; `lakeship templates
    /// install --refresh-interval` changes it at install.
    pub refresh_interval: String,
    /// `index.codec`. Default `best_compression` (DEFLATE for stored fields:
    /// about 55% smaller `_source` than `default`'s LZ4, see BENCHMARKS.md).
    pub codec: String,
    /// Priority of the index templates. Default 100.
    pub priority: u32,
    /// Days after index creation when the ISM policy force-merges. Default 35
    /// (a monthly index is complete by then).
    pub warm_after_days: u32,
    /// Days after index creation when the ISM policy deletes. Default 365.
    pub retention_days: u32,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            depth: DEFAULT_DEPTH,
            ignore_above: 1024,
            index_prefix: "ocsf".to_string(),
            number_of_shards: 1,
            auto_expand_replicas: "0-1".to_string(),
            refresh_interval: "1s".to_string(),
            codec: "best_compression".to_string(),
            priority: 100,
            warm_after_days: 35,
            retention_days: 365,
        }
    }
}

impl GenerateOptions {
    /// Sets the object depth.
    pub fn with_depth(mut self, depth: usize) -> Self {
        self.depth = depth;
        self
    }

    fn rules(&self) -> MappingRules {
        MappingRules { depth: self.depth, ignore_above: self.ignore_above }
    }
}

/// What generation reports about one event class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassReport {
    /// OCSF version.
    pub version: String,
    /// `class_uid`.
    pub class_uid: i64,
    /// Class caption.
    pub caption: String,
    /// The index template's name.
    pub index_template: String,
    /// The index pattern.
    pub index_pattern: String,
    /// Fields of the composed mapping (objects, leaves, multi-fields, aliases).
    pub num_fields: usize,
    /// The `index.mapping.total_fields.limit` set.
    pub total_fields_limit: usize,
    /// Object attributes the depth limit left out, by path.
    pub cuts: Vec<Cut>,
    /// Bridge aliases added.
    pub aliases: Vec<String>,
}

impl ClassReport {
    /// The `n` objects the depth limit cut most, as `object{times}count`
    /// (`times` is `×` in Markdown, `x` on a terminal).
    pub fn most_cut(&self, n: usize, times: &str) -> String {
        cuts_by_object(&self.cuts).iter().take(n).map(|(object, count)| format!("{object}{times}{count}")).collect::<Vec<_>>().join(", ")
    }
}

/// What generation reports about one component template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentReport {
    /// OCSF version.
    pub version: String,
    /// Template name.
    pub name: String,
    /// Fields it maps.
    pub num_fields: usize,
    /// Object attributes the depth limit left out.
    pub num_cuts: usize,
}

/// Everything one generation produced.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    /// The files, sorted by path.
    pub files: Vec<GeneratedFile>,
    /// One report per event class, by version then class_uid.
    pub classes: Vec<ClassReport>,
    /// One report per component template.
    pub components: Vec<ComponentReport>,
}

/// `total_fields.limit` for a mapping of `num_fields` fields: 10 % headroom
/// (at least 100, which also covers the metadata fields OpenSearch counts),
/// rounded up to a hundred.
pub fn total_fields_limit(num_fields: usize) -> usize {
    let wanted = num_fields + (num_fields / 10).max(100);
    wanted.div_ceil(100) * 100
}

/// A component template in the making.
#[derive(Debug)]
struct Component {
    name: String,
    properties: Map<String, Value>,
    meta: Value,
    cuts: Vec<Cut>,
}

impl Component {
    fn num_fields(&self) -> usize {
        count_fields(&self.properties)
    }

    fn body(&self) -> Value {
        json!({
            "_meta": self.meta,
            "template": {
                "settings": {"index.mapping.total_fields.limit": total_fields_limit(self.num_fields())},
                "mappings": {"dynamic": false, "properties": self.properties},
            },
        })
    }
}

/// Generates one version's templates into `generated`.
pub fn generate_version(
    schema: &ResolvedSchema,
    aliases: &[AliasSpec],
    options: &GenerateOptions,
    generated: &mut Generated,
) -> Result<()> {
    let version = &schema.version;
    if options.depth == 0 {
        return Err(TemplateError::InvalidOptions("the depth must be at least 1".to_string()));
    }
    let base_event =
        schema.base_event().ok_or_else(|| TemplateError::Resolve { version: version.clone(), message: "no base_event".to_string() })?;
    let base = base_component(schema, base_event, options)?;
    let objects = object_components(schema, options);
    let mut used_aliases = BTreeSet::new();
    let dir = version_dir(version);
    for class in &schema.classes {
        let (template, report) = index_template(schema, class, &base, &objects, aliases, options)?;
        used_aliases.extend(report.aliases.iter().cloned());
        generated.files.push(GeneratedFile::json(format!("{dir}/{INDEX_DIR}/{}.json", report.index_template), &template));
        generated.classes.push(report);
    }
    for alias in aliases.iter().filter(|alias| &alias.version == version) {
        if !used_aliases.contains(&alias.path) {
            return Err(TemplateError::Alias {
                version: version.clone(),
                path: alias.path.clone(),
                message: format!("no class of this version maps the target {}", alias.target),
            });
        }
    }
    for component in std::iter::once(&base).chain(objects.values()) {
        generated.files.push(GeneratedFile::json(format!("{dir}/{COMPONENT_DIR}/{}.json", component.name), &component.body()));
        generated.components.push(ComponentReport {
            version: version.clone(),
            name: component.name.clone(),
            num_fields: component.num_fields(),
            num_cuts: component.cuts.len(),
        });
    }
    Ok(())
}

fn component_name(options: &GenerateOptions, version: &str, suffix: &str) -> String {
    format!("{}-{}-{suffix}", options.index_prefix, sanitize_name_part(version))
}

/// The base event's scalars, provenance and the Security Lake fields.
fn base_component(schema: &ResolvedSchema, base_event: &EventClass, options: &GenerateOptions) -> Result<Component> {
    let mut expander = Expander::new(schema, options.rules());
    let scalars: BTreeMap<String, Attribute> = base_event
        .attributes
        .iter()
        .filter(|(name, attribute)| leaf_kind(schema, name, attribute).is_some())
        .map(|(name, attribute)| (name.clone(), attribute.clone()))
        .collect();
    let mut properties = expander.properties(&scalars, 0, "");
    let keyword = json!({"type": "keyword", "ignore_above": options.ignore_above});
    let mut added = vec![(
        PROVENANCE_FIELD,
        json!({"properties": {
            "bucket": keyword,
            "key": keyword,
            "row_group": {"type": "integer"},
            "row": {"type": "long"},
        }}),
    )];
    added.extend(SECURITY_LAKE_FIELDS.iter().map(|name| (*name, keyword.clone())));
    for (name, mapping) in added {
        // An OCSF attribute of the same name must map the same way.
        for class in &schema.classes {
            let Some(attribute) = class.attributes.get(name) else { continue };
            if expander.attribute(name, attribute, 0, "").as_ref() != Some(&mapping) {
                let message = format!("the added field {name} clashes with attribute {}.{name}", class.name);
                return Err(TemplateError::Resolve { version: schema.version.clone(), message });
            }
        }
        properties.insert(name.to_string(), mapping);
    }
    Ok(Component {
        name: component_name(options, &schema.version, "base_event"),
        properties,
        meta: json!({
            "description": format!(
                "OCSF {} base event: scalar attributes, provenance ({PROVENANCE_FIELD}.*) \
                 and the fields Security Lake adds",
                schema.version
            ),
            "generated_by": "lakeship templates generate",
            "ocsf_version": schema.version,
        }),
        cuts: Vec::new(),
    })
}

/// One component per (root attribute, object type) over all classes, keyed
/// by that pair.
fn object_components(schema: &ResolvedSchema, options: &GenerateOptions) -> BTreeMap<(String, String), Component> {
    let mut pairs: BTreeMap<(String, String), Attribute> = BTreeMap::new();
    for class in &schema.classes {
        for (name, attribute) in &class.attributes {
            if leaf_kind(schema, name, attribute).is_none() {
                pairs.entry((name.clone(), attribute.type_name.clone())).or_insert_with(|| attribute.clone());
            }
        }
    }
    let mut num_types_per_name: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, _) in pairs.keys() {
        *num_types_per_name.entry(name.as_str()).or_default() += 1;
    }
    let mut components = BTreeMap::new();
    for ((name, object), attribute) in &pairs {
        let suffix = match num_types_per_name[name.as_str()] {
            1 => format!("object-{name}"),
            _ => format!("object-{name}-{object}"),
        };
        let mut expander = Expander::new(schema, options.rules());
        let mut properties = Map::new();
        if let Some(mapping) = expander.attribute(name, attribute, 0, "") {
            properties.insert(name.clone(), mapping);
        }
        let component = Component {
            name: component_name(options, &schema.version, &suffix),
            properties,
            meta: json!({
                "description": format!("OCSF {} object {object} at {name}", schema.version),
                "generated_by": "lakeship templates generate",
                "ocsf_attribute": name,
                "ocsf_object": object,
                "ocsf_version": schema.version,
            }),
            cuts: expander.cuts,
        };
        components.insert((name.clone(), object.clone()), component);
    }
    components
}

/// The index template of one class and its report.
fn index_template(
    schema: &ResolvedSchema,
    class: &EventClass,
    base: &Component,
    objects: &BTreeMap<(String, String), Component>,
    aliases: &[AliasSpec],
    options: &GenerateOptions,
) -> Result<(Value, ClassReport)> {
    let version = sanitize_name_part(&schema.version);
    let index_template = format!("{}-{version}-{}-{}", options.index_prefix, class.class_uid, sanitize_name_part(&class.caption));
    let index_pattern = format!("{}-{version}-{}-*", options.index_prefix, class.class_uid);
    let mut composed_of = vec![base.name.clone()];
    let mut composed = base.properties.clone();
    let mut cuts = Vec::new();
    let mut own = Map::new();
    let mut expander = Expander::new(schema, options.rules());
    for (name, attribute) in &class.attributes {
        if leaf_kind(schema, name, attribute).is_none() {
            let component = &objects[&(name.clone(), attribute.type_name.clone())];
            composed_of.push(component.name.clone());
            merge_properties(&mut composed, &component.properties);
            cuts.extend(component.cuts.iter().cloned());
            continue;
        }
        let Some(mapping) = expander.attribute(name, attribute, 0, "") else { continue };
        if base.properties.get(name) != Some(&mapping) {
            own.insert(name.clone(), mapping);
        }
    }
    merge_properties(&mut composed, &own);
    let mut added_aliases = Vec::new();
    for alias in aliases.iter().filter(|alias| alias.version == schema.version) {
        if apply_alias(alias, &mut composed, &mut own)? == AliasOutcome::Added {
            added_aliases.push(alias.path.clone());
        }
    }
    let num_fields = count_fields(&composed);
    let total_fields_limit = total_fields_limit(num_fields);
    cuts.sort();
    let template = json!({
        "_meta": {
            "description": format!("OCSF {} class {} {}", schema.version, class.class_uid, class.caption),
            "generated_by": "lakeship templates generate",
            "ocsf_version": schema.version,
            "class_uid": class.class_uid,
            "class_name": class.caption,
            "num_fields": num_fields,
            "depth": options.depth,
        },
        "index_patterns": [index_pattern],
        "priority": options.priority,
        "composed_of": composed_of,
        "template": {
            "settings": {
                "index.mapping.ignore_malformed": true,
                "index.mapping.total_fields.limit": total_fields_limit,
                "index.auto_expand_replicas": options.auto_expand_replicas,
                "index.codec": options.codec,
                "index.number_of_shards": options.number_of_shards,
                "index.refresh_interval": options.refresh_interval,
            },
            "mappings": {"dynamic": false, "properties": own},
        },
    });
    let report = ClassReport {
        version: schema.version.clone(),
        class_uid: class.class_uid,
        caption: class.caption.clone(),
        index_template,
        index_pattern,
        num_fields,
        total_fields_limit,
        cuts,
        aliases: added_aliases,
    };
    Ok((template, report))
}

/// The optional ISM policy: force-merge once an index is complete, delete
/// after the retention.
pub fn ism_policy(options: &GenerateOptions) -> GeneratedFile {
    let pattern = format!("{}-*", options.index_prefix);
    let after_days = |days: u32| json!({"min_index_age": format!("{days}d")});
    let policy = json!({
        "policy": {
            "description": format!(
                "Lakeship OCSF indices: force-merge {} days after creation, delete after {} days. \
                 Indices roll over by their time suffix (-YYYY.MM), not by alias.",
                options.warm_after_days, options.retention_days
            ),
            "default_state": "hot",
            "states": [
                {
                    "name": "hot",
                    "actions": [],
                    "transitions": [{"state_name": "warm", "conditions": after_days(options.warm_after_days)}],
                },
                {
                    "name": "warm",
                    "actions": [{"force_merge": {"max_num_segments": 1}}],
                    "transitions": [{"state_name": "delete", "conditions": after_days(options.retention_days)}],
                },
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [{"index_patterns": [pattern], "priority": options.priority}],
        }
    });
    GeneratedFile::json(format!("{ISM_DIR}/{ISM_POLICY}.json"), &policy)
}

/// The report: per class fields, limit and cuts; per component fields and cuts.
pub fn report_markdown(generated: &Generated, options: &GenerateOptions) -> GeneratedFile {
    let mut text = String::new();
    text.push_str("# OCSF index templates: generation report\n\n");
    text.push_str(&format!(
        "Generated by `lakeship templates generate` with depth {} from `schema/`. \
         Do not edit; see docs/templates.md.\n\n",
        options.depth
    ));
    text.push_str(&class_table(&generated.classes));
    text.push_str("\n## Component templates\n\n| component template | fields | depth cuts |\n|---|---:|---:|\n");
    for component in &generated.components {
        text.push_str(&format!("| {} | {} | {} |\n", component.name, component.num_fields, component.num_cuts));
    }
    GeneratedFile { path: REPORT_FILE.to_string(), bytes: text.into_bytes() }
}

/// The per-class table (Markdown), also printed by the CLI.
pub fn class_table(classes: &[ClassReport]) -> String {
    let mut text = String::from(
        "| OCSF | class_uid | class | fields | total_fields.limit | depth cuts | most cut objects | aliases |\n\
         |---|---:|---|---:|---:|---:|---|---|\n",
    );
    for class in classes {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            class.version,
            class.class_uid,
            class.caption,
            class.num_fields,
            class.total_fields_limit,
            class.cuts.len(),
            class.most_cut(3, " ×"),
            class.aliases.join(", "),
        ));
    }
    text
}
