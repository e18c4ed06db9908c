use serde_json::json;

use crate::both;
use crate::helpers::*;
use gongzhi_core::db::query;

async fn tokens_and_one_error_for_wrong_credentials(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["token"].as_str().unwrap().len(), 64);
    assert!(
        body["expires_at"].as_str().unwrap().ends_with("+08:00"),
        "{body}"
    );
    let (s1, wrong_password) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "admin", "password": "nope-nope"}),
        )
        .await;
    let (s2, unknown_user) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "nobody", "password": "nope-nope"}),
        )
        .await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(
        wrong_password, unknown_user,
        "the error must not say which part was wrong"
    );
    let (status, me) = app
        .get("/api/v1/me", Some(body["token"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "admin");
    assert_eq!(
        me["full_name"], "管理员",
        "your own data is shown to you unmasked"
    );
    let (status, err) = app.get("/api/v1/me", Some("0000")).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["code"], "unauthenticated");
    let (status, _) = app.get("/api/v1/me", None).await;
    assert_eq!(status, 401);
}
both!(tokens_and_one_error_for_wrong_credentials);

#[tokio::test]
async fn repeated_sign_in_failures_are_rate_limited() {
    // The throttle's waits run on the server's clock: a standing one keeps this test from racing it.
    let clock = std::sync::Arc::new(gongzhi_core::time::ManualClock::new(1_800_000_000_000));
    let app = TestApp::spawn_with_clock(Backend::Sqlite, |c| c.login_failures = 3, clock).await;
    for _ in 0..3 {
        let (status, _) = app
            .post(
                "/api/v1/auth/token",
                None,
                &json!({"username": "admin", "password": "wrong-one"}),
            )
            .await;
        assert_eq!(status, 401);
    }
    let (status, body) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
}

/// Roles × scopes × actions through the real API: each role is tried on each guarded endpoint.
async fn permission_matrix_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (status, _) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&admin),
            "text/csv",
            OTHER_DIVISIONS,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app.post("/api/v1/units", Some(&admin), &json!({"code": "110102-cgw", "name": "西城区城管委", "kind": "department", "area_code": "110102"})).await;
    assert_eq!(status, 201);
    let roles = [
        ("resident", None, None),
        ("grid_worker", Some("110102001001"), None),
        ("operator", Some("110102"), None),
        ("dispatcher", Some("110102"), None),
        ("handler", None, Some("110102-cgw")),
        ("leader", Some("110102001"), None),
        ("admin", None, None),
    ];
    let street_csv = "code,name,level,parent_code\n110102001003,新社区,community,110102001\n";
    let other_street_csv =
        "code,name,level,parent_code\n110102002003,别的社区,community,110102002\n";
    for (role, area, unit) in roles {
        let token = app.user_with(&format!("u_{role}"), role, area, unit).await;
        let get = |p: &'static str| {
            let t = token.clone();
            let app = &app;
            async move { app.get(p, Some(&t)).await.0 }
        };
        let expect = |allowed: bool| if allowed { 200 } else { 403 };
        assert_eq!(get("/api/v1/areas/110102").await, 200, "{role} reads areas");
        assert_eq!(
            get("/api/v1/units").await,
            expect(role != "resident"),
            "{role} lists units"
        );
        assert_eq!(
            get("/api/v1/users").await,
            expect(matches!(role, "leader" | "admin")),
            "{role} lists users"
        );
        assert_eq!(
            get("/api/v1/audit").await,
            expect(role == "admin"),
            "{role} reads the audit log"
        );
        let (status, _) = app
            .post_text(
                "/api/v1/areas/import/divisions",
                Some(&token),
                "text/csv",
                street_csv,
            )
            .await;
        assert_eq!(
            status,
            if role == "admin" { 200 } else { 403 },
            "{role} imports areas"
        );
        let (status, _) = app
            .post(
                "/api/v1/units",
                Some(&token),
                &json!({"code": format!("u-{role}"), "name": "单位", "kind": "organization"}),
            )
            .await;
        assert_eq!(
            status,
            if role == "admin" { 201 } else { 403 },
            "{role} creates units"
        );
        let _ = other_street_csv;
    }

    // Scope: an administrator of one street imports there, not in the next street.
    let street_admin = app
        .user_with("street_admin", "admin", Some("110102001"), None)
        .await;
    let (status, _) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&street_admin),
            "text/csv",
            "code,name,level,parent_code\n110102001004,又一个社区,community,110102001\n",
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&street_admin),
            "text/csv",
            other_street_csv,
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("scope"));

    // A street leader sees the users of their street only.
    let leader = app.token("u_leader", "u_leader-password").await;
    let (_, users) = app.get("/api/v1/users", Some(&leader)).await;
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"u_grid_worker") && names.contains(&"street_admin"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"u_operator") && !names.contains(&"admin"),
        "{names:?}"
    );
}
both!(permission_matrix_through_the_api);

async fn personal_data_is_encrypted_masked_and_reveals_are_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (status, created) = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"username": "wang", "password": "wang-password", "full_name": "王小明", "phone": "13812345678",
                    "email": "wang@example.org", "assignments": [{"role": "handler"}]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();

    // At rest: ciphertext, never the plain text.
    let row = query("SELECT full_name, phone, email FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    for col in ["full_name", "phone", "email"] {
        let v: String = row.try_get(col).unwrap();
        assert!(v.starts_with("v1:"), "{col} = {v}");
        assert!(
            !v.contains("王小明") && !v.contains("13812345678") && !v.contains("wang@"),
            "{col} = {v}"
        );
    }

    // Masked by default.
    let (_, users) = app.get("/api/v1/users", Some(&admin)).await;
    let wang = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "wang")
        .unwrap();
    assert_eq!(wang["full_name"], "王*明");
    assert_eq!(wang["phone"], "138****5678");
    assert_eq!(wang["email"], "w***@example.org");
    assert_eq!(wang["revealed"], false);

    // A reveal by an administrator is allowed and audited with its reason.
    let before = app.count("audit_log").await;
    let (status, shown) = app
        .get(
            &format!("/api/v1/users/{id}?reveal=true&reason=callback"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["phone"], "13812345678");
    assert_eq!(shown["full_name"], "王小明");
    assert_eq!(app.count("audit_log").await, before + 1);
    let (_, log) = app
        .get(&format!("/api/v1/audit?after={before}"), Some(&admin))
        .await;
    assert_eq!(log[0]["action"], "personal.reveal");
    assert_eq!(log[0]["entity"], format!("user:{id}"));
    assert_eq!(log[0]["reason"], "callback");
    assert_eq!(log[0]["actor"], "user:admin");

    // Others may not reveal; they cannot even read the user.
    let dispatcher = app.user_with("disp", "dispatcher", None, None).await;
    let (status, _) = app
        .get(
            &format!("/api/v1/users/{id}?reveal=true"),
            Some(&dispatcher),
        )
        .await;
    assert_eq!(status, 403);
    // The user sees their own data.
    let wang_token = app.token("wang", "wang-password").await;
    let (_, me) = app.get("/api/v1/me", Some(&wang_token)).await;
    assert_eq!(me["phone"], "13812345678");
}
both!(personal_data_is_encrypted_masked_and_reveals_are_audited);

async fn bad_users_are_refused_and_races_have_one_winner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let users_before = app.count("users").await;
    for (body, code) in [
        (
            json!({"username": "x", "password": "long-enough", "assignments": [{"role": "admin"}]}),
            "invalid_username",
        ),
        (
            json!({"username": "okname", "password": "short", "assignments": [{"role": "admin"}]}),
            "weak_password",
        ),
        (
            json!({"username": "okname", "password": "long-enough", "assignments": []}),
            "no_role",
        ),
        (
            json!({"username": "okname", "password": "long-enough", "assignments": [{"role": "king"}]}),
            "unknown_value",
        ),
        (
            json!({"username": "okname", "password": "long-enough", "assignments": [{"role": "admin", "area": "999999"}]}),
            "unknown_area",
        ),
        (
            json!({"username": "okname", "password": "long-enough", "assignments": [{"role": "handler", "unit": "nope"}]}),
            "unknown_unit",
        ),
    ] {
        let (status, resp) = app.post("/api/v1/users", Some(&admin), &body).await;
        // A value outside a closed set is 422 (the error catalogue), other refusals 400.
        let want = if code == "unknown_value" { 422 } else { 400 };
        assert_eq!(status, want, "{body} → {resp}");
        assert_eq!(resp["error"]["code"], code, "{resp}");
    }
    assert_eq!(app.count("users").await, users_before);

    // Eight simultaneous creations of one user name: one wins, the others get a conflict.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/users", app.url);
        let token = admin.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"username": "same", "password": "long-enough", "assignments": [{"role": "resident"}]}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(app.count("users").await, users_before + 1);
    let chain = gongzhi_core::audit::verify(&app.db).await.unwrap();
    assert!(chain.is_ok(), "{chain:?}");
}
both!(bad_users_are_refused_and_races_have_one_winner);

async fn cli_creates_users_who_can_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let out = app.cli(
        &[
            "unit",
            "add",
            "--code",
            "110102-sw",
            "--name",
            "水务局",
            "--kind",
            "department",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = app.cli(
        &[
            "user",
            "add",
            "--username",
            "handler1",
            "--role",
            "handler",
            "--unit",
            "110102-sw",
            "--password-stdin",
        ],
        Some("secret-pass-1\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = app.token("handler1", "secret-pass-1").await;
    let (_, me) = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me["assignments"][0]["role"], "handler");
    assert_eq!(me["assignments"][0]["unit"], "110102-sw");
    let (_, units) = app.get("/api/v1/units", Some(&token)).await;
    assert!(units
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["code"] == "110102-sw" && u["name"] == "水务局"));

    let out = app.cli(
        &[
            "user",
            "add",
            "--username",
            "h22",
            "--role",
            "emperor",
            "--password-stdin",
        ],
        Some("secret-pass-1"),
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown role"),
        "{}",
        text(&out.stderr)
    );
    let out = app.cli(
        &[
            "user",
            "add",
            "--username",
            "h22",
            "--role",
            "handler",
            "--unit",
            "ghost",
            "--password-stdin",
        ],
        Some("secret-pass-1"),
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no unit"),
        "{}",
        text(&out.stderr)
    );
}
both!(cli_creates_users_who_can_sign_in);

/// Roles are registered by the modules: the list names each with its labels and the actions it
/// is granted, a role nobody declared is refused when assigned, and the list itself is for
/// those who may read users.
async fn roles_are_registered_by_modules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (status, roles) = app.get("/api/v1/roles", Some(&admin)).await;
    assert_eq!(status, 200, "{roles}");
    let role = |id: &str| {
        roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["role"] == id)
            .unwrap_or_else(|| panic!("{id} in {roles}"))
            .clone()
    };
    // The platform's, then the cases module's, then deliberation's.
    assert_eq!(role("grid_worker")["zh"], "网格员");
    assert_eq!(role("dispatcher")["en"], "Dispatcher");
    assert_eq!(role("council")["zh"], "议事会成员");
    let actions = |id: &str| -> Vec<String> {
        role(id)["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    // A dispatcher is granted the platform's unit directory by the cases module's declaration,
    // and its own module's steps by the steps themselves.
    assert!(actions("dispatcher").contains(&"unit_read".to_string()));
    assert!(actions("dispatcher").contains(&"dispatch".to_string()));
    assert!(!actions("dispatcher").contains(&"user_manage".to_string()));
    assert!(actions("council").contains(&"area_read".to_string()));
    assert!(!actions("council").contains(&"unit_read".to_string()));
    assert!(actions("moderator").contains(&"moderate".to_string()));

    let (status, body) = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"username": "nobody-role", "password": "nobody-role-pw",
                    "assignments": [{"role": "janitor"}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "unknown_value", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("janitor") && message.contains("council"),
        "{body}"
    );
    assert_eq!(app.count("users").await, 1);

    let resident = app.user_with("resident-one", "resident", None, None).await;
    let (status, _) = app.get("/api/v1/roles", Some(&resident)).await;
    assert_eq!(status, 403);
    let (status, _) = app.get("/api/v1/roles", None).await;
    assert_eq!(status, 401);
}
both!(roles_are_registered_by_modules);

async fn user_id_of(app: &TestApp, token: &str) -> String {
    let (s, me) = app.get("/api/v1/me", Some(token)).await;
    assert_eq!(s, 200, "{me}");
    me["id"].as_str().unwrap().to_string()
}

async fn delete(app: &TestApp, path: &str, token: &str) -> (u16, serde_json::Value) {
    answer(
        app.client
            .delete(format!("{}{path}", app.url))
            .bearer_auth(token),
    )
    .await
}

/// The audit entries after `seq`: (action, entity).
async fn audited_since(app: &TestApp, admin: &str, seq: i64) -> Vec<(String, String)> {
    let (s, log) = app
        .get(&format!("/api/v1/audit?after={seq}"), Some(admin))
        .await;
    assert_eq!(s, 200, "{log}");
    log.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["entity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Roles granted and revoked, users disabled and enabled, through the API: each change holds
/// at once for the caller's next request, is audited, and every refusal writes nothing.
async fn roles_and_disabling_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let admin_id = user_id_of(&app, &admin).await;
    let (s, body) = app
        .post_text(
            "/api/v1/areas/import/divisions",
            Some(&admin),
            "text/csv",
            OTHER_DIVISIONS,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let clerk = app.user_with("clerk", "resident", None, None).await;
    let clerk_id = user_id_of(&app, &clerk).await;
    assert_eq!(app.get("/api/v1/users", Some(&clerk)).await.0, 403);

    // Granted: a street leader, who reads that street's users from the next request on.
    let before = app.count("audit_log").await;
    let leader = json!({"role": "leader", "area": "110102001"});
    let (s, user) = app
        .post(
            &format!("/api/v1/users/{clerk_id}/roles"),
            Some(&admin),
            &leader,
        )
        .await;
    assert_eq!(s, 200, "{user}");
    assert!(
        user["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["role"] == "leader" && a["area"] == "110102001"),
        "{user}"
    );
    assert_eq!(app.get("/api/v1/users", Some(&clerk)).await.0, 200);
    assert_eq!(
        audited_since(&app, &admin, before).await,
        [("role.grant".to_string(), format!("user:{clerk_id}"))]
    );

    // Refusals, each with its code, none writing anything.
    let after_grant = app.count("audit_log").await;
    let assignments = app.count("role_assignments").await;
    let grant = |id: String, body: serde_json::Value, token: String| {
        let app = &app;
        async move {
            app.post(&format!("/api/v1/users/{id}/roles"), Some(&token), &body)
                .await
        }
    };
    for (id, body, token, status, code) in [
        (
            clerk_id.clone(),
            leader.clone(),
            admin.clone(),
            409,
            "already_assigned",
        ),
        (
            clerk_id.clone(),
            json!({"role": "leader", "area": "999999"}),
            admin.clone(),
            400,
            "unknown_area",
        ),
        (
            clerk_id.clone(),
            json!({"role": "handler", "unit": "ghost-unit"}),
            admin.clone(),
            400,
            "unknown_unit",
        ),
        (
            clerk_id.clone(),
            json!({"role": "king"}),
            admin.clone(),
            422,
            "unknown_value",
        ),
        (
            "no-such-user".to_string(),
            json!({"role": "leader"}),
            admin.clone(),
            404,
            "not_found",
        ),
        // A leader may read users, not change them.
        (
            admin_id.clone(),
            json!({"role": "resident"}),
            clerk.clone(),
            403,
            "forbidden",
        ),
    ] {
        let (s, body) = grant(id, body, token).await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    let (s, body) = delete(
        &app,
        &format!("/api/v1/users/{clerk_id}/roles/king"),
        &admin,
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("unknown_role")),
        "{body}"
    );
    let (s, body) = delete(
        &app,
        &format!("/api/v1/users/{clerk_id}/roles/leader?area=110102002"),
        &admin,
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("not_assigned")),
        "{body}"
    );
    assert_eq!(
        app.count("audit_log").await,
        after_grant,
        "refusals are not audited"
    );
    assert_eq!(app.count("role_assignments").await, assignments);

    // A street's administrator manages the users of their street only, within it.
    let street_admin = app
        .user_with("street-admin", "admin", Some("110102001"), None)
        .await;
    let street_admin_id = user_id_of(&app, &street_admin).await;
    let in_street = app
        .user_with("grid-one", "grid_worker", Some("110102001001"), None)
        .await;
    let in_street_id = user_id_of(&app, &in_street).await;
    let after_setup = app.count("audit_log").await;
    let assignments_setup = app.count("role_assignments").await;
    let (s, body) = grant(
        admin_id.clone(),
        json!({"role": "resident"}),
        street_admin.clone(),
    )
    .await;
    assert_eq!(
        s, 404,
        "the global admin is out of a street's reach: {body}"
    );
    let (s, body) = grant(
        in_street_id.clone(),
        json!({"role": "leader", "area": "110102002"}),
        street_admin.clone(),
    )
    .await;
    assert_eq!(s, 403, "another street's scope: {body}");
    assert_eq!(app.count("audit_log").await, after_setup);
    assert_eq!(app.count("role_assignments").await, assignments_setup);
    assert_eq!(assignments_setup, assignments + 2);
    let (s, body) = grant(
        in_street_id.clone(),
        json!({"role": "leader", "area": "110102001001"}),
        street_admin.clone(),
    )
    .await;
    assert_eq!(s, 200, "{body}");

    // An administrator cannot take away their own last administration of a scope; another
    // may, and an administration covered by a wider one of theirs may go.
    let (s, body) = delete(
        &app,
        &format!("/api/v1/users/{admin_id}/roles/admin"),
        &admin,
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("last_admin_role")),
        "{body}"
    );
    assert_eq!(app.get("/api/v1/users", Some(&admin)).await.0, 200);
    let (s, body) = delete(
        &app,
        &format!("/api/v1/users/{street_admin_id}/roles/admin?area=110102001"),
        &street_admin,
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("last_admin_role")),
        "{body}"
    );
    let (s, body) = grant(
        admin_id.clone(),
        json!({"role": "admin", "area": "110102002"}),
        admin.clone(),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = delete(
        &app,
        &format!("/api/v1/users/{admin_id}/roles/admin?area=110102002"),
        &admin,
    )
    .await;
    assert_eq!(
        s, 200,
        "the global administration still covers the street: {body}"
    );
    let (s, body) = delete(
        &app,
        &format!("/api/v1/users/{street_admin_id}/roles/admin?area=110102001"),
        &admin,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["assignments"], json!([]), "{body}");
    assert_eq!(app.get("/api/v1/users", Some(&street_admin)).await.0, 403);

    // Revoked: the clerk is a resident again from the next request on.
    let before = app.count("audit_log").await;
    let (s, body) = delete(
        &app,
        &format!("/api/v1/users/{clerk_id}/roles/leader?area=110102001"),
        &admin,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["assignments"],
        json!([{"role": "resident", "area": null, "unit": null}])
    );
    assert_eq!(app.get("/api/v1/users", Some(&clerk)).await.0, 403);
    assert_eq!(
        audited_since(&app, &admin, before).await,
        [("role.revoke".to_string(), format!("user:{clerk_id}"))]
    );

    // Disabled: the API token and the web session stop working, signing in fails.
    let mut page = super::web::Browser::new(&app.url);
    let (s, l, _) = page.login("clerk", "clerk-password").await;
    assert_eq!(s, 303, "{l}");
    let (s, l, _) = page.get("/cases").await;
    assert!(!(s == 303 && l.starts_with("/login")), "{s} {l}");
    let (s, body) = app
        .post(
            &format!("/api/v1/users/{clerk_id}/disable"),
            Some(&clerk),
            &json!({}),
        )
        .await;
    assert_eq!(s, 403, "a resident may not disable anyone: {body}");
    let (s, body) = app
        .post(
            &format!("/api/v1/users/{admin_id}/disable"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("cannot_disable_self")),
        "{body}"
    );
    let before = app.count("audit_log").await;
    let (s, body) = app
        .post(
            &format!("/api/v1/users/{clerk_id}/disable"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["disabled"], true);
    assert_eq!(app.get("/api/v1/me", Some(&clerk)).await.0, 401);
    let (s, l, _) = page.get("/cases").await;
    assert_eq!((s, l.as_str()), (303, "/login?next=/cases"));
    let (s, _) = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"username": "clerk", "password": "clerk-password"}),
        )
        .await;
    assert_eq!(s, 401);
    let (s, body) = app
        .post(
            &format!("/api/v1/users/{clerk_id}/disable"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("already_disabled")),
        "{body}"
    );

    // Enabled: a new sign-in works; the ended token stays ended.
    let (s, body) = app
        .post(
            &format!("/api/v1/users/{clerk_id}/enable"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["disabled"], false);
    assert_eq!(app.get("/api/v1/me", Some(&clerk)).await.0, 401);
    let again = app.token("clerk", "clerk-password").await;
    assert_eq!(app.get("/api/v1/me", Some(&again)).await.0, 200);
    let (s, body) = app
        .post(
            &format!("/api/v1/users/{clerk_id}/enable"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("not_disabled")),
        "{body}"
    );
    let actions: Vec<String> = audited_since(&app, &admin, before)
        .await
        .into_iter()
        .filter(|(_, entity)| *entity == format!("user:{clerk_id}"))
        .map(|(action, _)| action)
        .collect();
    assert_eq!(
        actions,
        ["user.disable", "user.enable", "auth.token_issued"]
    );
    let chain = gongzhi_core::audit::verify(&app.db).await.unwrap();
    assert!(chain.is_ok(), "{chain:?}");
}
both!(roles_and_disabling_through_the_api);

/// Eight simultaneous grants of one role to one user: one is granted, the others are told it
/// is held; the user holds it once.
async fn simultaneous_grants_have_one_winner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let clerk = app.user_with("clerk", "resident", None, None).await;
    let clerk_id = user_id_of(&app, &clerk).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/users/{clerk_id}/roles", app.url);
        let token = admin.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"role": "leader"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
    let (_, me) = app.get("/api/v1/me", Some(&clerk)).await;
    let leaders = me["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["role"] == "leader")
        .count();
    assert_eq!(leaders, 1, "{me}");
}
both!(simultaneous_grants_have_one_winner);
