//! Field type → column mapping per dialect, DDL, introspection, schema diff and migration plans (SQLite table rebuilds included). Filled by the deploy-pipeline issue.
