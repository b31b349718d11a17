//! "Did you mean ...?": the closest allowed word to a mistyped one, by edit distance, for messages
//! about enum values and unknown keys.

/// Levenshtein distance between two strings, by character, case-insensitively.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Longest word compared: beyond it a suggestion is unlikely to help and costs time.
const MAX_LEN: usize = 64;

/// The candidate closest to `given` when it is close enough to be a likely typo (one edit for
/// words of up to 4 characters, two up to 8, then three), the first in order on a tie; `None`
/// when nothing is close or `given` is itself a candidate.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let length = given.chars().count();
    if length == 0 || length > MAX_LEN {
        return None;
    }
    let limit = match length {
        0..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == given {
            return None;
        }
        if candidate.chars().count() > MAX_LEN {
            continue;
        }
        let d = distance(given, candidate);
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `'key'`, followed by ` (did you mean 'known'?)` when one of `allowed` is close.
pub fn quoted_with_suggestion<'a>(
    given: &str,
    allowed: impl IntoIterator<Item = &'a str>,
) -> String {
    match did_you_mean(given, allowed) {
        Some(known) => format!("'{given}' (did you mean '{known}'?)"),
        None => format!("'{given}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_words_are_suggested_and_far_ones_are_not() {
        let types = ["text", "textarea", "number", "date", "datetime", "lookup"];
        assert_eq!(did_you_mean("txt", types), Some("text"));
        assert_eq!(did_you_mean("Text", types), Some("text"));
        assert_eq!(did_you_mean("numbr", types), Some("number"));
        assert_eq!(did_you_mean("lokup", types), Some("lookup"));
        assert_eq!(did_you_mean("datetme", types), Some("datetime"));
        assert_eq!(did_you_mean("banana", types), None);
        assert_eq!(did_you_mean("", types), None);
        assert_eq!(
            did_you_mean("text", types),
            None,
            "a valid word needs no suggestion"
        );
        assert_eq!(
            did_you_mean("refrence", ["type", "reference"]),
            Some("reference")
        );
        assert_eq!(did_you_mean(&"x".repeat(10_000), types), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn a_key_is_quoted_with_its_suggestion() {
        assert_eq!(
            quoted_with_suggestion("typ", ["name", "type"]),
            "'typ' (did you mean 'type'?)"
        );
        assert_eq!(quoted_with_suggestion("zzz", ["name", "type"]), "'zzz'");
    }
}
