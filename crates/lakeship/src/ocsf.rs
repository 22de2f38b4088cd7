//! OCSF facts Lakeship needs at run time.

/// (OCSF version, class_uid, class caption) of every core event class of the
/// OCSF versions Lakeship knows, derived from the OCSF schema (Apache-2.0).
static CLASSES: &[(&str, i64, &str)] = &[
    ("1.0.0-rc.2", 1001, "File System Activity"),
    ("1.0.0-rc.2", 1002, "Kernel Extension Activity"),
    ("1.0.0-rc.2", 1003, "Kernel Activity"),
    ("1.0.0-rc.2", 1004, "Memory Activity"),
    ("1.0.0-rc.2", 1005, "Module Activity"),
    ("1.0.0-rc.2", 1006, "Scheduled Job Activity"),
    ("1.0.0-rc.2", 1007, "Process Activity"),
    ("1.0.0-rc.2", 1008, "Registry Key Activity"),
    ("1.0.0-rc.2", 1009, "Registry Value Activity"),
    ("1.0.0-rc.2", 1010, "Windows Resource Activity"),
    ("1.0.0-rc.2", 2001, "Security Finding"),
    ("1.0.0-rc.2", 3001, "Account Change"),
    ("1.0.0-rc.2", 3002, "Authentication"),
    ("1.0.0-rc.2", 3003, "Authorization"),
    ("1.0.0-rc.2", 3004, "Entity Management"),
    ("1.0.0-rc.2", 3005, "API Activity"),
    ("1.0.0-rc.2", 3006, "Access Activity"),
    ("1.0.0-rc.2", 4001, "Network Activity"),
    ("1.0.0-rc.2", 4002, "HTTP Activity"),
    ("1.0.0-rc.2", 4003, "DNS Activity"),
    ("1.0.0-rc.2", 4004, "DHCP Activity"),
    ("1.0.0-rc.2", 4005, "RDP Activity"),
    ("1.0.0-rc.2", 4006, "SMB Activity"),
    ("1.0.0-rc.2", 4007, "SSH Activity"),
    ("1.0.0-rc.2", 4008, "FTP Activity"),
    ("1.0.0-rc.2", 4009, "Email Activity"),
    ("1.0.0-rc.2", 5001, "Device Inventory Info"),
    ("1.0.0-rc.2", 5002, "Device Config State"),
    ("1.1.0", 1001, "File System Activity"),
    ("1.1.0", 1002, "Kernel Extension Activity"),
    ("1.1.0", 1003, "Kernel Activity"),
    ("1.1.0", 1004, "Memory Activity"),
    ("1.1.0", 1005, "Module Activity"),
    ("1.1.0", 1006, "Scheduled Job Activity"),
    ("1.1.0", 1007, "Process Activity"),
    ("1.1.0", 2001, "Security Finding"),
    ("1.1.0", 2002, "Vulnerability Finding"),
    ("1.1.0", 2003, "Compliance Finding"),
    ("1.1.0", 2004, "Detection Finding"),
    ("1.1.0", 2005, "Incident Finding"),
    ("1.1.0", 3001, "Account Change"),
    ("1.1.0", 3002, "Authentication"),
    ("1.1.0", 3003, "Authorize Session"),
    ("1.1.0", 3004, "Entity Management"),
    ("1.1.0", 3005, "User Access Management"),
    ("1.1.0", 3006, "Group Management"),
    ("1.1.0", 4001, "Network Activity"),
    ("1.1.0", 4002, "HTTP Activity"),
    ("1.1.0", 4003, "DNS Activity"),
    ("1.1.0", 4004, "DHCP Activity"),
    ("1.1.0", 4005, "RDP Activity"),
    ("1.1.0", 4006, "SMB Activity"),
    ("1.1.0", 4007, "SSH Activity"),
    ("1.1.0", 4008, "FTP Activity"),
    ("1.1.0", 4009, "Email Activity"),
    ("1.1.0", 4010, "Network File Activity"),
    ("1.1.0", 4011, "Email File Activity"),
    ("1.1.0", 4012, "Email URL Activity"),
    ("1.1.0", 4013, "NTP Activity"),
    ("1.1.0", 5001, "Device Inventory Info"),
    ("1.1.0", 5002, "Device Config State"),
    ("1.1.0", 5003, "User Inventory Info"),
    ("1.1.0", 5004, "Operating System Patch State"),
    ("1.1.0", 5019, "Device Config State Change"),
    ("1.1.0", 6001, "Web Resources Activity"),
    ("1.1.0", 6002, "Application Lifecycle"),
    ("1.1.0", 6003, "API Activity"),
    ("1.1.0", 6004, "Web Resource Access Activity"),
    ("1.1.0", 6005, "Datastore Activity"),
    ("1.1.0", 6006, "File Hosting Activity"),
    ("1.1.0", 6007, "Scan Activity"),
    ("1.8.0", 1001, "File System Activity"),
    ("1.8.0", 1002, "Kernel Extension Activity"),
    ("1.8.0", 1003, "Kernel Activity"),
    ("1.8.0", 1004, "Memory Activity"),
    ("1.8.0", 1005, "Module Activity"),
    ("1.8.0", 1006, "Scheduled Job Activity"),
    ("1.8.0", 1007, "Process Activity"),
    ("1.8.0", 1008, "Event Log Activity"),
    ("1.8.0", 1009, "Script Activity"),
    ("1.8.0", 1010, "Peripheral Activity"),
    ("1.8.0", 2001, "Security Finding"),
    ("1.8.0", 2002, "Vulnerability Finding"),
    ("1.8.0", 2003, "Compliance Finding"),
    ("1.8.0", 2004, "Detection Finding"),
    ("1.8.0", 2005, "Incident Finding"),
    ("1.8.0", 2006, "Data Security Finding"),
    ("1.8.0", 2007, "Application Security Posture Finding"),
    ("1.8.0", 2008, "IAM Analysis Finding"),
    ("1.8.0", 3001, "Account Change"),
    ("1.8.0", 3002, "Authentication"),
    ("1.8.0", 3003, "Authorize Session"),
    ("1.8.0", 3004, "Entity Management"),
    ("1.8.0", 3005, "User Access Management"),
    ("1.8.0", 3006, "Group Management"),
    ("1.8.0", 4001, "Network Activity"),
    ("1.8.0", 4002, "HTTP Activity"),
    ("1.8.0", 4003, "DNS Activity"),
    ("1.8.0", 4004, "DHCP Activity"),
    ("1.8.0", 4005, "RDP Activity"),
    ("1.8.0", 4006, "SMB Activity"),
    ("1.8.0", 4007, "SSH Activity"),
    ("1.8.0", 4008, "FTP Activity"),
    ("1.8.0", 4009, "Email Activity"),
    ("1.8.0", 4010, "Network File Activity"),
    ("1.8.0", 4011, "Email File Activity"),
    ("1.8.0", 4012, "Email URL Activity"),
    ("1.8.0", 4013, "NTP Activity"),
    ("1.8.0", 4014, "Tunnel Activity"),
    ("1.8.0", 5001, "Device Inventory Info"),
    ("1.8.0", 5002, "Device Config State"),
    ("1.8.0", 5003, "User Inventory Info"),
    ("1.8.0", 5004, "Operating System Patch State"),
    ("1.8.0", 5006, "Kernel Object Query"),
    ("1.8.0", 5007, "File Query"),
    ("1.8.0", 5008, "Folder Query"),
    ("1.8.0", 5009, "Admin Group Query"),
    ("1.8.0", 5010, "Job Query"),
    ("1.8.0", 5011, "Module Query"),
    ("1.8.0", 5012, "Network Connection Query"),
    ("1.8.0", 5013, "Networks Query"),
    ("1.8.0", 5014, "Peripheral Device Query"),
    ("1.8.0", 5015, "Process Query"),
    ("1.8.0", 5016, "Service Query"),
    ("1.8.0", 5017, "User Session Query"),
    ("1.8.0", 5018, "User Query"),
    ("1.8.0", 5019, "Device Config State Change"),
    ("1.8.0", 5020, "Software Inventory Info"),
    ("1.8.0", 5021, "OSINT Inventory Info"),
    ("1.8.0", 5022, "Startup Item Query"),
    ("1.8.0", 5023, "Cloud Resources Inventory Info"),
    ("1.8.0", 5040, "Live Evidence Info"),
    ("1.8.0", 6001, "Web Resources Activity"),
    ("1.8.0", 6002, "Application Lifecycle"),
    ("1.8.0", 6003, "API Activity"),
    ("1.8.0", 6004, "Web Resource Access Activity"),
    ("1.8.0", 6005, "Datastore Activity"),
    ("1.8.0", 6006, "File Hosting Activity"),
    ("1.8.0", 6007, "Scan Activity"),
    ("1.8.0", 6008, "Application Error"),
    ("1.8.0", 7001, "Remediation Activity"),
    ("1.8.0", 7002, "File Remediation Activity"),
    ("1.8.0", 7003, "Process Remediation Activity"),
    ("1.8.0", 7004, "Network Remediation Activity"),
    ("1.8.0", 8001, "Drone Flights Activity"),
    ("1.8.0", 8002, "Airborne Broadcast Activity"),
];

/// The caption of class `class_uid` in OCSF `version`; for versions Lakeship
/// does not know, the newest known version's caption.
pub fn class_name(version: &str, class_uid: i64) -> Option<&'static str> {
    let exact = CLASSES.iter().find(|(v, uid, _)| *v == version && *uid == class_uid);
    let newest = || CLASSES.iter().rev().find(|(_, uid, _)| *uid == class_uid);
    exact.or_else(newest).map(|(_, _, name)| *name)
}

/// The OCSF versions whose classes are known.
pub fn known_versions() -> Vec<&'static str> {
    let mut versions: Vec<&str> = CLASSES.iter().map(|(version, _, _)| *version).collect();
    versions.dedup();
    versions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_classes_per_version() {
        assert_eq!(class_name("1.0.0-rc.2", 3005), Some("API Activity"));
        assert_eq!(class_name("1.1.0", 3005), Some("User Access Management"));
        assert_eq!(class_name("1.1.0", 6003), Some("API Activity"));
        assert_eq!(class_name("9.9.9", 4001), Some("Network Activity"));
        assert_eq!(class_name("1.1.0", 12345), None);
        assert_eq!(known_versions(), ["1.0.0-rc.2", "1.1.0", "1.8.0"]);
    }
}
