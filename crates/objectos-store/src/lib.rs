//! The control-plane store: tenants, provisioning steps, API key hashes, deployments index; one trait with embedded SQLite and PostgreSQL implementations. Filled by the provisioning issue.
