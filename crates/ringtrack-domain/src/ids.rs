//! Typed identifiers. Every id is a UUID v7 (time-ordered, so new rows land at the end of
//! an index); the newtypes stop a business id being passed where a key id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh id, ordered after every id made before it.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(
    /// A tenant: every other row belongs to exactly one business.
    BusinessId
);
id_type!(
    /// An API key's public identifier (never the secret).
    ApiKeyId
);
id_type!(
    /// A tracking number owned by a business.
    NumberId
);
id_type!(
    /// A named set of numbers for reporting.
    NumberGroupId
);
id_type!(
    /// A call flow (all its versions share the id).
    CallFlowId
);
id_type!(
    /// A pool of numbers leased to website visitors (dynamic number insertion).
    NumberPoolId
);

id_type!(
    /// A call, from its first ring.
    CallId
);
id_type!(
    /// A voicemail left on a call.
    VoicemailId
);
id_type!(
    /// A web form captured by the tracking script.
    FormId
);
id_type!(
    /// A business's outbound webhook endpoint.
    WebhookId
);
id_type!(
    /// One event's delivery to one webhook endpoint.
    DeliveryId
);
id_type!(
    /// A text message, either way.
    MessageId
);
id_type!(
    /// A person who signs in to the web app.
    UserId
);
id_type!(
    /// A report a business saved under a name.
    ReportId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_text_form() {
        let id = BusinessId::new();
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text.parse::<BusinessId>().unwrap(), id);
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let first = ApiKeyId::new();
        let second = ApiKeyId::new();
        assert!(second > first);
        assert!(second.to_string() > first.to_string());
    }

    #[test]
    fn garbage_is_not_an_id() {
        assert!("../etc/passwd".parse::<BusinessId>().is_err());
        assert!("".parse::<ApiKeyId>().is_err());
    }
}
