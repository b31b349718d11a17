//! The services, free of HTTP: provisioning pipeline, deploy pipeline, app lifecycle, tenant router, quotas and the data engine.
