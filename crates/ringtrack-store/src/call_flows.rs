//! Call flows. Here, only what numbers need: whether a flow of the business exists.

use ringtrack_domain::{BusinessId, CallFlowId};

use crate::conn::Sql;
use crate::{Connection, Result};

pub async fn exists(mut db: impl Connection, business_id: BusinessId, id: CallFlowId) -> Result<bool> {
    let select = Sql::new("SELECT 1 AS value FROM call_flows WHERE business_id = $1 AND id = $2")
        .bind(business_id)
        .bind(id);
    Ok(db.conn().fetch_optional::<i64>(select).await?.is_some())
}
