//! Shared by the SQLite and PostgreSQL suites: the random models, edits and values of the
//! deployment property test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use objectos_schema::Rename;
use objectos_spec::ObjectDefinition;
use objectos_sql::SqlValue;
use proptest::prelude::*;
use serde_json::{json, Value};

pub fn object(name: &str, fields: Value) -> ObjectDefinition {
    objectos_spec::parse(&json!({"name": name, "fields": fields, "indexes": []}))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn field_rename(object: &str, from: &str, to: &str) -> Rename {
    Rename::Field {
        object: object.into(),
        from: from.into(),
        to: to.into(),
    }
}

pub fn object_rename(from: &str, to: &str) -> Rename {
    Rename::Object {
        from: from.into(),
        to: to.into(),
    }
}

/// A field kind of the small type set, with its storage and a value generator's domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Real,
    Bool,
}

impl Kind {
    pub fn json(self) -> Value {
        match self {
            Kind::Text => json!({"type": "text"}),
            Kind::Int => json!({"type": "number", "scale": 0}),
            Kind::Real => json!({"type": "number"}),
            Kind::Bool => json!({"type": "boolean"}),
        }
    }

    /// The widenings the generator may pick.
    pub fn widen(self, pick: usize) -> Kind {
        let options: &[Kind] = match self {
            Kind::Text => &[Kind::Text],
            Kind::Int => &[Kind::Real, Kind::Text],
            Kind::Real => &[Kind::Text],
            Kind::Bool => &[Kind::Int, Kind::Real, Kind::Text],
        };
        options[pick % options.len()]
    }
}

#[derive(Debug, Clone)]
pub struct FieldA {
    pub kind: Kind,
    pub required: bool,
    pub index: bool,
}

/// Model A as (object, fields) with field keys `f0..`.
#[derive(Debug, Clone)]
pub struct ModelA {
    pub objects: Vec<(String, Vec<FieldA>)>,
}

pub fn arb_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Text),
        Just(Kind::Int),
        Just(Kind::Real),
        Just(Kind::Bool)
    ]
}

pub fn arb_model_a() -> impl Strategy<Value = ModelA> {
    prop::collection::vec(
        prop::collection::vec(
            (
                arb_kind(),
                prop::bool::weighted(0.3),
                prop::bool::weighted(0.3),
            )
                .prop_map(|(kind, required, index)| FieldA {
                    kind,
                    required,
                    index,
                }),
            1..5,
        ),
        1..4,
    )
    .prop_map(|objects| ModelA {
        objects: objects
            .into_iter()
            .enumerate()
            .map(|(i, f)| (format!("obj{i}"), f))
            .collect(),
    })
}

/// What B does to one field of A.
#[derive(Debug, Clone)]
pub struct FieldEdit {
    pub rename: bool,
    pub widen: Option<usize>,
    pub relax: bool,
    pub toggle_index: bool,
    /// Dropped (acknowledged) when the field is optional.
    pub drop: bool,
    /// Made unique when the new kind allows it (TEXT, whole numbers): duplicates may exist.
    pub unique: bool,
}

#[derive(Debug, Clone)]
pub struct Edits {
    pub fields: Vec<Vec<FieldEdit>>,
    pub rename_object: Vec<bool>,
    pub add_field: Vec<Option<(Kind, bool)>>,
    pub add_object: bool,
}

pub fn arb_edits() -> impl Strategy<Value = Edits> {
    let edit = (
        prop::bool::weighted(0.25),
        prop::option::weighted(0.3, 0..3usize),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(rename, widen, relax, toggle_index, drop, unique)| FieldEdit {
                rename,
                widen,
                relax,
                toggle_index,
                drop,
                unique,
            },
        );
    (
        prop::collection::vec(prop::collection::vec(edit, 5), 4),
        prop::collection::vec(prop::bool::weighted(0.25), 4),
        prop::collection::vec(prop::option::weighted(0.4, (arb_kind(), any::<bool>())), 4),
        any::<bool>(),
    )
        .prop_map(|(fields, rename_object, add_field, add_object)| Edits {
            fields,
            rename_object,
            add_field,
            add_object,
        })
}

pub fn field_json(kind: Kind, required: bool, index: bool) -> Value {
    let mut f = kind.json();
    f["required"] = json!(required);
    if index {
        f["index"] = json!(true);
    }
    f
}

pub fn build_a(m: &ModelA) -> Vec<ObjectDefinition> {
    m.objects
        .iter()
        .map(|(name, fields)| {
            let mut map = serde_json::Map::new();
            for (i, f) in fields.iter().enumerate() {
                map.insert(format!("f{i}"), field_json(f.kind, f.required, f.index));
            }
            object(name, Value::Object(map))
        })
        .collect()
}

/// Model B, the renames, and per surviving field: (old object, old key, new object, new key, new kind).
pub type Survivor = (String, String, String, String, Kind);

pub fn build_b(m: &ModelA, e: &Edits) -> (Vec<ObjectDefinition>, Vec<Rename>, Vec<Survivor>) {
    let mut out = Vec::new();
    let mut renames = Vec::new();
    let mut survivors = Vec::new();
    for (oi, (name, fields)) in m.objects.iter().enumerate() {
        let new_name = if e.rename_object[oi] {
            renames.push(object_rename(name, &format!("{name}_r")));
            format!("{name}_r")
        } else {
            name.clone()
        };
        let mut map = serde_json::Map::new();
        for (fi, f) in fields.iter().enumerate() {
            let edit = &e.fields[oi][fi];
            let key = format!("f{fi}");
            if edit.drop && !f.required {
                continue;
            }
            let new_key = if edit.rename {
                renames.push(field_rename(&new_name, &key, &format!("g{fi}")));
                format!("g{fi}")
            } else {
                key.clone()
            };
            let kind = edit.widen.map_or(f.kind, |p| f.kind.widen(p));
            let required = f.required && !edit.relax;
            let index = f.index != edit.toggle_index;
            let mut def = field_json(kind, required, index);
            if edit.unique && matches!(kind, Kind::Text | Kind::Int) {
                def["unique"] = json!(true);
            }
            map.insert(new_key.clone(), def);
            survivors.push((name.clone(), key, new_name.clone(), new_key, kind));
        }
        if let Some((kind, index)) = e.add_field[oi] {
            // A new optional field (required ones would need a default on populated tables).
            map.insert("added".into(), field_json(kind, false, index));
        }
        out.push(object(&new_name, Value::Object(map)));
    }
    if e.add_object {
        out.push(object(
            "fresh",
            json!({"x": {"type": "text", "index": true}}),
        ));
    }
    (out, renames, survivors)
}

/// A value of `kind`; booleans are `0`/`1` integers on SQLite and `Bool`s on PostgreSQL (`pg`).
pub fn arb_value(kind: Kind, required: bool, pg: bool) -> BoxedStrategy<SqlValue> {
    let v: BoxedStrategy<SqlValue> = match kind {
        Kind::Text => "[a-z' ]{0,8}".prop_map(SqlValue::Text).boxed(),
        Kind::Int => (-1000i64..1000).prop_map(SqlValue::Integer).boxed(),
        Kind::Real => (-1000i32..1000)
            .prop_map(|n| SqlValue::Real(f64::from(n) / 8.0))
            .boxed(),
        Kind::Bool if pg => any::<bool>().prop_map(SqlValue::Bool).boxed(),
        Kind::Bool => (0i64..2).prop_map(SqlValue::Integer).boxed(),
    };
    if required {
        v
    } else {
        prop_oneof![1 => Just(SqlValue::Null), 3 => v].boxed()
    }
}

/// The value a widened field holds after the change, computed independently of the planner (the
/// same on both dialects: PostgreSQL converts as SQLite does).
pub fn widened(value: &SqlValue, from: Kind, to: Kind) -> SqlValue {
    if let SqlValue::Bool(b) = value {
        return widened(&SqlValue::Integer(i64::from(*b)), from, to);
    }
    match (value, from, to) {
        (v, a, b) if a == b => v.clone(),
        (SqlValue::Null, _, _) => SqlValue::Null,
        (SqlValue::Integer(n), _, Kind::Real) => SqlValue::Real(*n as f64),
        (SqlValue::Integer(n), _, Kind::Text) => SqlValue::Text(n.to_string()),
        (SqlValue::Integer(n), Kind::Bool, Kind::Int) => SqlValue::Integer(*n),
        (SqlValue::Real(r), Kind::Real, Kind::Text) => {
            // SQLite prints REAL as %!.15g: whole numbers keep ".0".
            let s = if r.fract() == 0.0 {
                format!("{r:.1}")
            } else {
                format!("{r}")
            };
            SqlValue::Text(s)
        }
        other => panic!("unexpected widening {other:?}"),
    }
}

/// A model A, edits making B, and rows for A's tables (`pg`: see [`arb_value`]).
pub fn arb_case(pg: bool) -> impl Strategy<Value = (ModelA, Edits, Vec<Vec<Vec<SqlValue>>>)> {
    (arb_model_a(), arb_edits()).prop_flat_map(move |(m, e)| {
        let rows = m
            .objects
            .iter()
            .map(|(_, fields)| {
                let row: Vec<BoxedStrategy<SqlValue>> = fields
                    .iter()
                    .map(|f| arb_value(f.kind, f.required, pg))
                    .collect();
                prop::collection::vec(row, 0..6)
            })
            .collect::<Vec<_>>();
        (Just(m), Just(e), rows)
    })
}
