//! The dashboards Lakeship ships, one saved-objects file each:
//!
//! | file | dashboard | index pattern |
//! |---|---|---|
//! | `security-findings.ndjson` | Security findings | `ocsf-*_finding*` |
//! | `network-activity.ndjson` | Network activity (VPC flow logs) | `ocsf-*-4001-network_activity*` |
//! | `dns-activity.ndjson` | DNS activity (Route 53 resolver) | `ocsf-*-4003-dns_activity*` |
//! | `api-activity.ndjson` | API activity (CloudTrail) | `ocsf-*-api_activity*` |
//! | `pipeline-health.ndjson` | Lakeship pipeline health | `lakeship-ledger` |
//!
//! Index patterns span OCSF versions: a field whose path differs between
//! 1.0.0-rc.2 and 1.1.0 is used at its 1.1.0 path, which the rc.2 templates
//! map as an alias (`schema/aliases.json`): `cloud.account.uid`,
//! `finding_info.title`, `actor.session.is_mfa`. API Activity is class 3005
//! in rc.2 and 6003 in 1.1.0, so its pattern selects by class name. Time
//! fields are the OCSF event time `time` (both versions write it) and the
//! ledger's `ended_at`. `docs/dashboards.md` describes every panel.

use super::SavedObjectFile;
use super::objects::{Bucket, Chart, Dashboard, IndexPattern, Metric, Order, Panel, Vis};

/// The URL an IP address links to (Project Honey Pot's IP page); editable
/// in the index pattern's field format after import.
pub const IP_REPUTATION_URL: &str = "https://www.projecthoneypot.org/ip_{{value}}";

/// Compliance status of Security Hub findings: rc.2 Security Finding and
/// 1.1.0 Compliance Finding carry `compliance.status`; Security Lake's
/// 1.1.0 Detection Finding keeps it only in `unmapped` (a `flat_object`,
/// searchable by key but not aggregatable), so the panel filters on both.
const PASSED: &str = "compliance.status:PASSED OR unmapped.Compliance.Status:PASSED";
const FAILED: &str = "compliance.status:FAILED OR unmapped.Compliance.Status:FAILED";

/// Every dashboard, in file-name order.
pub fn dashboards() -> Vec<Dashboard> {
    vec![api_activity(), dns_activity(), network_activity(), pipeline_health(), security_findings()]
}

/// The saved-objects files of every dashboard (what `dashboards/` holds).
pub fn files() -> Vec<SavedObjectFile> {
    dashboards().iter().map(|dashboard| SavedObjectFile { name: dashboard.file.to_string(), objects: dashboard.saved_objects() }).collect()
}

fn panel(vis: Vis, width: u32, height: u32) -> Panel {
    Panel { vis, width, height }
}

fn about(id: &'static str, title: &'static str, text: &str) -> Vis {
    Vis::markdown(id, title, text)
}

/// Security Hub findings (rc.2 Security Finding 2001, 1.1.0 Detection
/// Finding 2004 and any other finding class).
pub fn security_findings() -> Dashboard {
    let velocity = Vis::new("lakeship-findings-velocity", "Findings: velocity by severity", Chart::Bar)
        .describe("Findings per interval, stacked by severity.")
        .metric(Metric::count().label("Findings"))
        .x(Bucket::time("time"))
        .series(Bucket::terms("severity", 7).label("Severity"));
    let compliance = Vis::new("lakeship-findings-compliance", "Findings: passed and failed checks by severity", Chart::Bar)
        .describe("Security Hub control checks that passed or failed, per severity (compliance.status, or unmapped Compliance.Status in OCSF 1.1.0).")
        .metric(Metric::count().label("Checks"))
        .x(Bucket::terms("severity", 7).label("Severity"))
        .series(Bucket::Filters(vec![("Passed", PASSED), ("Failed", FAILED)]));
    let products = Vis::new("lakeship-findings-products", "Findings: by product", Chart::Pie)
        .metric(Metric::count().label("Findings"))
        .x(Bucket::terms("metadata.product.name", 10).label("Product"));
    let accounts = Vis::new("lakeship-findings-accounts", "Findings: top accounts by severity", Chart::HorizontalBar)
        .metric(Metric::count().label("Findings"))
        .x(Bucket::terms("cloud.account.uid", 10).label("Account"))
        .series(Bucket::terms("severity", 7).label("Severity"));
    let table = Vis::new("lakeship-findings-table", "Findings: by product, account and title", Chart::Table)
        .describe("Click a product, account or title to filter the whole dashboard on it.")
        .metric(Metric::count().label("Findings"))
        .metric(Metric::of("max", "time").label("Last seen"))
        .rows(Bucket::terms("metadata.product.name", 10).label("Product"))
        .rows(Bucket::terms("cloud.account.uid", 20).label("Account"))
        .rows(Bucket::terms("finding_info.title", 50).label("Title"));
    let text = "**Security findings** from Security Hub and the services it aggregates (GuardDuty, Inspector, Macie, \
                IAM Access Analyzer), OCSF 1.0.0-rc.2 Security Finding and 1.1.0 Detection Finding side by side \
                (index pattern `ocsf-*_finding*`, time field `time`).\n\n\
                Click a bar, a slice or a table cell to filter every panel on that value; \
                remove the filter in the filter bar.";
    Dashboard {
        file: "security-findings.ndjson",
        id: "lakeship-dashboard-findings",
        title: "[Lakeship] Security findings",
        description: "Finding velocity by severity, passed and failed checks, findings by product, account and title.",
        index_pattern: IndexPattern { id: "lakeship-ocsf-findings", title: "ocsf-*_finding*", time_field: "time", links: Vec::new() },
        panels: vec![
            panel(about("lakeship-findings-about", "Findings: about this dashboard", text), 12, 12),
            panel(velocity, 36, 12),
            panel(compliance, 24, 14),
            panel(products, 12, 14),
            panel(accounts, 12, 14),
            panel(table, 48, 18),
        ],
    }
}

/// VPC flow logs (Network Activity 4001 in both versions).
pub fn network_activity() -> Dashboard {
    let traffic = Vis::new("lakeship-network-traffic", "Network: traffic over time", Chart::Line)
        .describe("Bytes (left axis) and packets (right axis) of all flows.")
        .metric(Metric::of("sum", "traffic.bytes").label("Bytes"))
        .metric(Metric::of("sum", "traffic.packets").label("Packets"))
        .x(Bucket::time("time"));
    let by_bytes = Vis::new("lakeship-network-top-talkers", "Network: top accounts generating traffic", Chart::HorizontalBar)
        .metric(Metric::of("sum", "traffic.bytes").label("Bytes"))
        .x(Bucket::terms("cloud.account.uid", 10).label("Account"));
    let by_flows = Vis::new("lakeship-network-top-accounts", "Network: top accounts by activity", Chart::Pie)
        .metric(Metric::count().label("Flow records"))
        .x(Bucket::terms("cloud.account.uid", 10).label("Account"));
    let dispositions = Vis::new("lakeship-network-dispositions", "Network: allowed and denied connections by account", Chart::Bar)
        .describe("Flow records per account by disposition (Allowed, Blocked).")
        .metric(Metric::count().label("Flow records"))
        .x(Bucket::terms("cloud.account.uid", 10).label("Account"))
        .series(Bucket::terms("disposition", 5).label("Disposition"));
    let egress = flow_table(
        "lakeship-network-egress",
        "Network: egress bytes by account, source and destination",
        "connection_info.direction:Outbound",
    );
    let ingress = flow_table(
        "lakeship-network-ingress",
        "Network: ingress bytes by account, source and destination",
        "connection_info.direction:Inbound",
    );
    let text = "**VPC flow logs** (OCSF Network Activity, class 4001, both versions; index pattern \
                `ocsf-*-4001-network_activity*`, time field `time`).\n\n\
                Drill down by account: click an account id in a table or chart to filter every panel on it. \
                IP addresses link to their [Project Honey Pot](https://www.projecthoneypot.org/) page; \
                change the link in *Dashboards Management > Index patterns > ocsf-\\*-4001-network_activity\\* > \
                src_endpoint.ip / dst_endpoint.ip > Format*.";
    Dashboard {
        file: "network-activity.ndjson",
        id: "lakeship-dashboard-network",
        title: "[Lakeship] Network activity",
        description: "VPC flow logs: traffic over time, top accounts, allowed and denied connections, egress and ingress by IP.",
        index_pattern: IndexPattern {
            id: "lakeship-ocsf-network-activity",
            title: "ocsf-*-4001-network_activity*",
            time_field: "time",
            links: vec![("src_endpoint.ip", IP_REPUTATION_URL), ("dst_endpoint.ip", IP_REPUTATION_URL)],
        },
        panels: vec![
            panel(about("lakeship-network-about", "Network: about this dashboard", text), 12, 12),
            panel(traffic, 36, 12),
            panel(by_bytes, 16, 14),
            panel(by_flows, 14, 14),
            panel(dispositions, 18, 14),
            panel(egress, 24, 18),
            panel(ingress, 24, 18),
        ],
    }
}

/// Bytes and packets between source and destination addresses, per
/// account, for the flows `query` selects.
fn flow_table(id: &'static str, title: &'static str, query: &'static str) -> Vis {
    Vis::new(id, title, Chart::Table)
        .describe("Bytes between source and destination addresses per account; click an account to drill down.")
        .query(query)
        .metric(Metric::of("sum", "traffic.bytes").label("Bytes"))
        .metric(Metric::of("sum", "traffic.packets").label("Packets"))
        .rows(Bucket::terms("cloud.account.uid", 10).label("Account"))
        .rows(Bucket::terms("src_endpoint.ip", 10).label("Source IP"))
        .rows(Bucket::terms("dst_endpoint.ip", 10).label("Destination IP"))
}

/// Route 53 resolver query logs (DNS Activity 4003 in both versions).
pub fn dns_activity() -> Dashboard {
    let over_time = Vis::new("lakeship-dns-queries", "DNS: queries over time, top 5 accounts", Chart::Line)
        .metric(Metric::count().label("Queries"))
        .series(Bucket::terms("cloud.account.uid", 5).label("Account"))
        .x(Bucket::time("time"));
    let resolves = Vis::new("lakeship-dns-resolves", "DNS: names resolved by requesting host", Chart::Table)
        .describe("Which instance (or, without one, which address) asked for which name.")
        .metric(Metric::count().label("Queries"))
        .rows(Bucket::terms("src_endpoint.instance_uid", 10).missing("(no instance)").label("Instance"))
        .rows(Bucket::terms("src_endpoint.ip", 5).label("Source IP"))
        .rows(Bucket::terms("query.hostname", 10).label("Name"));
    let names = Vis::new("lakeship-dns-top-names", "DNS: top resolved names", Chart::HorizontalBar)
        .metric(Metric::count().label("Queries"))
        .x(Bucket::terms("query.hostname", 15).label("Name"));
    let requestors = Vis::new("lakeship-dns-requestors", "DNS: requestors by account, VPC and instance", Chart::Table)
        .metric(Metric::count().label("Queries"))
        .metric(Metric::of("cardinality", "query.hostname").label("Distinct names"))
        .rows(Bucket::terms("cloud.account.uid", 10).label("Account"))
        .rows(Bucket::terms("src_endpoint.vpc_uid", 10).label("VPC"))
        .rows(Bucket::terms("src_endpoint.instance_uid", 20).missing("(no instance)").label("Instance"));
    let rcodes = Vis::new("lakeship-dns-rcodes", "DNS: response codes", Chart::Pie)
        .describe("NXDomain and Refused spikes point at mistyped, generated or blocked names.")
        .metric(Metric::count().label("Queries"))
        .x(Bucket::terms("rcode", 10).label("Response code"));
    let text = "**Route 53 resolver queries** (OCSF DNS Activity, class 4003, both versions; index pattern \
                `ocsf-*-4003-dns_activity*`, time field `time`).\n\n\
                Click an account, VPC, instance or name to filter every panel on it. Source addresses link \
                to their Project Honey Pot page.";
    Dashboard {
        file: "dns-activity.ndjson",
        id: "lakeship-dashboard-dns",
        title: "[Lakeship] DNS activity",
        description: "Route 53 resolver queries: volume of the top accounts, names by requesting host, requestors, response codes.",
        index_pattern: IndexPattern {
            id: "lakeship-ocsf-dns-activity",
            title: "ocsf-*-4003-dns_activity*",
            time_field: "time",
            links: vec![("src_endpoint.ip", IP_REPUTATION_URL)],
        },
        panels: vec![
            panel(about("lakeship-dns-about", "DNS: about this dashboard", text), 12, 12),
            panel(over_time, 36, 12),
            panel(names, 18, 16),
            panel(rcodes, 12, 16),
            panel(requestors, 18, 16),
            panel(resolves, 48, 18),
        ],
    }
}

/// CloudTrail management events (API Activity: 3005 in rc.2, 6003 in 1.1.0).
pub fn api_activity() -> Dashboard {
    let velocity = Vis::new("lakeship-api-velocity", "API: call velocity", Chart::Area)
        .describe("API calls per interval, by outcome.")
        .metric(Metric::count().label("Calls"))
        .x(Bucket::time("time"))
        .series(Bucket::terms("status", 3).label("Status"));
    let by_service = Vis::new("lakeship-api-operations-by-service", "API: operations by service", Chart::Table)
        .metric(Metric::count().label("Calls"))
        .metric(Metric::of("cardinality", "actor.user.name").label("Distinct callers"))
        .rows(Bucket::terms("api.service.name", 15).label("Service"))
        .rows(Bucket::terms("api.operation", 10).label("Operation"));
    let heatmap = Vis::new("lakeship-api-region-service", "API: activity by region and service", Chart::Heatmap)
        .metric(Metric::count().label("Calls"))
        .x(Bucket::terms("cloud.region", 10).label("Region"))
        .series(Bucket::terms("api.service.name", 10).label("Service"));
    let services = Vis::new("lakeship-api-top-services", "API: top 5 services", Chart::Pie)
        .metric(Metric::count().label("Calls"))
        .x(Bucket::terms("api.service.name", 5).label("Service"));
    let operations = Vis::new("lakeship-api-top-operations", "API: top operations", Chart::HorizontalBar)
        .metric(Metric::count().label("Calls"))
        .x(Bucket::terms("api.operation", 15).label("Operation"));
    let errors = Vis::new("lakeship-api-errors", "API: errors by code and service", Chart::Table)
        .describe("AccessDenied bursts are a classic sign of a credential being probed.")
        .query("_exists_:api.response.error")
        .metric(Metric::count().label("Calls"))
        .rows(Bucket::terms("api.response.error", 10).label("Error"))
        .rows(Bucket::terms("api.service.name", 10).label("Service"))
        .rows(Bucket::terms("actor.user.account.uid", 10).missing("(none)").label("Caller account"));
    let mfa = Vis::new("lakeship-api-mfa", "API: calls by session MFA", Chart::Pie)
        .describe("Calls made with session credentials, by whether the session was authenticated with MFA.")
        .metric(Metric::count().label("Calls"))
        .x(Bucket::terms("actor.session.is_mfa", 2).label("MFA"));
    let text = "**CloudTrail management events** (OCSF API Activity: class 3005 in 1.0.0-rc.2, 6003 in 1.1.0; \
                index pattern `ocsf-*-api_activity*`, time field `time`).\n\n\
                Click a service, operation, region or error to filter every panel on it. Source addresses \
                (`src_endpoint.ip`) link to their Project Honey Pot page in Discover.";
    Dashboard {
        file: "api-activity.ndjson",
        id: "lakeship-dashboard-api",
        title: "[Lakeship] API activity",
        description: "CloudTrail management events: call velocity, operations by service, region x service heat map, top services and operations, errors.",
        index_pattern: IndexPattern {
            id: "lakeship-ocsf-api-activity",
            title: "ocsf-*-api_activity*",
            time_field: "time",
            links: vec![("src_endpoint.ip", IP_REPUTATION_URL)],
        },
        panels: vec![
            panel(about("lakeship-api-about", "API: about this dashboard", text), 12, 12),
            panel(velocity, 36, 12),
            panel(services, 12, 16),
            panel(operations, 18, 16),
            panel(heatmap, 18, 16),
            panel(by_service, 24, 18),
            panel(errors, 16, 18),
            panel(mfa, 8, 18),
        ],
    }
}

/// The ledger: one document per object of every run.
pub fn pipeline_health() -> Dashboard {
    let throughput = Vis::new("lakeship-health-throughput", "Pipeline: objects and rows per hour", Chart::Bar)
        .describe("Objects finished per hour (left axis) and their rows (right axis), by the time the finalizer recorded them.")
        .query("NOT record:run")
        .metric(Metric::count().label("Objects"))
        .metric(Metric::of("sum", "num_rows_read").label("Rows"))
        .x(Bucket::DateHistogram { field: "ended_at", interval: "h" });
    let rejected = Vis::new("lakeship-health-rejected", "Pipeline: rejected rows per hour", Chart::Bar)
        .describe("Rows OpenSearch rejected (they are in the dead-letter store; replay them with lakeship replay-dlq).")
        .metric(Metric::of("sum", "num_rejected").label("Rejected rows"))
        .x(Bucket::DateHistogram { field: "ended_at", interval: "h" })
        .series(Bucket::terms("source", 10).missing("(no source)").label("Security Lake source"));
    let totals = Vis::new("lakeship-health-totals", "Pipeline: rows", Chart::Metric)
        .metric(Metric::of("sum", "num_rows_read").label("Rows read"))
        .metric(Metric::of("sum", "num_indexed").label("Indexed"))
        .metric(Metric::of("sum", "num_already_present").label("Already present"))
        .metric(Metric::of("sum", "num_rejected").label("Rejected"));
    let statuses = Vis::new("lakeship-health-status", "Pipeline: objects by status", Chart::Pie)
        .query("NOT record:run")
        .metric(Metric::count().label("Objects"))
        .x(Bucket::terms("status", 4).label("Status"));
    let attention = Vis::new("lakeship-health-incomplete", "Pipeline: incomplete and failed objects", Chart::Table)
        .describe("Objects whose rows are not all accounted for; re-run them with lakeship run --resume or redrive.")
        .query("NOT status:complete AND NOT status:superseded AND NOT record:run")
        .metric(Metric::count().label("Records"))
        .metric(Metric::of("max", "ended_at").label("Last recorded"))
        .rows(Bucket::terms("key", 50).label("Object"))
        .rows(Bucket::terms("status", 3).label("Status"))
        .rows(Bucket::terms("error_name", 5).missing("-").label("Error"));
    let messages = Vis::new("lakeship-health-messages", "Pipeline: messages ignored and unreadable per hour", Chart::Bar)
        .describe(
            "Queue messages that named no work (S3 test events, deletions, non-Parquet keys, superseded notifications) and \
             messages that could not be read (kept in the dead-letter store; see lakeship messages list). Empty when every \
             message named objects.",
        )
        .query("record:run")
        .metric(Metric::of("sum", "num_ignored_messages").label("Ignored"))
        .metric(Metric::of("sum", "num_unreadable_messages").label("Unreadable"))
        .x(Bucket::DateHistogram { field: "ended_at", interval: "h" });
    let slowest = Vis::new("lakeship-health-slowest", "Pipeline: slowest objects", Chart::Table)
        .metric(Metric::of("max", "duration_ms").label("Duration (ms)"))
        .metric(Metric::of("max", "num_rows").label("Rows"))
        .metric(Metric::of("max", "size").label("Bytes"))
        .rows(Bucket::terms("key", 10).order(Order::Metric(0)).label("Object"));
    let text = "**Lakeship pipeline health** from the ledger (index pattern `lakeship-ledger`, time field \
                `ended_at`): one record per object and run, written by the finalizer, and one per run whose queue \
                messages named no work or could not be read (`record:run`).\n\n\
                An object is *complete* when every row is indexed, already present or rejected into the \
                dead-letter store; *incomplete* when shards are missing or counts do not add up; *failed* when \
                the object itself is bad. If you set another ledger index (`LAKESHIP_LEDGER_INDEX`), change the \
                index pattern's title to it.";
    Dashboard {
        file: "pipeline-health.ndjson",
        id: "lakeship-dashboard-pipeline-health",
        title: "[Lakeship] Pipeline health",
        description: "Objects and rows per hour, rejected rows, ignored and unreadable messages, incomplete and failed objects, slowest objects.",
        index_pattern: IndexPattern { id: "lakeship-ledger", title: "lakeship-ledger", time_field: "ended_at", links: Vec::new() },
        panels: vec![
            panel(about("lakeship-health-about", "Pipeline: about this dashboard", text), 12, 12),
            panel(throughput, 24, 12),
            panel(totals, 12, 12),
            panel(rejected, 24, 12),
            panel(statuses, 12, 12),
            panel(slowest, 12, 12),
            panel(messages, 48, 10),
            panel(attention, 48, 14),
        ],
    }
}
