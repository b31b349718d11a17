//! The diff stage: one test per classification rule, renames, refusals and the DeployDiff shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use objectos_schema::{
    diff, ChangeClass, ChangeKind, ColumnStep, ConversionKind, DataCheck, DiffError, FieldDelta,
    LossKind, ModelDiff, Rename, RenameError, Repr, TableStrategy,
};
use objectos_spec::ObjectDefinition;
use serde_json::{json, Value};

fn object(name: &str, fields: Value) -> ObjectDefinition {
    object_with(name, fields, json!([]))
}

fn object_with(name: &str, fields: Value, indexes: Value) -> ObjectDefinition {
    objectos_spec::parse(&json!({"name": name, "fields": fields, "indexes": indexes}))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn task(extra: Value) -> ObjectDefinition {
    let mut fields = json!({"title": {"type": "text"}, "points": {"type": "number"}});
    for (k, v) in extra.as_object().unwrap() {
        fields[k] = v.clone();
    }
    object("task", fields)
}

fn field_rename(object: &str, from: &str, to: &str) -> Rename {
    Rename::Field {
        object: object.into(),
        from: from.into(),
        to: to.into(),
    }
}

fn object_rename(from: &str, to: &str) -> Rename {
    Rename::Object {
        from: from.into(),
        to: to.into(),
    }
}

/// The diff, after checking its DeployDiff against the published JSON Schema.
fn run(prev: &[ObjectDefinition], next: &[ObjectDefinition], renames: &[Rename]) -> ModelDiff {
    let d = diff(prev, next, renames).unwrap();
    let value = serde_json::to_value(d.to_deploy_diff()).unwrap();
    let validated = objectos_spec::kind("DeployDiff").unwrap().validate(&value);
    assert!(
        validated.issues.is_empty(),
        "{:?}\n{value:#}",
        validated.issues
    );
    d
}

/// The only change of `d` matching `pred`.
fn only(d: &ModelDiff, pred: impl Fn(&ChangeKind) -> bool) -> &objectos_schema::Change {
    let found: Vec<_> = d.changes.iter().filter(|c| pred(&c.kind)).collect();
    assert_eq!(found.len(), 1, "{:#?}", d.changes);
    found[0]
}

fn field_change<'a>(d: &'a ModelDiff, key: &str) -> &'a objectos_schema::Change {
    only(
        d,
        |k| matches!(k, ChangeKind::ChangeField { field, .. } if field == key),
    )
}

fn strategy<'a>(d: &'a ModelDiff, table: &str) -> &'a TableStrategy {
    let action = d
        .per_table_actions()
        .tables
        .iter()
        .find(|a| {
            a.next.as_ref().map(|n| n.as_str()) == Some(table)
                || (a.next.is_none() && a.previous.as_ref().map(|n| n.as_str()) == Some(table))
        })
        .unwrap_or_else(|| panic!("no action for {table}: {:#?}", d.per_table_actions()));
    &action.strategy
}

fn is_rebuild(s: &TableStrategy) -> bool {
    matches!(s, TableStrategy::Rebuild { .. })
}

fn is_alter(s: &TableStrategy) -> bool {
    matches!(s, TableStrategy::Alter { .. })
}

// ----- identity and adds -------------------------------------------------------------------

#[test]
fn same_model_is_empty() {
    let a = vec![task(
        json!({"done": {"type": "boolean", "required": true, "defaultValue": false}}),
    )];
    let d = run(&a, &a, &[]);
    assert!(d.is_empty());
    assert!(!d.to_deploy_diff().has_breaking_changes);
    assert!(d.per_table_actions().tables.is_empty());
}

#[test]
fn add_object_is_safe() {
    let d = run(&[], &[task(json!({}))], &[]);
    let c = only(
        &d,
        |k| matches!(k, ChangeKind::AddObject { object } if object == "task"),
    );
    assert_eq!(c.class, ChangeClass::Safe);
    assert!(matches!(strategy(&d, "task"), TableStrategy::Create(_)));
    let dd = d.to_deploy_diff();
    assert_eq!(dd.summary.added, 1);
    assert!(!dd.has_breaking_changes);
}

#[test]
fn add_optional_field_is_safe_and_alters() {
    let d = run(
        &[task(json!({}))],
        &[task(json!({"notes": {"type": "textarea"}}))],
        &[],
    );
    let c = only(
        &d,
        |k| matches!(k, ChangeKind::AddField { field, .. } if field == "notes"),
    );
    assert_eq!(c.class, ChangeClass::Safe);
    match strategy(&d, "task") {
        TableStrategy::Alter { steps, .. } => {
            assert!(matches!(&steps[..], [ColumnStep::AddColumn(c)] if c.name.as_str() == "notes"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn add_required_field_with_default_is_safe_and_alters() {
    let d = run(
        &[task(json!({}))],
        &[task(
            json!({"status": {"type": "text", "required": true, "defaultValue": "open"}}),
        )],
        &[],
    );
    let c = only(&d, |k| matches!(k, ChangeKind::AddField { .. }));
    assert_eq!(c.class, ChangeClass::Safe);
    assert!(is_alter(strategy(&d, "task")));
}

#[test]
fn add_required_field_without_default_needs_an_empty_table_and_a_rebuild() {
    let d = run(
        &[task(json!({}))],
        &[task(json!({"owner": {"type": "text", "required": true}}))],
        &[],
    );
    let c = only(&d, |k| matches!(k, ChangeKind::AddField { .. }));
    assert_eq!(
        c.class,
        ChangeClass::DataDependent {
            check: DataCheck::NonEmptyTable {
                table: "task".into()
            }
        }
    );
    assert!(is_rebuild(strategy(&d, "task")));
    assert!(d.to_deploy_diff().has_breaking_changes);
    assert!(d.requires_ack().is_empty());
}

// ----- drops ---------------------------------------------------------------------------------

#[test]
fn drop_object_is_destructive_with_its_token() {
    let d = run(
        &[task(json!({})), object("note", json!({}))],
        &[task(json!({}))],
        &[],
    );
    let c = only(&d, |k| matches!(k, ChangeKind::DropObject { .. }));
    assert_eq!(
        c.class,
        ChangeClass::Destructive {
            entity: "object:note".into(),
            loses: LossKind::Rows {
                table: "note".into()
            }
        }
    );
    assert_eq!(d.requires_ack(), vec!["object:note".to_owned()]);
    assert_eq!(d.unacknowledged(&[]).len(), 1);
    assert!(d.unacknowledged(&["object:note".into()]).is_empty());
    assert_eq!(d.unacknowledged(&["field:note.x".into()]).len(), 1);
    assert!(matches!(strategy(&d, "note"), TableStrategy::Drop));
    assert_eq!(d.to_deploy_diff().summary.removed, 1);
}

#[test]
fn drop_field_is_destructive_and_alters() {
    let d = run(
        &[task(json!({}))],
        &[object("task", json!({"title": {"type": "text"}}))],
        &[],
    );
    let c = only(
        &d,
        |k| matches!(k, ChangeKind::DropField { field, .. } if field == "points"),
    );
    assert!(
        matches!(&c.class, ChangeClass::Destructive { entity, loses: LossKind::ColumnValues { column, .. } }
        if entity == "field:task.points" && column == "points")
    );
    assert_eq!(d.requires_ack(), vec!["field:task.points".to_owned()]);
    match strategy(&d, "task") {
        TableStrategy::Alter { steps, .. } => {
            assert!(matches!(&steps[..], [ColumnStep::DropColumn(c)] if c.as_str() == "points"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn drop_indexed_field_drops_its_index_first() {
    let prev = task(json!({"code": {"type": "text", "unique": true}}));
    let d = run(&[prev], &[task(json!({}))], &[]);
    let action = &d.per_table_actions().tables[0];
    assert_eq!(action.drop_indexes[0].as_str(), "uq_task_code");
    assert!(is_alter(&action.strategy));
    only(&d, |k| matches!(k, ChangeKind::DropIndex { .. }));
}

#[test]
fn drop_computed_field_loses_nothing() {
    let prev = task(json!({"double": {"type": "formula", "expression": "points * 2"}}));
    let d = run(&[prev], &[task(json!({}))], &[]);
    let c = only(&d, |k| matches!(k, ChangeKind::DropField { .. }));
    assert_eq!(c.class, ChangeClass::Safe);
    assert!(matches!(strategy(&d, "task"), TableStrategy::MetadataOnly));
}

#[test]
fn drop_plus_add_of_same_type_is_not_a_rename() {
    let prev = object("task", json!({"title": {"type": "text"}}));
    let next = object("task", json!({"subject": {"type": "text"}}));
    let d = run(&[prev], &[next], &[]);
    only(
        &d,
        |k| matches!(k, ChangeKind::DropField { field, .. } if field == "title"),
    );
    only(
        &d,
        |k| matches!(k, ChangeKind::AddField { field, .. } if field == "subject"),
    );
    assert_eq!(d.requires_ack(), vec!["field:task.title".to_owned()]);
}

// ----- type changes -------------------------------------------------------------------------

fn type_change(prev: Value, next: Value) -> ModelDiff {
    run(
        &[object("t", json!({"f": prev}))],
        &[object("t", json!({"f": next}))],
        &[],
    )
}

fn storage_kind(d: &ModelDiff) -> ConversionKind {
    match &field_change(d, "f").kind {
        ChangeKind::ChangeField { deltas, .. } => deltas
            .iter()
            .find_map(|x| match x {
                FieldDelta::Storage(c) => Some(c.kind),
                _ => None,
            })
            .unwrap_or(ConversionKind::Same),
        _ => unreachable!(),
    }
}

#[test]
fn integer_to_real_widens_safely_with_a_rebuild() {
    let d = type_change(
        json!({"type": "number", "scale": 0}),
        json!({"type": "number", "scale": 2}),
    );
    assert_eq!(storage_kind(&d), ConversionKind::Widen);
    assert_eq!(field_change(&d, "f").class, ChangeClass::Safe);
    let TableStrategy::Rebuild { copy, .. } = strategy(&d, "t") else {
        panic!()
    };
    let f = copy.iter().find(|c| c.to.as_str() == "f").unwrap();
    assert_eq!(
        (f.conversion.from, f.conversion.to),
        (Repr::Integer, Repr::Real)
    );
    // The cause is reported as a storage option.
    let ChangeKind::ChangeField { deltas, .. } = &field_change(&d, "f").kind else {
        panic!()
    };
    assert!(deltas.iter().any(|x| matches!(
        x,
        FieldDelta::StorageOption {
            option: "scale",
            ..
        }
    )));
}

#[test]
fn real_to_integer_narrows() {
    let d = type_change(
        json!({"type": "number"}),
        json!({"type": "number", "scale": 0}),
    );
    assert_eq!(
        field_change(&d, "f").class,
        ChangeClass::DataDependent {
            check: DataCheck::NotCastable {
                table: "t".into(),
                column: "f".into(),
                from: Repr::Real,
                to: Repr::Integer
            }
        }
    );
    assert!(d.to_deploy_diff().has_breaking_changes);
}

#[test]
fn rating_allow_half_toggles() {
    let on = type_change(
        json!({"type": "rating"}),
        json!({"type": "rating", "allowHalf": true}),
    );
    assert_eq!(storage_kind(&on), ConversionKind::Widen);
    let off = type_change(
        json!({"type": "rating", "allowHalf": true}),
        json!({"type": "rating"}),
    );
    assert_eq!(storage_kind(&off), ConversionKind::Narrow);
}

#[test]
fn scalars_to_text_widen() {
    for from in [
        json!({"type": "number"}),
        json!({"type": "boolean"}),
        json!({"type": "autonumber"}),
    ] {
        let d = type_change(from.clone(), json!({"type": "text"}));
        assert_eq!(storage_kind(&d), ConversionKind::Widen, "{from}");
        assert_eq!(field_change(&d, "f").class, ChangeClass::Safe, "{from}");
    }
}

#[test]
fn text_to_number_narrows() {
    let d = type_change(json!({"type": "text"}), json!({"type": "number"}));
    assert!(matches!(
        field_change(&d, "f").class,
        ChangeClass::DataDependent {
            check: DataCheck::NotCastable {
                from: Repr::Text,
                to: Repr::Real,
                ..
            }
        }
    ));
}

#[test]
fn same_storage_type_change_needs_no_ddl() {
    let d = type_change(json!({"type": "text"}), json!({"type": "email"}));
    assert_eq!(storage_kind(&d), ConversionKind::Same);
    assert_eq!(field_change(&d, "f").class, ChangeClass::Safe);
    assert!(matches!(strategy(&d, "t"), TableStrategy::MetadataOnly));
}

#[test]
fn json_array_to_text_is_lossy() {
    let d = type_change(
        json!({"type": "multiselect", "options": [{"label": "A", "value": "aa"}]}),
        json!({"type": "text"}),
    );
    assert_eq!(storage_kind(&d), ConversionKind::Lossy);
    assert!(matches!(&field_change(&d, "f").class,
        ChangeClass::Destructive { entity, loses: LossKind::Conversion { from: Repr::Json(_), to: Repr::Text, .. } }
        if entity == "field:t.f"));
    assert_eq!(d.requires_ack(), vec!["field:t.f".to_owned()]);
}

#[test]
fn multiple_toggles_on_select() {
    let options = json!([{"label": "A", "value": "aa"}]);
    let on = type_change(
        json!({"type": "select", "options": options}),
        json!({"type": "select", "options": options, "multiple": true}),
    );
    assert_eq!(storage_kind(&on), ConversionKind::Widen);
    assert_eq!(field_change(&on, "f").class, ChangeClass::Safe);
    let off = type_change(
        json!({"type": "select", "options": options, "multiple": true}),
        json!({"type": "select", "options": options}),
    );
    assert_eq!(storage_kind(&off), ConversionKind::Lossy);
    assert_eq!(off.requires_ack(), vec!["field:t.f".to_owned()]);
}

#[test]
fn json_object_to_scalar_is_lossy() {
    let d = type_change(json!({"type": "location"}), json!({"type": "number"}));
    assert_eq!(storage_kind(&d), ConversionKind::Lossy);
    let d = type_change(json!({"type": "text"}), json!({"type": "address"}));
    assert_eq!(storage_kind(&d), ConversionKind::Lossy);
}

#[test]
fn stored_to_computed_is_destructive_and_computed_to_stored_adds_a_column() {
    let d = type_change(
        json!({"type": "number"}),
        json!({"type": "formula", "expression": "1"}),
    );
    assert!(matches!(&field_change(&d, "f").class,
        ChangeClass::Destructive { entity, loses: LossKind::ColumnValues { .. } } if entity == "field:t.f"));
    let back = type_change(
        json!({"type": "formula", "expression": "1"}),
        json!({"type": "number", "required": true}),
    );
    assert!(matches!(
        field_change(&back, "f").class,
        ChangeClass::DataDependent {
            check: DataCheck::NonEmptyTable { .. }
        }
    ));
}

// ----- required, unique, default, metadata ----------------------------------------------------

#[test]
fn making_required_checks_nulls() {
    let d = type_change(
        json!({"type": "text"}),
        json!({"type": "text", "required": true}),
    );
    assert_eq!(
        field_change(&d, "f").class,
        ChangeClass::DataDependent {
            check: DataCheck::NullsIn {
                table: "t".into(),
                column: "f".into()
            }
        }
    );
    let TableStrategy::Rebuild { reasons, .. } = strategy(&d, "t") else {
        panic!()
    };
    assert!(reasons[0].contains("NOT NULL"), "{reasons:?}");
}

#[test]
fn making_required_with_a_default_fills_nulls() {
    let d = type_change(
        json!({"type": "text"}),
        json!({"type": "text", "required": true, "defaultValue": "x"}),
    );
    assert_eq!(field_change(&d, "f").class, ChangeClass::Safe);
    let TableStrategy::Rebuild { copy, .. } = strategy(&d, "t") else {
        panic!()
    };
    let f = copy.iter().find(|c| c.to.as_str() == "f").unwrap();
    assert_eq!(f.fill_nulls.as_deref(), Some("'x'"));
}

#[test]
fn relaxing_required_is_safe_but_rebuilds() {
    let d = type_change(
        json!({"type": "text", "required": true}),
        json!({"type": "text"}),
    );
    assert_eq!(field_change(&d, "f").class, ChangeClass::Safe);
    assert!(is_rebuild(strategy(&d, "t")));
    assert!(!d.to_deploy_diff().has_breaking_changes);
}

#[test]
fn narrowing_and_required_together_need_both_probes() {
    let d = type_change(
        json!({"type": "text"}),
        json!({"type": "number", "required": true}),
    );
    let c = field_change(&d, "f");
    assert_eq!(c.checks.len(), 2);
    assert!(
        matches!(&c.class, ChangeClass::DataDependent { check: DataCheck::All(v) } if v.len() == 2)
    );
    assert_eq!(d.data_checks().len(), 2);
}

#[test]
fn making_unique_checks_duplicates_on_the_index() {
    let d = type_change(
        json!({"type": "text"}),
        json!({"type": "text", "unique": true}),
    );
    let idx = only(&d, |k| matches!(k, ChangeKind::AddIndex { .. }));
    assert_eq!(
        idx.class,
        ChangeClass::DataDependent {
            check: DataCheck::DuplicatesIn {
                table: "t".into(),
                columns: vec!["f".into()]
            }
        }
    );
    // The field change records the toggle; the index carries the check.
    let ChangeKind::ChangeField { deltas, .. } = &field_change(&d, "f").kind else {
        panic!()
    };
    assert!(deltas.contains(&FieldDelta::Unique {
        from: false,
        to: true
    }));
    match strategy(&d, "t") {
        TableStrategy::Alter { steps, .. } => assert!(steps.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        d.per_table_actions().tables[0].create_indexes[0]
            .name
            .as_str(),
        "uq_t_f"
    );
}

#[test]
fn unique_on_a_new_column_without_default_is_safe() {
    let d = run(
        &[task(json!({}))],
        &[task(json!({"code": {"type": "text", "unique": true}}))],
        &[],
    );
    let idx = only(&d, |k| matches!(k, ChangeKind::AddIndex { .. }));
    assert_eq!(idx.class, ChangeClass::Safe);
    let d = run(
        &[task(json!({}))],
        &[task(
            json!({"code": {"type": "text", "unique": true, "defaultValue": "x"}}),
        )],
        &[],
    );
    let idx = only(&d, |k| matches!(k, ChangeKind::AddIndex { .. }));
    assert_eq!(
        idx.class,
        ChangeClass::DataDependent {
            check: DataCheck::MultipleRows {
                table: "task".into()
            }
        }
    );
}

#[test]
fn unique_already_served_by_a_declared_index_is_safe() {
    let prev = object_with(
        "t",
        json!({"f": {"type": "text"}}),
        json!([{"name": "t_f_key", "fields": ["f"], "unique": true}]),
    );
    let next = object_with(
        "t",
        json!({"f": {"type": "text", "unique": true}}),
        json!([{"name": "t_f_key2", "fields": ["f"], "unique": true}]),
    );
    let d = run(&[prev], &[next], &[]);
    let idx = only(&d, |k| matches!(k, ChangeKind::AddIndex { .. }));
    assert_eq!(idx.class, ChangeClass::Safe);
}

#[test]
fn add_and_drop_plain_index_are_safe() {
    let prev = task(json!({}));
    let next = object_with(
        "task",
        json!({"title": {"type": "text"}, "points": {"type": "number"}}),
        json!([{"fields": ["title", "points"]}]),
    );
    let d = run(
        std::slice::from_ref(&prev),
        std::slice::from_ref(&next),
        &[],
    );
    let c = only(
        &d,
        |k| matches!(k, ChangeKind::AddIndex { index, .. } if index.name.as_str() == "idx_task_title_points"),
    );
    assert_eq!(c.class, ChangeClass::Safe);
    let back = run(&[next], &[prev], &[]);
    let c = only(&back, |k| matches!(k, ChangeKind::DropIndex { .. }));
    assert_eq!(c.class, ChangeClass::Safe);
    assert!(!back.has_breaking_changes());
}

#[test]
fn implied_reference_index_follows_the_field() {
    let d = run(
        &[task(json!({}))],
        &[task(
            json!({"account": {"type": "lookup", "reference": "account"}}),
        )],
        &[],
    );
    only(
        &d,
        |k| matches!(k, ChangeKind::AddIndex { index, .. } if index.name.as_str() == "idx_task_account"),
    );
}

#[test]
fn default_change_is_safe_and_rebuilds() {
    let d = type_change(
        json!({"type": "text", "defaultValue": "a"}),
        json!({"type": "text", "defaultValue": "b"}),
    );
    let c = field_change(&d, "f");
    assert_eq!(c.class, ChangeClass::Safe);
    let ChangeKind::ChangeField { deltas, .. } = &c.kind else {
        panic!()
    };
    assert!(matches!(&deltas[..], [FieldDelta::Default { .. }]));
    assert!(is_rebuild(strategy(&d, "t")));
}

#[test]
fn metadata_only_changes_are_recorded_without_ddl() {
    let options_a = json!([{"label": "A", "value": "aa"}]);
    let options_b = json!([{"label": "A", "value": "aa"}, {"label": "B", "value": "bb"}]);
    let prev = object(
        "t",
        json!({"f": {"type": "select", "options": options_a, "label": "F"}, "n": {"type": "number", "max": 5}}),
    );
    let mut next = object(
        "t",
        json!({"f": {"type": "select", "options": options_b, "label": "Eff"}, "n": {"type": "number", "max": 10}}),
    );
    next.label = Some("Things".into());
    let d = run(&[prev], &[next], &[]);
    let ChangeKind::ChangeField { deltas, .. } = &field_change(&d, "f").kind else {
        panic!()
    };
    assert_eq!(
        deltas,
        &vec![FieldDelta::Metadata {
            keys: vec!["label".into(), "options".into()]
        }]
    );
    let ChangeKind::ChangeField { deltas, .. } = &field_change(&d, "n").kind else {
        panic!()
    };
    assert_eq!(
        deltas,
        &vec![FieldDelta::Metadata {
            keys: vec!["max".into()]
        }]
    );
    only(
        &d,
        |k| matches!(k, ChangeKind::ChangeObject { keys, .. } if keys == &vec!["label".to_owned()]),
    );
    assert!(d.changes.iter().all(|c| c.class.is_safe()));
    assert!(matches!(strategy(&d, "t"), TableStrategy::MetadataOnly));
    assert_eq!(d.to_deploy_diff().summary.modified, 3);
}

// ----- renames -------------------------------------------------------------------------------

#[test]
fn object_rename_is_safe_and_renames_the_table() {
    let d = run(
        &[task(json!({}))],
        &[object(
            "todo",
            json!({"title": {"type": "text"}, "points": {"type": "number"}}),
        )],
        &[object_rename("task", "todo")],
    );
    assert_eq!(d.changes.len(), 1, "{:#?}", d.changes);
    let c = &d.changes[0];
    assert_eq!(c.class, ChangeClass::Safe);
    assert_eq!(c.old_value, Some(json!("task")));
    assert_eq!(c.new_value, Some(json!("todo")));
    let renames = &d.per_table_actions().table_renames;
    assert_eq!(
        (renames[0].from.as_str(), renames[0].to.as_str()),
        ("task", "todo")
    );
    let dd = d.to_deploy_diff();
    assert_eq!(dd.summary.modified, 1);
    assert_eq!(dd.changes[0].entity_name, "todo");
    assert_eq!(d.inverse_renames(), &[object_rename("todo", "task")]);
}

#[test]
fn object_rename_renames_generated_index_names() {
    let prev = task(json!({"code": {"type": "text", "unique": true}}));
    let next = object(
        "todo",
        json!({"title": {"type": "text"}, "points": {"type": "number"}, "code": {"type": "text", "unique": true}}),
    );
    let d = run(&[prev], &[next], &[object_rename("task", "todo")]);
    // uq_task_code → uq_todo_code: recreated, but the data already is unique.
    let add = only(&d, |k| matches!(k, ChangeKind::AddIndex { .. }));
    assert_eq!(add.class, ChangeClass::Safe);
    only(&d, |k| matches!(k, ChangeKind::DropIndex { .. }));
}

#[test]
fn field_rename_is_safe_and_renames_the_column() {
    let next = object(
        "task",
        json!({"subject": {"type": "text"}, "points": {"type": "number"}}),
    );
    let d = run(
        &[task(json!({}))],
        &[next],
        &[field_rename("task", "title", "subject")],
    );
    assert_eq!(d.changes.len(), 1, "{:#?}", d.changes);
    assert_eq!(d.changes[0].class, ChangeClass::Safe);
    assert!(
        matches!(&d.changes[0].kind, ChangeKind::RenameField { from, to, .. } if from == "title" && to == "subject")
    );
    match strategy(&d, "task") {
        TableStrategy::Alter {
            steps,
            column_order,
        } => {
            assert!(
                matches!(&steps[..], [ColumnStep::RenameColumn { from, to }] if from.as_str() == "title" && to.as_str() == "subject")
            );
            let order: Vec<&str> = column_order.iter().map(|c| c.as_str()).collect();
            assert_eq!(
                order,
                ["id", "created_at", "updated_at", "subject", "points"]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn field_swap_goes_through_a_temporary_column() {
    let prev = object(
        "t",
        json!({"a": {"type": "text"}, "b": {"type": "text", "label": "B"}}),
    );
    let next = object(
        "t",
        json!({"b": {"type": "text"}, "a": {"type": "text", "label": "B"}}),
    );
    let d = run(
        &[prev],
        &[next],
        &[field_rename("t", "a", "b"), field_rename("t", "b", "a")],
    );
    assert!(d.changes.iter().all(|c| c.class.is_safe()));
    assert_eq!(
        d.changes
            .iter()
            .filter(|c| matches!(c.kind, ChangeKind::RenameField { .. }))
            .count(),
        2
    );
    // Content follows the rename: old b (label B) is the new a (label B), so no field change.
    assert!(!d
        .changes
        .iter()
        .any(|c| matches!(c.kind, ChangeKind::ChangeField { .. })));
    match strategy(&d, "t") {
        TableStrategy::Alter { steps, .. } => {
            let steps: Vec<(String, String)> = steps
                .iter()
                .map(|s| match s {
                    ColumnStep::RenameColumn { from, to } => (from.to_string(), to.to_string()),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(
                steps,
                [
                    ("a".into(), "_objectos_tmp_0".into()),
                    ("b".into(), "a".into()),
                    ("_objectos_tmp_0".into(), "b".into())
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        d.inverse_renames(),
        &[field_rename("t", "b", "a"), field_rename("t", "a", "b")]
    );
}

#[test]
fn object_swap_is_allowed() {
    let a = object("a", json!({"x": {"type": "text"}}));
    let b = object("b", json!({"y": {"type": "text"}}));
    let a2 = object("a", json!({"y": {"type": "text"}}));
    let b2 = object("b", json!({"x": {"type": "text"}}));
    let d = run(
        &[a, b],
        &[a2, b2],
        &[object_rename("a", "b"), object_rename("b", "a")],
    );
    assert!(d
        .changes
        .iter()
        .all(|c| matches!(c.kind, ChangeKind::RenameObject { .. })));
    assert_eq!(d.per_table_actions().table_renames.len(), 3);
}

#[test]
fn field_rename_in_a_renamed_object_with_a_type_change() {
    let prev = object("task", json!({"n": {"type": "number", "scale": 0}}));
    let next = object("todo", json!({"m": {"type": "number"}}));
    let d = run(
        &[prev],
        &[next],
        &[
            object_rename("task", "todo"),
            field_rename("todo", "n", "m"),
        ],
    );
    only(&d, |k| matches!(k, ChangeKind::RenameObject { .. }));
    only(
        &d,
        |k| matches!(k, ChangeKind::RenameField { object, .. } if object == "todo"),
    );
    assert_eq!(field_change(&d, "m").class, ChangeClass::Safe);
    let TableStrategy::Rebuild { copy, .. } = strategy(&d, "todo") else {
        panic!()
    };
    let m = copy.iter().find(|c| c.to.as_str() == "m").unwrap();
    assert_eq!(m.from.as_str(), "n");
    assert_eq!(
        d.inverse_renames(),
        &[
            object_rename("todo", "task"),
            field_rename("task", "m", "n")
        ]
    );
}

#[test]
fn renamed_then_narrowed_field_probes_the_live_column() {
    let prev = object("t", json!({"a": {"type": "text"}}));
    let next = object("t", json!({"b": {"type": "number"}}));
    let d = run(&[prev], &[next], &[field_rename("t", "a", "b")]);
    assert!(matches!(&field_change(&d, "b").class,
        ChangeClass::DataDependent { check: DataCheck::NotCastable { column, .. } } if column == "a"));
}

#[test]
fn renames_deserialize_from_the_request_shape() {
    let renames: Vec<Rename> = serde_json::from_value(json!([
        {"kind": "object", "from": "old_name", "to": "new_name"},
        {"kind": "field", "object": "task", "from": "title", "to": "subject"}
    ]))
    .unwrap();
    assert_eq!(
        renames,
        vec![
            object_rename("old_name", "new_name"),
            field_rename("task", "title", "subject")
        ]
    );
    assert!(serde_json::from_value::<Rename>(
        json!({"kind": "object", "from": "a", "to": "b", "x": 1})
    )
    .is_err());
}

// ----- invalid renames -----------------------------------------------------------------------

fn rename_errors(
    prev: &[ObjectDefinition],
    next: &[ObjectDefinition],
    renames: &[Rename],
) -> Vec<RenameError> {
    match diff(prev, next, renames) {
        Err(DiffError::InvalidRenames { errors }) => errors,
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_renames_are_refused_with_paths() {
    let prev = [
        task(json!({})),
        object("note", json!({"body": {"type": "text"}})),
    ];
    let next = [
        task(json!({"subject": {"type": "text"}})),
        object("note", json!({"body": {"type": "text"}})),
        object("memo", json!({})),
    ];

    let e = rename_errors(&prev, &next, &[object_rename("ghost", "memo")]);
    assert!(
        matches!(&e[..], [RenameError::UnknownSource { index: 0, name, .. }] if name == "ghost")
    );
    assert_eq!(e[0].path(), "renames[0].from");

    let e = rename_errors(&prev, &next, &[object_rename("note", "nowhere")]);
    assert!(matches!(&e[..], [RenameError::UnknownTarget { .. }]));
    assert_eq!(e[0].path(), "renames[0].to");

    // `task` exists in both models and is not renamed away.
    let e = rename_errors(&prev, &next, &[object_rename("note", "task")]);
    assert!(matches!(&e[..], [RenameError::TargetTaken { name, .. }] if name == "task"));

    let e = rename_errors(&prev, &next, &[object_rename("note", "note")]);
    assert!(e.iter().any(|x| matches!(x, RenameError::SameName { .. })));

    let e = rename_errors(
        &prev,
        &next,
        &[object_rename("note", "memo"), object_rename("note", "memo")],
    );
    assert!(e.iter().any(|x| matches!(
        x,
        RenameError::DuplicateSource {
            index: 1,
            first: 0,
            ..
        }
    )));
    assert!(e.iter().any(|x| matches!(
        x,
        RenameError::DuplicateTarget {
            index: 1,
            first: 0,
            ..
        }
    )));

    let e = rename_errors(&prev, &next, &[field_rename("ghost", "a", "b")]);
    assert!(matches!(&e[..], [RenameError::UnknownObject { .. }]));
    assert_eq!(e[0].path(), "renames[0].object");

    let e = rename_errors(&prev, &next, &[field_rename("memo", "a", "b")]);
    assert!(matches!(&e[..], [RenameError::NewObject { .. }]));

    let e = rename_errors(&prev, &next, &[field_rename("task", "nope", "subject")]);
    assert!(matches!(&e[..], [RenameError::UnknownSource { scope, .. }] if scope.contains("task")));

    // `points` is in both versions of task: renaming title onto it would merge two fields.
    let e = rename_errors(&prev, &next, &[field_rename("task", "title", "points")]);
    assert!(matches!(&e[..], [RenameError::TargetTaken { .. }]));

    // Every problem is reported at once, in request order.
    let e = rename_errors(
        &prev,
        &next,
        &[
            object_rename("ghost", "memo"),
            field_rename("ghost", "a", "b"),
        ],
    );
    assert_eq!(e.iter().map(RenameError::index).collect::<Vec<_>>(), [0, 1]);
    let message = DiffError::InvalidRenames { errors: e }.to_string();
    assert!(
        message.contains("renames[0].from") && message.contains("renames[1].object"),
        "{message}"
    );
}

#[test]
fn chained_renames_are_refused() {
    let prev = [object(
        "t",
        json!({"a": {"type": "text"}, "b": {"type": "text"}}),
    )];
    let next = [object(
        "t",
        json!({"b": {"type": "text"}, "c": {"type": "text"}}),
    )];
    let e = rename_errors(
        &prev,
        &next,
        &[field_rename("t", "a", "b"), field_rename("t", "b", "c")],
    );
    assert!(
        matches!(&e[..], [RenameError::Chain { index: 0, next: 1, name }] if name == "b"),
        "{e:?}"
    );
}

#[test]
fn duplicate_object_names_are_refused() {
    let err = diff(&[], &[task(json!({})), task(json!({}))], &[]).unwrap_err();
    assert!(matches!(err, DiffError::DuplicateObject { .. }));
}

// ----- DeployDiff shape ------------------------------------------------------------------------

#[test]
fn deploy_diff_lists_every_kind_of_change() {
    let prev = [
        task(json!({"old": {"type": "text"}, "code": {"type": "text"}})),
        object("gone", json!({})),
    ];
    let next = [
        object(
            "todo",
            json!({"subject": {"type": "text"}, "points": {"type": "number", "scale": 0}, "code": {"type": "text", "unique": true}, "new": {"type": "text"}}),
        ),
        object("fresh", json!({})),
    ];
    let d = run(
        &prev,
        &next,
        &[
            object_rename("task", "todo"),
            field_rename("todo", "title", "subject"),
        ],
    );
    let dd = d.to_deploy_diff();
    let value = serde_json::to_value(&dd).unwrap();
    let kinds: Vec<(String, String, String)> = value["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["entityType"].as_str().unwrap().to_owned(),
                c["entityName"].as_str().unwrap().to_owned(),
                c["changeType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for want in [
        ("object", "todo", "modified"),
        ("field", "subject", "modified"),
        ("field", "points", "modified"),
        ("field", "code", "modified"),
        ("field", "new", "added"),
        ("field", "old", "removed"),
        ("index", "uq_todo_code", "added"),
        ("object", "fresh", "added"),
        ("object", "gone", "removed"),
    ] {
        let want = (want.0.to_owned(), want.1.to_owned(), want.2.to_owned());
        assert!(kinds.contains(&want), "{want:?} not in {kinds:?}");
    }
    assert_eq!(
        dd.summary.added + dd.summary.modified + dd.summary.removed,
        dd.changes.len() as u64
    );
    assert!(dd.has_breaking_changes);
    assert_eq!(
        d.requires_ack(),
        vec!["field:todo.old".to_owned(), "object:gone".to_owned()]
    );
    let field = dd.changes.iter().find(|c| c.entity_name == "new").unwrap();
    assert_eq!(field.parent_entity.as_deref(), Some("todo"));
    assert_eq!(field.new_value.as_ref().unwrap()["type"], "text");
}
