//! Settings: the business's words the speech model is primed with, so that its services,
//! brand names and places come out spelled right in transcripts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use ringtrack_domain::Role;
use ringtrack_domain::transcription::{MAX_TERMS, parse_terms};
use ringtrack_store::businesses;
use serde::Deserialize;

use crate::WebState;
use crate::format::plain_words;
use crate::layout::{Section, alert, app_page, failed, html_page};
use crate::session::{SignedIn, Writing};

/// What the last save did.
enum Outcome {
    None,
    Saved,
    /// Refused: what the person typed, and why.
    Refused {
        typed: String,
        errors: String,
    },
}

async fn page(state: &WebState, signed_in: &SignedIn, status: StatusCode, outcome: Outcome) -> Response {
    let terms = match businesses::transcription_terms(&state.store, signed_in.business()).await {
        Ok(terms) => terms,
        Err(error) => return failed(error, "reading transcription terms"),
    };
    let writer = signed_in.current.membership.role != Role::Viewer;
    let shown = match &outcome {
        Outcome::Refused { typed, .. } => typed.clone(),
        _ => terms.join("\n"),
    };
    let refused = match &outcome {
        Outcome::Refused { errors, .. } => Some(errors.as_str()),
        _ => None,
    };
    let content = html! {
        h1 { "Settings" }
        section.panel aria-labelledby="terms-heading" {
            h2 id="terms-heading" { "Words in your calls" }
            p {
                "Transcripts spell these as you write them: your services, brand names, places and people's names. "
                "The business's name and what your call flows say are added for you."
            }
            @if matches!(outcome, Outcome::Saved) {
                p.notice role="status" { "Saved. Calls transcribed from now on use these words." }
            }
            @if writer {
                form method="post" action="/settings/terms" {
                    input type="hidden" name="csrf" value=(signed_in.csrf_token());
                    label for="terms" { "One per line" }
                    textarea id="terms" name="terms" rows="8" maxlength="6000"
                        aria-describedby={"terms-hint" @if refused.is_some() { " terms-error" }} { (shown) }
                    span.hint id="terms-hint" { "At most " (MAX_TERMS) ", each up to 50 characters, such as Kohler or Jefferson City." }
                    (alert(refused, "terms-error"))
                    button.primary type="submit" { "Save words" }
                }
            } @else if terms.is_empty() {
                p.empty { "No words yet." }
            } @else {
                ul { @for term in &terms { li { (term) } } }
            }
        }
    };
    html_page(status, app_page("Settings", Section::Settings, signed_in, content))
}

pub async fn show(State(state): State<WebState>, signed_in: SignedIn) -> Response {
    page(&state, &signed_in, StatusCode::OK, Outcome::None).await
}

#[derive(Deserialize)]
pub struct TermsForm {
    terms: String,
}

pub async fn save_terms(
    State(state): State<WebState>,
    Writing { signed_in, form }: Writing<TermsForm>,
) -> Response {
    // Blank lines are spacing, not terms; errors name the line people see.
    let lines: Vec<(usize, &str)> = form
        .terms
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
        .collect();
    let terms = match parse_terms("terms", lines.iter().map(|(_, line)| *line)) {
        Ok(terms) => terms,
        Err(errors) => {
            let said: Vec<String> = errors
                .iter()
                .map(|error| {
                    let index = error
                        .field
                        .strip_prefix("terms[")
                        .and_then(|rest| rest.trim_end_matches(']').parse::<usize>().ok());
                    match index.and_then(|i| lines.get(i)) {
                        Some((line, _)) => format!("Line {line}: {}", error.message),
                        None => plain_words(&error.message),
                    }
                })
                .collect();
            let outcome = Outcome::Refused { typed: form.terms.clone(), errors: said.join("; ") };
            return page(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, outcome).await;
        }
    };
    if let Err(error) =
        ringtrack_core::recordings::set_terms(&state.store, signed_in.business(), &terms).await
    {
        return failed(error, "saving transcription terms");
    }
    page(&state, &signed_in, StatusCode::OK, Outcome::Saved).await
}
