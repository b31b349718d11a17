//! List queries: ObjectStack list/query requests parsed into a typed [`Query`] (`parse.rs`, no SQL),
//! compiled for a [`Dialect`](objectos_sql::Dialect) (SQLite or PostgreSQL) to SQL with bound [`SqlValue`](objectos_sql::SqlValue) parameters for one
//! object of a tenant's deployed model (`compile.rs`, shared by both dialects, with the fragments that
//! differ in `sql.rs`).
//!
//! Inputs:
//! - `GET /api/v1/data/{object}?…` through [`from_params`]: `top`/`limit`, `skip`/`offset`,
//!   `sort`/`orderBy`, `select`, `filter`/`filters` (JSON), `count`, and `field=value` equalities;
//! - `POST /api/v1/data/{object}/query` through [`from_ast`]: a QueryAST object (`where`, `fields`,
//!   `orderBy`, `limit`, `offset`, `count`);
//! - filters in both ObjectStack forms ([`parse_filter`]): the array AST (`[field, op, value]`,
//!   `["and"|"or", …]`, `["not", node]`, legacy `[[cond], [cond]]`) and the `$`-object form.
//!
//! - `aggregations`/`groupBy` (`aggregate.rs`): one record per group with the group keys and the
//!   aggregation aliases instead of the matching records; `distinct` is a grouping by the selected
//!   fields.
//!
//! Nothing is silently ignored: unsupported parameters (`search`, `expand`) and unknown
//! keys, operators or fields are issues with the path of what was written.
//! Compile-time issues of a condition (unknown field, password field, a value that does not fit the
//! column, an operator that does not apply) are reported at the condition's `at` ([`Filter::Cmp`]): the
//! condition array (`filter[0]`) in the array form, the operator key (`filter.status.$gt`) or the field
//! key (`filter.status`) in the object form, the parameter name (`status`) for `status=open`.
//!
//! Semantic choices (the same answers, ids in the same order, on both databases; validation and its
//! issues are shared, so both accept and refuse exactly the same queries):
//! - **Case sensitivity.** `=`, ranges, `contains`, `startswith`, `endswith` and sorting compare text
//!   byte-for-byte (SQLite's BINARY collation; on PostgreSQL text columns are `TEXT COLLATE "C"`, the
//!   same order: UTF-8 bytes, i.e. code points), case-sensitive and Unicode-correct. This keeps every
//!   text operator consistent and lets `startswith` use an index: it compiles to the prefix range
//!   `"col" >= $1 AND "col" < $2` on both (the upper bound is the prefix with its last character
//!   incremented). `contains`/`endswith` compile to SQLite `GLOB` / PostgreSQL `LIKE` (case-sensitive
//!   there) with the wildcards of the value escaped (`*`, `?`, `[` / `%`, `_`, `\`). `like` is the
//!   escape hatch for case-insensitive matching: the user's pattern bound as given (`%`, `_`, escape
//!   character `\`) to SQLite `LIKE` / PostgreSQL `ILIKE`, both of which fold ASCII letters only (ILIKE
//!   under the `"C"` collation); a pattern ending with a lone `\` matches nothing (PostgreSQL would
//!   raise an error: it compiles to FALSE there). (ObjectStack's Knex driver compiles `contains` to
//!   `LIKE`, so it is ASCII case-insensitive on SQLite and case-sensitive on PostgreSQL; objectos picks
//!   one behaviour for every text operator instead.) NUL characters are refused in filter values
//!   (PostgreSQL text cannot hold them).
//! - **Sorting.** NULLs sort first in ascending order and last in descending order, as SQLite does;
//!   PostgreSQL is told so (`NULLS FIRST`/`NULLS LAST`, left out for the never-NULL system columns so
//!   their indexes serve the order). `id` is the last key (unless sorted by), so ties break the same way.
//! - **Dates.** Values for `datetime` fields (and `created_at`/`updated_at`) are normalised with
//!   [`normalise_datetime`](objectos_spec::model::normalise_datetime) when they parse as RFC 3339 and
//!   bound as [`SqlValue::Timestamp`](objectos_sql::SqlValue::Timestamp), so `2026-01-02T03:04:05Z` equals the stored
//!   `2026-01-02T03:04:05.000Z`; `date` values of the form `YYYY-MM-DD` are bound as [`SqlValue::Date`](objectos_sql::SqlValue::Date).
//!   SQLite stores both as fixed-width text and compares them as text; PostgreSQL stores `TIMESTAMPTZ`
//!   and `DATE` and compares natively, which orders the same. Other strings (a bare `2026-01-02` bound
//!   of a datetime range, `2026-02` for a date) are compared as text with the stored form: as given on
//!   SQLite, against the column formatted as that text on PostgreSQL (`to_char(…) COLLATE "C"`, not
//!   indexed), and so are the text operators (`startswith`, `contains`, `like`…) on those columns.
//!   `time` values are normalised with [`normalise_time`](objectos_spec::model::normalise_time) and
//!   compared as text on both.
//! - **NULL.** `= null` is `IS NULL`, `!= null` is `IS NOT NULL`; `!=` and `nin` are NULL-safe (a row
//!   whose value is NULL is "not equal" and "not in": SQLite `IS NOT`, PostgreSQL `IS DISTINCT FROM`),
//!   and so is `not` (`NOT COALESCE(…, 0)` / `NOT COALESCE(…, FALSE)`).
//! - **JSON arrays** (multiselect, checkboxes, tags, vector, `multiple` select/lookup/file…; SQLite JSON
//!   text, PostgreSQL `JSONB`): `=`/`contains` of a scalar mean "has this element", `in` "has any of
//!   these", `!=`/`nin` their negations (a NULL array has no element); ranges and text operators are
//!   refused. SQLite reads elements with `json_each`, PostgreSQL asks `c @> jsonb_build_array($1)`:
//!   strings match strings, numbers match numbers numerically (`1` = `1.0`), a string never matches a
//!   number; a boolean value looks for 1/0, as SQLite's JSON functions read `true`/`false` (stored
//!   arrays hold strings or numbers only). Other JSON columns (json, location, address) accept only
//!   `is_null`/`is_not_null`.
//! - **Values** are always bound parameters, `$N` numbered in order of first appearance (PostgreSQL
//!   reads them natively, SQLite as parameters bound in that order), so a caller may put its own first.
//!   Values say what they mean: booleans as [`SqlValue::Bool`](objectos_sql::SqlValue::Bool) (SQLite binds 0/1), numbers as
//!   integers or doubles, dates and instants as above; numeric columns accept numbers or numeric strings
//!   (GET parameters are strings).
//! - **Paging.** The main query fetches `limit + 1` rows so the caller can tell `hasMore`
//!   (`LIMIT $n OFFSET $m` on both); `id` is always the last sort key, so pages are stable. `limit`
//!   above [`MAX_LIMIT`] is refused, not clamped.
//! - **Indexes.** Equality, ranges, `in`, `between`, `is_null` and `startswith` on a plain column compile
//!   to bare comparisons of the column (no function or CAST around it), so an index on it applies.
//!   On SQLite, when there is a filter, the `id` tie-breaker is written `+"id"`: otherwise, lacking
//!   ANALYZE statistics, SQLite often prefers walking the primary-key index in id order and testing
//!   every row against a range filter, hoping to fill the page early. Sorting by an indexed column walks
//!   its index (the `id` tie-breaker is then sorted among equal values only); on PostgreSQL an index
//!   serves `ASC NULLS FIRST` only if built so (or read backwards for `DESC NULLS LAST`).

mod aggregate;
mod compile;
mod parse;
mod sql;

pub use aggregate::{AggFunction, Aggregation, MAX_AGGREGATIONS, MAX_ALIAS_CHARS, MAX_GROUP_KEYS};
pub use compile::{compile, compile_filter, CompiledQuery, OutputColumn};
pub use parse::{
    encode_cursor, from_ast, from_params, parse_filter, Filter, Op, Query, Sort, DEFAULT_LIMIT,
    MAX_CONDITIONS, MAX_DEPTH, MAX_IN_ITEMS, MAX_LIMIT, MAX_OFFSET, MAX_SELECT_FIELDS,
    MAX_SORT_KEYS, MAX_VALUE_CHARS,
};

#[cfg(test)]
mod dialect_tests;
#[cfg(test)]
mod tests;
