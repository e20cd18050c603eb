//! Teams, services, environments, tokens and pull requests: create, read, update,
//! delete, and the conflicts between them.

use rodeo_domain::{Command, Outcome, PullRequest, PullRequestState, Scope, Team, TokenName};

use super::fixtures::*;

fn create_team(name: &str, display: Option<&str>) -> Command {
    Command::CreateTeam {
        name: team(name),
        display_name: display.map(Into::into),
    }
}

fn create_service(name: &str, owner: Option<&str>) -> Command {
    Command::CreateService {
        name: svc(name),
        team: owner.map(team),
        repository: Some(format!("acme/{name}")),
    }
}

fn create_env(name: &str, production: bool, order: i32) -> Command {
    Command::CreateEnvironment {
        name: env(name),
        production,
        order,
    }
}

/// Teams: create, conflict on a duplicate, list by name, update, not found, delete.
pub async fn teams_crud(db: Db) {
    let created = one(&db, create_team("zeta", Some("Team Zeta"))).await;
    let expected = Team {
        name: team("zeta"),
        display_name: Some("Team Zeta".into()),
        created_at: t0(),
    };
    assert_eq!(created, Outcome::Team(expected.clone()));
    one(&db, create_team("alpha", None)).await;
    assert_eq!(db.get_team(&team("zeta")).await.unwrap(), Some(expected));

    assert_conflict(&fails(&db, ctx(), vec![create_team("zeta", None)]).await);

    let names: Vec<String> = db
        .list_teams()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(names, ["alpha", "zeta"]);

    let update = Command::UpdateTeam {
        name: team("zeta"),
        display_name: Some("Zeta Squad".into()),
    };
    match one(&db, update).await {
        Outcome::Team(t) => assert_eq!(t.display_name.as_deref(), Some("Zeta Squad")),
        other => panic!("expected a team, got {other:?}"),
    }
    let stored = db.get_team(&team("zeta")).await.unwrap().unwrap();
    assert_eq!(stored.display_name.as_deref(), Some("Zeta Squad"));

    let missing = Command::UpdateTeam {
        name: team("nobody"),
        display_name: None,
    };
    assert_not_found(&fails(&db, ctx(), vec![missing]).await);
    let missing = Command::DeleteTeam {
        name: team("nobody"),
    };
    assert_not_found(&fails(&db, ctx(), vec![missing]).await);

    assert_eq!(
        one(&db, Command::DeleteTeam { name: team("zeta") }).await,
        Outcome::Deleted
    );
    assert_eq!(db.get_team(&team("zeta")).await.unwrap(), None);
    assert_eq!(
        kinds(&all_events(&db).await),
        [
            "team.deleted",
            "team.updated",
            "team.created",
            "team.created"
        ]
    );
}

/// A team that owns services cannot be deleted; the error names them.
pub async fn team_with_services_cannot_be_deleted(db: Db) {
    apply(
        &db,
        ctx(),
        vec![
            create_team("payments", None),
            create_service("billing", Some("payments")),
            create_service("ledger", Some("payments")),
        ],
    )
    .await;
    let e = fails(
        &db,
        ctx(),
        vec![Command::DeleteTeam {
            name: team("payments"),
        }],
    )
    .await;
    assert_conflict(&e);
    let msg = e.to_string();
    assert!(msg.contains("billing") && msg.contains("ledger"), "{msg}");
    assert!(db.get_team(&team("payments")).await.unwrap().is_some());
}

/// Services: create with a team, unknown team, conflict, partial updates, delete.
pub async fn services_crud(db: Db) {
    one(&db, create_team("core", None)).await;
    let s = match one(&db, create_service("web", Some("core"))).await {
        Outcome::Service(s) => s,
        other => panic!("expected a service, got {other:?}"),
    };
    assert_eq!(s.team, Some(team("core")));
    assert_eq!(s.repository.as_deref(), Some("acme/web"));
    assert_eq!(s.created_at, t0());
    assert_eq!(db.get_service(&svc("web")).await.unwrap(), Some(s.clone()));

    let e = fails(&db, ctx(), vec![create_service("api", Some("ghosts"))]).await;
    assert_invalid(&e, "team");
    assert!(db.get_service(&svc("api")).await.unwrap().is_none());
    assert_conflict(&fails(&db, ctx(), vec![create_service("web", None)]).await);

    // None leaves a field alone, Some(None) clears it.
    let keep_team = Command::UpdateService {
        name: svc("web"),
        team: None,
        repository: Some(None),
    };
    one(&db, keep_team).await;
    let got = db.get_service(&svc("web")).await.unwrap().unwrap();
    assert_eq!(
        (got.team.clone(), got.repository.clone()),
        (Some(team("core")), None)
    );
    let clear_team = Command::UpdateService {
        name: svc("web"),
        team: Some(None),
        repository: Some(Some("acme/web2".into())),
    };
    one(&db, clear_team).await;
    let got = db.get_service(&svc("web")).await.unwrap().unwrap();
    assert_eq!(
        (got.team, got.repository.as_deref()),
        (None, Some("acme/web2"))
    );

    let bad_team = Command::UpdateService {
        name: svc("web"),
        team: Some(Some(team("ghosts"))),
        repository: None,
    };
    assert_invalid(&fails(&db, ctx(), vec![bad_team]).await, "team");
    let missing = Command::UpdateService {
        name: svc("nope"),
        team: None,
        repository: None,
    };
    assert_not_found(&fails(&db, ctx(), vec![missing]).await);

    one(&db, create_service("api", None)).await;
    let names: Vec<String> = db
        .list_services()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["api", "web"]);

    assert_eq!(
        one(&db, Command::DeleteService { name: svc("web") }).await,
        Outcome::Deleted
    );
    assert!(db.get_service(&svc("web")).await.unwrap().is_none());
    let missing = Command::DeleteService { name: svc("web") };
    assert_not_found(&fails(&db, ctx(), vec![missing]).await);
}

/// A service or environment that a deployment references cannot be deleted.
pub async fn service_with_deployments_cannot_be_deleted(db: Db) {
    record(&db, deploy("api", "production", "1", &sha("a", 1), at(0))).await;
    let e = fails(
        &db,
        ctx(),
        vec![Command::DeleteService { name: svc("api") }],
    )
    .await;
    assert_conflict(&e);
    let e = fails(
        &db,
        ctx(),
        vec![Command::DeleteEnvironment {
            name: env("production"),
        }],
    )
    .await;
    assert_conflict(&e);
    assert!(db.get_service(&svc("api")).await.unwrap().is_some());
    assert_eq!(db.list_environments().await.unwrap().len(), 1);
}

/// Environments: create, ordered listing, conflict, update, not found, delete.
pub async fn environments_crud(db: Db) {
    apply(
        &db,
        ctx(),
        vec![
            create_env("prod-us", true, 3),
            create_env("prod-eu", true, 3),
            create_env("staging", false, 2),
        ],
    )
    .await;
    let names = |v: Vec<rodeo_domain::Environment>| -> Vec<String> {
        v.into_iter().map(|e| e.name.to_string()).collect()
    };
    assert_eq!(
        names(db.list_environments().await.unwrap()),
        ["staging", "prod-eu", "prod-us"]
    );
    assert_conflict(&fails(&db, ctx(), vec![create_env("staging", false, 9)]).await);

    let update = Command::UpdateEnvironment {
        name: env("staging"),
        production: Some(true),
        order: Some(5),
    };
    match one(&db, update).await {
        Outcome::Environment(e) => assert_eq!((e.production, e.order), (true, 5)),
        other => panic!("expected an environment, got {other:?}"),
    }
    let envs = db.list_environments().await.unwrap();
    assert_eq!(names(envs.clone()), ["prod-eu", "prod-us", "staging"]);
    assert!(envs[2].production);
    let only_order = Command::UpdateEnvironment {
        name: env("staging"),
        production: None,
        order: Some(1),
    };
    one(&db, only_order).await;
    let envs = db.list_environments().await.unwrap();
    assert_eq!(
        (envs[0].name.as_str(), envs[0].production, envs[0].order),
        ("staging", true, 1)
    );

    let missing = Command::UpdateEnvironment {
        name: env("qa"),
        production: None,
        order: None,
    };
    assert_not_found(&fails(&db, ctx(), vec![missing]).await);
    one(
        &db,
        Command::DeleteEnvironment {
            name: env("prod-us"),
        },
    )
    .await;
    assert_eq!(
        names(db.list_environments().await.unwrap()),
        ["staging", "prod-eu"]
    );
    let missing = Command::DeleteEnvironment {
        name: env("prod-us"),
    };
    assert_not_found(&fails(&db, ctx(), vec![missing]).await);
}

fn create_token(name: &str, hash: &str) -> Command {
    Command::CreateToken {
        name: TokenName::parse(name).unwrap(),
        scope: Scope::Write,
        hash: hash.into(),
        prefix: "rd_abc".into(),
        environment: None,
    }
}

/// Tokens: create, duplicate active name, list oldest first, lookup by hash, revoke
/// (twice), and a new token with a revoked token's name.
pub async fn tokens_lifecycle(db: Db) {
    let token = |o: Outcome| match o {
        Outcome::Token(t) => t,
        other => panic!("expected a token, got {other:?}"),
    };
    let ci = token(one(&db, create_token("ci", "h-ci")).await);
    assert!(
        ci.id.parse::<i64>().is_ok(),
        "token ids are integers as strings: {}",
        ci.id
    );
    assert_eq!(
        (ci.scope, ci.prefix.as_str(), ci.revoked_at),
        (Scope::Write, "rd_abc", None)
    );
    let ops = token(one(&db, create_token("ops", "h-ops")).await);
    assert_conflict(&fails(&db, ctx(), vec![create_token("ci", "h-other")]).await);

    let by_hash = db.token_by_hash("h-ci").await.unwrap().unwrap();
    assert_eq!(
        (by_hash.id.as_str(), by_hash.name.as_str()),
        (ci.id.as_str(), "ci")
    );
    assert!(db.token_by_hash("h-none").await.unwrap().is_none());
    let listed: Vec<String> = db
        .list_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, [ci.id.clone(), ops.id.clone()]);

    let revoke_at = at(10);
    let revoked = apply(
        &db,
        ctx_at(revoke_at),
        vec![Command::RevokeToken { id: ci.id.clone() }],
    )
    .await;
    let revoked = token(revoked.into_iter().next().unwrap());
    assert_eq!(revoked.revoked_at, Some(revoke_at));
    let events_before = all_events(&db).await.len();
    let again = apply(
        &db,
        ctx_at(at(20)),
        vec![Command::RevokeToken { id: ci.id.clone() }],
    )
    .await;
    assert_eq!(
        token(again.into_iter().next().unwrap()).revoked_at,
        Some(revoke_at)
    );
    assert_eq!(
        all_events(&db).await.len(),
        events_before,
        "revoking twice appends nothing"
    );
    // The server rejects revoked tokens itself, so lookups still find them.
    let stale = db.token_by_hash("h-ci").await.unwrap().unwrap();
    assert_eq!(stale.revoked_at, Some(revoke_at));

    token(one(&db, create_token("ci", "h-ci2")).await);
    let missing = Command::RevokeToken {
        id: "987654".into(),
    };
    assert_not_found(&fails(&db, ctx(), vec![missing]).await);

    let events = all_events(&db).await;
    assert_eq!(
        kinds(&events),
        [
            "token.created",
            "token.revoked",
            "token.created",
            "token.created"
        ]
    );
    for e in &events {
        let payload = e.payload.to_string();
        assert!(
            !payload.contains("h-ci"),
            "events never carry token hashes: {payload}"
        );
    }
}

fn pr(state: PullRequestState, title: &str) -> PullRequest {
    PullRequest {
        repository: "acme/api".into(),
        number: 42,
        title: title.into(),
        author: "ada".into(),
        state,
        created_at: at(-60),
        merged_at: (state == PullRequestState::Merged).then(|| at(-5)),
        merge_commit_sha: None,
        head_sha: Some(sha("pr", 1)),
        url: Some("https://git.example/acme/api/pull/42".into()),
    }
}

/// Pull requests are keyed by repository and number; an event only when inserted or
/// when the state changes.
pub async fn pull_requests_upsert(db: Db) {
    let open = pr(PullRequestState::Open, "Add search");
    assert_eq!(
        one(&db, Command::UpsertPullRequest(open.clone())).await,
        Outcome::PullRequest(open)
    );
    let retitled = pr(PullRequestState::Open, "Add fast search");
    assert_eq!(
        one(&db, Command::UpsertPullRequest(retitled.clone())).await,
        Outcome::PullRequest(retitled)
    );
    one(
        &db,
        Command::UpsertPullRequest(pr(PullRequestState::Merged, "Add fast search")),
    )
    .await;
    let events = all_events(&db).await;
    assert_eq!(
        kinds(&events),
        ["pull_request.merged", "pull_request.opened"]
    );
    assert_eq!(events[0].payload["title"], "Add fast search");
    assert_eq!(
        events[0].subject.as_deref(),
        Some("pull_request:acme/api#42")
    );
}
