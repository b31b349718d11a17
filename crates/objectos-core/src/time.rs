//! Timestamps: milliseconds since the epoch inside, RFC 3339 UTC with milliseconds outside.

pub use objectos_store::now_ms;

/// `2026-01-31T09:30:00.123Z`, the form the spec's date-time pattern accepts.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The UTC day (`YYYY-MM-DD`) of a timestamp, for per-day quotas.
pub fn utc_day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_match_the_spec_pattern() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::rfc3339(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(super::utc_day(1_700_000_000_123), "2023-11-14");
    }
}
