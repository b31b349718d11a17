//! A tenant's deployed model as the data API serves it: the object definitions registered by the
//! last deployment (`_objectos_metadata`), their ETags, and who references whom.

use std::sync::Arc;

use indexmap::IndexMap;
use objectos_spec::types::field::{DeleteBehavior, FieldType};
use objectos_spec::ObjectDefinition;
use objectos_sql::{Session, SqlError};
use sha2::{Digest, Sha256};

/// A reference from one object's field to another object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundReference {
    /// The referencing object.
    pub object: String,
    /// The referencing field.
    pub field: String,
    /// What deleting the target does.
    pub delete_behavior: DeleteBehavior,
    /// The field holds an array of ids (`multiple: true` lookups).
    pub multiple: bool,
    /// The field is required (so `set_null` cannot apply).
    pub required: bool,
}

/// One deployed object with its ETag (a hash of its canonical definition).
#[derive(Debug, Clone)]
pub struct DeployedObject {
    /// The definition.
    pub definition: Arc<ObjectDefinition>,
    /// The canonical JSON of the definition as registered.
    pub canonical: String,
    /// Strong ETag value (hex SHA-256 of the canonical JSON, shortened).
    pub etag: String,
}

/// The deployed model of one tenant.
#[derive(Debug, Clone, Default)]
pub struct TenantModel {
    /// Objects by name, in name order.
    pub objects: IndexMap<String, DeployedObject>,
    /// ETag of the whole model (changes with every deployment).
    pub etag: String,
    /// References into each object, by target object name.
    pub inbound: IndexMap<String, Vec<InboundReference>>,
}

/// A strong ETag value for a text: the first 16 bytes of its SHA-256, in hex.
pub fn etag_of(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(&digest[..16])
}

impl TenantModel {
    /// Reads the registered objects; a database without deployments has an empty model.
    pub fn load(session: &dyn Session) -> Result<Self, SqlError> {
        let rows = session.query(
            "SELECT name, definition FROM _objectos_metadata WHERE type = 'object' ORDER BY name",
            &[],
        )?;
        let mut objects = IndexMap::new();
        let mut all = String::new();
        for row in rows {
            let mut row = row.into_iter();
            let (Some(name), Some(canonical)) = (
                row.next().and_then(|v| v.into_string()),
                row.next().and_then(|v| v.into_string()),
            ) else {
                return Err(SqlError::decode(
                    "a metadata row without name or definition",
                ));
            };
            let definition: ObjectDefinition = serde_json::from_str(&canonical).map_err(|e| {
                SqlError::decode(format!("the registered definition of '{name}': {e}"))
            })?;
            all.push_str(&canonical);
            all.push('\n');
            objects.insert(
                name,
                DeployedObject {
                    etag: etag_of(&canonical),
                    definition: Arc::new(definition),
                    canonical,
                },
            );
        }
        let mut inbound: IndexMap<String, Vec<InboundReference>> = IndexMap::new();
        for (name, deployed) in &objects {
            for (key, field) in &deployed.definition.fields {
                let target = match (field.r#type, &field.reference) {
                    (FieldType::Lookup | FieldType::MasterDetail, Some(t)) => t.clone(),
                    (FieldType::Tree, t) => t.clone().unwrap_or_else(|| name.clone()),
                    _ => continue,
                };
                inbound.entry(target).or_default().push(InboundReference {
                    object: name.clone(),
                    field: key.clone(),
                    delete_behavior: field.delete_behavior,
                    multiple: field.multiple && field.r#type == FieldType::Lookup,
                    required: field.required,
                });
            }
        }
        Ok(Self {
            objects,
            etag: etag_of(&all),
            inbound,
        })
    }

    /// A deployed object's definition.
    pub fn object(&self, name: &str) -> Option<&Arc<ObjectDefinition>> {
        self.objects.get(name).map(|d| &d.definition)
    }

    /// A deployed object the data API serves: not `active: false`, not `abstract`.
    pub fn served(&self, name: &str) -> Result<&Arc<ObjectDefinition>, super::DataError> {
        let object = self
            .object(name)
            .ok_or_else(|| super::DataError::UnknownObject(super::write::truncate(name)))?;
        let reason = if !object.active {
            "it is inactive (active: false)"
        } else if object.r#abstract {
            "it is abstract (abstract: true), a base that has no records"
        } else {
            return Ok(object);
        };
        Err(super::DataError::NotServed {
            object: object.name.clone(),
            reason,
        })
    }
}
