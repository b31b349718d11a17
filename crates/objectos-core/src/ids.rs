//! Identifiers and secrets: tenant ids derived from org ids, API keys, admin tokens.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Longest tenant id (Turso's database-name limit).
pub const TENANT_ID_MAX: usize = 64;

/// Prefix of tenant API keys.
pub const KEY_PREFIX: &str = "osk_";

/// Prefix of the admin token.
pub const ADMIN_TOKEN_PREFIX: &str = "osa_";

/// Derives the tenant id of an organization: deterministic, lowercase `[a-z0-9-]`, at most 64 chars.
///
/// An org id that already has that form (and does not start or end with `-`) is used as is. Any
/// other is slugged (runs of other characters become one `-`) and suffixed with 8 hex digits of its
/// SHA-256, so two org ids that slug alike (`Acme Corp`, `acme corp`) get different tenants.
pub fn tenant_id_for_org(org_id: &str) -> String {
    let already_valid = !org_id.is_empty()
        && org_id.len() <= TENANT_ID_MAX
        && !org_id.starts_with('-')
        && !org_id.ends_with('-')
        && org_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if already_valid {
        return org_id.to_owned();
    }
    let mut slug = String::with_capacity(org_id.len());
    for c in org_id.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let digest = hex::encode(Sha256::digest(org_id.as_bytes()));
    let suffix = &digest[..8];
    let room = TENANT_ID_MAX - suffix.len() - 1;
    let slug: String = slug.trim_matches('-').chars().take(room).collect();
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("t-{suffix}")
    } else {
        format!("{slug}-{suffix}")
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// SHA-256 of a secret, hex. Keys carry 256 random bits, so a fast hash is enough.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A freshly minted API key; the plaintext exists only in this value.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The key's id (public; appears in listings and in the key).
    pub key_id: String,
    /// The whole key: `osk_<tenant>_<keyid>_<secret>`.
    pub plaintext: String,
    /// SHA-256 of the whole key.
    pub hash: String,
}

/// Mints a key for a tenant.
pub fn new_key(tenant_id: &str) -> NewKey {
    let key_id = random_hex(6);
    let plaintext = format!("{KEY_PREFIX}{tenant_id}_{key_id}_{}", random_hex(32));
    let hash = hash_secret(&plaintext);
    NewKey {
        key_id,
        plaintext,
        hash,
    }
}

/// The parts of a presented key: tenant id and key id (the secret is checked by hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyParts<'a> {
    /// Tenant named by the key's prefix.
    pub tenant_id: &'a str,
    /// Key id.
    pub key_id: &'a str,
}

/// Splits a presented key; `None` when it does not have the key's shape.
pub fn parse_key(key: &str) -> Option<KeyParts<'_>> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let mut parts = rest.rsplitn(3, '_');
    let secret = parts.next()?;
    let key_id = parts.next()?;
    let tenant_id = parts.next()?;
    let hex_of = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_of(secret, 64) && hex_of(key_id, 12) && !tenant_id.is_empty())
        .then_some(KeyParts { tenant_id, key_id })
}

/// A new node id: `node-<16 hex>` (the owner of a node's step leases).
pub fn new_node_id() -> String {
    format!("node-{}", random_hex(8))
}

/// Whether `id` can be a node id: 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
pub fn is_valid_node_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A new admin token: `osa_<64 hex>`.
pub fn new_admin_token() -> String {
    format!("{ADMIN_TOKEN_PREFIX}{}", random_hex(32))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(id: &str) -> bool {
        !id.is_empty()
            && id.len() <= TENANT_ID_MAX
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !id.starts_with('-')
            && !id.ends_with('-')
    }

    #[test]
    fn valid_org_ids_are_kept_and_others_slugged_with_a_hash() {
        assert_eq!(tenant_id_for_org("acme"), "acme");
        assert_eq!(tenant_id_for_org("acme-2"), "acme-2");
        let a = tenant_id_for_org("Acme Corp");
        let b = tenant_id_for_org("acme corp");
        assert!(a.starts_with("acme-corp-") && b.starts_with("acme-corp-"));
        assert_ne!(a, b);
        assert_eq!(a, tenant_id_for_org("Acme Corp"), "deterministic");
        for org in [
            "",
            "---",
            "日本",
            &"x".repeat(300),
            "-a-",
            "A_B.C",
            "Ünïcödé Org",
        ] {
            let id = tenant_id_for_org(org);
            assert!(valid(&id), "{org:?} -> {id:?}");
        }
    }

    #[test]
    fn keys_round_trip_and_malformed_keys_are_refused() {
        let key = new_key("acme-corp-1a2b3c4d");
        let parts = parse_key(&key.plaintext).unwrap();
        assert_eq!(parts.tenant_id, "acme-corp-1a2b3c4d");
        assert_eq!(parts.key_id, key.key_id);
        assert_eq!(hash_secret(&key.plaintext), key.hash);
        for bad in [
            "",
            "osk_",
            "osk_a_b_c",
            "bearer",
            &key.plaintext[..key.plaintext.len() - 1],
            &key.plaintext.replace("osk_", "osx_"),
        ] {
            assert!(parse_key(bad).is_none(), "{bad}");
        }
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
