//! A business's lead-scoring settings (`GET/PUT /api/v1/scoring`), kept as JSON.

use ringtrack_domain::BusinessId;
use ringtrack_domain::scoring::ScoringSettings;

use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Connection, Result, StoreError, Tx};

struct Stored(String);

impl FromRecord for Stored {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        row.text("settings").map(Stored)
    }
}

/// The business's settings, or the defaults when it never changed them.
pub async fn get(mut db: impl Connection, business_id: BusinessId) -> Result<ScoringSettings> {
    let select = Sql::new("SELECT settings FROM scoring_settings WHERE business_id = $1").bind(business_id);
    match db.conn().fetch_optional::<Stored>(select).await? {
        Some(Stored(json)) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string())),
        None => Ok(ScoringSettings::default()),
    }
}

pub async fn put(tx: &mut Tx, business_id: BusinessId, settings: &ScoringSettings) -> Result<()> {
    let json = serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let upsert = Sql::new(
        "INSERT INTO scoring_settings (business_id, settings, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (business_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
    )
    .bind(business_id)
    .bind(json)
    .bind(tx.now());
    tx.conn().execute(upsert).await?;
    Ok(())
}
