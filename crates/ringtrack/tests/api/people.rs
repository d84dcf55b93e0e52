//! People who sign in to the web app: invitations, passwords, sign-in limits and sessions,
//! through the core every door calls, and `ringtrack admin create-user`.

use jiff::{SignedDuration, Timestamp};
use ringtrack_core::people::{self, LinkError, SESSION_IDLE, SignIn, SignInError, SignedIn, TwoFactorError};
use ringtrack_domain::people::{Email, Password, Token, totp};
use ringtrack_domain::secrets::Sealer;
use ringtrack_domain::{BusinessId, Role};
use ringtrack_store::testing::TestDatabase;
use ringtrack_store::{Backend, Clock, Store, businesses, test_on_both_backends};

use crate::cli::{assert_one_line_failure, ringtrack, run, stdout_json};

async fn open(backend: Backend) -> (TestDatabase, Store, BusinessId) {
    let db = TestDatabase::create(backend).await;
    let clock = Clock::manual(Timestamp::from_second(1_800_000_000).unwrap());
    let store = Store::connect(&db.url).await.unwrap().with_clock(clock);
    store.migrate().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let business = businesses::create(&mut tx, "Acme Plumbing", "America/Chicago").await.unwrap();
    tx.commit().await.unwrap();
    (db, store, business.id)
}

fn email(text: &str) -> Email {
    Email::parse("email", text).unwrap()
}

fn password(text: &str) -> Password {
    Password::parse("password", text).unwrap()
}

/// Signs in someone without two-factor.
async fn signed_in(store: &Store, who: &Email, secret: &Password, address: &str) -> SignedIn {
    match people::sign_in(store, who, secret, address).await.unwrap() {
        SignIn::Done(signed_in) => *signed_in,
        SignIn::SecondFactor { .. } => panic!("two-factor is off"),
    }
}

test_on_both_backends! {
    async fn an_invited_person_sets_a_password_once_and_signs_in(backend: Backend) {
        let (_db, store, business) = open(backend).await;
        let maria = email("Maria@Acme.test");
        let invited = people::invite(&store, business, &maria, "Maria", Role::Manager, None, "Ana").await.unwrap();
        let link = invited.invited.password_link().expect("a new person gets a link");
        // Before the password is set, nothing signs in.
        let early = people::sign_in(&store, &maria, &password("anything at all"), "203.0.113.1").await;
        assert!(matches!(early, Err(SignInError::Refused)), "{early:?}");

        people::set_password_by_link(&store, &link, &password("correct horse battery"), "203.0.113.1").await.unwrap();
        let again = people::set_password_by_link(&store, &link, &password("another password 1"), "203.0.113.1").await;
        assert!(matches!(again, Err(LinkError::Spent)), "a link works once: {again:?}");

        let signed_in = signed_in(&store, &email("maria@acme.test"), &password("correct horse battery"), "203.0.113.1").await;
        assert_eq!(signed_in.session.business_id, business);
        let current = people::session(&store, &signed_in.token).await.unwrap().expect("the session is on");
        assert_eq!(current.session.user_id, invited.user_id);
        assert_eq!(current.session.user_name, "Maria");
        assert_eq!(current.membership.role, Role::Manager);
        assert_eq!(current.membership.business_name, "Acme Plumbing");
        assert_eq!(current.memberships, vec![current.membership.clone()]);
        assert!(people::session(&store, &Token::generate()).await.unwrap().is_none(), "an unknown token is no session");

        people::sign_out(&store, &signed_in.token).await.unwrap();
        assert!(people::session(&store, &signed_in.token).await.unwrap().is_none(), "signed out");
    }

    async fn links_expire_and_a_new_password_ends_every_session(backend: Backend) {
        let (_db, store, business) = open(backend).await;
        let maria = email("maria@acme.test");
        let expired = people::invite(&store, business, &maria, "Maria", Role::Viewer, None, "Ana").await.unwrap().invited.password_link().unwrap();
        store.clock().advance(people::INVITATION_LIFETIME + SignedDuration::from_secs(1));
        let late = people::set_password_by_link(&store, &expired, &password("correct horse battery"), "203.0.113.1").await;
        assert!(matches!(late, Err(LinkError::Spent)), "{late:?}");

        // Invited again (to the same business): a new link; the person exists already.
        let invited = people::invite(&store, business, &maria, "Maria", Role::Viewer, None, "Ana").await.unwrap();
        people::set_password_by_link(&store, &invited.invited.password_link().unwrap(), &password("correct horse battery"), "203.0.113.1").await.unwrap();
        let first = signed_in(&store, &maria, &password("correct horse battery"), "203.0.113.1").await;
        let second = signed_in(&store, &maria, &password("correct horse battery"), "198.51.100.7").await;
        // A password set again (a reset link) ends both sessions.
        let reset = people::invite(&store, business, &maria, "Maria", Role::Viewer, Some(&password("a brand new secret")), "Ana").await.unwrap();
        assert!(matches!(reset.invited, people::Invited::Added));
        for token in [&first.token, &second.token] {
            assert!(people::session(&store, token).await.unwrap().is_none());
        }
        let old = people::sign_in(&store, &maria, &password("correct horse battery"), "203.0.113.1").await;
        assert!(matches!(old, Err(SignInError::Refused)), "{old:?}");
        signed_in(&store, &maria, &password("a brand new secret"), "203.0.113.1").await;
    }

    async fn sessions_end_when_idle_too_long(backend: Backend) {
        let (_db, store, business) = open(backend).await;
        let maria = email("maria@acme.test");
        people::invite(&store, business, &maria, "Maria", Role::Viewer, Some(&password("correct horse battery")), "Ana").await.unwrap();
        let signed_in = signed_in(&store, &maria, &password("correct horse battery"), "203.0.113.1").await;
        // Used every day: still on after two idle-lengths of time.
        for _ in 0..14 {
            store.clock().advance(SignedDuration::from_hours(24));
            assert!(people::session(&store, &signed_in.token).await.unwrap().is_some());
        }
        store.clock().advance(SESSION_IDLE + SignedDuration::from_secs(1));
        assert!(people::session(&store, &signed_in.token).await.unwrap().is_none(), "idle too long");
    }

    async fn failed_sign_ins_make_the_next_attempts_wait_longer(backend: Backend) {
        let (_db, store, business) = open(backend).await;
        let maria = email("maria@acme.test");
        let right = password("correct horse battery");
        people::invite(&store, business, &maria, "Maria", Role::Viewer, Some(&right), "Ana").await.unwrap();
        let wrong = password("wrong guess number");
        for attempt in 0..4 {
            let refused = people::sign_in(&store, &maria, &wrong, "203.0.113.1").await;
            assert!(matches!(refused, Err(SignInError::Refused)), "attempt {attempt}: {refused:?}");
        }
        // Four failures: the next attempt waits two seconds, even with the right password.
        let waiting = people::sign_in(&store, &maria, &right, "203.0.113.1").await;
        let Err(SignInError::TooManyAttempts { retry_after }) = waiting else { panic!("{waiting:?}") };
        assert_eq!(retry_after, SignedDuration::from_secs(2));
        // Someone guessing elsewhere does not lock the owner out: from another address the
        // right password signs in.
        signed_in(&store, &maria, &right, "198.51.100.7").await;
        store.clock().advance(SignedDuration::from_secs(2));
        let failed_again = people::sign_in(&store, &maria, &wrong, "203.0.113.1").await;
        assert!(matches!(failed_again, Err(SignInError::Refused)));
        let longer = people::sign_in(&store, &maria, &right, "203.0.113.1").await;
        let Err(SignInError::TooManyAttempts { retry_after }) = longer else { panic!("{longer:?}") };
        assert_eq!(retry_after, SignedDuration::from_secs(4), "the wait doubles");
        // Guesses at the account from many addresses meet the account's higher ceiling.
        for n in 0..19 {
            let refused = people::sign_in(&store, &maria, &wrong, &format!("192.0.2.{n}")).await;
            assert!(matches!(refused, Err(SignInError::Refused)), "guess {n}: {refused:?}");
        }
        let ceiling = people::sign_in(&store, &maria, &right, "192.0.2.200").await;
        assert!(matches!(ceiling, Err(SignInError::TooManyAttempts { .. })), "{ceiling:?}");
        // An address guessing at many accounts is held back too.
        let other = password("another wrong guess");
        for n in 0..20 {
            let refused = people::sign_in(&store, &email(&format!("guess{n}@acme.test")), &other, "192.0.2.250").await;
            assert!(matches!(refused, Err(SignInError::Refused)), "account {n}: {refused:?}");
        }
        let held = people::sign_in(&store, &email("someone@acme.test"), &other, "192.0.2.250").await;
        assert!(matches!(held, Err(SignInError::TooManyAttempts { .. })), "{held:?}");
        // Once the waits are over, the right password signs in and the account's count is cleared.
        store.clock().advance(SignedDuration::from_mins(16));
        signed_in(&store, &maria, &right, "203.0.113.1").await;
    }

    async fn two_factor_takes_each_code_once(backend: Backend) {
        let (_db, store, business) = open(backend).await;
        let sealer = Sealer::new(&[7; 32]);
        let maria = email("maria@acme.test");
        let right = password("correct horse battery");
        let invited = people::invite(&store, business, &maria, "Maria", Role::Admin, Some(&right), "Ana").await.unwrap();
        let user = ringtrack_store::people::by_id(&store, invited.user_id).await.unwrap().unwrap();
        let confirmed = people::confirm_password(&store, user.id, &right, "203.0.113.1").await.unwrap();
        let setup = people::begin_two_factor(&store, &sealer, &confirmed).await.unwrap();
        assert!(setup.uri.starts_with("otpauth://totp/ringtrack%3Amaria%40acme.test?secret="), "{}", setup.uri);
        let secret = totp::from_base32(&setup.secret).unwrap();
        let code_now = || format!("{:06}", totp::code_at(&secret, store.now().as_second()));
        // Not on until a code from the new secret is confirmed.
        let here = signed_in(&store, &maria, &right, "203.0.113.1").await;
        let elsewhere = signed_in(&store, &maria, &right, "198.51.100.7").await;
        let wrong = people::enable_two_factor(&store, &sealer, &here.token, user.id, "000000").await;
        assert!(matches!(wrong, Err(TwoFactorError::WrongCode)) || code_now() == "000000", "{wrong:?}");
        let recovery = people::enable_two_factor(&store, &sealer, &here.token, user.id, &code_now()).await.unwrap();
        assert!(people::session(&store, &here.token).await.unwrap().is_some(), "this session stays");
        assert!(people::session(&store, &elsewhere.token).await.unwrap().is_none(), "every other one ends");
        assert_eq!(recovery.len(), 10);

        let wait = |store: Store| {
            let (maria, right) = (maria.clone(), right.clone());
            async move {
                match people::sign_in(&store, &maria, &right, "203.0.113.1").await.unwrap() {
                    SignIn::SecondFactor { wait } => wait,
                    SignIn::Done(_) => panic!("two-factor is on: a password alone must not sign in"),
                }
            }
        };
        // The code just used to turn it on does not work again.
        let first = wait(store.clone()).await;
        let replayed = people::second_factor(&store, &sealer, &first, &code_now(), "203.0.113.1").await;
        assert!(matches!(replayed, Err(SignInError::Refused)), "{replayed:?}");
        store.clock().advance(SignedDuration::from_secs(30));
        let code = code_now();
        let done = people::second_factor(&store, &sealer, &first, &code, "203.0.113.1").await.unwrap();
        assert!(people::session(&store, &done.token).await.unwrap().is_some());
        let second = wait(store.clone()).await;
        let again = people::second_factor(&store, &sealer, &second, &code, "203.0.113.1").await;
        assert!(matches!(again, Err(SignInError::Refused)), "a code works once: {again:?}");
        // A recovery code stands in for the authenticator, once; typed any way.
        let typed = recovery[3].to_uppercase().replace('-', " ");
        people::second_factor(&store, &sealer, &second, &typed, "203.0.113.1").await.unwrap();
        let third = wait(store.clone()).await;
        let reused = people::second_factor(&store, &sealer, &third, &recovery[3], "203.0.113.1").await;
        assert!(matches!(reused, Err(SignInError::Refused)), "{reused:?}");
        // A password waits five minutes for its code, no longer.
        store.clock().advance(people::SECOND_FACTOR_WAIT + SignedDuration::from_secs(30));
        let late = people::second_factor(&store, &sealer, &third, &code_now(), "203.0.113.1").await;
        assert!(matches!(late, Err(SignInError::Refused)), "{late:?}");
        assert!(matches!(
            people::second_factor(&store, &sealer, &Token::generate(), &code_now(), "203.0.113.1").await,
            Err(SignInError::Refused)
        ));
    }

    async fn create_user_invites_or_sets_a_password(backend: Backend) {
        let (db, store, business) = open(backend).await;
        // The command reads the system's clock; so must what checks its links.
        let store = store.with_clock(Clock::system());
        let dir = tempfile::tempdir().unwrap();
        let cmd = || ringtrack(dir.path(), &db.url);
        let business_id = business.to_string();
        let invited = stdout_json(
            &run(cmd(), &["admin", "create-user", "--business", &business_id, "--email", "Maria@Acme.test", "--role", "manager",
                "--public-url", "https://calls.acme.test/"]).await,
        );
        let url = invited["invite_url"].as_str().unwrap();
        let token = url.strip_prefix("https://calls.acme.test/invitations/").expect(url);
        people::set_password_by_link(&store, &Token::parse(token).unwrap(), &password("correct horse battery"), "203.0.113.1").await.unwrap();
        signed_in(&store, &email("maria@acme.test"), &password("correct horse battery"), "203.0.113.1").await;

        let mut with_password = cmd();
        with_password.args(["admin", "create-user", "--business", &business_id, "--email", "sam@acme.test", "--role", "viewer", "--password-stdin"]);
        let made = stdout_json(&crate::cli::run_with_stdin(with_password, "a long enough secret\n").await);
        assert!(made["invite_url"].is_null());
        let signed_in = signed_in(&store, &email("sam@acme.test"), &password("a long enough secret"), "203.0.113.1").await;
        assert_eq!(signed_in.user.id.to_string(), made["user_id"].as_str().unwrap());

        let unknown = BusinessId::new().to_string();
        assert_one_line_failure(&run(cmd(), &["admin", "create-user", "--business", &unknown, "--email", "a@acme.test", "--role", "viewer"]).await, "--business");
        assert_one_line_failure(&run(cmd(), &["admin", "create-user", "--business", &business_id, "--email", "not-an-address", "--role", "viewer"]).await, "--email");
        let mut short = cmd();
        short.args(["admin", "create-user", "--business", &business_id, "--email", "b@acme.test", "--role", "viewer", "--password-stdin"]);
        assert_one_line_failure(&crate::cli::run_with_stdin(short, "short\n").await, "--password-stdin");
    }

    async fn a_link_made_by_one_business_never_opens_another(backend: Backend) {
        let (_db, store, x) = open(backend).await;
        let mut tx = store.begin().await.unwrap();
        let y = businesses::create(&mut tx, "Yonder Roofing", "UTC").await.unwrap().id;
        tx.commit().await.unwrap();
        let hire = email("newhire@x.test");
        let lx = people::invite(&store, x, &hire, "Nia", Role::Manager, None, "Xena").await.unwrap();
        let lx = lx.invited.password_link().expect("a new account: X's link sets the password");
        // Y invites the same address before the person answered X: no password link for Y.
        let ly = people::invite(&store, y, &hire, "Nia", Role::Admin, None, "Yuri").await.unwrap();
        let people::Invited::Invitation(ly) = ly.invited else { panic!("{:?}", ly.invited) };
        let taken = people::set_password_by_link(&store, &ly, &password("the attacker's pick"), "198.51.100.66").await;
        assert!(matches!(taken, Err(LinkError::Spent)), "Y's link sets no password: {taken:?}");

        people::set_password_by_link(&store, &lx, &password("correct horse battery"), "203.0.113.1").await.unwrap();
        // After the person accepted X, Y's second invitation is no password link either.
        let again = people::invite(&store, y, &hire, "Nia", Role::Admin, None, "Yuri").await.unwrap();
        let people::Invited::Invitation(ly2) = again.invited else { panic!("{:?}", again.invited) };
        for link in [&lx, &ly, &ly2] {
            let refused = people::set_password_by_link(&store, link, &password("the attacker's pick"), "198.51.100.66").await;
            assert!(matches!(refused, Err(LinkError::Spent)), "{refused:?}");
        }
        let signed = signed_in(&store, &hire, &password("correct horse battery"), "203.0.113.1").await;
        assert_eq!(signed.session.business_id, x, "Y is not joined without the person's consent");
        let current = people::session(&store, &signed.token).await.unwrap().unwrap();
        assert_eq!(current.memberships.len(), 1);
        let waiting = people::pending_invitations(&store, signed.user.id).await.unwrap();
        assert_eq!(waiting.iter().map(|i| (i.business_id, i.role, i.invited_by.as_str())).collect::<Vec<_>>(), [(y, Role::Admin, "Yuri")]);
        // X's admin was shown the link that set this password: joining Y needs Y's own link.
        let from_list = people::answer_invitation(&store, &signed.token, &current, y, people::Answer::Accept).await;
        assert!(matches!(from_list, Err(people::AnswerError::NeedsLink)), "{from_list:?}");
        store.clock().advance(SignedDuration::from_secs(60));
        let joined = people::answer_by_link(&store, &signed.token, &current, &ly, people::Answer::Accept).await.unwrap();
        assert_eq!(joined, y);
        let current = people::session(&store, &signed.token).await.unwrap().unwrap();
        assert_eq!((current.session.business_id, current.membership.role), (y, Role::Admin));
        assert!(people::pending_invitations(&store, signed.user.id).await.unwrap().is_empty());
        // Sign-in opens the business used last.
        people::sign_out(&store, &signed.token).await.unwrap();
        let back = signed_in(&store, &hire, &password("correct horse battery"), "203.0.113.1").await;
        assert_eq!(back.session.business_id, y);
    }

    async fn an_account_another_business_made_joins_only_through_this_business_link(backend: Backend) {
        let (_db, store, x) = open(backend).await;
        let mut tx = store.begin().await.unwrap();
        let y = businesses::create(&mut tx, "Yonder Roofing", "UTC").await.unwrap().id;
        tx.commit().await.unwrap();
        let hire = email("newhire@x.test");
        // Y invites first and its admin keeps the link; X invites later.
        let ly = people::invite(&store, y, &hire, "Nia", Role::Viewer, None, "Yuri").await.unwrap().invited.password_link().unwrap();
        let lx = people::invite(&store, x, &hire, "Nia", Role::Admin, None, "Xena").await.unwrap();
        let people::Invited::Invitation(lx) = lx.invited else { panic!("{:?}", lx.invited) };
        // Y's admin sets the password through Y's link and signs in as the person.
        people::set_password_by_link(&store, &ly, &password("the attacker's pick"), "198.51.100.66").await.unwrap();
        let intruder = signed_in(&store, &hire, &password("the attacker's pick"), "198.51.100.66").await;
        let current = people::session(&store, &intruder.token).await.unwrap().unwrap();
        assert_eq!(current.memberships.iter().map(|m| m.business_id).collect::<Vec<_>>(), [y]);
        let accepted = people::answer_invitation(&store, &intruder.token, &current, x, people::Answer::Accept).await;
        assert!(matches!(accepted, Err(people::AnswerError::NeedsLink)), "Y's link does not open X: {accepted:?}");
        assert_eq!(people::session(&store, &intruder.token).await.unwrap().unwrap().memberships.len(), 1);
        // The real person, with X's link (sent to them), joins X; declining works from the list.
        let joined = people::answer_by_link(&store, &intruder.token, &current, &lx, people::Answer::Decline).await.unwrap();
        assert_eq!(joined, x);
        assert!(people::pending_invitations(&store, intruder.user.id).await.unwrap().is_empty());
        let spent = people::answer_by_link(&store, &intruder.token, &current, &lx, people::Answer::Accept).await;
        assert!(matches!(spent, Err(people::AnswerError::Gone)), "an answered invitation is spent: {spent:?}");
    }

    async fn setting_a_password_spends_every_link_of_the_person(backend: Backend) {
        let (_db, store, business) = open(backend).await;
        let maria = email("maria@acme.test");
        let first = people::invite(&store, business, &maria, "Maria", Role::Viewer, None, "Ana").await.unwrap().invited.password_link().unwrap();
        let second = people::invite(&store, business, &maria, "Maria", Role::Viewer, None, "Ana").await.unwrap().invited.password_link().unwrap();
        people::set_password_by_link(&store, &second, &password("correct horse battery"), "203.0.113.1").await.unwrap();
        let older = people::set_password_by_link(&store, &first, &password("another password 1"), "203.0.113.1").await;
        assert!(matches!(older, Err(LinkError::Spent)), "{older:?}");
        // Invited again once they have a password: they are a member already, no link.
        let again = people::invite(&store, business, &maria, "Maria", Role::Manager, None, "Ana").await.unwrap();
        assert!(matches!(again.invited, people::Invited::Added), "{:?}", again.invited);
        let signed = signed_in(&store, &maria, &password("correct horse battery"), "203.0.113.1").await;
        let current = people::session(&store, &signed.token).await.unwrap().unwrap();
        assert_eq!(current.membership.role, Role::Manager);
    }

    async fn concurrent_guesses_are_checked_no_more_than_the_limit_allows(backend: Backend) {
        let (_db, store, business) = open(backend).await;
        let sealer = Sealer::new(&[7; 32]);
        let maria = email("maria@acme.test");
        let right = password("correct horse battery");
        let invited = people::invite(&store, business, &maria, "Maria", Role::Viewer, Some(&right), "Ana").await.unwrap();
        let wrong = password("wrong guess number");
        let guesses = (0..20).map(|_| people::sign_in(&store, &maria, &wrong, "203.0.113.1"));
        let answers = futures_util::future::join_all(guesses).await;
        let checked = answers.iter().filter(|a| matches!(a, Err(SignInError::Refused))).count();
        let held = answers.iter().filter(|a| matches!(a, Err(SignInError::TooManyAttempts { .. }))).count();
        assert_eq!((checked, held), (4, 16), "{answers:?}");

        // Codes: a right password from elsewhere, then 30 codes at once.
        let confirmed = people::confirm_password(&store, invited.user_id, &right, "198.51.100.7").await.unwrap();
        let setup = people::begin_two_factor(&store, &sealer, &confirmed).await.unwrap();
        let secret = totp::from_base32(&setup.secret).unwrap();
        let code = format!("{:06}", totp::code_at(&secret, store.now().as_second()));
        people::enable_two_factor(&store, &sealer, &Token::generate(), invited.user_id, &code).await.unwrap();
        let SignIn::SecondFactor { wait } = people::sign_in(&store, &maria, &right, "198.51.100.7").await.unwrap() else {
            panic!("two-factor is on")
        };
        let codes = (0..30).map(|n| people::second_factor(&store, &sealer, &wait, if n % 2 == 0 { "000001" } else { "999998" }, "198.51.100.7"));
        let answers = futures_util::future::join_all(codes).await;
        let checked = answers.iter().filter(|a| matches!(a, Err(SignInError::Refused))).count();
        assert!(checked <= 4, "{checked} of 30 concurrent codes were checked");
        assert!(answers.iter().all(|a| matches!(a, Err(SignInError::Refused | SignInError::TooManyAttempts { .. }))));
    }

    async fn sign_in_is_changed_only_with_the_password_and_ends_the_other_sessions(backend: Backend) {
        let (_db, store, business) = open(backend).await;
        let sealer = Sealer::new(&[7; 32]);
        let maria = email("maria@acme.test");
        let right = password("correct horse battery");
        let user = people::invite(&store, business, &maria, "Maria", Role::Admin, Some(&right), "Ana").await.unwrap().user_id;
        let here = signed_in(&store, &maria, &right, "203.0.113.1").await;
        let there = signed_in(&store, &maria, &right, "198.51.100.7").await;
        let current = people::session(&store, &here.token).await.unwrap().unwrap();
        let wrong = people::confirm_password(&store, user, &password("not my password"), "203.0.113.1").await;
        assert!(matches!(wrong, Err(people::AccountError::WrongPassword)), "{wrong:?}");

        // Two-factor on, then new recovery codes: the old ones stop working.
        let confirmed = people::confirm_password(&store, user, &right, "203.0.113.1").await.unwrap();
        let setup = people::begin_two_factor(&store, &sealer, &confirmed).await.unwrap();
        let secret = totp::from_base32(&setup.secret).unwrap();
        let code = format!("{:06}", totp::code_at(&secret, store.now().as_second()));
        let old = people::enable_two_factor(&store, &sealer, &here.token, user, &code).await.unwrap();
        assert!(people::session(&store, &there.token).await.unwrap().is_none());
        let new = people::renew_recovery_codes(&store, &here.token, &confirmed).await.unwrap();
        let waiting = |store: Store| {
            let (maria, right) = (maria.clone(), right.clone());
            async move {
                match people::sign_in(&store, &maria, &right, "203.0.113.1").await.unwrap() {
                    SignIn::SecondFactor { wait } => wait,
                    SignIn::Done(_) => panic!("two-factor is on"),
                }
            }
        };
        let wait = waiting(store.clone()).await;
        let stale = people::second_factor(&store, &sealer, &wait, &old[0], "203.0.113.1").await;
        assert!(matches!(stale, Err(SignInError::Refused)), "{stale:?}");
        let other = people::second_factor(&store, &sealer, &wait, &new[0], "203.0.113.1").await.unwrap();
        // Off again: a password alone signs in, and the other session has ended.
        people::disable_two_factor(&store, &here.token, &confirmed).await.unwrap();
        assert!(people::session(&store, &other.token).await.unwrap().is_none());
        assert!(people::session(&store, &here.token).await.unwrap().is_some());
        let plain = signed_in(&store, &maria, &right, "203.0.113.1").await;

        // A new password: this browser gets a new session in the same business, others end.
        let changed = people::change_password(&store, &current, &confirmed, &password("a brand new secret")).await.unwrap();
        for ended in [&here.token, &plain.token] {
            assert!(people::session(&store, ended).await.unwrap().is_none());
        }
        let kept = people::session(&store, &changed).await.unwrap().expect("the new session is on");
        assert_eq!(kept.session.business_id, business);
        let old_password = people::sign_in(&store, &maria, &right, "203.0.113.1").await;
        assert!(matches!(old_password, Err(SignInError::Refused)), "{old_password:?}");
        let last = signed_in(&store, &maria, &password("a brand new secret"), "203.0.113.1").await;
        people::sign_out_everywhere(&store, user).await.unwrap();
        for ended in [&changed, &last.token] {
            assert!(people::session(&store, ended).await.unwrap().is_none());
        }
    }

    async fn a_timed_pass_deletes_sessions_and_counts_no_one_can_use(backend: Backend) {
        let (_db, store, business) = open(backend).await;
        let maria = email("maria@acme.test");
        let right = password("correct horse battery");
        people::invite(&store, business, &maria, "Maria", Role::Viewer, Some(&right), "Ana").await.unwrap();
        let idle = signed_in(&store, &maria, &right, "203.0.113.1").await;
        let _ = people::sign_in(&store, &maria, &password("a wrong guess here"), "198.51.100.7").await;
        store.clock().advance(SESSION_IDLE + SignedDuration::from_secs(60));
        let fresh = signed_in(&store, &maria, &right, "203.0.113.1").await;
        let purged = people::purge_expired(&store).await.unwrap();
        assert!(purged >= 2, "the idle session and the old attempt count: {purged}");
        let left = ringtrack_store::testing::count(&store, "SELECT count(*) AS value FROM sessions").await;
        assert_eq!(left, 1, "the fresh session stays");
        assert!(people::session(&store, &fresh.token).await.unwrap().is_some());
        assert!(people::session(&store, &idle.token).await.unwrap().is_none());
        assert_eq!(people::purge_expired(&store).await.unwrap(), 0, "a second pass finds nothing");
    }
}
