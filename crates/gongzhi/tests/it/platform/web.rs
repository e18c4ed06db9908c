//! The pages over HTTP on both backends: sign-in with its CSRF cookie, session cookie flags,
//! sign-out revoking the session, forged forms refused, a report submitted through the form
//! with a photo, steps taken from the case page, refusals, and the language toggle. (The whole
//! loop in a real browser is tests/e2e/loop.mjs.)

use reqwest::multipart::{Form, Part};
use reqwest::redirect::Policy;

use crate::both;
use crate::cases::{desk_on, IN_STREET_1};
use crate::helpers::*;

pub(crate) struct Browser {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) cookies: Vec<(String, String)>,
}

impl Browser {
    pub(crate) fn new(base: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            cookies: vec![],
        }
    }
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
    /// Keeps cookies as a browser would; answers status, Location, body and raw Set-Cookie lines.
    pub(crate) async fn send(
        &mut self,
        req: reqwest::RequestBuilder,
    ) -> (u16, String, String, Vec<String>) {
        let resp = req
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        let set: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set {
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !c.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, location, resp.text().await.unwrap(), set)
    }
    pub(crate) async fn get(&mut self, path: &str) -> (u16, String, String) {
        let r = self.http.get(format!("{}{path}", self.base));
        let (s, l, b, _) = self.send(r).await;
        (s, l, b)
    }
    pub(crate) async fn login(&mut self, user: &str, password: &str) -> (u16, String, Vec<String>) {
        let (s, _, page) = self.get("/login").await;
        assert_eq!(s, 200);
        let csrf = hidden(&page, "_csrf");
        let r = self.http.post(format!("{}/login", self.base)).form(&[
            ("_csrf", csrf.as_str()),
            ("username", user),
            ("password", password),
            ("next", ""),
        ]);
        let (s, l, _, set) = self.send(r).await;
        (s, l, set)
    }
    pub(crate) async fn post_form(&mut self, path: &str, form: Form) -> (u16, String, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .multipart(form);
        let (s, l, b, _) = self.send(r).await;
        (s, l, b)
    }
}

/// The value of the first hidden input named `name` in a page.
pub(crate) fn hidden(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in page"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

async fn sign_in_sessions_and_forged_forms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut b = Browser::new(&app.url);
    // Pages need a session: to the sign-in page, remembering where we were going.
    let (s, l, _) = b.get("/cases").await;
    assert_eq!((s, l.as_str()), (303, "/login?next=/cases"));
    // A sign-in without the form's CSRF cookie is refused.
    let mut stranger = Browser::new(&app.url);
    let r = stranger.http.post(format!("{}/login", app.url)).form(&[
        ("_csrf", "x"),
        ("username", "admin"),
        ("password", ADMIN_PASSWORD),
    ]);
    let (s, _, _, _) = stranger.send(r).await;
    assert_eq!(s, 403);
    // A wrong password: 401, no session.
    let (s, _, set) = b.login("admin", "wrong").await;
    assert_eq!(s, 401);
    assert!(!set.iter().any(|c| c.starts_with("gz_session=")));
    // The right one: a session cookie that scripts cannot read, expiring with the session.
    let (s, l, set) = b.login("admin", ADMIN_PASSWORD).await;
    assert_eq!((s, l.as_str()), (303, "/admin"));
    let session = set
        .iter()
        .find(|c| c.starts_with("gz_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Max-Age=43200"),
        "{session}"
    );
    let (s, _, page) = b.get("/admin").await;
    assert_eq!(s, 200);
    assert!(page.contains("审计日志"));
    // A form without this session's CSRF token changes nothing.
    let units = app.count("units").await;
    let form = Form::new()
        .text("_csrf", "forged")
        .text("code", "110101-x")
        .text("name", "伪造")
        .text("kind", "department");
    let (s, _, _) = b.post_form("/admin/units", form).await;
    assert_eq!(s, 403);
    assert_eq!(app.count("units").await, units);
    // With it, the unit is created (and audited by the same service as the API).
    let csrf = hidden(&page, "_csrf");
    let audit_before = app.count("audit_log").await;
    let form = Form::new()
        .text("_csrf", csrf.clone())
        .text("code", "110102-jt")
        .text("name", "西城区交通委")
        .text("kind", "department");
    let (s, l, _) = b.post_form("/admin/units", form).await;
    assert_eq!(s, 303, "{l}");
    assert_eq!(app.count("units").await, units + 1);
    assert!(app.count("audit_log").await > audit_before);
    // Sign-out revokes the session itself, not only the cookie.
    let token = b
        .cookies
        .iter()
        .find(|(k, _)| k == "gz_session")
        .unwrap()
        .1
        .clone();
    let r = b
        .http
        .post(format!("{}/logout", app.url))
        .form(&[("_csrf", csrf.as_str())]);
    let (s, _, _, _) = b.send(r).await;
    assert_eq!(s, 303);
    let mut replay = Browser::new(&app.url);
    replay.cookies.push(("gz_session".into(), token));
    let (s, l, _) = replay.get("/admin").await;
    assert_eq!((s, l.as_str()), (303, "/login?next=/admin"));
}
both!(sign_in_sessions_and_forged_forms);

async fn report_and_act_through_the_pages(backend: Backend) {
    let d = desk_on(TestApp::spawn(backend).await).await;
    let app = &d.app;
    let mut op = Browser::new(&app.url);
    assert_eq!(op.login("op1", "op1-password").await.0, 303);
    let (s, _, page) = op.get("/report").await;
    assert_eq!(s, 200);
    assert!(page.contains("热线受理"), "operators get the hotline form");
    let csrf = hidden(&page, "_csrf");
    let form = |desc: &str, lat: &str| {
        Form::new()
            .text("_csrf", csrf.clone())
            .text("kind", "complaint")
            .text("category", "C0101")
            .text("description", desc.to_string())
            .text("lat", lat.to_string())
            .text("lng", IN_STREET_1.1.to_string())
            .text("reporter_name", "张小明")
            .text("reporter_phone", "13812345678")
    };
    // Bad input: the form comes back with the reason, nothing is created.
    let cases = app.count("cases").await;
    let (s, _, body) = op
        .post_form("/report", form("井盖破损", "not a number"))
        .await;
    assert_eq!(s, 400);
    assert!(body.contains("latitude is not a number"), "{body}");
    assert!(body.contains("井盖破损"), "what was typed is kept");
    let bad_photo = form("井盖破损", &IN_STREET_1.0.to_string()).part(
        "photos",
        Part::bytes(b"not an image".to_vec())
            .file_name("x.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let (s, _, body) = op.post_form("/report", bad_photo).await;
    assert_eq!(s, 400);
    assert!(body.contains("JPEG, PNG"), "{body}");
    assert_eq!(
        (app.count("cases").await, app.count("attachments").await),
        (cases, 0)
    );
    // A good report with a photo.
    let good = form("井盖破损，有人险些踩空", &IN_STREET_1.0.to_string()).part(
        "photos",
        Part::bytes(PNG.to_vec())
            .file_name("井盖.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let (s, l, _) = op.post_form("/report", good).await;
    assert_eq!(s, 303);
    assert!(l.starts_with("/cases/") && l.ends_with("?created=1"), "{l}");
    let (s, _, page) = op.get(&l).await;
    assert_eq!(s, 200);
    assert!(page.contains("已提交，案件编号："));
    assert!(page.contains("张*明"), "the reporter is masked");
    assert!(!page.contains("张小明"));
    let case_path = l.split('?').next().unwrap().to_string();
    let photo = page
        .split(&format!("{case_path}/photos/"))
        .nth(1)
        .map(|r| r[..36].to_string())
        .expect("photo link");
    let (s, _, bytes) = op.get(&format!("{case_path}/photos/{photo}")).await;
    assert_eq!(s, 200);
    assert!(
        bytes.contains("PNG") && bytes.contains("IEND"),
        "the photo itself"
    );

    // Steps from the case page; a wrong one is refused with the rule's reason and changes nothing.
    let csrf = hidden(&page, "_csrf");
    let step = |name: &str| {
        (
            format!("{case_path}/act/{name}"),
            Form::new().text("_csrf", csrf.clone()),
        )
    };
    let (path, f) = step("sign");
    let (s, _, body) = op.post_form(&path, f).await;
    assert_eq!(s, 403, "operators do not sign: {body}");
    let (path, f) = step("accept");
    let (s, l, _) = op.post_form(&path, f).await;
    assert_eq!((s, l.ends_with("done=accept")), (303, true));
    let (path, f) = step("accept");
    let (s, _, body) = op.post_form(&path, f).await;
    assert_eq!(s, 409);
    assert!(
        body.contains("not allowed while the case is accepted"),
        "{body}"
    );

    // Another street's dispatcher cannot open it; the resident's list does not show it.
    let mut other = Browser::new(&app.url);
    other.login("disp2", "disp2-password").await;
    let (s, _, _) = other.get(&case_path).await;
    assert!(s == 403 || s == 404, "{s}");
    let mut res = Browser::new(&app.url);
    res.login("res", "res-password").await;
    let (s, _, page) = res.get("/my").await;
    assert_eq!(s, 200);
    assert!(page.contains("没有案件"));

    // English, remembered.
    let (s, _, _) = op.get("/lang?to=en").await;
    assert_eq!(s, 303);
    let (_, _, page) = op.get("/cases").await;
    assert!(page.contains("<html lang=\"en\">") && page.contains("Sign out"));
}
both!(report_and_act_through_the_pages);

/// Administrators import a working calendar from the admin page: all or nothing, every bad
/// line listed, the overrides shown afterwards.
async fn calendar_import_through_the_admin_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut b = Browser::new(&app.url);
    b.login("admin", ADMIN_PASSWORD).await;
    let (_, _, page) = b.get("/admin").await;
    let csrf = hidden(&page, "_csrf");
    let before = app.count("calendar_days").await;
    let bad = "date,kind,note\n2027-01-01,holiday,元旦\n2027-02-30,holiday,x\n2027-02-07,party,y\n";
    let form = Form::new()
        .text("_csrf", csrf.clone())
        .text("name", "default")
        .part(
            "file",
            Part::bytes(bad.as_bytes().to_vec())
                .file_name("cal.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let (s, _, body) = b.post_form("/admin/calendar", form).await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body.contains("2027-02-30") || body.contains("line 3"),
        "every bad line is listed: {body}"
    );
    assert_eq!(app.count("calendar_days").await, before, "nothing imported");
    let good = "date,kind,note\n2027-01-01,holiday,元旦\n2027-02-07,workday,春节调休\n";
    let form = Form::new()
        .text("_csrf", csrf)
        .text("name", "default")
        .part(
            "file",
            Part::bytes(good.as_bytes().to_vec())
                .file_name("cal.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let (s, location, _) = b.post_form("/admin/calendar", form).await;
    assert_eq!(s, 303, "{location}");
    assert_eq!(app.count("calendar_days").await, before + 2);
    let (_, _, page) = b.get("/admin").await;
    assert!(page.contains("春节调休") && page.contains("2027-02-07"));
}
both!(calendar_import_through_the_admin_page);

/// Administrators edit a category's limits, urgency and conditions from the admin page; a bad
/// value is refused with its reason and changes nothing.
async fn category_editing_through_the_admin_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut b = Browser::new(&app.url);
    b.login("admin", ADMIN_PASSWORD).await;
    let (s, _, page) = b.get("/admin?edit=C0101").await;
    assert_eq!(s, 200);
    assert!(page.contains("id=\"category-form\""));
    let csrf = hidden(&page, "_csrf");
    let form = |respond: &str| {
        Form::new()
            .text("_csrf", csrf.clone())
            .text("code", "C0101")
            .text("name", "上水井盖（修订）")
            .text("respond_amount", respond.to_string())
            .text("respond_unit", "work_hours")
            .text("handle_amount", "3")
            .text("handle_unit", "work_days")
            .text("close_amount", "5")
            .text("close_unit", "days")
            .text("urgency", "urgent")
            .text("filing_condition", "井盖缺失、破损")
            .text("closing_condition", "已补齐")
            .text("public", "true")
    };
    let (s, _, body) = b.post_form("/admin/category", form("abc")).await;
    assert_eq!(s, 400, "{body}");
    let (_, cats) = app
        .get("/api/v1/categories", Some(&app.admin().await))
        .await;
    assert!(
        !cats.to_string().contains("上水井盖（修订）"),
        "nothing changed"
    );
    let (s, _, _) = b.post_form("/admin/category", form("2")).await;
    assert_eq!(s, 303);
    let (_, cats) = app
        .get("/api/v1/categories", Some(&app.admin().await))
        .await;
    let text = cats.to_string();
    assert!(text.contains("上水井盖（修订）"));
    fn find<'a>(v: &'a serde_json::Value, code: &str) -> Option<&'a serde_json::Value> {
        match v {
            serde_json::Value::Array(a) => a.iter().find_map(|x| find(x, code)),
            serde_json::Value::Object(o)
                if o.get("code").and_then(|c| c.as_str()) == Some(code) =>
            {
                Some(v)
            }
            serde_json::Value::Object(o) => o.get("children").and_then(|c| find(c, code)),
            _ => None,
        }
    }
    let c = find(&cats, "C0101").expect("C0101 listed");
    assert_eq!(c["urgency"], "urgent");
    assert_eq!(c["respond_limit"]["amount"], 2);
    assert_eq!(c["handle_limit"]["unit"], "work_days");
    assert_eq!(c["close_limit"]["unit"], "days");
}
both!(category_editing_through_the_admin_page);
