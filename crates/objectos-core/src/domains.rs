//! Custom domains for the `lookup` tenant resolver strategy: `crm.example.com` → a tenant.

use objectos_spec::{Issue, IssueCode, JsonPath, ValidationError};
use objectos_store::{ControlStore, DomainRecord, StoreError};
use objectos_tenantdb::TenantDatabases;
use serde_json::json;

use crate::error::{CoreError, CoreResult};
use crate::platform::Platform;
use crate::time::now_ms;

/// Normalises a host name for the domain table: lowercase, no port, no trailing dot; `None` when it
/// is not a valid DNS name (labels of `[a-z0-9-]`, 1–63 chars, not starting or ending with `-`,
/// at least two labels, at most 253 chars).
pub fn normalise_domain(host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('.');
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let host = host.to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let valid = host.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    valid.then_some(host)
}

impl<S: ControlStore, D: TenantDatabases> Platform<S, D> {
    /// Maps a custom domain to a tenant; 422 for an invalid name, 409 when it is taken.
    pub async fn add_domain(&self, domain: &str, tenant_id: &str) -> CoreResult<DomainRecord> {
        let Some(domain) = normalise_domain(domain) else {
            return Err(CoreError::Invalid(ValidationError::new(vec![Issue::new(
                JsonPath::root().key("domain"),
                IssueCode::InvalidString,
                "Invalid domain: expected a DNS name such as crm.example.com",
            )])));
        };
        self.require_tenant(tenant_id).await?;
        let record = DomainRecord {
            domain: domain.clone(),
            tenant_id: tenant_id.to_owned(),
            created_at_ms: now_ms(),
        };
        match self.store().insert_domain(record.clone()).await {
            Ok(()) => Ok(record),
            Err(StoreError::DuplicateDomain(_)) => Err(CoreError::Conflict {
                code: "domain_taken",
                message: format!("domain {domain} is already mapped to a tenant"),
                details: json!({"domain": domain}),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The mapped domains, of one tenant or all.
    pub async fn list_domains(&self, tenant_id: Option<&str>) -> CoreResult<Vec<DomainRecord>> {
        Ok(self.store().domains(tenant_id).await?)
    }

    /// Removes a mapping; 404 when there is none.
    pub async fn remove_domain(&self, domain: &str) -> CoreResult<()> {
        let name = normalise_domain(domain).unwrap_or_else(|| domain.to_owned());
        if self.store().delete_domain(&name).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound {
                what: "domain",
                id: name,
            })
        }
    }

    /// The tenant a request's host names through the domain table.
    pub async fn tenant_for_domain(&self, host: &str) -> CoreResult<Option<String>> {
        let Some(domain) = normalise_domain(host) else {
            return Ok(None);
        };
        Ok(self.store().domain(&domain).await?.map(|d| d.tenant_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_and_checked() {
        assert_eq!(
            normalise_domain("CRM.Example.com:8080").as_deref(),
            Some("crm.example.com")
        );
        assert_eq!(
            normalise_domain("crm.example.com.").as_deref(),
            Some("crm.example.com")
        );
        for bad in [
            "localhost",
            "a..b",
            "-a.com",
            "a_b.com",
            "x.com'; DROP TABLE t",
            "",
        ] {
            assert_eq!(normalise_domain(bad), None, "{bad}");
        }
    }
}
