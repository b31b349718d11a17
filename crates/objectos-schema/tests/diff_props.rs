//! Property tests of the diff over random models.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use objectos_schema::{
    diff, mapping_table, ChangeClass, ChangeKind, ModelDiff, Rename, TableStrategy,
};
use objectos_spec::types::field::FieldType;
use objectos_spec::ObjectDefinition;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// A field of type `ty` with what its type requires.
fn field(ty: FieldType, required: bool, unique: bool, multiple: bool) -> Value {
    let mut f = json!({"type": ty.as_str(), "required": required, "multiple": multiple});
    let unique_ok = mapping_table()
        .iter()
        .any(|r| r.field_type == ty && r.unique)
        && !(multiple && objectos_schema::MULTIPLE_TYPES.contains(&ty));
    if unique && unique_ok {
        f["unique"] = json!(true);
    }
    let needs = match ty {
        FieldType::Select | FieldType::Multiselect | FieldType::Radio | FieldType::Checkboxes => {
            json!({"options": [{"label": "Open", "value": "open"}, {"label": "Won", "value": "won"}]})
        }
        FieldType::Lookup | FieldType::MasterDetail => json!({"reference": "account"}),
        FieldType::Formula => json!({"expression": "1 + 1"}),
        FieldType::Summary => {
            json!({"summaryOperations": {"object": "line", "field": "amount", "function": "sum"}})
        }
        FieldType::Number | FieldType::Currency | FieldType::Percent if unique => {
            json!({"scale": 0})
        }
        _ => json!({}),
    };
    for (k, v) in needs.as_object().unwrap() {
        f[k] = v.clone();
    }
    f
}

fn arb_field() -> impl Strategy<Value = Value> {
    (
        0..FieldType::ALL.len(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(t, required, unique, multiple)| {
            field(FieldType::ALL[t], required, unique, multiple)
        })
}

const FIELD_KEYS: &[&str] = &[
    "title", "amount", "owner", "status", "notes", "code", "due", "tags",
];
const OBJECT_NAMES: &[&str] = &["task", "account", "contact", "deal", "note"];

fn arb_object(name: &'static str) -> impl Strategy<Value = ObjectDefinition> {
    (
        prop::collection::btree_map(0..FIELD_KEYS.len(), arb_field(), 0..6),
        prop::option::of("[A-Z][a-z]{1,8}"),
    )
        .prop_map(move |(fields, label)| {
            let mut map = Map::new();
            for (k, f) in fields {
                map.insert(FIELD_KEYS[k].to_owned(), f);
            }
            let mut doc = json!({"name": name, "fields": map, "indexes": []});
            if let Some(label) = label {
                doc["label"] = json!(label);
            }
            objectos_spec::parse(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"))
        })
}

fn arb_model() -> impl Strategy<Value = Vec<ObjectDefinition>> {
    prop::collection::btree_set(0..OBJECT_NAMES.len(), 0..4).prop_flat_map(|names| {
        names
            .into_iter()
            .map(|i| arb_object(OBJECT_NAMES[i]))
            .collect::<Vec<_>>()
    })
}

fn check_deploy_diff(d: &ModelDiff) {
    let dd = d.to_deploy_diff();
    let value = serde_json::to_value(&dd).unwrap();
    let validated = objectos_spec::kind("DeployDiff").unwrap().validate(&value);
    assert!(validated.issues.is_empty(), "{:?}", validated.issues);
    assert_eq!(
        dd.summary.added + dd.summary.modified + dd.summary.removed,
        dd.changes.len() as u64
    );
    assert_eq!(
        dd.has_breaking_changes,
        d.changes.iter().any(|c| !c.class.is_safe())
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn diff_of_a_model_with_itself_is_empty(a in arb_model()) {
        let d = diff(&a, &a, &[]).unwrap();
        prop_assert!(d.is_empty(), "{:#?}", d.changes);
        prop_assert!(d.per_table_actions().tables.is_empty());
        check_deploy_diff(&d);
    }

    #[test]
    fn diff_from_nothing_adds_every_object(b in arb_model()) {
        let d = diff(&[], &b, &[]).unwrap();
        prop_assert_eq!(d.changes.len(), b.len());
        for (change, object) in d.changes.iter().zip(&b) {
            let added = matches!(&change.kind, ChangeKind::AddObject { object: o } if o == &object.name);
            prop_assert!(added);
            prop_assert_eq!(&change.class, &ChangeClass::Safe);
        }
        let all_create = d.per_table_actions().tables.iter().all(|t| matches!(t.strategy, TableStrategy::Create(_)));
        prop_assert!(all_create);
        check_deploy_diff(&d);
    }

    #[test]
    fn diff_to_nothing_drops_every_object_with_a_token(a in arb_model()) {
        let d = diff(&a, &[], &[]).unwrap();
        let tokens: Vec<String> = a.iter().map(|o| format!("object:{}", o.name)).collect();
        prop_assert_eq!(d.requires_ack(), tokens.clone());
        prop_assert!(d.unacknowledged(&tokens).is_empty());
        check_deploy_diff(&d);
    }

    #[test]
    fn any_two_models_diff_consistently(a in arb_model(), b in arb_model()) {
        let d = diff(&a, &b, &[]).unwrap();
        check_deploy_diff(&d);
        // Every destructive change has a token, and acknowledging them all leaves nothing.
        let tokens = d.requires_ack();
        prop_assert!(d.unacknowledged(&tokens).is_empty());
        // Every change belongs to exactly one table action.
        let mut seen: Vec<usize> = d.per_table_actions().tables.iter().flat_map(|t| t.changes.clone()).collect();
        seen.sort_unstable();
        prop_assert_eq!(seen, (0..d.changes.len()).collect::<Vec<_>>());
    }

    #[test]
    fn explicit_renames_are_only_renames(a in arb_model(), suffix in "[a-z]{1,4}") {
        // Rename every object and its first field; nothing else changes.
        let mut renames = Vec::new();
        let b: Vec<ObjectDefinition> = a.iter().map(|o| {
            let mut n = o.clone();
            n.name = format!("{}_{suffix}", o.name);
            renames.push(Rename::Object { from: o.name.clone(), to: n.name.clone() });
            if let Some((key, _)) = o.fields.first() {
                let new_key = format!("{key}_{suffix}");
                n.fields = o.fields.iter().map(|(k, f)| {
                    (if k == key { new_key.clone() } else { k.clone() }, f.clone())
                }).collect();
                renames.push(Rename::Field { object: n.name.clone(), from: key.clone(), to: new_key });
            }
            n
        }).collect();
        let d = diff(&a, &b, &renames).unwrap();
        check_deploy_diff(&d);
        prop_assert!(!d.has_breaking_changes(), "{:#?}", d.changes);
        prop_assert!(d.changes.iter().all(|c| matches!(c.kind,
            ChangeKind::RenameObject { .. } | ChangeKind::RenameField { .. }
            | ChangeKind::AddIndex { .. } | ChangeKind::DropIndex { .. })), "{:#?}", d.changes);
        let no_rebuild = d.per_table_actions().tables.iter().all(|t| !matches!(t.strategy, TableStrategy::Rebuild { .. }));
        prop_assert!(no_rebuild);
        // The inverse renames take the model back with the mirror-image diff.
        let back = diff(&b, &a, d.inverse_renames()).unwrap();
        prop_assert_eq!(back.changes.len(), d.changes.len());
        prop_assert!(!back.has_breaking_changes());
    }
}
