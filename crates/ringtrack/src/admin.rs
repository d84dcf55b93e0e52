//! Operator commands run from a shell: they print one JSON line on success.

use anyhow::{Context, bail};
use ringtrack_core::people::{self, Invited, PeopleError};
use ringtrack_domain::people::{Email, Password, Token};
use ringtrack_domain::validation::parse_name;
use ringtrack_domain::{ApiKeySecret, Cents, Role};
use ringtrack_store::Store;
use ringtrack_store::Tx;
use ringtrack_store::api_keys::{self, CreateKeyError};
use ringtrack_store::businesses::{self, BalanceError, Business};
use serde_json::json;

use crate::cli::{CreateBusinessArgs, CreateKeyArgs, CreateUserArgs, CreditArgs, StorageArgs};

/// The most one `admin credit` may add: a typo of a few digits should not go through.
const MAX_CREDIT: Cents = Cents::new(100_000_000);

pub async fn migrate(storage: &StorageArgs) -> anyhow::Result<()> {
    let store = storage.open().await?;
    store.close().await;
    println!("the database is up to date");
    Ok(())
}

pub async fn backup(storage: &StorageArgs, to: &std::path::Path) -> anyhow::Result<()> {
    if to.exists() {
        bail!("--to: {} exists; a backup never overwrites", to.display());
    }
    let store = storage.open().await?;
    let result = store.backup_to(to).await.with_context(|| format!("--to: cannot write {}", to.display()));
    store.close().await;
    result?;
    println!("{}", to.display());
    Ok(())
}

/// Puts a backup in the database's place: checked first (a SQLite database this binary
/// can migrate), then swapped in by a rename, so a failure leaves the old one whole.
pub async fn restore(storage: &StorageArgs, from: &std::path::Path) -> anyhow::Result<()> {
    let target = storage
        .sqlite_path()
        .context("restore works on the SQLite database; for PostgreSQL use pg_restore")?;
    let staged = target.with_extension("restoring");
    std::fs::copy(from, &staged).with_context(|| format!("--from: cannot read {}", from.display()))?;
    let check = async {
        let store = Store::connect(&format!("sqlite://{}", staged.display())).await?;
        let migrated = store.migrate().await;
        store.close().await;
        migrated
    };
    if let Err(error) = check.await {
        let _ = std::fs::remove_file(&staged);
        bail!("--from: {} is not a ringtrack database this version can use: {error}", from.display());
    }
    for stale in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{stale}", target.display()));
    }
    std::fs::rename(&staged, &target).with_context(|| format!("cannot replace {}", target.display()))?;
    println!("restored {} from {}", target.display(), from.display());
    Ok(())
}

pub async fn create_business(storage: &StorageArgs, args: CreateBusinessArgs) -> anyhow::Result<()> {
    let name = parse_name("--name", &args.name, 200)?;
    if jiff::tz::TimeZone::get(&args.timezone).is_err() {
        bail!("--timezone: {:?} is not an IANA time zone (e.g. America/Chicago)", args.timezone);
    }
    let store = storage.open().await?;
    let mut tx = store.begin().await?;
    let (business, key) = create_business_with_admin_key(&mut tx, &name, &args.timezone).await?;
    tx.commit().await?;
    store.close().await;
    println!("{}", json!({ "business_id": business.id, "api_key": key.expose() }));
    Ok(())
}

/// A business and the admin key that can do everything for it, in the caller's transaction.
pub async fn create_business_with_admin_key(
    tx: &mut Tx,
    name: &str,
    timezone: &str,
) -> anyhow::Result<(Business, ApiKeySecret)> {
    let business = businesses::create(tx, name, timezone).await?;
    let secret = ApiKeySecret::generate(&mut rand::rng());
    match api_keys::create(tx, business.id, "Admin", Role::Admin, &secret).await? {
        Ok(_) => Ok((business, secret)),
        Err(refused) => bail!("could not create the first key: {refused:?}"),
    }
}

pub async fn create_key(storage: &StorageArgs, args: CreateKeyArgs) -> anyhow::Result<()> {
    let name = parse_name("--name", &args.name, 100)?;
    let store = storage.open().await?;
    let secret = ApiKeySecret::generate(&mut rand::rng());
    let mut tx = store.begin().await?;
    let key = match api_keys::create(&mut tx, args.business, &name, args.role, &secret).await? {
        Ok(key) => key,
        Err(CreateKeyError::NoSuchBusiness) => {
            bail!("--business: no business has the id {}", args.business)
        }
        Err(CreateKeyError::LimitReached) => bail!(
            "business {} already has {} active keys; revoke one first",
            args.business,
            api_keys::MAX_ACTIVE_KEYS
        ),
    };
    tx.commit().await?;
    store.close().await;
    println!("{}", json!({ "id": key.id, "api_key": secret.expose() }));
    Ok(())
}

pub async fn credit(storage: &StorageArgs, args: CreditArgs) -> anyhow::Result<()> {
    let amount = Cents::new(args.cents);
    if amount <= Cents::ZERO || amount > MAX_CREDIT {
        bail!("--cents: must be a whole number of cents from 1 to {}", MAX_CREDIT.get());
    }
    let store = storage.open().await?;
    let mut tx = store.begin().await?;
    let balance = match businesses::change_balance(&mut tx, args.business, amount, "credit").await? {
        Ok(balance) => balance,
        Err(BalanceError::NoSuchBusiness) => {
            bail!("--business: no business has the id {}", args.business)
        }
        Err(BalanceError::OutOfRange) => bail!("--cents: the balance would overflow"),
    };
    tx.commit().await.context("cannot save the credit")?;
    store.close().await;
    println!("{}", json!({ "business_id": args.business, "balance_cents": balance.get() }));
    Ok(())
}

pub async fn create_user(storage: &StorageArgs, args: CreateUserArgs) -> anyhow::Result<()> {
    let email = Email::parse("--email", &args.email)?;
    let name = match &args.name {
        Some(name) => parse_name("--name", name, 200)?,
        None => email.as_str().split('@').next().unwrap_or_default().to_owned(),
    };
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
        Some(Password::parse("--password-stdin", line.trim_end_matches(['\r', '\n']))?)
    } else {
        None
    };
    let store = storage.open().await?;
    let invited =
        people::invite(&store, args.business, &email, &name, args.role, password.as_ref(), "The operator")
            .await;
    store.close().await;
    let invited = match invited {
        Ok(invited) => invited,
        Err(PeopleError::NoSuchBusiness) => bail!("--business: no business has the id {}", args.business),
        Err(error) => return Err(error.into()),
    };
    // A new account's link sets its password; an existing account's lets them join once
    // signed in (it sets none).
    let invite_url = match &invited.invited {
        Invited::PasswordLink(link) | Invited::Invitation(link) => {
            Some(invitation_url(&args.public_url, link))
        }
        Invited::Added => None,
    };
    println!("{}", json!({ "user_id": invited.user_id, "invite_url": invite_url }));
    Ok(())
}

/// The page where an invited person sets their password.
pub fn invitation_url(public_url: &str, link: &Token) -> String {
    format!("{}/invitations/{}", public_url.trim_end_matches('/'), link.expose())
}
