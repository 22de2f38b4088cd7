//! Accessors of a finding row: its finding, template, product, resources,
//! title, remediation and unmapped fields, shared by both versions.

use std::fmt::Write as _;

use super::templates::{CVES, Evidence, Product};
use super::{FindingsGenerator, Resource, Row, Spec};

/// Row accessors shared by both versions.
pub(super) struct View<'g> {
    pub(super) generator: &'g FindingsGenerator,
    pub(super) region: &'g str,
}

impl<'g> View<'g> {
    pub(super) fn spec(&self, row: &Row) -> &'g Spec {
        &self.generator.specs[usize::from(row.spec)]
    }

    pub(super) fn product(&self, row: &Row) -> Product {
        self.spec(row).template().product
    }

    pub(super) fn resource(&self, row: &Row) -> &'g Resource {
        &self.generator.resources[usize::from(self.spec(row).resource)]
    }

    pub(super) fn num_resources(&self, row: &Row) -> usize {
        1 + usize::from(self.spec(row).object_uid.is_some())
    }

    /// Resource `position` of a row: type, uid, labels, details.
    pub(super) fn resource_at(&self, row: &Row, position: usize) -> (&'static str, &'g str, &'static [&'static str], &'g str) {
        let spec = self.spec(row);
        match (&spec.object_uid, position) {
            (Some(object), 1) => ("AwsS3Object", object.as_str(), &[], r#"{"AwsS3Object":{"ServerSideEncryption":"aws:kms"}}"#),
            _ => {
                let resource = self.resource(row);
                (resource.kind.type_name(), resource.uid.as_str(), resource.labels, resource.details.as_str())
            }
        }
    }

    pub(super) fn write_title(&self, row: &Row, out: &mut String) -> bool {
        let spec = self.spec(row);
        let template = spec.template();
        match template.product {
            Product::SecurityHub => {
                let _ = write!(out, "{} {}", template.code, template.title);
            }
            Product::Inspector => {
                let cve = &CVES[usize::from(spec.cve)];
                let _ = write!(out, "{} - {}", cve.id, cve.package);
            }
            _ => out.push_str(template.title),
        }
        true
    }

    pub(super) fn write_src_url(&self, row: &Row, out: &mut String) -> bool {
        let spec = self.spec(row);
        let region = self.region;
        match spec.template().product {
            Product::GuardDuty => {
                let id = spec.uid.rsplit('/').next().unwrap_or_default();
                let _ =
                    write!(out, "https://{region}.console.aws.amazon.com/guardduty/home?region={region}#/findings?macros=current&fId={id}");
            }
            Product::AccessAnalyzer => {
                let _ = write!(out, "https://console.aws.amazon.com/access-analyzer/home?region={region}#/findings");
            }
            _ => return false,
        }
        true
    }

    pub(super) fn remediation(&self, row: &Row) -> (Option<&'static str>, Option<Reference>) {
        match self.product(row) {
            Product::SecurityHub => (
                Some("For information on how to correct this issue, consult the AWS Security Hub controls documentation."),
                Some(Reference::Control),
            ),
            Product::Inspector => (Some("Update the affected package to a version that fixes the vulnerability."), Some(Reference::Nvd)),
            Product::GuardDuty => (Some("Follow the GuardDuty remediation guidance for this finding type."), Some(Reference::GuardDuty)),
            Product::AccessAnalyzer => {
                (Some("If the access isn't intended, modify or remove the policy that grants it, then rescan to confirm."), None)
            }
            Product::Macie => (None, None),
        }
    }

    pub(super) fn write_reference(&self, row: &Row, out: &mut String) {
        let spec = self.spec(row);
        match self.remediation(row).1 {
            Some(Reference::Control) => {
                let _ = write!(out, "https://docs.aws.amazon.com/console/securityhub/{}/remediation", spec.template().code);
            }
            Some(Reference::Nvd) => {
                let _ = write!(out, "https://nvd.nist.gov/vuln/detail/{}", CVES[usize::from(spec.cve)].id);
            }
            Some(Reference::GuardDuty) => out.push_str("https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_remediate.html"),
            None => {}
        }
    }

    pub(super) fn evidence(&self, row: &Row) -> Evidence {
        self.spec(row).template().evidence
    }

    /// `Severity.Label`, `RecordState`, `WorkflowState`, product fields and,
    /// for controls, `ProductFields.ControlId` (and `Compliance.Status` in
    /// 1.1.0, where the class has no `compliance` object).
    pub(super) fn unmapped_entry(&self, row: &Row, position: usize) -> (&'static str, &'static str) {
        let template = self.spec(row).template();
        let label = match row.severity_id {
            1 => "INFORMATIONAL",
            2 => "LOW",
            3 => "MEDIUM",
            4 => "HIGH",
            _ => "CRITICAL",
        };
        let workflow = match row.status_id {
            1 => "NEW",
            2 => "NOTIFIED",
            3 => "SUPPRESSED",
            _ => "RESOLVED",
        };
        let entries = [
            ("Severity.Label", label),
            ("RecordState", if row.status_id == 4 { "ARCHIVED" } else { "ACTIVE" }),
            ("WorkflowState", workflow),
            ("ProductFields.aws/securityhub/ProductName", template.product.name()),
            ("ProductFields.aws/securityhub/CompanyName", template.product.vendor()),
            ("ProductFields.ControlId", template.code),
            ("Compliance.Status", row.compliance.unwrap_or_default()),
        ];
        entries[position]
    }

    pub(super) fn num_unmapped(&self, row: &Row, v11: bool) -> usize {
        match (self.product(row), v11) {
            (Product::SecurityHub, true) => 7,
            (Product::SecurityHub, false) => 6,
            _ => 5,
        }
    }
}

/// Which reference a remediation points to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Reference {
    Control,
    Nvd,
    GuardDuty,
}
