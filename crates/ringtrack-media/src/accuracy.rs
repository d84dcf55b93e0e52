//! How close a transcript is to what was said: the word error rate the speech test
//! bounds and `bench/speech.sh` reports, and the voices they hear.

use std::path::Path;
use std::process::Command;

/// Things callers say to a local business: the sentences the speech benchmark speaks (the
/// CI speech test speaks the first six).
pub const CALL_SENTENCES: &[&str] = &[
    "Hello, I would like to schedule an appointment for tomorrow morning.",
    "My air conditioner stopped working and the house is getting very hot.",
    "How much do you charge for a service call on the weekend?",
    "Please call me back at your earliest convenience, thank you.",
    "We need someone to look at a leak under the kitchen sink.",
    "Can you send a technician this afternoon to check the furnace?",
    "Hi, this is Bob, the pipe in the basement burst last night.",
    "Do you offer free estimates for a new roof?",
    "I saw your ad on Google and wanted to ask about pricing.",
    "Our water heater is making a loud banging noise.",
    "Is there someone available for an emergency repair tonight?",
    "I need to cancel my appointment on Friday.",
    "Could you give me a quote for replacing two windows?",
    "The toilet upstairs keeps running all day.",
    "What time do you open on Saturday?",
    "My name is Sarah and my number is five five five, one two three four.",
    "We are moving into a new house and need the electrical inspected.",
    "The garage door opener stopped responding this morning.",
    "Do you accept credit cards or only checks?",
    "I would like to speak with the manager about my last invoice.",
    "There is water coming through the ceiling in the living room.",
    "How long does it usually take to install a new dishwasher?",
    "I am calling about the coupon I received in the mail.",
    "Can your team come out before noon on Monday?",
    "The heat pump is blowing cold air even though it is set to heat.",
    "My neighbor recommended your company for drain cleaning.",
    "Please let me know if you need the gate code to get in.",
    "We have a small business and need regular maintenance.",
    "Is the technician licensed and insured?",
    "Thanks for getting back to me so quickly, see you tomorrow.",
];

/// A synthetic voice the speech benchmark and the speech test speak with (installed by
/// `scripts/lib/setup.sh`).
#[derive(Clone, Copy, Debug)]
pub enum Voice {
    /// espeak-ng's formant synthesis: no recorded speaker behind it, and hard for small
    /// models ("Bob" heard as "Mrs. Mom" even clean).
    Espeak { voice: &'static str, words_a_minute: u32 },
    /// flite's voices built from recordings of real speakers (CMU ARCTIC's slt, awb and rms,
    /// Kal's diphones), their durations stretched (below 1: faster).
    Flite { voice: &'static str, stretch: f32 },
}

impl Voice {
    /// Speaks `sentence` into a WAV file at `wav`.
    pub fn speak(self, sentence: &str, wav: &Path) -> std::io::Result<()> {
        let mut command = match self {
            Voice::Espeak { voice, words_a_minute } => {
                let mut command = Command::new("espeak-ng");
                command.args(["-v", voice, "-s", &words_a_minute.to_string(), "-w"]).arg(wav).arg(sentence);
                command
            }
            Voice::Flite { voice, stretch } => {
                let mut command = Command::new("flite");
                command.args([
                    "-voice",
                    voice,
                    "--setf",
                    &format!("duration_stretch={stretch}"),
                    "-t",
                    sentence,
                ]);
                command.arg("-o").arg(wav);
                command
            }
        };
        let status = command.status()?;
        match status.success() {
            true => Ok(()),
            false => Err(std::io::Error::other(format!("{command:?}: {status}"))),
        }
    }
}

/// Lower-case words without punctuation. A number in digits counts as its digits said
/// one by one, as callers say phone numbers and codes: "555-1234" is "five five five one
/// two three four", which is how the sentences spell them.
pub fn words(text: &str) -> Vec<String> {
    const DIGITS: [&str; 10] =
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .flat_map(|word| match word.bytes().all(|b| b.is_ascii_digit()) {
            true => word.bytes().map(|b| DIGITS[usize::from(b - b'0')].to_owned()).collect(),
            false => vec![word.to_lowercase()],
        })
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
        assert_eq!(words("Call 555-12, 3rd"), ["call", "five", "five", "five", "one", "two", "3rd"]);
        assert_eq!(word_error_rate(&w("a b c d"), &w("a b c d")), 0.0);
        assert_eq!(word_error_rate(&w("a b c d"), &w("a x c")), 0.5);
        assert_eq!(word_error_rate(&w("a b"), &w("a b c d")), 1.0);
    }
}
