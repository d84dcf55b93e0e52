//! The sandbox carrier: a believable inventory for every US and Canadian area code and the
//! toll-free prefixes, with no account and no network. Each prefix's inventory is a fixed
//! list made by NANP rules from a seed of the prefix, so a search repeats; a number is
//! offered only while no business owns it and it has rested 30 days since its release
//! (the [`NumberRegistry`] knows which).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use ringtrack_domain::nanp::{self, TOLL_FREE_PREFIXES};
use ringtrack_domain::{NumberType, PhoneNumber};

use crate::{
    AvailableNumber, BoxFuture, CallProgress, Carrier, CarrierError, NumberRegistry, OutboundSms,
    Provisioned, Recording, SearchQuery, SentSms, Webhooks,
};

/// How many numbers each area code or toll-free prefix holds.
pub const DEFAULT_INVENTORY_SIZE: usize = 1000;

pub struct SandboxCarrier {
    registry: Arc<dyn NumberRegistry>,
    inventory_size: usize,
    /// Where the sandbox keeps the recordings of the calls it places.
    recordings_dir: PathBuf,
    /// The token the sandbox signs its delivery reports with, when it sends them.
    reports_token: Option<String>,
    http: reqwest::Client,
}

/// A sandbox recipient whose number ends so cannot receive texts: its texts come back
/// `undelivered` with Twilio's error 30003, so the failure path can be tried.
pub const UNREACHABLE_SUFFIX: &str = "0009";

/// How long the sandbox takes to report a text sent, then delivered.
const REPORT_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

impl SandboxCarrier {
    pub fn new(registry: Arc<dyn NumberRegistry>, recordings_dir: PathBuf) -> Self {
        Self::with_inventory_size(registry, recordings_dir, DEFAULT_INVENTORY_SIZE)
    }

    /// A smaller inventory, so that a test can sell a prefix out.
    pub fn with_inventory_size(
        registry: Arc<dyn NumberRegistry>,
        recordings_dir: PathBuf,
        size: usize,
    ) -> Self {
        SandboxCarrier {
            registry,
            inventory_size: size,
            recordings_dir,
            reports_token: None,
            http: reqwest::Client::new(),
        }
    }

    /// Reports the progress of each text sent (`sent`, then `delivered` or `undelivered`)
    /// to its status callback, signed with `token`, as a carrier does.
    pub fn with_delivery_reports(mut self, token: &str) -> Self {
        self.reports_token = Some(token.to_owned());
        self
    }

    fn accept_text(&self, sms: OutboundSms) -> SentSms {
        let sid = format!("SM{}", uuid::Uuid::now_v7().simple());
        if let Some(token) = self.reports_token.clone() {
            let (http, sid) = (self.http.clone(), sid.clone());
            tokio::spawn(async move {
                let unreachable = sms.to.as_str().ends_with(UNREACHABLE_SUFFIX);
                let last = if unreachable { "undelivered" } else { "delivered" };
                for status in ["sent", last] {
                    tokio::time::sleep(REPORT_DELAY).await;
                    let mut params = vec![
                        ("MessageSid".to_owned(), sid.clone()),
                        ("SmsSid".to_owned(), sid.clone()),
                        ("MessageStatus".to_owned(), status.to_owned()),
                        ("From".to_owned(), sms.from.to_string()),
                        ("To".to_owned(), sms.to.to_string()),
                    ];
                    if status == "undelivered" {
                        params.push(("ErrorCode".to_owned(), "30003".to_owned()));
                    }
                    let posted =
                        crate::sandbox_call::post_signed(&http, &token, &sms.status_callback, &params).await;
                    if let Err(error) = posted {
                        tracing::warn!(%error, "the sandbox could not report a text's status");
                        return;
                    }
                }
            });
        }
        SentSms { carrier_sid: sid, status: "queued".into() }
    }

    fn prefixes(&self, query: &SearchQuery) -> Result<Vec<&'static str>, CarrierError> {
        let invalid = |message: String| CarrierError::InvalidRequest { field: "area_code", message };
        match (query.number_type, query.area_code.as_deref()) {
            (NumberType::Local, Some(code)) => match nanp::area_code(code) {
                Some(area) => Ok(vec![area.code]),
                None => Err(invalid(format!("{code} is not a US or Canadian geographic area code"))),
            },
            (NumberType::Local, None) => Ok(nanp::area_codes().map(|a| a.code).collect()),
            (NumberType::TollFree, Some(code)) => match TOLL_FREE_PREFIXES.iter().find(|p| **p == code) {
                Some(prefix) => Ok(vec![*prefix]),
                None => Err(invalid(format!(
                    "toll-free numbers start with one of {}",
                    TOLL_FREE_PREFIXES.join(", ")
                ))),
            },
            (NumberType::TollFree, None) => Ok(TOLL_FREE_PREFIXES.to_vec()),
        }
    }

    fn describe(number: PhoneNumber) -> AvailableNumber {
        let (area, _, _) = number.nanp().expect("sandbox numbers are North American");
        let place = nanp::area_code(area);
        AvailableNumber {
            friendly_name: number.national_format(),
            locality: place.map(|p| p.city.to_owned()),
            region: place.map(|p| p.region.to_owned()),
            number_type: if place.is_some() { NumberType::Local } else { NumberType::TollFree },
            phone_number: number,
        }
    }

    async fn search_inventory(&self, query: SearchQuery) -> Result<Vec<AvailableNumber>, CarrierError> {
        let mut found = Vec::new();
        for prefix in self.prefixes(&query)? {
            let candidates: Vec<PhoneNumber> = inventory(prefix, self.inventory_size)
                .into_iter()
                .filter(|n| query.contains.as_deref().is_none_or(|c| n.as_str()[2..].contains(c)))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let taken = self.registry.unavailable(&candidates).await?;
            let wanted = query.limit - found.len();
            found.extend(
                candidates.into_iter().filter(|n| !taken.contains(n)).take(wanted).map(Self::describe),
            );
            if found.len() >= query.limit {
                break;
            }
        }
        Ok(found)
    }

    async fn sell(&self, number: PhoneNumber) -> Result<Provisioned, CarrierError> {
        let not_available =
            || CarrierError::Refused { message: format!("{number} is not available"), code: None };
        let prefix = number.nanp().map(|(area, _, _)| area).ok_or_else(not_available)?;
        if !inventory(prefix, self.inventory_size).contains(&number) {
            return Err(not_available());
        }
        if !self.registry.unavailable(std::slice::from_ref(&number)).await?.is_empty() {
            return Err(not_available());
        }
        Ok(Provisioned { carrier_sid: format!("PN{}", uuid::Uuid::now_v7().simple()) })
    }

    /// The sandbox names its recordings `sandbox:RE…`; nothing else is a file of its.
    fn recording_path(&self, recording_url: &str) -> Result<PathBuf, CarrierError> {
        let sid = recording_url
            .strip_prefix("sandbox:")
            .filter(|sid| sid.starts_with("RE") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| CarrierError::Refused {
                message: format!("no recording at {recording_url}"),
                code: None,
            })?;
        Ok(self.recordings_dir.join(format!("{sid}.wav")))
    }

    async fn read_recording(&self, recording_url: String) -> Result<Recording, CarrierError> {
        let path = self.recording_path(&recording_url)?;
        let sid = recording_url.trim_start_matches("sandbox:");
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| CarrierError::Refused { message: format!("recording {sid}: {e}"), code: None })?;
        Ok(Recording { bytes, content_type: "audio/wav".into() })
    }
}

impl Carrier for SandboxCarrier {
    fn search(&self, query: SearchQuery) -> BoxFuture<'_, Result<Vec<AvailableNumber>, CarrierError>> {
        Box::pin(self.search_inventory(query))
    }

    fn buy(&self, number: PhoneNumber, _hooks: Webhooks) -> BoxFuture<'_, Result<Provisioned, CarrierError>> {
        Box::pin(self.sell(number))
    }

    fn update_webhooks(
        &self,
        _carrier_sid: String,
        _hooks: Webhooks,
    ) -> BoxFuture<'_, Result<(), CarrierError>> {
        // The sandbox always calls this server's own webhooks.
        Box::pin(async { Ok(()) })
    }

    fn release(&self, _carrier_sid: String) -> BoxFuture<'_, Result<(), CarrierError>> {
        // Aging is the registry's: a released number rests 30 days in the numbers table.
        Box::pin(async { Ok(()) })
    }

    fn send_sms(&self, sms: OutboundSms) -> BoxFuture<'_, Result<SentSms, CarrierError>> {
        Box::pin(async move { Ok(self.accept_text(sms)) })
    }

    fn fetch_recording(&self, recording_url: String) -> BoxFuture<'_, Result<Recording, CarrierError>> {
        Box::pin(self.read_recording(recording_url))
    }

    fn delete_recording(&self, recording_url: String) -> BoxFuture<'_, Result<(), CarrierError>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.recording_path(&recording_url)?).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(CarrierError::Unavailable(format!("deleting {recording_url}: {e}")))
                }
                _ => Ok(()),
            }
        })
    }

    /// A sandbox call lasts as long as the request placing it, seconds: one asked about (no
    /// progress for minutes) lost its caller with the server that placed it, and is over.
    fn call_progress(&self, _call_sid: String) -> BoxFuture<'_, Result<CallProgress, CarrierError>> {
        Box::pin(async { Ok(CallProgress::Ended { duration_seconds: 0 }) })
    }
}

/// The fixed inventory of an area code or toll-free prefix: `size` distinct numbers whose
/// exchange is assignable (no N11, 555, …), in an order that depends only on the prefix.
pub fn inventory(prefix: &str, size: usize) -> Vec<PhoneNumber> {
    let seed = prefix.bytes().fold(0x5EED_u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut rng = SplitMix64(seed);
    let mut seen = HashSet::with_capacity(size);
    let mut numbers = Vec::with_capacity(size);
    // 790 assignable exchanges × 10,000 lines: far more than any inventory asks for.
    while numbers.len() < size {
        let exchange = 200 + rng.next() % 800;
        let line = rng.next() % 10_000;
        let exchange = exchange.to_string();
        if !nanp::is_assignable_exchange(&exchange) || !seen.insert((exchange.clone(), line)) {
            continue;
        }
        let number = PhoneNumber::parse(&format!("+1{prefix}{exchange}{line:04}")).expect("NANP-shaped");
        numbers.push(number);
    }
    numbers
}

/// A small, well-known PRNG: deterministic across platforms and versions, unlike `rand`'s.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A registry over a set held in memory, standing in for the numbers table.
    #[derive(Default)]
    struct Taken(Mutex<HashSet<PhoneNumber>>);

    impl NumberRegistry for Taken {
        fn unavailable<'a>(
            &'a self,
            candidates: &'a [PhoneNumber],
        ) -> BoxFuture<'a, Result<HashSet<PhoneNumber>, CarrierError>> {
            let taken = self.0.lock().unwrap();
            let hit = candidates.iter().filter(|c| taken.contains(*c)).cloned().collect();
            Box::pin(async move { Ok(hit) })
        }
    }

    fn carrier(size: usize) -> (Arc<Taken>, SandboxCarrier) {
        let taken = Arc::new(Taken::default());
        (taken.clone(), SandboxCarrier::with_inventory_size(taken, std::env::temp_dir(), size))
    }

    fn query(kind: NumberType, area: Option<&str>, contains: Option<&str>, limit: usize) -> SearchQuery {
        SearchQuery {
            number_type: kind,
            area_code: area.map(str::to_owned),
            contains: contains.map(str::to_owned),
            limit,
        }
    }

    #[test]
    fn inventories_are_deterministic_nanp_numbers() {
        let a = inventory("573", 200);
        assert_eq!(a, inventory("573", 200));
        assert_ne!(a, inventory("314", 200));
        assert_eq!(a.iter().collect::<HashSet<_>>().len(), 200);
        for n in &a {
            let (area, exchange, line) = n.nanp().unwrap();
            assert_eq!(area, "573");
            assert!(nanp::is_assignable_exchange(exchange), "{n}");
            assert_eq!(line.len(), 4);
        }
    }

    #[tokio::test]
    async fn a_search_stays_in_its_area_code_and_names_the_place() {
        let (_, sandbox) = carrier(100);
        let found = sandbox.search(query(NumberType::Local, Some("573"), None, 20)).await.unwrap();
        assert_eq!(found.len(), 20);
        for n in &found {
            assert!(n.phone_number.as_str().starts_with("+1573"));
            assert_eq!(n.locality.as_deref(), Some("Columbia"));
            assert_eq!(n.region.as_deref(), Some("MO"));
            assert_eq!(n.friendly_name, n.phone_number.national_format());
        }
        let again = sandbox.search(query(NumberType::Local, Some("573"), None, 20)).await.unwrap();
        assert_eq!(found, again, "a search repeats");
        let containing = sandbox.search(query(NumberType::Local, Some("573"), Some("55"), 5)).await.unwrap();
        assert!(containing.iter().all(|n| n.phone_number.as_str()[2..].contains("55")));
        assert!(!containing.is_empty());
    }

    #[tokio::test]
    async fn unknown_area_codes_are_refused_and_toll_free_is_its_own_kind() {
        let (_, sandbox) = carrier(50);
        let refused = sandbox.search(query(NumberType::Local, Some("999"), None, 5)).await.unwrap_err();
        assert!(matches!(refused, CarrierError::InvalidRequest { field: "area_code", .. }));
        let refused = sandbox.search(query(NumberType::TollFree, Some("573"), None, 5)).await.unwrap_err();
        assert!(matches!(refused, CarrierError::InvalidRequest { field: "area_code", .. }));
        let toll_free = sandbox.search(query(NumberType::TollFree, None, None, 3)).await.unwrap();
        assert_eq!(toll_free.len(), 3);
        assert!(toll_free.iter().all(|n| n.number_type == NumberType::TollFree && n.region.is_none()));
        assert!(toll_free[0].phone_number.as_str().starts_with("+1800"));
    }

    #[tokio::test]
    async fn taken_numbers_are_neither_offered_nor_sold() {
        let (taken, sandbox) = carrier(3);
        let offered = sandbox.search(query(NumberType::Local, Some("305"), None, 10)).await.unwrap();
        assert_eq!(offered.len(), 3);
        let hooks = Webhooks::at("http://127.0.0.1:1");
        let sold = sandbox.buy(offered[0].phone_number.clone(), hooks.clone()).await.unwrap();
        assert!(sold.carrier_sid.starts_with("PN"));
        taken.0.lock().unwrap().insert(offered[0].phone_number.clone());
        let refused = sandbox.buy(offered[0].phone_number.clone(), hooks.clone()).await.unwrap_err();
        assert!(matches!(refused, CarrierError::Refused { .. }));
        let left = sandbox.search(query(NumberType::Local, Some("305"), None, 10)).await.unwrap();
        assert_eq!(left.len(), 2);
        // Sold out: an empty list, not an error.
        for n in &left {
            taken.0.lock().unwrap().insert(n.phone_number.clone());
        }
        assert!(sandbox.search(query(NumberType::Local, Some("305"), None, 10)).await.unwrap().is_empty());
        // A number outside the inventory cannot be bought.
        let outside = PhoneNumber::parse("+13052220000").unwrap();
        assert!(sandbox.buy(outside, hooks).await.is_err());
    }
}
