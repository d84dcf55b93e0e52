//! Buying a tracking number. The carrier is never called inside a database transaction
//! (a slow carrier would hold SQLite's one writer for every business): a door checks the
//! purchase in a short transaction (`check`), buys at the carrier (`buy`), then records
//! and charges it in another (`record`) — or, when it cannot be recorded, gives the number
//! back (`give_back`), since a number bought and unused still costs. And renewing: each
//! month at the purchase's anniversary (`renew`).

use jiff::Timestamp;
use ringtrack_carrier::{Carrier, CarrierError, Provisioned, SearchQuery, Webhooks};
use ringtrack_domain::{
    BusinessId, CallFlowId, Cents, FieldErrors, NumberGroupId, NumberId, NumberType, PhoneNumber, Prices,
    nanp,
};
use ringtrack_store::numbers::{self, InsertError, NewNumber, Number};
use ringtrack_store::{StoreError, Tx, businesses, call_flows, number_groups};

use crate::balance;

/// A purchase, its fields checked.
#[derive(Clone, Debug)]
pub struct Purchase {
    pub business_id: BusinessId,
    pub wanted: Wanted,
    pub friendly_name: Option<String>,
    pub call_flow_id: Option<CallFlowId>,
    pub group_id: Option<NumberGroupId>,
    pub source: Option<String>,
}

/// The number asked for: one in particular, or any of an area code.
#[derive(Clone, Debug)]
pub enum Wanted {
    Number(PhoneNumber),
    AreaCode(String, NumberType),
}

impl Wanted {
    fn number_type(&self) -> NumberType {
        match self {
            Wanted::Number(number) => number_type(number),
            Wanted::AreaCode(_, kind) => *kind,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PurchaseError {
    /// A field names what is not the business's, or not available.
    #[error("{0}")]
    Refused(FieldErrors),
    #[error("The balance ({balance}) cannot pay the first month ({price}); add funds first")]
    InsufficientBalance { balance: Cents, price: Cents },
    #[error("{0} was just bought by someone else")]
    Taken(PhoneNumber),
    #[error(transparent)]
    Carrier(#[from] CarrierError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn number_type(number: &PhoneNumber) -> NumberType {
    let (area, _, _) = number.nanp().expect("purchases are North American");
    if nanp::is_toll_free(area) { NumberType::TollFree } else { NumberType::Local }
}

/// Before the carrier is asked (the business locked in `tx`): the flow and group are the
/// business's, and its balance pays the first month.
pub async fn check(tx: &mut Tx, prices: &Prices, purchase: &Purchase) -> Result<(), PurchaseError> {
    let mut errors = FieldErrors::new();
    if let Some(flow) = purchase.call_flow_id
        && !call_flows::exists(&mut *tx, purchase.business_id, flow).await?
    {
        errors.push("call_flow_id", "is not a call flow of this business");
    }
    if let Some(group) = purchase.group_id
        && number_groups::get(&mut *tx, purchase.business_id, group).await?.is_none()
    {
        errors.push("group_id", "is not a number group of this business");
    }
    errors.finish(()).map_err(PurchaseError::Refused)?;
    affordable(tx, prices, purchase.business_id, purchase.wanted.number_type()).await?;
    Ok(())
}

/// At the carrier, outside any transaction: finds a number of the area code (when one
/// was not named) and buys it, pointed at `webhooks`.
pub async fn buy(
    carrier: &dyn Carrier,
    webhooks: Webhooks,
    wanted: &Wanted,
) -> Result<(PhoneNumber, Provisioned), PurchaseError> {
    let chosen = match wanted {
        Wanted::Number(number) => number.clone(),
        Wanted::AreaCode(code, kind) => {
            let query =
                SearchQuery { number_type: *kind, area_code: Some(code.clone()), contains: None, limit: 1 };
            let Some(found) = carrier.search(query).await?.into_iter().next() else {
                let mut refused = FieldErrors::new();
                refused.push("area_code", format!("no numbers are available in {code}"));
                return Err(PurchaseError::Refused(refused));
            };
            found.phone_number
        }
    };
    let provisioned = carrier.buy(chosen.clone(), webhooks).await?;
    Ok((chosen, provisioned))
}

/// After the carrier sold it (the business locked in `tx`): the number recorded and its
/// first month charged, or refused (the balance changed meanwhile, or another business
/// recorded it first) — then the door gives it back.
pub async fn record(
    tx: &mut Tx,
    prices: &Prices,
    purchase: &Purchase,
    chosen: &PhoneNumber,
    provisioned: &Provisioned,
) -> Result<Number, PurchaseError> {
    let kind = number_type(chosen);
    let price = affordable(tx, prices, purchase.business_id, kind).await?;
    let (area, _, _) = chosen.nanp().expect("purchases are North American");
    let place = nanp::area_code(area);
    let new = NewNumber {
        business_id: purchase.business_id,
        phone_number: chosen.clone(),
        friendly_name: purchase.friendly_name.clone().unwrap_or_else(|| chosen.national_format()),
        number_type: kind,
        locality: place.map(|p| p.city.to_owned()),
        region: place.map(|p| p.region.to_owned()),
        call_flow_id: purchase.call_flow_id,
        group_id: purchase.group_id,
        source: purchase.source.clone(),
        monthly_cost: price,
        carrier_sid: provisioned.carrier_sid.clone(),
    };
    let number = match numbers::insert(tx, new).await? {
        Ok(number) => number,
        Err(InsertError::AlreadyOwned) => return Err(PurchaseError::Taken(chosen.clone())),
    };
    balance::charge(tx, purchase.business_id, price, &format!("purchase of {chosen} (month 1)")).await?;
    Ok(number)
}

/// Gives back a number bought but not recorded, rather than pay for it unused.
pub async fn give_back(carrier: &dyn Carrier, chosen: &PhoneNumber, provisioned: Provisioned) {
    if let Err(error) = carrier.release(provisioned.carrier_sid).await {
        tracing::error!(%error, phone_number = %chosen, "could not release a number bought but not recorded");
    }
}

/// The first month's price of a number of `kind`, if the business can pay it.
async fn affordable(
    tx: &mut Tx,
    prices: &Prices,
    business: BusinessId,
    kind: NumberType,
) -> Result<Cents, PurchaseError> {
    let price = prices.monthly(kind);
    let balance = businesses::get(&mut *tx, business)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the purchasing business is gone".into()))?
        .balance;
    if balance < price {
        return Err(PurchaseError::InsufficientBalance { balance, price });
    }
    Ok(price)
}

/// What a renewal did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// Another month was charged; the number is active until the next renewal.
    Paid { cost: Cents },
    /// The balance could not pay: the number is suspended (still answering calls) until it
    /// can.
    Suspended,
    /// Not due (another node renewed it first, or it was released).
    NotDue,
}

/// Renews one number if it is due at `now`: charges a month when the balance allows,
/// otherwise suspends it. Safe on several nodes at once: the business row is locked and
/// the renewal is conditional on the months already paid, so a month is never charged
/// twice.
pub async fn renew(
    tx: &mut Tx,
    business_id: BusinessId,
    id: NumberId,
    now: Timestamp,
) -> Result<Renewal, StoreError> {
    businesses::lock(tx, business_id).await?;
    let Some(months_paid) = numbers::months_paid_if_due(tx, id, now).await? else {
        return Ok(Renewal::NotDue);
    };
    let gone = || StoreError::Corrupt(format!("number {id} is due but gone"));
    let number = numbers::get(&mut *tx, business_id, id).await?.ok_or_else(gone)?;
    let business = businesses::get(&mut *tx, business_id).await?.ok_or_else(gone)?;
    if business.balance < number.monthly_cost {
        numbers::suspend(tx, id, now).await?;
        return Ok(Renewal::Suspended);
    }
    if !numbers::mark_renewed(tx, &number, months_paid, now).await? {
        return Ok(Renewal::NotDue);
    }
    let reason = format!("renewal of {} (month {})", number.phone_number, months_paid + 1);
    balance::charge(tx, business_id, number.monthly_cost, &reason).await?;
    Ok(Renewal::Paid { cost: number.monthly_cost })
}
