//! Tenant database providers (local SQLite file, memory, Turso, PostgreSQL) and the per-tenant connection cache. Filled by the provisioning issue.
