//! Which tenant an import lands in.
//!
//! With multi-tenancy, the security plugin of Dashboards resolves the tenant
//! of every `/api` request from the `securitytenant` header (or the
//! session), and **falls back silently** to another tenant — the preferred
//! one, then global, then private, then the first available — when the
//! requested one does not exist or the user may not use it
//! (opensearch-project/security-dashboards-plugin
//! `server/multitenancy/tenant_resolver.ts`, `resolve()`, commit 0354aa5). It
//! then sends the *resolved* tenant to OpenSearch in the `securitytenant`
//! header (`server/auth/types/authentication_type.ts`). Its route
//! `GET /api/v1/auth/authinfo` (`server/routes/index.ts`) passes OpenSearch's
//! `_plugins/_security/authinfo` answer through with those headers, so its
//! `user_requested_tenant` is the tenant the request resolved to, and
//! `tenants` maps every tenant the user may use to whether it is writable
//! (opensearch-project/security
//! `src/main/java/org/opensearch/security/rest/SecurityInfoAction.java`).
//! The resolved tenant is written `""` for global and `__user__` for
//! private (`GLOBAL_TENANT_SYMBOL`, `PRIVATE_TENANT_SYMBOL`); in `tenants`,
//! global is `global_tenant` and private is the user's name.
//!
//! The import asks that route with the same header first and refuses to
//! write anything when the tenant that would be used is not the requested
//! one, or is read-only.

use serde_json::Value;

use super::{DashboardError, Result};

/// Path of the security plugin's authinfo route below the Dashboards URL.
pub fn authinfo_path() -> &'static str {
    "api/v1/auth/authinfo"
}

/// The tenant a request resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCheck {
    /// `global`, `private` or a tenant's name; `None` when Dashboards has no
    /// security plugin or resolves no tenant (no multi-tenancy).
    pub resolved: Option<String>,
}

/// The tenant as the resolver writes it: `""` for global, `__user__` for
/// private, the name otherwise.
fn resolver_form(tenant: &str) -> &str {
    match tenant.to_ascii_lowercase().as_str() {
        "" | "global" | "global_tenant" => "",
        "private" | "__user__" => "__user__",
        _ => tenant,
    }
}

/// A resolved tenant as users name it.
fn display_form(resolved: &str) -> String {
    match resolved {
        "" => "global".to_string(),
        "__user__" => "private".to_string(),
        name => name.to_string(),
    }
}

/// Checks the authinfo answer (`status`, `body`) to a request that asked
/// for `requested`.
pub fn check_tenant(requested: Option<&str>, status: u16, body: &[u8]) -> Result<TenantCheck> {
    let mismatch = |message: String| DashboardError::Tenant { requested: requested.unwrap_or("-").to_string(), message };
    if status == 404 {
        // No security plugin in Dashboards: no tenants, one saved-objects index.
        return match requested {
            Some(_) => Err(mismatch(
                "Dashboards has no security plugin (GET /api/v1/auth/authinfo answered 404), so there are no tenants; \
                 import without --tenant"
                    .to_string(),
            )),
            None => Ok(TenantCheck { resolved: None }),
        };
    }
    if !(200..300).contains(&status) {
        let excerpt = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
        return Err(DashboardError::Refused { status, hint: " (asking the security plugin for the tenant)", body: excerpt });
    }
    let answer: Value = serde_json::from_slice(body).map_err(|error| mismatch(format!("the authinfo answer is not JSON: {error}")))?;
    let Some(resolved) = answer["user_requested_tenant"].as_str() else {
        return match requested {
            Some(_) => Err(mismatch("Dashboards resolves no tenant for this user (multi-tenancy is off); import without --tenant".into())),
            None => Ok(TenantCheck { resolved: None }),
        };
    };
    let user = answer["user_name"].as_str().unwrap_or_default();
    let key = match resolved {
        "" => "global_tenant",
        "__user__" => user,
        name => name,
    };
    let available = || {
        let mut names: Vec<String> = answer["tenants"].as_object().into_iter().flatten().map(|(name, _)| name.clone()).collect();
        names.sort();
        names.join(", ")
    };
    if let Some(requested) = requested
        && resolver_form(requested) != resolved
    {
        return Err(mismatch(format!(
            "the security plugin would import into tenant {:?} instead: {requested:?} does not exist or user {user:?} may not use it \
             (tenants of the user: {})",
            display_form(resolved),
            available()
        )));
    }
    if answer["tenants"][key].as_bool() == Some(false) {
        return Err(mismatch(format!("tenant {:?} is read-only for user {user:?}", display_form(resolved))));
    }
    Ok(TenantCheck { resolved: Some(display_form(resolved)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The authinfo answer of the security plugin, shaped as the comment on
    /// the `/api/v1/auth/authinfo` route shows it
    /// (opensearch-project/security-dashboards-plugin
    /// `server/routes/index.ts`) and as `SecurityInfoAction.java` writes it,
    /// for a request resolved to `resolved`.
    fn authinfo(resolved: &str) -> Vec<u8> {
        serde_json::json!({
            "user": "User [name=admin, backend_roles=[], requestedTenant=__user__]",
            "user_name": "admin",
            "user_requested_tenant": resolved,
            "remote_address": "127.0.0.1:35044",
            "backend_roles": [],
            "custom_attribute_names": [],
            "roles": ["all_access", "security_manager"],
            "tenants": {"another_tenant": true, "admin": true, "global_tenant": true, "readers": false},
            "principal": null,
            "peer_certificates": "0",
            "sso_logout_url": null
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn the_requested_tenant_is_accepted_when_the_plugin_resolves_to_it() {
        assert_eq!(check_tenant(Some("global"), 200, &authinfo("")).unwrap().resolved.as_deref(), Some("global"));
        assert_eq!(check_tenant(Some("private"), 200, &authinfo("__user__")).unwrap().resolved.as_deref(), Some("private"));
        assert_eq!(
            check_tenant(Some("another_tenant"), 200, &authinfo("another_tenant")).unwrap().resolved.as_deref(),
            Some("another_tenant")
        );
        assert_eq!(
            check_tenant(None, 200, &authinfo("__user__")).unwrap().resolved.as_deref(),
            Some("private"),
            "the default tenant, named"
        );
    }

    #[test]
    fn a_fallback_to_another_tenant_is_refused_naming_it() {
        let error = check_tenant(Some("secops"), 200, &authinfo("")).unwrap_err().to_string();
        assert!(error.contains("\"global\" instead") && error.contains("\"secops\" does not exist"), "{error}");
        assert!(error.contains("admin, another_tenant, global_tenant, readers"), "{error}");
    }

    #[test]
    fn a_read_only_tenant_is_refused() {
        let error = check_tenant(Some("readers"), 200, &authinfo("readers")).unwrap_err().to_string();
        assert!(error.contains("read-only"), "{error}");
    }

    #[test]
    fn without_the_security_plugin_there_are_no_tenants() {
        assert_eq!(check_tenant(None, 404, b"{\"statusCode\":404}").unwrap().resolved, None);
        assert!(check_tenant(Some("global"), 404, b"{}").unwrap_err().to_string().contains("no tenants"));
        assert!(matches!(check_tenant(None, 401, b"{}"), Err(DashboardError::Refused { status: 401, .. })));
    }
}
