//! The rules of ringtrack, with no I/O: identifiers, money, roles and API-key formats,
//! paging, and the field errors that every edge reports. Everything here is plain data
//! and pure functions so it can be unit-tested without a database or a network.

#[macro_use]
mod macros;

pub mod ad_spend;
pub mod api_key;
pub mod caller_set;
pub mod calls;
pub mod dates;
pub mod dni;
pub mod engine;
pub mod flow;
pub mod google_ads;
pub mod ids;
pub mod jobs;
pub mod money;
pub mod nanp;
pub mod network;
pub mod numbers;
pub mod outbound;
pub mod paging;
pub mod people;
pub mod phone;
pub mod role;
pub mod scoring;
pub mod secrets;
pub mod sms;
pub mod transcription;
pub mod validation;
pub mod webhooks;

pub use api_key::{ApiKeySecret, SecretHash};
pub use ids::{
    ApiKeyId, BusinessId, CallFlowId, CallId, DeliveryId, FormId, MessageId, NumberGroupId, NumberId,
    NumberPoolId, ReportId, UserId, VoicemailId, WebhookId,
};
pub use money::Cents;
pub use numbers::{NumberStatus, NumberType, Prices};
pub use paging::{Cursor, PageRequest, PagingParams};
pub use phone::PhoneNumber;
pub use role::{Access, Role};
pub use validation::{FieldError, FieldErrors, parse_text};
