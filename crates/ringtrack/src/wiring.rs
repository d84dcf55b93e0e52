//! Builds the server's state from configuration: the store, the carrier (sandbox or
//! Twilio dialect) and prices. `serve` and the tests use the same functions.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use ringtrack_api::AppState;
use ringtrack_carrier::sandbox::DEFAULT_INVENTORY_SIZE;
use ringtrack_carrier::{
    BoxFuture, Carrier, CarrierError, NumberRegistry, SandboxCarrier, TwilioCarrier, TwilioConfig,
};
use ringtrack_domain::{Cents, PhoneNumber, Prices};
use ringtrack_store::{Store, numbers};

use crate::cli::{CarrierArgs, CarrierKind};

/// The sandbox's knowledge of which numbers are sold or aging: the numbers table.
pub struct StoreRegistry(pub Store);

impl NumberRegistry for StoreRegistry {
    fn unavailable<'a>(
        &'a self,
        candidates: &'a [PhoneNumber],
    ) -> BoxFuture<'a, Result<std::collections::HashSet<PhoneNumber>, CarrierError>> {
        Box::pin(async move {
            numbers::unavailable(&self.0, candidates, ringtrack_store::now())
                .await
                .map_err(|e| CarrierError::Unavailable(e.to_string()))
        })
    }
}

/// The sandbox carrier over `store`, keeping its recordings under the data dir.
pub fn sandbox_carrier(store: &Store, data_dir: &Path, inventory_size: usize) -> Arc<dyn Carrier> {
    let registry = Arc::new(StoreRegistry(store.clone()));
    let recordings = data_dir.join("sandbox").join("recordings");
    Arc::new(SandboxCarrier::with_inventory_size(registry, recordings, inventory_size))
}

pub fn carrier(args: &CarrierArgs, store: &Store, data_dir: &Path) -> anyhow::Result<Arc<dyn Carrier>> {
    match args.carrier {
        CarrierKind::Sandbox => Ok(sandbox_carrier(store, data_dir, DEFAULT_INVENTORY_SIZE)),
        CarrierKind::Twilio => {
            let (Some(account_sid), Some(auth_token)) = (&args.twilio_account_sid, &args.twilio_auth_token)
            else {
                bail!("--carrier twilio needs RINGTRACK_TWILIO_ACCOUNT_SID and RINGTRACK_TWILIO_AUTH_TOKEN");
            };
            if !(args.twilio_api_base.starts_with("https://") || args.twilio_api_base.starts_with("http://"))
            {
                bail!("--twilio-api-base: {:?} must be an http(s) URL", args.twilio_api_base);
            }
            let config = TwilioConfig {
                account_sid: account_sid.clone(),
                auth_token: auth_token.clone(),
                api_base: args.twilio_api_base.clone(),
            };
            Ok(Arc::new(TwilioCarrier::new(config).context("cannot set up the Twilio client")?))
        }
    }
}

pub fn prices(args: &CarrierArgs) -> anyhow::Result<Prices> {
    for (flag, cents) in [
        ("--local-number-cents", args.local_number_cents),
        ("--toll-free-number-cents", args.toll_free_number_cents),
    ] {
        if cents < 0 {
            bail!("{flag}: must not be negative");
        }
    }
    Ok(Prices {
        local: Cents::new(args.local_number_cents),
        toll_free: Cents::new(args.toll_free_number_cents),
    })
}

pub fn app_state(store: Store, carrier: Arc<dyn Carrier>, prices: Prices, public_url: &str) -> AppState {
    AppState { store, carrier, prices, public_url: Arc::from(public_url.trim_end_matches('/')) }
}
