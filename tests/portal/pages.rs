//! The page shell and the public pages: start page, rounds, legal pages, error pages, assets.

use foerderportal::accounts::Role;
use reqwest::StatusCode;

use crate::common::{PUBLIC_PAGES, TestApp};

#[tokio::test]
async fn the_start_page_explains_the_programme_and_its_open_round() {
    let app = TestApp::spawn().await;
    let page = app.client().get("/").await;

    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.text("h1"),
        "Förderung von E-Government und IT in Thüringer Kommunen"
    );
    let headings = page.texts("main h2");
    for expected in [
        "Aktuelle Förderaufrufe",
        "Wer kann einen Antrag stellen?",
        "Was wird gefördert?",
        "Kontakt",
    ] {
        assert!(
            headings.iter().any(|h| h == expected),
            "missing section {expected}: {headings:?}"
        );
    }
    // The eight Fördergegenstände of Ziffer 2, with their codes.
    let categories = page.texts("ol.category-list > li .category-code");
    assert_eq!(categories, ["2a", "2b", "2c", "2d", "2e", "2f", "2g", "2h"]);
    // The demo round is open, with its deadline and budget in German notation.
    let round = page.text("ul.card-list > li.card h3");
    assert!(round.starts_with("Förderaufruf "), "{round}");
    assert!(
        page.text(".card .tag").starts_with("Offen – noch "),
        "{}",
        page.text(".card .tag")
    );
    let details = page.texts(".card dd");
    assert!(
        details.iter().any(|d| d == "10.000.000,00 €"),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.starts_with("bis 80 %")),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.ends_with(", 23:59 Uhr")),
        "{details:?}"
    );
    assert_eq!(
        page.attr("address a", "href").as_deref(),
        Some("mailto:egovernment@tfm.thueringen.de")
    );
}

#[tokio::test]
async fn the_rounds_page_lists_published_rounds_but_never_drafts() {
    let app = TestApp::spawn().await;
    sqlx::query(
        "INSERT INTO rounds (programme_id, title, year, budget_cents, opens_at, closes_at, max_rate_bp, financing_type, state)
         SELECT id, 'Entwurf 2028', 2028, 100, now(), now() + interval '1 day', 8000, 'anteilfinanzierung', 'draft' FROM programmes",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let page = app.client().get("/foerderaufrufe").await;

    assert_eq!(page.status, StatusCode::OK);
    let titles = page.texts(".card h3");
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert!(!titles.iter().any(|t| t.contains("Entwurf")));
}

#[tokio::test]
async fn every_page_has_the_shell_with_skip_link_landmarks_and_legal_links() {
    let app = TestApp::spawn().await;
    let client = app.client();
    for path in PUBLIC_PAGES {
        let page = client.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.attr("html", "lang").as_deref(), Some("de"), "{path}");
        assert_eq!(
            page.attr("a.skip-link", "href").as_deref(),
            Some("#main"),
            "{path}"
        );
        assert_eq!(page.count("main#main"), 1, "{path}");
        assert_eq!(page.count("nav[aria-label]"), 1, "{path}");
        let footer = page.texts("footer a");
        for link in ["Impressum", "Datenschutz", "Erklärung zur Barrierefreiheit"] {
            assert!(footer.iter().any(|l| l == link), "{path}: {footer:?}");
        }
        assert!(
            page.text("title")
                .ends_with("– Förderportal E-Government Thüringen"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_accessibility_statement_names_a_feedback_contact() {
    let app = TestApp::spawn().await;
    let page = app.client().get("/barrierefreiheit").await;

    assert_eq!(page.text("h1"), "Erklärung zur Barrierefreiheit");
    assert!(
        page.texts("main h2").iter().any(|h| h.contains("Feedback")),
        "{:?}",
        page.texts("main h2")
    );
    let mailtos = page.texts("main a[href='mailto:egovernment@tfm.thueringen.de']");
    assert!(!mailtos.is_empty(), "no feedback e-mail link");
}

#[tokio::test]
async fn the_legal_pages_show_what_admins_entered_and_leave_out_what_is_empty() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let saved = admin
        .submit(
            "/admin/programm/rechtstexte",
            "form[action='/admin/programm/rechtstexte']",
            &[
                (
                    "represented_by",
                    "Vertreten durch die Ministerin Erika Beispiel.",
                ),
                ("hosting_provider", ""),
                ("dpo_contact", "datenschutz@beispiel.example"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let visitor = app.client();
    let imprint = visitor.get("/impressum").await;
    assert!(
        imprint
            .body
            .contains("Vertreten durch die Ministerin Erika Beispiel.")
    );
    let headings = imprint.texts("main h2");
    assert!(
        headings.iter().any(|h| h == "Vertretungsberechtigt"),
        "{headings:?}"
    );
    assert!(
        !headings.iter().any(|h| h == "Technischer Betrieb"),
        "an empty detail is left out, not a placeholder: {headings:?}"
    );
    let privacy = visitor.get("/datenschutz").await;
    assert!(privacy.body.contains("datenschutz@beispiel.example"));
    for page in [&imprint, &privacy] {
        let text = page.text("main");
        assert!(
            !text.contains("zu ergänzen") && !text.contains('['),
            "{text}"
        );
    }
}

#[tokio::test]
async fn an_unknown_address_gets_the_german_404_page_with_the_request_id() {
    let app = TestApp::spawn().await;
    let page = app.client().get("/gibt-es-nicht").await;

    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(page.text("h1"), "Seite nicht gefunden");
    assert!(page.text("title").starts_with("Fehler: "));
    let request_id = page
        .header("x-request-id")
        .expect("every response has a request id")
        .to_string();
    assert_eq!(page.text(".request-id code"), request_id);
}

#[tokio::test]
async fn a_database_failure_shows_a_500_page_without_internals() {
    let app = TestApp::spawn().await;
    sqlx::query("DROP TABLE programme_contacts")
        .execute(&app.owner_pool().await)
        .await
        .unwrap();

    let page = app.client().get("/").await;

    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(page.text("h1"), "Ein technischer Fehler ist aufgetreten");
    assert_eq!(
        page.text(".request-id code"),
        page.header("x-request-id").unwrap()
    );
    let lowered = page.body.to_lowercase();
    for internal in ["programme_contacts", "relation", "sqlx", "select", ".rs"] {
        assert!(!lowered.contains(internal), "the page leaks {internal:?}");
    }
}

#[tokio::test]
async fn wrong_methods_and_oversized_bodies_get_german_error_pages() {
    let app = TestApp::spawn().await;
    let client = app.client();

    let page = client.post("/impressum", &[("x", "y")]).await;
    assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(page.text("h1"), "Diese Aktion ist hier nicht möglich");

    let big = "x".repeat(app.config.body_limit_bytes + 1);
    let page = client.post("/anmelden", &[("email", &big)]).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(page.text("h1"), "Die gesendeten Daten sind zu groß");
}

#[tokio::test]
async fn the_stylesheet_is_versioned_and_cached_for_a_year() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let href = client
        .get("/")
        .await
        .attr("link[rel=stylesheet]", "href")
        .expect("a stylesheet link");
    assert!(
        href.starts_with("/static/") && href.ends_with("/app.css"),
        "{href}"
    );

    let css = client.get(&href).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(
        css.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(css.body.contains("@media print"));

    let stale = client.get("/static/000000000000/app.css").await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_carry_security_headers_and_are_not_cached() {
    let app = TestApp::spawn().await;
    let page = app.client().get("/").await;

    let csp = page.header("content-security-policy").expect("CSP");
    for directive in [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} missing in {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    assert_eq!(
        page.header("strict-transport-security"),
        None,
        "HSTS only over https"
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.header("x-request-id").is_some());
}

#[tokio::test]
async fn responses_are_compressed_for_clients_that_accept_it() {
    let app = TestApp::spawn().await;
    let response = app
        .client()
        .http
        .get(app.url("/"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_the_timeout_page() {
    let app =
        TestApp::spawn_with(|c| c.request_timeout = std::time::Duration::from_millis(500)).await;
    let mut blocker = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE programmes IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();

    let page = app.client().get("/").await;
    blocker.rollback().await.unwrap();

    assert_eq!(page.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(page.text("h1"), "Zeitüberschreitung");
}

#[tokio::test]
async fn a_request_id_from_outside_is_kept_only_if_it_is_a_uuid() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let send = |id: &'static str| {
        client
            .http
            .get(app.url("/gibt-es-nicht"))
            .header("x-request-id", id)
            .send()
    };

    let forged = send("<script>alert(1)</script>").await.unwrap();
    let replaced = forged.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(uuid::Uuid::try_parse(&replaced).is_ok(), "{replaced}");

    let from_proxy = send("0b8a9c3e-4f7d-4a51-9d3b-2f6c1e0a7b54").await.unwrap();
    assert_eq!(
        from_proxy.headers()["x-request-id"],
        "0b8a9c3e-4f7d-4a51-9d3b-2f6c1e0a7b54"
    );
}
