//! Web forms captured by the tracking script, with the attribution of the visit that sent
//! them.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ringtrack_domain::dates::DateRange;
use ringtrack_domain::dni::{Attribution, FormContact};
use ringtrack_domain::paging::{Cursor, PageRequest};
use ringtrack_domain::{BusinessId, FormId, NumberPoolId};
use uuid::Uuid;

use crate::paging::{Keyed, Page, fetch_page};
use crate::record::{FromRecord, Record, json_column};
use crate::sql::Sql;
use crate::{Connection, Result, StoreError, Tx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Form {
    pub id: FormId,
    pub form_name: Option<String>,
    pub page_url: Option<String>,
    pub fields: BTreeMap<String, String>,
    pub contact: FormContact,
    pub attribution: Attribution,
    pub referrer: Option<String>,
    pub landing_page: Option<String>,
    pub session_id: Option<Uuid>,
    pub created_at: Timestamp,
}

const COLUMNS: &str =
    "id, form_name, page_url, fields, name, email, phone, utm_source, utm_medium, utm_campaign,
    gclid, referrer, landing_page, session_id, created_at";

impl FromRecord for Form {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Form {
            id: row.parsed("id")?,
            form_name: row.opt_text("form_name")?,
            page_url: row.opt_text("page_url")?,
            fields: json_column(row, "fields")?,
            contact: FormContact {
                name: row.opt_text("name")?,
                email: row.opt_text("email")?,
                phone: row.opt_text("phone")?,
            },
            attribution: Attribution {
                utm_source: row.opt_text("utm_source")?,
                utm_medium: row.opt_text("utm_medium")?,
                utm_campaign: row.opt_text("utm_campaign")?,
                gclid: row.opt_text("gclid")?,
                ..Attribution::default()
            },
            referrer: row.opt_text("referrer")?,
            landing_page: row.opt_text("landing_page")?,
            session_id: row.opt_parsed("session_id")?,
            created_at: row.time("created_at")?,
        })
    }
}

impl Keyed for Form {
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at.as_second(), id: self.id.as_uuid() }
    }
}

/// A captured form, with what is known of its visit.
pub struct NewForm<'a> {
    pub business_id: BusinessId,
    pub pool_id: NumberPoolId,
    pub session_id: Option<Uuid>,
    pub form_name: Option<&'a str>,
    pub page_url: Option<&'a str>,
    pub fields: &'a BTreeMap<String, String>,
    pub contact: &'a FormContact,
    pub attribution: &'a Attribution,
    pub referrer: Option<&'a str>,
    pub landing_page: Option<&'a str>,
}

pub async fn insert(tx: &mut Tx, new: &NewForm<'_>) -> Result<FormId> {
    let id = FormId::new();
    let fields = serde_json::to_string(new.fields).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let a = new.attribution;
    let insert = Sql::new(
        "INSERT INTO form_submissions (id, business_id, pool_id, session_id, form_name, page_url, fields, name, email,
            phone, utm_source, utm_medium, utm_campaign, gclid, referrer, landing_page, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(id)
    .bind(new.business_id)
    .bind(new.pool_id)
    .bind(new.session_id)
    .bind(new.form_name)
    .bind(new.page_url)
    .bind(fields)
    .bind(new.contact.name.clone())
    .bind(new.contact.email.clone())
    .bind(new.contact.phone.clone())
    .bind(a.utm_source.clone())
    .bind(a.utm_medium.clone())
    .bind(a.utm_campaign.clone())
    .bind(a.gclid.clone())
    .bind(new.referrer)
    .bind(new.landing_page)
    .bind(tx.now());
    tx.conn().execute(insert).await?;
    Ok(id)
}

/// Which of a business's forms a list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormFilter {
    pub pool_id: Option<NumberPoolId>,
    pub range: DateRange,
    /// Words in the form's name or the contact's name or email, or digits of its phone.
    pub search: Option<String>,
}

pub async fn list(
    db: impl Connection,
    business_id: BusinessId,
    filter: &FormFilter,
    page: &PageRequest,
) -> Result<Page<Form>> {
    let mut from = Sql::new("FROM form_submissions WHERE business_id = $1").bind(business_id);
    if let Some(pool) = filter.pool_id {
        from.push(" AND pool_id = ").push_bind(pool);
    }
    from.push_period(&filter.range);
    if let Some(search) = &filter.search {
        // A value, never a pattern: LIKE's wildcards in it are matched as themselves.
        let escaped: String = search
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let words = format!("%{escaped}%");
        from.push(" AND (lower(COALESCE(form_name, '')) LIKE ").push_bind(words.clone());
        from.push(" ESCAPE '\\' OR lower(COALESCE(name, '')) LIKE ").push_bind(words.clone());
        from.push(" ESCAPE '\\' OR lower(COALESCE(email, '')) LIKE ").push_bind(words);
        from.push(" ESCAPE '\\'");
        let digits: String = search.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 3 {
            from.push(" OR phone LIKE ").push_bind(format!("%{digits}%"));
        }
        from.push(")");
    }
    fetch_page(db, COLUMNS, from, "", page).await
}

pub async fn get(mut db: impl Connection, business_id: BusinessId, id: FormId) -> Result<Option<Form>> {
    let select =
        Sql::new(format!("SELECT {COLUMNS} FROM form_submissions WHERE business_id = $1 AND id = $2"))
            .bind(business_id)
            .bind(id);
    Ok(db.conn().fetch_optional(select).await?)
}
