//! Working in several businesses: switching between them, and an agency admin adding a
//! client's.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use ringtrack_core::people::{self, NewBusinessError};
use ringtrack_domain::BusinessId;
use serde::Deserialize;

use crate::WebState;
use crate::layout::{Section, alert, app_page, html_page, message_page, unavailable};
use crate::session::{Posted, SignedIn};

#[derive(Deserialize)]
pub struct SwitchForm {
    business: String,
}

pub async fn switch(
    State(state): State<WebState>,
    Posted { signed_in, form }: Posted<SwitchForm>,
) -> Response {
    let Ok(to) = form.business.parse::<BusinessId>() else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Business not found",
            "You do not belong to that business.",
        );
    };
    match people::switch_business(&state.store, &signed_in.token, &signed_in.current, to).await {
        Ok(true) => Redirect::to("/calls").into_response(),
        Ok(false) => {
            message_page(StatusCode::NOT_FOUND, "Business not found", "You do not belong to that business.")
        }
        Err(error) => {
            tracing::error!(%error, "switching business failed");
            unavailable()
        }
    }
}

fn new_page(
    signed_in: &SignedIn,
    status: StatusCode,
    name: &str,
    timezone: &str,
    error: Option<&str>,
) -> Response {
    let content = html! {
        h1 { "Add a client business" }
        section.panel {
            p { "A business has its own numbers, call flows, calls and team. You will be its admin; switch to it from the business menu." }
            (alert(error, "business-error"))
            form method="post" action="/businesses" {
                input type="hidden" name="csrf" value=(signed_in.csrf_token());
                label for="name" { "Business name" }
                input id="name" name="name" type="text" required maxlength="200" value=(name)
                    aria-describedby=[error.map(|_| "business-error")];
                label for="timezone" { "Time zone" }
                input id="timezone" name="timezone" type="text" required maxlength="64" value=(timezone)
                    aria-describedby="timezone-hint";
                span.hint id="timezone-hint" { "Where the business is, such as America/Chicago: its days and hours in reports." }
                button.primary type="submit" { "Add business" }
            }
        }
    };
    html_page(status, app_page("Add a client business", Section::Businesses, signed_in, content))
}

pub async fn new_form(signed_in: SignedIn) -> Response {
    new_page(&signed_in, StatusCode::OK, "", "America/Chicago", None)
}

#[derive(Deserialize)]
pub struct NewBusinessForm {
    name: String,
    timezone: String,
}

pub async fn create(
    State(state): State<WebState>,
    Posted { signed_in, form }: Posted<NewBusinessForm>,
) -> Response {
    match people::add_business(&state.store, &signed_in.token, &signed_in.current, &form.name, &form.timezone)
        .await
    {
        Ok(_) => Redirect::to("/calls").into_response(),
        Err(NewBusinessError::NotAdmin) => crate::session::Forbidden::Role.into_response(),
        Err(NewBusinessError::Invalid(errors)) => new_page(
            &signed_in,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.name,
            &form.timezone,
            Some(&errors.to_string()),
        ),
        Err(NewBusinessError::Store(error)) => {
            tracing::error!(%error, "adding a business failed");
            unavailable()
        }
    }
}
