//! How close a transcript is to what was said: the word error rate the speech test
//! bounds and `bench/speech.sh` reports.

/// Lower-case words without punctuation.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The word-level edit distance: substitutions, insertions and deletions.
pub fn word_edits(reference: &[String], hypothesis: &[String]) -> usize {
    let mut row: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let substitution = previous + usize::from(r != h);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[hypothesis.len()]
}

/// [`word_edits`] over the reference's length.
pub fn word_error_rate(reference: &[String], hypothesis: &[String]) -> f64 {
    word_edits(reference, hypothesis) as f64 / reference.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_error_rate_counts_edits() {
        let w = |s: &str| words(s);
        assert_eq!(words("Hello, it's ME."), ["hello", "it's", "me"]);
        assert_eq!(word_error_rate(&w("a b c d"), &w("a b c d")), 0.0);
        assert_eq!(word_error_rate(&w("a b c d"), &w("a x c")), 0.5);
        assert_eq!(word_error_rate(&w("a b"), &w("a b c d")), 1.0);
    }
}
