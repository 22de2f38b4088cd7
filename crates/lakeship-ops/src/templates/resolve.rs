//! Resolving a [`SchemaSource`] into event classes and objects with their
//! final attributes.
//!
//! The rules follow the OCSF schema server:
//!
//! * A unit's attributes are those of the files it `$include`s (in order,
//!   each resolved the same way), then those of the profiles it lists in
//!   `profiles` and does not include explicitly, then its own; a later
//!   definition refines an earlier one part by part (`type`, `is_array`).
//!   Applying every listed profile makes the mappings a superset of what any
//!   producer may send, which is what an index template needs.
//! * `extends` inherits the parent's resolved attributes, refined by the
//!   unit's own.
//! * An attribute's type and list-ness come from the dictionary unless the
//!   unit overrides them.
//! * The `datetime` profile: every `timestamp_t` attribute `x` gets a sibling
//!   `x_dt` of type `datetime_t` (Security Lake writes both forms).
//! * A concrete event class has a `uid`; its `class_uid` is
//!   `category_uid * 1000 + uid`. `base_event` is concrete with class_uid 0.

use std::collections::{BTreeMap, HashMap};

use super::source::{AttributeSource, SchemaSource, UnitSource};
use super::{Result, TemplateError};

/// The name of the base event class.
pub const BASE_EVENT: &str = "base_event";
/// OCSF's untyped object (`unmapped`, `xattributes`).
pub const UNTYPED_OBJECT: &str = "object";

/// An attribute after resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// A data type (`string_t`, …), an object name, or `object`.
    pub type_name: String,
    /// Whether the attribute holds a list.
    pub is_array: bool,
}

/// Attributes by name, sorted.
pub type Attributes = BTreeMap<String, Attribute>;

/// A concrete event class.
#[derive(Debug, Clone)]
pub struct EventClass {
    /// The class name in the schema (`network_activity`).
    pub name: String,
    /// Its caption (`Network Activity`), which names indices.
    pub caption: String,
    /// `category_uid * 1000 + uid`; 0 for the base event.
    pub class_uid: i64,
    /// The resolved attributes.
    pub attributes: Attributes,
}

/// One OCSF version, resolved.
#[derive(Debug, Clone)]
pub struct ResolvedSchema {
    /// The OCSF version.
    pub version: String,
    /// Data type → the type it refines.
    pub types: BTreeMap<String, Option<String>>,
    /// Every object by name, resolved.
    pub objects: BTreeMap<String, Attributes>,
    /// Concrete event classes (the base event included), sorted by class_uid.
    pub classes: Vec<EventClass>,
}

impl ResolvedSchema {
    /// Whether `type_name` names an object (and not a data type or the
    /// untyped object).
    pub fn is_object_type(&self, type_name: &str) -> bool {
        type_name != UNTYPED_OBJECT && self.objects.contains_key(type_name)
    }

    /// The base event class.
    pub fn base_event(&self) -> Option<&EventClass> {
        self.classes.iter().find(|class| class.name == BASE_EVENT)
    }
}

/// Resolves every object and every concrete event class of `source`.
pub fn resolve(source: &SchemaSource) -> Result<ResolvedSchema> {
    let mut resolver = Resolver { source, objects: HashMap::new(), events: HashMap::new() };
    let mut objects = BTreeMap::new();
    for name in source.objects.keys() {
        let attributes = resolver.resolve_unit(UnitKind::Object, name, &mut Vec::new())?;
        objects.insert(name.clone(), resolver.finish(name, &attributes)?);
    }
    let mut classes = Vec::new();
    for (name, unit) in &source.events {
        if unit.uid.is_none() && name != BASE_EVENT {
            continue;
        }
        let attributes = resolver.resolve_unit(UnitKind::Event, name, &mut Vec::new())?;
        classes.push(EventClass {
            name: name.clone(),
            caption: unit.caption.clone().unwrap_or_else(|| name.clone()),
            class_uid: resolver.class_uid(name, unit)?,
            attributes: resolver.finish(name, &attributes)?,
        });
    }
    classes.sort_by(|a, b| a.class_uid.cmp(&b.class_uid).then_with(|| a.name.cmp(&b.name)));
    for pair in classes.windows(2) {
        if pair[0].class_uid == pair[1].class_uid {
            let message = format!("classes {} and {} share class_uid {}", pair[0].name, pair[1].name, pair[0].class_uid);
            return Err(resolver.error(message));
        }
    }
    let resolved = ResolvedSchema { version: source.version.clone(), types: source.types.clone(), objects, classes };
    check_types(&resolved)?;
    Ok(resolved)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum UnitKind {
    Object,
    Event,
}

/// Unfinished attributes: what the sources said, before the dictionary.
type PartialAttributes = BTreeMap<String, AttributeSource>;

struct Resolver<'s> {
    source: &'s SchemaSource,
    objects: HashMap<String, PartialAttributes>,
    events: HashMap<String, PartialAttributes>,
}

impl Resolver<'_> {
    fn error(&self, message: impl Into<String>) -> TemplateError {
        TemplateError::Resolve { version: self.source.version.clone(), message: message.into() }
    }

    /// The attributes of an object or event class, `extends` applied.
    fn resolve_unit(&mut self, kind: UnitKind, name: &str, stack: &mut Vec<String>) -> Result<PartialAttributes> {
        let cache = match kind {
            UnitKind::Object => &self.objects,
            UnitKind::Event => &self.events,
        };
        if let Some(done) = cache.get(name) {
            return Ok(done.clone());
        }
        let units = match kind {
            UnitKind::Object => &self.source.objects,
            UnitKind::Event => &self.source.events,
        };
        let unit = units.get(name).ok_or_else(|| self.error(format!("unknown unit {name:?} (from {stack:?})")))?;
        if stack.iter().any(|seen| seen == name) {
            return Err(self.error(format!("extends cycle: {} -> {name}", stack.join(" -> "))));
        }
        stack.push(name.to_string());
        let mut attributes = match unit.extends.as_deref() {
            Some(parent) => self.resolve_unit(kind, parent, stack)?,
            None => PartialAttributes::new(),
        };
        stack.pop();
        refine(&mut attributes, &self.attribute_set(unit, name, &mut Vec::new())?);
        match kind {
            UnitKind::Object => self.objects.insert(name.to_string(), attributes.clone()),
            UnitKind::Event => self.events.insert(name.to_string(), attributes.clone()),
        };
        Ok(attributes)
    }

    /// A unit's own attribute set: includes, then profiles, then its own.
    fn attribute_set(&self, unit: &UnitSource, label: &str, stack: &mut Vec<String>) -> Result<PartialAttributes> {
        let mut files = unit.include.clone();
        for profile in &unit.profiles {
            let path = format!("profiles/{profile}.json");
            if !files.contains(&path) {
                files.push(path);
            }
        }
        let mut attributes = PartialAttributes::new();
        for path in files {
            let file = self.source.includes.get(&path).ok_or_else(|| self.error(format!("{label} includes missing {path}")))?;
            if stack.contains(&path) {
                return Err(self.error(format!("$include cycle: {} -> {path}", stack.join(" -> "))));
            }
            stack.push(path.clone());
            let included = self.attribute_set(file, &path, stack)?;
            stack.pop();
            refine(&mut attributes, &included);
        }
        refine(&mut attributes, &unit.attributes);
        Ok(attributes)
    }

    /// Fills types from the dictionary and adds the datetime siblings.
    fn finish(&self, unit: &str, partial: &PartialAttributes) -> Result<Attributes> {
        let mut attributes = Attributes::new();
        for (name, source) in partial {
            let entry = self.source.dictionary.get(name);
            let type_name = source
                .type_name
                .clone()
                .or_else(|| entry.and_then(|entry| entry.type_name.clone()))
                .ok_or_else(|| self.error(format!("attribute {unit}.{name} has no type (not in the dictionary?)")))?;
            let is_array = source.is_array.or_else(|| entry.and_then(|entry| entry.is_array)).unwrap_or(false);
            attributes.insert(name.clone(), Attribute { type_name, is_array });
        }
        let timestamps: Vec<(String, bool)> = attributes
            .iter()
            .filter(|(_, attribute)| attribute.type_name == "timestamp_t")
            .map(|(name, attribute)| (format!("{name}_dt"), attribute.is_array))
            .collect();
        for (name, is_array) in timestamps {
            attributes.entry(name).or_insert(Attribute { type_name: "datetime_t".to_string(), is_array });
        }
        Ok(attributes)
    }

    /// `category_uid * 1000 + uid`, the category inherited through `extends`.
    fn class_uid(&self, name: &str, unit: &UnitSource) -> Result<i64> {
        let Some(uid) = unit.uid else { return Ok(0) };
        let mut current = unit;
        let mut num_steps = 0;
        let category = loop {
            if let Some(category) = &current.category {
                break category;
            }
            let parent = current.extends.as_deref().and_then(|parent| self.source.events.get(parent));
            match parent {
                Some(parent) if num_steps < 32 => current = parent,
                _ => return Err(self.error(format!("class {name} has no category"))),
            }
            num_steps += 1;
        };
        let category_uid =
            self.source.categories.get(category).ok_or_else(|| self.error(format!("class {name}: unknown category {category}")))?;
        Ok(category_uid * 1000 + uid)
    }
}

/// Refines `attributes` with `refinements`, part by part.
fn refine(attributes: &mut PartialAttributes, refinements: &PartialAttributes) {
    for (name, refinement) in refinements {
        let attribute = attributes.entry(name.clone()).or_default();
        if refinement.type_name.is_some() {
            attribute.type_name = refinement.type_name.clone();
        }
        if refinement.is_array.is_some() {
            attribute.is_array = refinement.is_array;
        }
    }
}

/// Every attribute type is a known data type, an object, or `object`.
fn check_types(schema: &ResolvedSchema) -> Result<()> {
    let units = schema
        .objects
        .iter()
        .map(|(name, attributes)| (name.as_str(), attributes))
        .chain(schema.classes.iter().map(|class| (class.name.as_str(), &class.attributes)));
    for (unit, attributes) in units {
        for (name, attribute) in attributes {
            let type_name = attribute.type_name.as_str();
            let known = type_name == UNTYPED_OBJECT || schema.types.contains_key(type_name) || schema.objects.contains_key(type_name);
            if !known {
                return Err(TemplateError::Resolve {
                    version: schema.version.clone(),
                    message: format!("attribute {unit}.{name} has unknown type {type_name:?}"),
                });
            }
        }
    }
    Ok(())
}
