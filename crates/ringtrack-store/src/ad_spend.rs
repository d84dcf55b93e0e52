//! What a business spent on its marketing, per month, source and campaign (`''` for the
//! source as a whole): one row each, replaced when entered again.

use ringtrack_domain::ad_spend::{AdSpend, Month};
use ringtrack_domain::{BusinessId, Cents};

use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Connection, Result, Tx};

impl FromRecord for AdSpend {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        let month = row.text("month")?;
        let campaign = row.text("campaign")?;
        Ok(AdSpend {
            month: month.parse().map_err(|()| sqlx::Error::Decode(format!("a month {month:?}").into()))?,
            source: row.text("source")?,
            campaign: (!campaign.is_empty()).then_some(campaign),
            amount: Cents::new(row.int("amount_cents")?),
        })
    }
}

/// Sets one month's spend on a source (and campaign), replacing what was there.
pub async fn set(tx: &mut Tx, business: BusinessId, spend: &AdSpend) -> Result<()> {
    let upsert = Sql::new(
        "INSERT INTO ad_spend (business_id, month, source, campaign, amount_cents, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (business_id, month, source, campaign)
         DO UPDATE SET amount_cents = excluded.amount_cents, updated_at = excluded.updated_at",
    )
    .bind(business)
    .bind(spend.month.to_string())
    .bind(spend.source.as_str())
    .bind(spend.campaign.as_deref().unwrap_or(""))
    .bind(spend.amount.get())
    .bind(tx.now());
    tx.conn().execute(upsert).await?;
    Ok(())
}

/// The business's spend from `from` to `to` (months, both included), newest month first,
/// then by source and campaign; at most `limit` rows.
pub async fn list(
    mut db: impl Connection,
    business: BusinessId,
    from: Month,
    to: Month,
    limit: u32,
) -> Result<Vec<AdSpend>> {
    let select = Sql::new(format!(
        "SELECT month, source, campaign, amount_cents FROM ad_spend
         WHERE business_id = $1 AND month >= $2 AND month <= $3
         ORDER BY month DESC, source, campaign LIMIT {limit}"
    ))
    .bind(business)
    .bind(from.to_string())
    .bind(to.to_string());
    Ok(db.conn().fetch_all(select).await?)
}

/// Removes one month's spend on a source (and campaign); `false` when there was none.
pub async fn remove(
    tx: &mut Tx,
    business: BusinessId,
    month: Month,
    source: &str,
    campaign: Option<&str>,
) -> Result<bool> {
    let delete = Sql::new(
        "DELETE FROM ad_spend WHERE business_id = $1 AND month = $2 AND source = $3 AND campaign = $4",
    )
    .bind(business)
    .bind(month.to_string())
    .bind(source)
    .bind(campaign.unwrap_or(""));
    Ok(tx.conn().execute(delete).await? > 0)
}
