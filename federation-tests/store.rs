//! Store and use-case tests, each on a fresh SQLite and a fresh PostgreSQL database.

use crate::on_both_stores;
use crate::support::{Backend, asset, count, federation_data, test_state};
use guildhall::{
    domain::{
        accounts::{self, NewAccount},
        communities::{self, NewCommunityInput},
    },
    error::AppError,
    state::AppState,
    store::{self, people::NewPerson},
};

on_both_stores!(
    migrations_are_idempotent_and_instance_key_is_stable,
    accounts_share_one_namespace_with_communities,
    community_creation_sets_roles_topics_and_markdown,
    directory_pages_by_name,
    remote_upsert_never_overwrites_local_rows,
    sessions_open_resolve_and_close,
    remote_actors_from_real_servers_are_stored,
    private_communities_know_their_members_by_instance,
    expired_invitations_let_nobody_in,
    members_get_notices_and_remote_members_are_known,
);

fn account(name: &str) -> NewAccount {
    NewAccount {
        username: name.into(),
        password: "correct horse battery".into(),
        ..Default::default()
    }
}

async fn user(state: &AppState, name: &str) -> accounts::LocalUser {
    accounts::create(state, account(name), false, true)
        .await
        .expect("create user")
}

/// A person of another instance, as their Person would be stored.
async fn remote_person(
    conn: &mut sqlx::AnyConnection,
    ap_id: &str,
    name: &str,
) -> store::people::DbPerson {
    let inbox = format!("{ap_id}/inbox");
    store::people::upsert(
        conn,
        &NewPerson {
            ap_id,
            name,
            display_name: None,
            bio_html: None,
            bio_source: None,
            local: false,
            inbox: &inbox,
            shared_inbox: None,
            public_key: "-",
            private_key: None,
            published: 0,
            updated: None,
            actor_type: "Person",
        },
    )
    .await
    .unwrap()
}

fn community(name: &str) -> NewCommunityInput {
    NewCommunityInput {
        name: name.into(),
        title: format!("The {name} guild"),
        ..Default::default()
    }
}

async fn migrations_are_idempotent_and_instance_key_is_stable(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    state
        .db
        .migrate()
        .await
        .expect("second migration run is a no-op");
    let again = AppState::new(state.config.clone(), state.db.clone())
        .await
        .expect("state again");
    assert_eq!(
        again.instance_keys.public_key,
        state.instance_keys.public_key
    );
    assert!(
        state
            .instance_keys
            .public_key
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    assert_eq!(count(&state, "instance_actor").await, 1);
}

async fn accounts_share_one_namespace_with_communities(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let alice = user(&state, "alice").await;
    assert!(alice.person.local);
    assert!(
        alice
            .person
            .private_key
            .as_deref()
            .unwrap()
            .contains("PRIVATE KEY")
    );
    assert_eq!(alice.person.ap_id.as_str(), "http://gh.test/u/alice");

    let err = accounts::create(&state, account("alice"), false, true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "name_taken");

    communities::create(&state, &alice.person, community("woodwork"))
        .await
        .unwrap();
    let err = accounts::create(&state, account("woodwork"), false, true)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        "name_taken",
        "a user cannot take a community's name"
    );
    let err = communities::create(&state, &alice.person, community("alice"))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        "name_taken",
        "a community cannot take a user's name"
    );

    let mut with_email = account("bob");
    with_email.email = Some("Bob@Example.org".into());
    accounts::create(&state, with_email, false, true)
        .await
        .unwrap();
    let mut same_email = account("carol");
    same_email.email = Some("bob@example.ORG".into());
    let err = accounts::create(&state, same_email, false, true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "email_taken");

    assert_eq!(count(&state, "people").await, 2);
    assert_eq!(count(&state, "accounts").await, 2);
    assert_eq!(count(&state, "local_names").await, 3);
}

async fn community_creation_sets_roles_topics_and_markdown(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let alice = user(&state, "alice").await;
    let input = NewCommunityInput {
        name: "rust_guild".into(),
        title: "  Rustaceans  ".into(),
        summary: "We *practise* Rust <script>alert(1)</script>".into(),
        guidelines: "1. Be kind".into(),
        topics: vec!["#Rust".into(), "rust".into(), "systems".into()],
        ..Default::default()
    };
    let c = communities::create(&state, &alice.person, input)
        .await
        .unwrap();
    assert_eq!(c.title, "Rustaceans");
    assert!(
        c.summary_html.contains("<em>practise</em>"),
        "{}",
        c.summary_html
    );
    assert!(!c.summary_html.contains("<script"), "{}", c.summary_html);
    assert!(
        c.guidelines_html.contains("<li>Be kind</li>"),
        "{}",
        c.guidelines_html
    );

    let view = communities::view_local(&state, "rust_guild").await.unwrap();
    assert_eq!(view.topics, vec!["rust", "systems"]);
    let owner_ids: Vec<_> = view.owners.iter().map(|o| o.ap_id.as_str()).collect();
    let mod_ids: Vec<_> = view.moderators.iter().map(|o| o.ap_id.as_str()).collect();
    assert_eq!(owner_ids, vec!["http://gh.test/u/alice"]);
    assert_eq!(mod_ids, vec!["http://gh.test/u/alice"]);
    assert_eq!(view.followers, 0);

    let bad = NewCommunityInput {
        title: "".into(),
        ..community("emptytitle")
    };
    let before = count(&state, "communities").await;
    let err = communities::create(&state, &alice.person, bad)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Invalid { .. }), "{err:?}");
    assert_eq!(count(&state, "communities").await, before);
    assert_eq!(count(&state, "local_names").await, 2);
}

async fn directory_pages_by_name(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let alice = user(&state, "alice").await;
    for name in ["delta", "alpha", "charlie", "bravo", "echo"] {
        communities::create(&state, &alice.person, community(name))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, next) = communities::list_local(&state, after.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.into_iter().map(|v| v.community.name));
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, vec!["alpha", "bravo", "charlie", "delta", "echo"]);
}

async fn remote_upsert_never_overwrites_local_rows(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let alice = user(&state, "alice").await;
    let forged = NewPerson {
        ap_id: alice.person.ap_id.as_str(),
        name: "mallory",
        display_name: Some("Mallory"),
        bio_html: None,
        bio_source: None,
        local: false,
        inbox: "http://evil.test/inbox",
        shared_inbox: None,
        public_key: "forged",
        private_key: None,
        published: 0,
        updated: None,
        actor_type: "Person",
    };
    let mut conn = state.db.pool.acquire().await.unwrap();
    let res = store::people::upsert(&mut conn, &forged).await;
    assert!(matches!(res, Err(sqlx::Error::RowNotFound)), "{res:?}");
    let again = store::people::find_local_by_name(&mut conn, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.public_key, alice.person.public_key);
    assert_eq!(again.inbox, alice.person.inbox);

    // A genuinely remote person is inserted, then refreshed in place.
    let remote = NewPerson {
        ap_id: "http://remote.test/u/zoe",
        name: "zoe",
        inbox: "http://remote.test/u/zoe/inbox",
        public_key: "k1",
        local: false,
        ..forged.clone()
    };
    let first = store::people::upsert(&mut conn, &remote).await.unwrap();
    let second = store::people::upsert(
        &mut conn,
        &NewPerson {
            public_key: "k2",
            ..remote
        },
    )
    .await
    .unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(second.public_key, "k2");
    assert!(!second.local);
}

async fn sessions_open_resolve_and_close(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    user(&state, "alice").await;
    let err = accounts::login(&state, "alice", "wrong password!")
        .await
        .unwrap_err();
    assert_eq!(err.status(), 401);
    let err = accounts::login(&state, "nobody", "correct horse battery")
        .await
        .unwrap_err();
    assert_eq!(err.status(), 401);
    let (token, _) = accounts::login(&state, "alice", "correct horse battery")
        .await
        .unwrap();
    let me = accounts::authenticate(&state, &token).await.unwrap();
    assert_eq!(me.person.name, "alice");
    // Only a hash of the token is stored.
    let mut conn = state.db.pool.acquire().await.unwrap();
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_ne!(stored, token);
    accounts::logout(&state, &token).await.unwrap();
    assert!(accounts::authenticate(&state, &token).await.is_err());
    assert_eq!(count(&state, "sessions").await, 0);
}

async fn remote_actors_from_real_servers_are_stored(b: Backend) {
    use activitypub_federation::traits::Object;
    use guildhall::{
        federation::objects::{group::Group, person::Person},
        store::{communities::DbCommunity, people::DbPerson},
    };
    let (state, _db) = test_state(b, "").await;
    let data = federation_data(&state).await;

    let json: Group = serde_json::from_str(&asset("lemmy-0.19/group.json")).unwrap();
    let id = json.id.inner().clone();
    let elsewhere = url::Url::parse("http://elsewhere.test/").unwrap();
    assert!(DbCommunity::verify(&json, &elsewhere, &data).await.is_err());
    DbCommunity::verify(&json, &id, &data).await.unwrap();
    let row = DbCommunity::from_json(json.clone(), &data).await.unwrap();
    assert!(!row.local && row.private_key.is_none());
    assert_eq!(row.name, "ix19_141919xoq");
    assert_eq!(
        row.shared_inbox.as_deref(),
        Some("http://lemmy-alpha:8541/inbox")
    );
    assert_eq!(row.public_key, json.public_key.public_key_pem);
    // Seen again: the same row, refreshed.
    let again = DbCommunity::from_json(json, &data).await.unwrap();
    assert_eq!(again.id, row.id);
    assert_eq!(count(&state, "communities").await, 1);
    assert_eq!(
        count(&state, "local_names").await,
        0,
        "remote names do not take local ones"
    );
    assert!(!row.members_only);
    // Lemmy 1.0 marks a private community with `manuallyApprovesFollowers`; Guildhall says
    // `membersOnly` itself, so an approval-only community of ours stays public.
    let mut lemmy10: serde_json::Value =
        serde_json::from_str(&asset("lemmy-1.0/group.json")).unwrap();
    lemmy10["manuallyApprovesFollowers"] = serde_json::json!(true);
    let private = DbCommunity::from_json(serde_json::from_value(lemmy10.clone()).unwrap(), &data)
        .await
        .unwrap();
    assert!(private.members_only && private.approval_required);
    lemmy10["membersOnly"] = serde_json::json!(false);
    let approval_only = DbCommunity::from_json(serde_json::from_value(lemmy10).unwrap(), &data)
        .await
        .unwrap();
    assert_eq!(approval_only.id, private.id);
    assert!(!approval_only.members_only && approval_only.approval_required);

    for path in ["lemmy-1.0/person.json", "fedify/person.json"] {
        let json: Person = serde_json::from_str(&asset(path)).unwrap();
        let id = json.id.inner().clone();
        DbPerson::verify(&json, &id, &data).await.unwrap();
        let p = DbPerson::from_json(json, &data).await.unwrap();
        assert!(!p.local, "{path}");
        assert_eq!(p.ap_id, id);
    }

    // Our own Group, replayed at us, never overwrites the local row.
    let alice = user(&state, "alice").await;
    let mine = communities::create(&state, &alice.person, community("woodwork"))
        .await
        .unwrap();
    let mut forged = Object::into_json(mine.clone(), &data).await.unwrap();
    forged.name = Some("Hijacked".into());
    let err = DbCommunity::from_json(forged, &data).await.unwrap_err();
    assert_eq!(err.code(), "local_object");
    let view = communities::view_local(&state, "woodwork").await.unwrap();
    assert_eq!(view.community.title, mine.title);
}

async fn private_communities_know_their_members_by_instance(b: Backend) {
    use guildhall::domain::privacy::{Reader, may_read};
    let (state, _db) = test_state(b, "").await;
    let alice = user(&state, "alice").await;
    let made = communities::create(
        &state,
        &alice.person,
        NewCommunityInput {
            private: true,
            ..community("circle")
        },
    )
    .await
    .unwrap();
    assert!(made.members_only && made.approval_required);
    let mut conn = state.db.pool.acquire().await.unwrap();
    let member = remote_person(&mut conn, "https://far.example/u/bob", "bob").await;
    store::followers::upsert_follower(&mut conn, made.id, member.id, "pending", None)
        .await
        .unwrap();
    let far = url::Url::parse("https://far.example/actor").unwrap();
    let near = url::Url::parse("https://far.example.evil/actor").unwrap();
    assert!(
        !may_read(&mut conn, &made, Reader::Instance(&far))
            .await
            .unwrap()
    );
    assert!(
        !may_read(&mut conn, &made, Reader::Person(&member))
            .await
            .unwrap()
    );
    store::followers::upsert_follower(&mut conn, made.id, member.id, "accepted", None)
        .await
        .unwrap();
    assert!(
        may_read(&mut conn, &made, Reader::Instance(&far))
            .await
            .unwrap()
    );
    assert!(
        may_read(&mut conn, &made, Reader::Person(&member))
            .await
            .unwrap()
    );
    assert!(
        !may_read(&mut conn, &made, Reader::Instance(&near))
            .await
            .unwrap()
    );
    assert!(!may_read(&mut conn, &made, Reader::Anyone).await.unwrap());
    assert!(
        may_read(&mut conn, &made, Reader::Person(&alice.person))
            .await
            .unwrap(),
        "the owner"
    );
    // Public again: anyone reads; approval stays as it was.
    store::communities::set_members_only(&mut conn, made.id, false)
        .await
        .unwrap();
    let open = store::communities::find_by_id(&mut conn, made.id)
        .await
        .unwrap();
    assert!(!open.members_only && open.approval_required);
    assert!(may_read(&mut conn, &open, Reader::Anyone).await.unwrap());
    assert!(
        store::communities::members_only(&mut conn)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn expired_invitations_let_nobody_in(b: Backend) {
    use guildhall::domain::{follows, invitations};
    let (state, _db) = test_state(b, "").await;
    let alice = user(&state, "alice").await;
    let bob = user(&state, "bob").await;
    let c = communities::create(
        &state,
        &alice.person,
        NewCommunityInput {
            approval_required: true,
            ..community("guild")
        },
    )
    .await
    .unwrap();
    // Two invitations that ended a minute ago: by handle (for bob) and by link.
    let past = store::now_ms() - 60_000;
    let mut conn = state.db.pool.acquire().await.unwrap();
    let by_handle = store::invitations::insert(
        &mut conn,
        c.id,
        None,
        Some(bob.person.id),
        Some(alice.person.id),
        None,
        Some(past),
    )
    .await
    .unwrap()
    .unwrap();
    store::invitations::insert(
        &mut conn,
        c.id,
        Some("old-link"),
        None,
        Some(alice.person.id),
        None,
        Some(past),
    )
    .await
    .unwrap();
    assert!(
        !store::invitations::is_invited(&mut conn, c.id, bob.person.id)
            .await
            .unwrap()
    );
    assert!(
        store::invitations::for_person(&mut conn, bob.person.id)
            .await
            .unwrap()
            .is_empty()
    );
    drop(conn);
    let err = invitations::accept_link(&state, &bob.person, "old-link", true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_found", "{err:?}");
    let err = invitations::accept(&state, &bob.person, by_handle, true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_found", "{err:?}");
    // Joining anyway waits for a moderator, as if never invited.
    assert_eq!(
        follows::follow(&state, &bob.person, &c, false)
            .await
            .unwrap(),
        "pending"
    );
    // A fresh one still works.
    let data = federation_data(&state).await;
    let link = invitations::invite(&data, &alice.person, &c, None, Some(1))
        .await
        .unwrap();
    let token = link["token"].as_str().unwrap().to_string();
    invitations::accept_link(&state, &bob.person, &token, true)
        .await
        .unwrap();
    let mut conn = state.db.pool.acquire().await.unwrap();
    assert_eq!(
        store::followers::follow_state(&mut conn, c.id, bob.person.id)
            .await
            .unwrap()
            .as_deref(),
        Some("accepted")
    );
}

async fn members_get_notices_and_remote_members_are_known(b: Backend) {
    let (state, _db) = test_state(b, "").await;
    let alice = user(&state, "alice").await;
    let bob = user(&state, "bob").await;
    let carol = user(&state, "carol").await;
    let c = communities::create(&state, &alice.person, community("guild"))
        .await
        .unwrap();
    let mut conn = state.db.pool.acquire().await.unwrap();
    store::followers::upsert_follower(&mut conn, c.id, bob.person.id, "accepted", None)
        .await
        .unwrap();
    store::followers::upsert_follower(&mut conn, c.id, carol.person.id, "pending", None)
        .await
        .unwrap();
    let far = remote_person(&mut conn, "https://far.example/u/dora", "dora").await;
    store::roles::add_role(&mut conn, c.id, far.id, "mentor")
        .await
        .unwrap();
    // Local members and role holders (alice owns it; bob is accepted), not carol (waiting)
    // nor dora (elsewhere: her own server tells her).
    let given = store::notices::notify_members(&mut conn, c.id, "handover", "bob facilitates")
        .await
        .unwrap();
    assert_eq!(given, 2);
    let mine = store::notices::list(&mut conn, bob.person.id, 10)
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].body.as_str(), mine[0].read),
        ("bob facilitates", false)
    );
    assert!(
        store::notices::list(&mut conn, carol.person.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store::notices::unread(&mut conn, bob.person.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store::notices::mark_read(&mut conn, bob.person.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store::notices::unread(&mut conn, bob.person.id)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store::notices::unread(&mut conn, alice.person.id)
            .await
            .unwrap(),
        1
    );

    let remote = store::followers::remote_members(&mut conn, c.id)
        .await
        .unwrap();
    assert_eq!(remote.len(), 1);
    assert_eq!((remote[0].person_id, remote[0].has_role), (far.id, true));
    let held = store::roles::roles_held(&mut conn, far.id).await.unwrap();
    assert_eq!(held[0].role, "mentor");
}
