//! The CloudFormation template, resolved as CloudFormation would resolve it
//! for a given set of parameter values: conditions evaluated, `Ref`,
//! `Fn::GetAtt`, `Fn::Sub`, `Fn::If`, `Fn::Join`, `Fn::Select` and
//! `Fn::Split` replaced by values, `AWS::NoValue` dropped.
//!
//! The YAML (with its short-form tags) is read by cfn-lint's own loader
//! (`cfnlint.decode`, in the project's `.venv/`, installed by
//! `scripts/moto.sh install`), which turns `!Sub x` into `{"Fn::Sub": "x"}`.
//! Resources get made-up physical names, and ARNs are built from them the
//! way each service builds its ARNs; an intrinsic or attribute this
//! resolver does not know fails the test, so the template cannot use
//! something the contract tests silently skip.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::{Map, Value, json};

/// The template as JSON (short-form tags expanded), read with cfn-lint's loader.
pub fn load_template(path: &std::path::Path) -> Value {
    let python = crate::repo_root().join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/moto.sh install (it installs cfn-lint)", python.display());
    let output = Command::new(&python)
        .arg("-c")
        .arg("import json, sys\nfrom cfnlint.decode import decode\ntemplate, errors = decode(sys.argv[1])\nassert not errors, errors\nprint(json.dumps(template))")
        .arg(path)
        .output()
        .expect("run the project's python");
    assert!(output.status.success(), "cfn-lint could not read {}: {}", path.display(), String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the decoded template is JSON")
}

/// One deployment of the template: parameter values and pseudo parameters.
#[derive(Debug, Clone)]
pub struct Deployment<'a> {
    template: &'a Value,
    parameters: BTreeMap<String, Value>,
    /// `AWS::StackName`.
    pub stack: String,
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::AccountId`.
    pub account: String,
    /// `AWS::Partition`.
    pub partition: String,
}

impl<'a> Deployment<'a> {
    /// The template with its parameters' defaults, overridden by `values`
    /// (a `CommaDelimitedList` takes `a,b`).
    pub fn new(template: &'a Value, values: &[(&str, &str)]) -> Self {
        let declared = template["Parameters"].as_object().expect("Parameters");
        let mut parameters = BTreeMap::new();
        for (name, declaration) in declared {
            let given = values.iter().find(|(key, _)| key == name).map(|(_, value)| value.to_string());
            let Some(value) = given.or_else(|| declaration.get("Default").map(scalar_text)) else { continue };
            let typed = if declaration["Type"] == "CommaDelimitedList" {
                Value::Array(value.split(',').map(|item| Value::String(item.trim().to_string())).collect())
            } else {
                Value::String(value)
            };
            parameters.insert(name.clone(), typed);
        }
        for (name, _) in values {
            assert!(declared.contains_key(*name), "the template has no parameter {name}");
        }
        Deployment {
            template,
            parameters,
            stack: "lakeship".to_string(),
            region: "us-east-1".to_string(),
            account: "111122223333".to_string(),
            partition: "aws".to_string(),
        }
    }

    /// A parameter's value.
    pub fn parameter(&self, name: &str) -> &Value {
        self.parameters.get(name).unwrap_or_else(|| panic!("parameter {name} has no value"))
    }

    /// The template itself.
    pub fn template(&self) -> &Value {
        self.template
    }

    /// Evaluates the named condition.
    pub fn condition(&self, name: &str) -> bool {
        let expression = &self.template["Conditions"][name];
        assert!(!expression.is_null(), "no condition {name}");
        self.truth(expression)
    }

    fn truth(&self, expression: &Value) -> bool {
        let (function, arguments) = single(expression);
        match function {
            "Condition" => self.condition(arguments.as_str().expect("Condition name")),
            "Fn::Equals" => {
                // CloudFormation compares scalars as strings: 0 equals "0".
                let values = arguments.as_array().expect("Fn::Equals list");
                let as_text = |value: Option<Value>| match value {
                    Some(scalar @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => Some(Value::String(scalar_text(&scalar))),
                    other => other,
                };
                as_text(self.eval(&values[0])) == as_text(self.eval(&values[1]))
            }
            "Fn::Not" => !self.truth(&arguments[0]),
            "Fn::And" => arguments.as_array().expect("Fn::And list").iter().all(|value| self.truth(value)),
            "Fn::Or" => arguments.as_array().expect("Fn::Or list").iter().any(|value| self.truth(value)),
            "Fn::EachMemberEquals" => {
                let list = self.eval(&arguments[0]).expect("list");
                let value = self.eval(&arguments[1]).expect("value");
                list.as_array().expect("a list").iter().all(|member| *member == value)
            }
            other => panic!("condition function {other} is not supported here"),
        }
    }

    /// True if every assertion of every applicable rule holds; else the
    /// failing rules' names.
    pub fn rules(&self) -> Result<(), Vec<String>> {
        let mut failing = Vec::new();
        for (name, rule) in self.template["Rules"].as_object().into_iter().flatten() {
            if rule.get("RuleCondition").is_some_and(|condition| !self.truth(condition)) {
                continue;
            }
            if !rule["Assertions"].as_array().expect("Assertions").iter().all(|assertion| self.truth(&assertion["Assert"])) {
                failing.push(name.clone());
            }
        }
        if failing.is_empty() { Ok(()) } else { Err(failing) }
    }

    /// The resources that exist in this deployment (their `Condition` holds),
    /// with their properties resolved.
    pub fn resources(&self) -> BTreeMap<String, Resource> {
        let mut out = BTreeMap::new();
        for (logical_id, resource) in self.template["Resources"].as_object().expect("Resources") {
            if resource.get("Condition").and_then(Value::as_str).is_some_and(|condition| !self.condition(condition)) {
                continue;
            }
            let properties = self.eval(&resource["Properties"]).unwrap_or(Value::Null);
            let kind = resource["Type"].as_str().expect("Type").to_string();
            out.insert(logical_id.clone(), Resource { kind, properties });
        }
        out
    }

    /// The resources of one type that exist in this deployment.
    pub fn resources_of_kind(&self, kind: &str) -> BTreeMap<String, Resource> {
        self.resources().into_iter().filter(|(_, resource)| resource.kind == kind).collect()
    }

    /// The values of this deployment's `NoEcho` parameters that are set.
    pub fn no_echo_values(&self) -> Vec<(String, String)> {
        let declared = self.template["Parameters"].as_object().expect("Parameters");
        declared
            .iter()
            .filter(|(_, declaration)| declaration["NoEcho"] == json!(true) || declaration["NoEcho"] == json!("true"))
            .filter_map(|(name, _)| self.parameters.get(name).map(|value| (name.clone(), scalar_text(value))))
            .filter(|(_, value)| !value.is_empty())
            .collect()
    }

    /// The resolved value of an expression; `None` for `AWS::NoValue`.
    pub fn eval(&self, value: &Value) -> Option<Value> {
        match value {
            Value::Array(items) => Some(Value::Array(items.iter().filter_map(|item| self.eval(item)).collect())),
            Value::Object(map) if map.len() == 1 && is_intrinsic(map.keys().next().map(String::as_str).unwrap_or_default()) => {
                let (function, arguments) = single(value);
                self.intrinsic(function, arguments)
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, item) in map {
                    if let Some(resolved) = self.eval(item) {
                        out.insert(key.clone(), resolved);
                    }
                }
                Some(Value::Object(out))
            }
            other => Some(other.clone()),
        }
    }

    fn intrinsic(&self, function: &str, arguments: &Value) -> Option<Value> {
        match function {
            "Ref" => self.reference(arguments.as_str().expect("Ref name")),
            "Fn::GetAtt" => {
                let (resource, attribute) = match arguments {
                    Value::String(text) => text.split_once('.').expect("Resource.Attribute"),
                    Value::Array(parts) => (parts[0].as_str().expect("resource"), parts[1].as_str().expect("attribute")),
                    other => panic!("Fn::GetAtt {other}"),
                };
                Some(Value::String(self.attribute(resource, attribute)))
            }
            "Fn::Sub" => Some(Value::String(self.substitute(arguments))),
            "Fn::If" => {
                let branches = arguments.as_array().expect("Fn::If list");
                let chosen = if self.condition(branches[0].as_str().expect("condition name")) { &branches[1] } else { &branches[2] };
                self.eval(chosen)
            }
            "Fn::Join" => {
                let separator = arguments[0].as_str().expect("separator");
                let items = self.eval(&arguments[1]).expect("Fn::Join list");
                let parts: Vec<String> = items.as_array().expect("list").iter().map(scalar_text).collect();
                Some(Value::String(parts.join(separator)))
            }
            "Fn::Split" => {
                let separator = arguments[0].as_str().expect("separator");
                let text = self.eval(&arguments[1]).map(|value| scalar_text(&value)).expect("Fn::Split string");
                Some(Value::Array(text.split(separator).map(|part| Value::String(part.to_string())).collect()))
            }
            "Fn::Select" => {
                let index = scalar_text(&self.eval(&arguments[0]).expect("index")).parse::<usize>().expect("a number");
                let list = self.eval(&arguments[1]).expect("Fn::Select list");
                Some(list.as_array().expect("list").get(index).cloned().unwrap_or_else(|| panic!("Fn::Select {index} out of range")))
            }
            "Condition" => Some(Value::Bool(self.condition(arguments.as_str().expect("name")))),
            other => panic!("intrinsic {other} is not supported by the contract tests' resolver"),
        }
    }

    fn pseudo(&self, name: &str) -> Option<String> {
        match name {
            "AWS::StackName" => Some(self.stack.clone()),
            "AWS::Region" => Some(self.region.clone()),
            "AWS::AccountId" => Some(self.account.clone()),
            "AWS::Partition" => Some(self.partition.clone()),
            "AWS::StackId" => Some(format!(
                "arn:{}:cloudformation:{}:{}:stack/{}/1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d",
                self.partition, self.region, self.account, self.stack
            )),
            _ => None,
        }
    }

    fn reference(&self, name: &str) -> Option<Value> {
        if name == "AWS::NoValue" {
            return None;
        }
        if let Some(value) = self.pseudo(name) {
            return Some(Value::String(value));
        }
        if let Some(value) = self.parameters.get(name) {
            return Some(value.clone());
        }
        Some(Value::String(self.physical_id(name)))
    }

    fn property(&self, logical_id: &str, property: &str) -> String {
        let value = &self.template["Resources"][logical_id]["Properties"][property];
        assert!(!value.is_null(), "{logical_id} has no {property}");
        scalar_text(&self.eval(value).expect("a value"))
    }

    fn kind(&self, logical_id: &str) -> &str {
        self.template["Resources"][logical_id]["Type"].as_str().unwrap_or_else(|| panic!("no resource {logical_id}"))
    }

    /// What `Ref` of a resource returns.
    pub fn physical_id(&self, logical_id: &str) -> String {
        match self.kind(logical_id) {
            "AWS::S3::Bucket" => format!("{}-{}-1a2b3c4d5e6f", self.stack, logical_id.to_ascii_lowercase()),
            "AWS::IAM::Role" => format!("{}-{logical_id}-ABCDEF123456", self.stack),
            "AWS::IAM::ManagedPolicy" => format!("arn:{}:iam::{}:policy/{}-{logical_id}", self.partition, self.account, self.stack),
            "AWS::Lambda::Function" => self.property(logical_id, "FunctionName"),
            "AWS::Logs::LogGroup" => self.property(logical_id, "LogGroupName"),
            "AWS::Pipes::Pipe" => self.property(logical_id, "Name"),
            "AWS::StepFunctions::StateMachine" => format!(
                "arn:{}:states:{}:{}:stateMachine:{}",
                self.partition,
                self.region,
                self.account,
                self.property(logical_id, "StateMachineName")
            ),
            "AWS::Lambda::EventSourceMapping" => "6f1c2d3e-0000-4000-8000-000000000001".to_string(),
            "AWS::Logs::MetricFilter" => self.property(logical_id, "FilterName"),
            "AWS::CloudWatch::Alarm" => self.property(logical_id, "AlarmName"),
            "AWS::SecretsManager::Secret" => {
                format!("arn:{}:secretsmanager:{}:{}:secret:{logical_id}-a1B2c3D4e5F6-AbCdEf", self.partition, self.region, self.account)
            }
            "AWS::EC2::SecurityGroup" => "sg-0a1b2c3d4e5f60001".to_string(),
            "AWS::EC2::VPCEndpoint" => format!("vpce-{:0>17}", logical_id.len()),
            "AWS::OpenSearchServerless::VpcEndpoint" => "vpce-0a1b2c3d4e5f60002".to_string(),
            other => panic!("Ref of a {other} ({logical_id}) is not modelled"),
        }
    }

    /// What `Fn::GetAtt` returns.
    pub fn attribute(&self, logical_id: &str, attribute: &str) -> String {
        let (partition, region, account) = (&self.partition, &self.region, &self.account);
        let name = self.physical_id(logical_id);
        match (self.kind(logical_id), attribute) {
            ("AWS::S3::Bucket", "Arn") => format!("arn:{partition}:s3:::{name}"),
            ("AWS::Logs::LogGroup", "Arn") => format!("arn:{partition}:logs:{region}:{account}:log-group:{name}:*"),
            ("AWS::Lambda::Function", "Arn") => format!("arn:{partition}:lambda:{region}:{account}:function:{name}"),
            ("AWS::IAM::Role", "Arn") => format!("arn:{partition}:iam::{account}:role/{name}"),
            ("AWS::Pipes::Pipe", "Arn") => format!("arn:{partition}:pipes:{region}:{account}:pipe/{name}"),
            ("AWS::StepFunctions::StateMachine", "Arn") => name,
            ("AWS::StepFunctions::StateMachine", "Name") => self.property(logical_id, "StateMachineName"),
            (kind, attribute) => panic!("Fn::GetAtt {logical_id}.{attribute} of a {kind} is not modelled"),
        }
    }

    fn substitute(&self, arguments: &Value) -> String {
        let (text, variables) = match arguments {
            Value::String(text) => (text.as_str(), Map::new()),
            Value::Array(parts) => (parts[0].as_str().expect("Fn::Sub string"), parts[1].as_object().cloned().unwrap_or_default()),
            other => panic!("Fn::Sub {other}"),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("closing }") + start;
            let name = &rest[start + 2..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(&scalar_text(&self.eval(value).expect("variable")));
            } else if let Some((resource, attribute)) = name.split_once('.').filter(|_| !name.starts_with("AWS::")) {
                out.push_str(&self.attribute(resource, attribute));
            } else {
                out.push_str(&scalar_text(&self.reference(name).expect("Fn::Sub variable")));
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// A resource that exists in a deployment.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Its type, e.g. `AWS::IAM::Role`.
    pub kind: String,
    /// Its properties, resolved.
    pub properties: Value,
}

fn is_intrinsic(key: &str) -> bool {
    key == "Ref" || key == "Condition" || key.starts_with("Fn::")
}

fn single(expression: &Value) -> (&str, &Value) {
    let map = expression.as_object().unwrap_or_else(|| panic!("not an intrinsic: {expression}"));
    assert_eq!(map.len(), 1, "not an intrinsic: {expression}");
    let (key, value) = map.iter().next().expect("one key");
    (key.as_str(), value)
}

/// A scalar as CloudFormation passes it on: strings as they are, numbers and
/// booleans as their text.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => panic!("not a scalar: {other}"),
    }
}

/// JSON text with object keys sorted at every level, so two equal policies
/// compare equal whatever their key order.
pub fn canonical(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let ordered: BTreeMap<&String, Value> = map.iter().map(|(key, item)| (key, sorted(item))).collect();
                json!(ordered)
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// The account of an ARN (its fifth field), if it names one.
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| account.len() == 12 && account.bytes().all(|byte| byte.is_ascii_digit()))
}

/// IAM's ARN pattern match: `*` is any run of characters, `?` any one.
pub fn iam_matches(pattern: &str, arn: &str) -> bool {
    fn go(pattern: &[u8], text: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) => (0..=text.len()).any(|skip| go(rest, &text[skip..])),
            Some((b'?', rest)) => !text.is_empty() && go(rest, &text[1..]),
            Some((byte, rest)) => text.first() == Some(byte) && go(rest, &text[1..]),
        }
    }
    go(pattern.as_bytes(), arn.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_patterns_match_like_iam() {
        assert!(iam_matches("arn:aws:s3:::b/lakeship/runs/*/results/*", "arn:aws:s3:::b/lakeship/runs/r1/results/s.json"));
        assert!(!iam_matches("arn:aws:s3:::b/lakeship/runs/*/results/*", "arn:aws:s3:::b/lakeship/runs/r1/report.json"));
        assert!(iam_matches("arn:aws:states:r:1:execution:sm/Shards:*", "arn:aws:states:r:1:execution:sm/Shards:0b5f-11"));
        assert!(!iam_matches("arn:aws:states:r:1:execution:sm:*", "arn:aws:states:r:1:execution:sm/Shards:0b5f-11"));
        assert!(iam_matches("a?c", "abc") && !iam_matches("a?c", "ac"));
    }
}
