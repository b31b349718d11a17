//! The SQL fragments that differ between dialects; everything else a query compiles to is shared.
//!
//! `c` is a quoted column (or a column expression), `p` a placeholder (`$N`).

use objectos_sql::{Dialect, SqlValue};

use super::compile::TextKind;

/// A constant condition.
pub(super) fn truth(d: Dialect, holds: bool) -> &'static str {
    match (d, holds) {
        (Dialect::Sqlite, true) => "1",
        (Dialect::Sqlite, false) => "0",
        (Dialect::Postgres, true) => "TRUE",
        (Dialect::Postgres, false) => "FALSE",
    }
}

/// The negation of a condition, a NULL (unknown) condition counting as not holding.
pub(super) fn not(d: Dialect, condition: &str) -> String {
    format!("NOT COALESCE({condition}, {})", truth(d, false))
}

/// The NULL-safe "not equal" operator.
pub(super) fn is_distinct(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "IS NOT",
        Dialect::Postgres => "IS DISTINCT FROM",
    }
}

/// Whether the JSON array `c` has an element equal to one of the values `marks` (an `in` list when
/// `list`, else one value); `negate` for "has none". A NULL column has no element.
///
/// SQLite reads the elements with `json_each` (strings as text, numbers as numbers, so `"1"` and
/// `1` differ and `1` equals `1.0`); PostgreSQL asks `c @> jsonb_build_array(p)`, which compares
/// the same way (jsonb strings with text, jsonb numbers numerically) and can use a GIN index.
pub(super) fn json_array_has(
    d: Dialect,
    c: &str,
    marks: &[String],
    list: bool,
    negate: bool,
) -> String {
    let has = match (d, marks) {
        (_, []) => truth(d, false).to_owned(),
        (Dialect::Sqlite, [p]) if !list => {
            format!("EXISTS (SELECT 1 FROM json_each({c}) WHERE json_each.value = {p})")
        }
        (Dialect::Sqlite, _) => format!(
            "EXISTS (SELECT 1 FROM json_each({c}) WHERE json_each.value IN ({}))",
            marks.join(", ")
        ),
        (Dialect::Postgres, [p]) => format!("COALESCE({c} @> jsonb_build_array({p}), FALSE)"),
        (Dialect::Postgres, _) => {
            let any: Vec<String> = marks
                .iter()
                .map(|p| format!("{c} @> jsonb_build_array({p})"))
                .collect();
            format!("COALESCE(({}), FALSE)", any.join(" OR "))
        }
    };
    if negate {
        format!("NOT {has}")
    } else {
        has
    }
}

/// The cast that tells PostgreSQL the type of a JSON array element's placeholder
/// (`jsonb_build_array` takes any type, so the parameter's own type must be explicit).
pub(super) fn element_cast(d: Dialect, value: &SqlValue) -> &'static str {
    match (d, value) {
        (Dialect::Sqlite, _) => "",
        (Dialect::Postgres, SqlValue::Integer(_)) => "::bigint",
        (Dialect::Postgres, SqlValue::Real(_)) => "::double precision",
        (Dialect::Postgres, _) => "::text",
    }
}

/// The column as text in its SQLite stored form: dates (`DATE`) and instants (`TIMESTAMPTZ`) on
/// PostgreSQL as `YYYY-MM-DD` and `YYYY-MM-DDTHH:MM:SS.sssZ` in byte order, so text operators and
/// comparisons with text that is not a date give the same answers as on SQLite (not indexed).
pub(super) fn as_text(d: Dialect, kind: TextKind, c: &str) -> String {
    match (d, kind) {
        (Dialect::Postgres, TextKind::Date) => {
            format!("(to_char({c}, 'YYYY-MM-DD') COLLATE \"C\")")
        }
        (Dialect::Postgres, TextKind::Datetime) => format!(
            "(to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') COLLATE \"C\")"
        ),
        _ => c.to_owned(),
    }
}

/// The pattern of a case-sensitive `contains` (else `endswith`) for [`match_op`], the wildcards of
/// `needle` made literal.
pub(super) fn match_pattern(d: Dialect, needle: &str, contains: bool) -> String {
    let (escaped, any) = match d {
        Dialect::Sqlite => (glob_escape(needle), "*"),
        Dialect::Postgres => (like_escape(needle), "%"),
    };
    if contains {
        format!("{any}{escaped}{any}")
    } else {
        format!("{any}{escaped}")
    }
}

/// A case-sensitive pattern match: SQLite `GLOB`, PostgreSQL `LIKE` (case-sensitive there).
pub(super) fn match_op(d: Dialect, c: &str, p: &str) -> String {
    match d {
        Dialect::Sqlite => format!("{c} GLOB {p}"),
        Dialect::Postgres => format!("{c} LIKE {p} ESCAPE '\\'"),
    }
}

/// The `like` operator, ASCII case-insensitive: SQLite `LIKE`; PostgreSQL `ILIKE`, which folds ASCII
/// letters only under the `"C"` collation of text columns.
pub(super) fn like(d: Dialect, c: &str, p: &str) -> String {
    match d {
        Dialect::Sqlite => format!("{c} LIKE {p} ESCAPE '\\'"),
        Dialect::Postgres => format!("{c} ILIKE {p} ESCAPE '\\'"),
    }
}

/// Whether a `like` pattern can match at all: one ending with a lone escape character matches
/// nothing on SQLite and is an error on PostgreSQL, so there it compiles to FALSE.
pub(super) fn like_pattern_can_match(d: Dialect, pattern: &str) -> bool {
    match d {
        Dialect::Sqlite => true,
        Dialect::Postgres => {
            let mut chars = pattern.chars();
            while let Some(c) = chars.next() {
                if c == '\\' && chars.next().is_none() {
                    return false;
                }
            }
            true
        }
    }
}

/// One ORDER BY key. NULLs sort first ascending and last descending, as SQLite sorts them;
/// PostgreSQL does the opposite by default, so it is told — for every column but `id`, NOT NULL
/// ones too: PostgreSQL matches an index to an order by its NULL placement even where no NULL can
/// be, and objectos makes every index `NULLS FIRST` (`IndexSpec::create_sql` in objectos-schema)
/// except the primary key's, which serves `id` in its default order.
pub(super) fn order_key(d: Dialect, c: &str, descending: bool, is_id: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    match d {
        Dialect::Postgres if !is_id => {
            format!(
                "{c} {dir} NULLS {}",
                if descending { "LAST" } else { "FIRST" }
            )
        }
        _ => format!("{c} {dir}"),
    }
}

/// The final `id` sort key.
///
/// On SQLite, with a filter, `+"id"` keeps the planner from walking the primary-key index in id
/// order (hoping to meet LIMIT matches early, which it guesses for any range without ANALYZE
/// statistics) instead of using the filter's index; without one, `"id"` lets a page stop early.
/// PostgreSQL plans from statistics (and has no unary `+` on text).
pub(super) fn id_tiebreak(d: Dialect, filtered: bool) -> &'static str {
    match d {
        Dialect::Sqlite if filtered => "+\"id\" ASC",
        _ => "\"id\" ASC",
    }
}

/// `GLOB` wildcards (`*`, `?`, `[`) made literal.
pub(super) fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            other => out.push(other),
        }
    }
    out
}

/// `LIKE` wildcards (`%`, `_`) and the escape character `\` made literal.
pub(super) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
