//! Untrusted bytes → JSON → `TenantProvisioningRequest`, plus validation against every kind.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use objectos_spec::types::provisioning::TenantProvisioningRequest;

fuzz_target!(|data: &[u8]| {
    common::parse_as::<TenantProvisioningRequest>(data);
});
