//! What primes the speech model with a business's own words: its name, what its call
//! flows say, and the terms it sets (services, brand names, places), so that they come out
//! spelled right instead of as the nearest common words.

use crate::FieldErrors;
use crate::calls::parse_words;

/// The most terms a business sets.
pub const MAX_TERMS: usize = 100;

/// A business's terms as a person gives them: each 1 to 50 characters, duplicates
/// dropped, at most [`MAX_TERMS`].
pub fn parse_terms<'a>(
    field: &str,
    raw: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, FieldErrors> {
    parse_words(field, raw, MAX_TERMS, "terms")
}

/// The longest prompt, in characters: Whisper reads at most 224 tokens of it and keeps its
/// end, so the terms come last and the greetings give way first.
const MAX_PROMPT_CHARS: usize = 800;

/// The text the model is primed with: the business's name and its flows' greetings, then
/// its terms. Empty when there is nothing to say.
pub fn prompt(business_name: &str, greetings: &[String], terms: &[String]) -> String {
    let terms = terms.join(", ");
    let mut spoken = String::new();
    for sentence in std::iter::once(business_name).chain(greetings.iter().map(String::as_str)) {
        let sentence = sentence.trim().trim_end_matches(['.', '!', '?']);
        if sentence.is_empty() || spoken.contains(sentence) {
            continue;
        }
        if spoken.chars().count() + sentence.chars().count() + terms.chars().count() + 4 > MAX_PROMPT_CHARS {
            break;
        }
        spoken.push_str(sentence);
        spoken.push_str(". ");
    }
    if !terms.is_empty() {
        spoken.push_str(&terms);
        spoken.push('.');
    }
    spoken.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_says_the_name_the_greetings_then_the_terms() {
        let greetings = ["Thanks for calling Acme Plumbing!".to_owned(), "Leave a message.".to_owned()];
        let terms = ["Kohler".to_owned(), "Jefferson City".to_owned()];
        assert_eq!(
            prompt("Acme Plumbing", &greetings, &terms),
            "Acme Plumbing. Thanks for calling Acme Plumbing. Leave a message. Kohler, Jefferson City."
        );
        assert_eq!(prompt("", &[], &[]), "");
        assert_eq!(prompt("Acme", &[], &[]), "Acme.");
    }

    #[test]
    fn long_greetings_give_way_to_the_terms() {
        let greetings = vec!["word ".repeat(100); 5];
        let terms: Vec<String> = (0..MAX_TERMS).map(|i| format!("Term number {i}")).collect();
        let text = prompt("Acme", &greetings, &terms);
        assert!(text.ends_with("Term number 99."), "{text}");
        assert!(!text.contains("word"), "the greetings give way: {text}");
    }

    #[test]
    fn terms_are_bounded_and_named_in_errors() {
        assert_eq!(parse_terms("terms", [" Kohler ", "Kohler", "Rheem"]).unwrap(), ["Kohler", "Rheem"]);
        let errors = parse_terms("terms", ["", &"x".repeat(51)]).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["terms[0]", "terms[1]"]);
        let many: Vec<String> = (0..=MAX_TERMS).map(|i| i.to_string()).collect();
        assert!(parse_terms("terms", many.iter().map(String::as_str)).is_err());
    }
}
