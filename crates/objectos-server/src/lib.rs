//! HTTP: axum routers for the control-plane and data APIs, authentication, the ObjectStack error envelope and OpenAPI.
