//! Rust types for the protocol's JSON Schemas, one module per source file of the spec.
//!
//! Field names serialise as camelCase. Fields with a schema default are plain values (always present
//! in output); fields without one are `Option`s omitted when `None`, since the schemas do not allow
//! `null` for them. Build these from untrusted input with [`crate::parse`], never with serde directly:
//! the validator fills defaults and reports every issue with its path first.

/// Declares a string enum of the spec: serde names, `ALL`, `as_str` and `Display`.
macro_rules! spec_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(
                #[doc = concat!("`", $wire, "`")]
                #[serde(rename = $wire)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in the order the schema lists them.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The value as it appears in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Deserialises a present value, `null` included, as `Some`: an explicit `null` (a default value or
/// an old value of `NULL`) survives a parse → serialise round trip instead of vanishing.
fn keep_null<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    <serde_json::Value as serde::Deserialize>::deserialize(deserializer).map(Some)
}

pub mod app;
pub mod context;
pub mod deploy;
pub mod driver;
pub mod field;
pub mod provisioning;
pub mod tenant;
pub mod turso;
