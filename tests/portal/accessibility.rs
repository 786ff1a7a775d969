//! Every page in a real headless Chromium, checked by axe-core against WCAG 2.1 A/AA, plus
//! keyboard and small-screen checks. Skips loudly without Chromium unless FP_REQUIRE_BROWSER=1.

use foerderportal::accounts::Role;
use foerderportal::demo::DEMO_PASSWORD;
use reqwest::StatusCode;

use crate::common::browser::Browser;
use foerderportal::mail::messages::PasswordChanged;
use foerderportal::mail::{Message, Recipient};

use crate::common::smtp::SmtpSink;
use crate::common::{PUBLIC_PAGES, TestApp, link_in};

#[tokio::test]
async fn public_pages_pass_axe_and_work_at_320_pixels() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    for path in PUBLIC_PAGES {
        browser.goto(&app.url(path)).await;
        browser.assert_accessible().await;

        let (text, href) = browser.first_tab_stop().await;
        assert_eq!(
            (text.as_str(), href.as_deref()),
            ("Zum Inhalt springen", Some("#main")),
            "{path}"
        );

        browser.set_viewport_width(320).await;
        let width = browser.page_scroll_width().await;
        assert!(
            width <= 320,
            "{path} scrolls sideways at 320 px ({width} px wide)"
        );
        browser.set_viewport_width(1280).await;
    }
    browser.close().await;
}

#[tokio::test]
async fn error_pages_pass_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;

    browser.goto(&app.url("/gibt-es-nicht")).await;
    assert_eq!(browser.text("h1").await, "Seite nicht gefunden");
    browser.assert_accessible().await;

    // 403: a clerk on an admin page.
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser.goto(&app.url("/admin/kommunen")).await;
    assert_eq!(browser.text("h1").await, "Kein Zugriff");
    browser.assert_accessible().await;

    // nginx's own pages (deploy/nginx), which the portal publishes with its static files.
    let version = app.state().assets.version.clone();
    for (page, heading) in [
        ("413", "Die Anfrage ist zu groß"),
        ("502", "Das Förderportal ist gerade nicht erreichbar"),
    ] {
        browser
            .goto(&app.url(&format!("/static/{version}/nginx/{page}.html")))
            .await;
        assert_eq!(browser.text("h1").await, heading);
        browser.assert_accessible().await;
    }

    // 500: the database lost a table.
    sqlx::query("DROP TABLE programme_contacts")
        .execute(&app.owner_pool().await)
        .await
        .unwrap();
    browser.goto(&app.url("/")).await;
    assert_eq!(
        browser.text("h1").await,
        "Ein technischer Fehler ist aufgetreten"
    );
    browser.assert_accessible().await;
    browser.close().await;
}

#[tokio::test]
async fn the_login_form_with_errors_and_the_signed_in_pages_pass_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;

    browser.goto(&app.url("/anmelden")).await;
    browser
        .click("form[action='/anmelden'] button[type=submit]")
        .await;
    assert_eq!(
        browser.text(".error-summary h2").await,
        "Es gibt ein Problem"
    );
    assert!(
        browser.focus_is_on(".error-summary").await,
        "focus moves to the error summary"
    );
    browser.assert_accessible().await;

    submit_login(&browser, "admin@demo.foerderportal.example").await;
    assert_eq!(browser.path().await, "/admin/foerderaufrufe");
    browser.assert_accessible().await;

    browser.goto(&app.url("/admin/kommunen")).await;
    browser.assert_accessible().await;
    browser.set_viewport_width(320).await;
    let width = browser.page_scroll_width().await;
    assert!(
        width <= 320,
        "the directory scrolls sideways at 320 px ({width} px wide)"
    );

    browser.set_viewport_width(1280).await;
    browser.click("form[action='/abmelden'] button").await;
    assert_eq!(
        browser.text(".notice").await,
        "Hinweis: Sie haben sich abgemeldet."
    );
    browser.assert_accessible().await;
    browser.close().await;
}

/// Fills the login form on the current page with a demo account and submits it.
async fn submit_login(browser: &Browser, email: &str) {
    sign_in(browser, email, DEMO_PASSWORD).await;
}

async fn sign_in(browser: &Browser, email: &str, password: &str) {
    browser.fill("#email", email).await;
    browser.fill("#password", password).await;
    browser
        .click("form[action='/anmelden'] button[type=submit]")
        .await;
}

#[tokio::test]
async fn the_outbox_pages_pass_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let to = Recipient::new("kommune@gemeinde.example", "Karla Kommunal").unwrap();
    let message = Message::PasswordChanged(PasswordChanged {
        name: "Karla Kommunal".into(),
        changed_at: "22.11.2026, 13:00 Uhr".into(),
    });
    let id = app.failed_message(&to, &message).await;

    open_login_and_sign_in(&browser, &app, "admin@demo.foerderportal.example").await;
    for path in [
        "/admin/postausgang".to_string(),
        "/admin/postausgang?status=failed".into(),
        format!("/admin/postausgang/{id}"),
    ] {
        browser.goto(&app.url(&path)).await;
        browser.assert_accessible().await;
        browser.set_viewport_width(320).await;
        let width = browser.page_scroll_width().await;
        assert!(
            width <= 320,
            "{path} scrolls sideways at 320 px ({width} px wide)"
        );
        browser.set_viewport_width(1280).await;
    }
    browser.close().await;
}

const NEW_PASSWORD: &str = "rennsteig tinte wolke kaffeetasse";

#[tokio::test]
async fn journey_invite_set_password_sign_in_sign_out_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;
    let gotha: i64 = sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = '16067000'")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    open_login_and_sign_in(&browser, &app, "admin@demo.foerderportal.example").await;
    browser.goto(&app.url("/admin/benutzer")).await;
    browser.assert_accessible().await;
    browser.goto(&app.url("/admin/protokoll?from=morgen")).await;
    browser.assert_accessible().await;
    browser.goto(&app.url("/admin/benutzer/neu")).await;
    browser.assert_accessible().await;
    submit_expecting_errors(
        &browser,
        "form[action='/admin/benutzer/neu'] button[type=submit]",
    )
    .await;

    browser.fill("#name", "Nora Neu").await;
    browser.fill("#email", "nora.neu@gotha.example").await;
    browser.check("#role").await;
    browser.select("#municipality", &gotha.to_string()).await;
    browser
        .click("form[action='/admin/benutzer/neu'] button[type=submit]")
        .await;
    assert_eq!(browser.text("h1").await, "Nora Neu");
    browser.assert_accessible().await;
    browser.click("form[action='/abmelden'] button").await;

    let link = link_in(&sink.wait_for(1).await[0], "/einladung?token=");
    browser.goto(&link).await;
    browser.assert_accessible().await;
    browser.fill("#password", NEW_PASSWORD).await;
    browser.fill("#confirmation", NEW_PASSWORD).await;
    browser
        .click("form[action='/einladung'] button[type=submit]")
        .await;
    assert_eq!(browser.path().await, "/anmelden");
    browser.assert_accessible().await;
    sign_in(&browser, "nora.neu@gotha.example", NEW_PASSWORD).await;
    assert_eq!(browser.path().await, "/antraege");
    browser.assert_accessible().await;
    browser.click("form[action='/abmelden'] button").await;
    assert_eq!(
        browser.text(".notice").await,
        "Hinweis: Sie haben sich abgemeldet."
    );
    browser.goto(&link).await;
    assert_eq!(browser.text("h1").await, "Dieser Link gilt nicht mehr");
    browser.assert_accessible().await;
    browser.close().await;
}

#[tokio::test]
async fn journey_forgot_password_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;

    browser.goto(&app.url("/anmelden")).await;
    browser.click("a[href='/passwort-vergessen']").await;
    browser.assert_accessible().await;
    browser
        .fill("#email", "kommune@demo.foerderportal.example")
        .await;
    browser
        .click("form[action='/passwort-vergessen'] button[type=submit]")
        .await;
    browser.assert_accessible().await;

    let link = link_in(&sink.wait_for(1).await[0], "/passwort-zuruecksetzen?token=");
    browser.goto(&link).await;
    browser.fill("#password", "kurz").await;
    submit_expecting_errors(
        &browser,
        "form[action='/passwort-zuruecksetzen'] button[type=submit]",
    )
    .await;
    browser.fill("#password", NEW_PASSWORD).await;
    browser.fill("#confirmation", NEW_PASSWORD).await;
    browser
        .click("form[action='/passwort-zuruecksetzen'] button[type=submit]")
        .await;
    sign_in(&browser, "kommune@demo.foerderportal.example", NEW_PASSWORD).await;
    assert_eq!(browser.path().await, "/antraege");
    browser.close().await;
}

#[tokio::test]
async fn journey_request_access_approved_first_login_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;
    let jena: i64 = sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = '16053000'")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    browser.goto(&app.url("/anmelden")).await;
    browser.click("a[href='/zugang-beantragen']").await;
    browser.assert_accessible().await;
    submit_expecting_errors(
        &browser,
        "form[action='/zugang-beantragen'] button[type=submit]",
    )
    .await;
    browser.fill("#name", "Jana Jenaer").await;
    browser.fill("#email", "jana@jena.example").await;
    browser.select("#municipality", &jena.to_string()).await;
    browser.fill("#function", "IT-Koordination").await;
    browser
        .click("form[action='/zugang-beantragen'] button[type=submit]")
        .await;
    browser.assert_accessible().await;

    open_login_and_sign_in(&browser, &app, "admin@demo.foerderportal.example").await;
    browser.goto(&app.url("/admin/zugangsantraege")).await;
    browser.assert_accessible().await;
    browser.click("tbody a").await;
    browser.click("form[action$='/ablehnen'] button").await;
    browser.assert_accessible().await;
    browser.click("form[action$='/freigeben'] button").await;
    browser.assert_accessible().await;
    browser.click("form[action='/abmelden'] button").await;

    let link = link_in(&sink.wait_for(2).await[1], "/einladung?token=");
    browser.goto(&link).await;
    browser.fill("#password", NEW_PASSWORD).await;
    browser.fill("#confirmation", NEW_PASSWORD).await;
    browser
        .click("form[action='/einladung'] button[type=submit]")
        .await;
    sign_in(&browser, "jana@jena.example", NEW_PASSWORD).await;
    assert_eq!(browser.path().await, "/antraege");
    browser.assert_accessible().await;
    browser.close().await;
}

#[tokio::test]
async fn journey_reviewer_sets_up_the_second_factor_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn_with(|c| c.require_second_factor = true).await;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };

    open_login_and_sign_in(&browser, &app, "pruefung@demo.foerderportal.example").await;
    browser.goto(&app.url("/konto/zweiter-faktor")).await;
    browser.assert_accessible().await;
    browser.fill("#code", "000000").await;
    submit_expecting_errors(
        &browser,
        "form[action='/konto/zweiter-faktor'] button[type=submit]",
    )
    .await;
    let secret = browser.text("code.secret").await;
    browser
        .fill("#password", foerderportal::demo::DEMO_PASSWORD)
        .await;
    browser
        .fill(
            "#code",
            &foerderportal::accounts::totp::code_at(&secret, now()),
        )
        .await;
    browser
        .click("form[action='/konto/zweiter-faktor'] button[type=submit]")
        .await;
    assert_eq!(browser.text("h1").await, "Ihre Wiederherstellungscodes");
    browser.assert_accessible().await;
    browser.click("form[action='/abmelden'] button").await;

    open_login_and_sign_in(&browser, &app, "pruefung@demo.foerderportal.example").await;
    assert_eq!(browser.path().await, "/anmelden/zweiter-faktor");
    browser.assert_accessible().await;
    browser
        .fill(
            "#code",
            &foerderportal::accounts::totp::code_at(&secret, now() + 30),
        )
        .await;
    browser
        .click("form[action='/anmelden/zweiter-faktor'] button[type=submit]")
        .await;
    assert_eq!(browser.path().await, "/pruefung");
    browser.goto(&app.url("/konto/zweiter-faktor")).await;
    browser.assert_accessible().await;
    // New recovery codes without the password: the errors beside the fields of that form.
    browser.fill("#codes_code", "000000").await;
    submit_expecting_errors(
        &browser,
        "form[action='/konto/zweiter-faktor/neue-codes'] button[type=submit]",
    )
    .await;
    browser
        .click("a[href='/konto/zweiter-faktor/neue-app']")
        .await;
    assert_eq!(
        browser.text("h1").await,
        "Neue Authenticator-App einrichten"
    );
    browser.assert_accessible().await;
    browser.close().await;
}

#[tokio::test]
async fn admin_imports_the_sample_directory_and_sees_the_report() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;

    open_login_and_sign_in(&browser, &app, "admin@demo.foerderportal.example").await;
    browser.goto(&app.url("/admin/kommunen")).await;
    browser.click("a[href='/admin/kommunen/import']").await;
    browser.assert_accessible().await;
    submit_expecting_errors(
        &browser,
        "form[action='/admin/kommunen/import'] button[type=submit]",
    )
    .await;

    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gemeindeverzeichnis-beispiel.csv"
    );
    browser.choose_file("#datei", sample).await;
    browser
        .click("form[action='/admin/kommunen/import'] button[type=submit]")
        .await;
    assert!(
        browser
            .text(".notice")
            .await
            .starts_with("Import abgeschlossen: 4 neu")
    );
    browser.assert_accessible().await;
    browser.goto(&app.url("/admin/kommunen?q=Musterdorf")).await;
    browser.click("tbody a").await;
    browser.fill("#ags", "123").await;
    submit_expecting_errors(
        &browser,
        "form[action^='/admin/kommunen/'] button[type=submit]",
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn admin_creates_and_publishes_a_round_that_then_shows_on_the_start_page() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;

    open_login_and_sign_in(&browser, &app, "admin@demo.foerderportal.example").await;
    browser.goto(&app.url("/admin/programm")).await;
    browser.assert_accessible().await;
    browser.click("a[href='/admin/programm/rechtstexte']").await;
    browser.assert_accessible().await;
    browser.fill("#signature_line", &"x".repeat(201)).await;
    submit_expecting_errors(&browser, "form.stack > button[type=submit]").await;
    browser.goto(&app.url("/admin/programm")).await;
    browser.click("ul.category-admin-list a").await;
    browser.assert_accessible().await;
    browser.goto(&app.url("/admin/foerderaufrufe")).await;
    browser.assert_accessible().await;
    browser.click("a[href='/admin/foerderaufrufe/neu']").await;
    browser.assert_accessible().await;
    submit_expecting_errors(&browser, "form.stack button[type=submit]").await;

    browser.fill("#title", "Sonderaufruf Basisdienste").await;
    browser.fill("#budget", "750.000").await;
    browser.set_value("#opens_date", "2026-01-01").await;
    browser.set_value("#closes_date", "2027-09-30").await;
    browser.check("#category-2c").await;
    browser.click("form.stack button[type=submit]").await;
    assert_eq!(browser.text(".round-state").await, "Entwurf");
    browser.assert_accessible().await;
    browser
        .click("form[action$='/veroeffentlichen'] button")
        .await;
    assert_eq!(browser.text(".round-state").await, "Veröffentlicht");
    browser.assert_accessible().await;
    let detail = browser.path().await;

    browser.goto(&app.url("/")).await;
    let titles = browser.text("ul.card-list").await;
    assert!(titles.contains("Sonderaufruf Basisdienste"), "{titles}");

    // Closing it asks first, on a page of its own.
    browser.goto(&app.url(&detail)).await;
    browser.click("a[href$='/schliessen']").await;
    assert!(browser.text("h1").await.ends_with("schließen?"));
    browser.assert_accessible().await;
    browser.click("form[action$='/schliessen'] button").await;
    assert_eq!(browser.text(".round-state").await, "Geschlossen");
    browser.close().await;
}

/// Opens the login page and signs in with a demo account.
async fn open_login_and_sign_in(browser: &Browser, app: &TestApp, email: &str) {
    browser.goto(&app.url("/anmelden")).await;
    submit_login(browser, email).await;
}

/// Submits a form that has problems: focus must move to the error summary, and the page with
/// its errors must pass axe too.
async fn submit_expecting_errors(browser: &Browser, button: &str) {
    browser.click(button).await;
    assert!(
        browser.focus_is_on(".error-summary").await,
        "focus did not move to the error summary"
    );
    browser.assert_accessible().await;
}

#[tokio::test]
async fn journey_clerk_files_an_application_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;
    let year = crate::applications::round_year(&app).await;
    let jena: i64 = sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = '16053000'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let jena_clerk = crate::applications::jena_clerk(&app).await;
    let files = std::env::temp_dir().join(format!("fp-journey-{}", std::process::id()));
    std::fs::create_dir_all(&files).unwrap();
    let pdf = files.join("Beschluss Kreistag.pdf");
    std::fs::write(&pdf, crate::applications::PDF).unwrap();
    let png = files.join("Angebot.png");
    std::fs::write(&png, crate::applications::PNG).unwrap();

    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser.click("a[href='/antraege']").await;
    browser.assert_accessible().await;
    browser.click("form[action='/antraege'] button").await;
    assert_eq!(browser.text(".task-list .tag").await, "Nicht begonnen");
    browser.assert_accessible().await;
    let overview = browser.path().await;
    // A draft can be deleted: the confirmation page, then back without deleting.
    browser.click("a[href$='/loeschen']").await;
    browser.assert_accessible().await;
    browser.goto(&app.url(&overview)).await;
    let save = ".button-group button[value=weiter]";

    // 1. Antragsteller, first with a wrong IBAN.
    browser.click(".task-list a[href$='/antragsteller']").await;
    browser.assert_accessible().await;
    browser.fill("#contact_name", "Karla Kommunal").await;
    browser
        .fill("#contact_function", "Sachgebietsleitung IT")
        .await;
    browser.fill("#contact_phone", "03632 741-0").await;
    browser
        .fill("#contact_email", "karla@kyffhaeuser.example")
        .await;
    browser
        .fill("#account_holder", "Landkreis Kyffhäuserkreis")
        .await;
    browser.fill("#iban", "DE89 3704 0044 0532 0130 01").await;
    submit_expecting_errors(&browser, save).await;
    browser.fill("#iban", "DE89 3704 0044 0532 0130 00").await;
    browser.click(save).await;

    // 2. Vorhaben, with the dates in the wrong order first.
    assert!(browser.path().await.ends_with("/vorhaben"));
    browser.assert_accessible().await;
    browser
        .fill("#title", "Digitales Bürgerbüro <b>Kyffhäuser</b>")
        .await;
    browser.check("#category").await;
    browser
        .fill("#summary", "Termine und Anträge online.")
        .await;
    // The script counts down while typing; without it the limit is still stated.
    assert_eq!(
        browser.text("#summary-limit").await,
        "Noch 973 von 1.000 Zeichen."
    );
    browser
        .fill(
            "#description",
            "Wir führen einen Terminservice ein.\nUnd digitale Anträge.",
        )
        .await;
    browser.fill("#goals", "Kürzere Wege.").await;
    // The project runs from June of the round's year to May of the next.
    let next_year = year.parse::<i32>().unwrap() + 1;
    browser
        .set_value("#start_date", &format!("{year}-06-01"))
        .await;
    browser
        .set_value("#end_date", &format!("{year}-05-01"))
        .await;
    browser.check("#started").await;
    submit_expecting_errors(&browser, save).await;
    browser
        .set_value("#end_date", &format!("{next_year}-05-31"))
        .await;
    browser.click(save).await;

    // 3. Verbund: Jena as partner.
    assert!(browser.path().await.ends_with("/verbund"));
    browser.select("#partner_id", &jena.to_string()).await;
    browser.click("button[value='partner-hinzufuegen']").await;
    assert!(browser.text(".partner-list").await.contains("Jena"));
    browser.assert_accessible().await;
    browser
        .fill("#reuse", "Alle Landkreise können den Dienst übernehmen.")
        .await;
    browser.fill("#licence", "EUPL-1.2").await;
    browser.click(save).await;

    // 4. Kosten: a second row, added without JavaScript, first without its year and with an
    // unbalanced plan; the years to choose are those of the project.
    assert!(browser.path().await.ends_with("/kosten"));
    browser.assert_accessible().await;
    browser.select("#cost-0-kind", "software").await;
    browser.fill("#cost-0-description", "Lizenzen").await;
    browser.select("#cost-0-year", &year).await;
    browser.fill("#cost-0-amount", "100.000,00").await;
    browser.click("button[value='zeile-hinzufuegen']").await;
    browser.select("#cost-1-kind", "training").await;
    browser.fill("#cost-1-description", "Schulung").await;
    browser.fill("#cost-1-amount", "5.000").await;
    browser.select("#cost-1-eligible", "nein").await;
    browser.fill("#own_share", "20.000").await;
    browser.fill("#grant", "80.000").await;
    let live = browser.text(".live-totals").await;
    assert!(
        live.contains("Gesamtkosten 105.000,00") && live.contains("nicht ausgeglichen"),
        "{live}"
    );
    submit_expecting_errors(&browser, save).await;
    assert!(
        browser
            .text("#cost-1-year-error")
            .await
            .contains("Kostenposition 2"),
        "the error names its row"
    );
    browser.select("#cost-1-year", &next_year.to_string()).await;
    browser.fill("#own_share", "25.000").await;
    browser.click(save).await;

    // 5. Anlagen: the two required documents.
    assert!(browser.path().await.ends_with("/anlagen"));
    browser.assert_accessible().await;
    let inputs = crate::applications::document_ids(&app).await;
    for (document, file) in inputs.iter().zip([&pdf, &png]) {
        let input = format!("#document-{document}");
        browser.choose_file(&input, file.to_str().unwrap()).await;
        browser
            .click(&format!("section:has({input}) form[enctype] button"))
            .await;
    }
    assert_eq!(
        browser.text(".notice").await,
        "Hinweis: „Angebot.png“ ist hochgeladen."
    );
    browser.assert_accessible().await;
    browser.click("a.button").await;

    // 6. Erklärungen: the project had started, so early start is asked for.
    assert!(browser.path().await.ends_with("/erklaerungen"));
    browser.assert_accessible().await;
    browser.check("#start_status-early_start").await;
    browser.check("#vat").await;
    browser.check("#budget_cover").await;
    browser.check("#correct").await;
    browser.check("#privacy").await;
    browser.click(save).await;
    assert_eq!(browser.path().await, overview);
    browser.assert_accessible().await;

    // Check answers: the partner has not confirmed yet.
    browser.click("a[href$='/pruefen']").await;
    assert!(
        browser
            .text(".error-summary")
            .await
            .contains("Jena hat die Teilnahme noch nicht bestätigt.")
    );
    browser.assert_accessible().await;
    // Question, answer and its change link stand on one row.
    let row = "dl.summary-list.with-actions > div:first-child";
    assert_eq!(
        browser.top_of(&format!("{row} dt")).await,
        browser.top_of(&format!("{row} dd.change")).await
    );
    let id = overview.rsplit('/').next().unwrap();
    let confirmed = jena_clerk
        .submit(
            &format!("/antraege/{id}"),
            "form[action$='/teilnahme']",
            &[],
        )
        .await;
    assert_eq!(confirmed.status, reqwest::StatusCode::SEE_OTHER);

    browser
        .goto(&app.url(&format!("/antraege/{id}/pruefen")))
        .await;
    assert!(
        browser
            .text("main")
            .await
            .contains("Digitales Bürgerbüro <b>Kyffhäuser</b>")
    );
    browser.assert_accessible().await;
    // A change link comes back to the check page.
    browser
        .click("a[href*='/vorhaben?zurueck=pruefen#goals']")
        .await;
    browser.fill("#goals", "Kürzere Wege für alle.").await;
    browser.click(save).await;
    assert!(browser.path().await.ends_with("/pruefen"));
    browser.click("form[action$='/einreichen'] button").await;
    assert!(browser.path().await.ends_with("/bestaetigung"));
    let reference = browser.text(".reference").await;
    assert!(reference.starts_with("EGOV-"), "{reference}");
    browser.assert_accessible().await;

    browser.goto(&app.url(&overview)).await;
    let timeline = browser.text(".timeline").await;
    assert!(timeline.contains("Antrag eingereicht"), "{timeline}");
    assert!(timeline.contains("Teilnahme bestätigt"), "{timeline}");
    browser.assert_accessible().await;
    // An empty message to the ministry: the error beside the field passes axe too.
    browser.click("form[action$='/nachrichten'] button").await;
    assert!(
        browser
            .text("#body-error")
            .await
            .contains("Bitte schreiben Sie")
    );
    browser.assert_accessible().await;
    browser
        .goto(&app.url(&format!("/antraege/{id}/druck")))
        .await;
    browser.assert_accessible().await;
    browser
        .goto(&app.url(&format!("/antraege/{id}/zurueckziehen")))
        .await;
    browser.assert_accessible().await;

    // The receipt reached the clerk through real SMTP.
    let mails = sink.wait_for(2).await;
    let receipt = mails
        .iter()
        .find(|m| {
            m.rcpt_to
                .iter()
                .any(|r| r == "kommune@demo.foerderportal.example")
        })
        .expect("a receipt to the clerk");
    let parsed = mail_parser::MessageParser::default()
        .parse(receipt.data.as_bytes())
        .unwrap();
    assert_eq!(
        parsed.subject(),
        Some(
            format!("Eingangsbestätigung: {reference} – Digitales Bürgerbüro <b>Kyffhäuser</b>")
                .as_str()
        )
    );
    assert!(parsed.body_text(0).unwrap().contains(&reference));
    let _ = std::fs::remove_dir_all(&files);
    browser.close().await;
}

/// Subjects of the messages the sink has received, decoded.
fn subjects(mails: &[crate::common::smtp::Received]) -> Vec<String> {
    mails
        .iter()
        .map(|m| {
            mail_parser::MessageParser::default()
                .parse(m.data.as_bytes())
                .and_then(|p| p.subject().map(str::to_string))
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test]
async fn journey_two_reviewers_decide_and_the_municipality_gets_its_notice_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;
    let hash = foerderportal::accounts::password::Hasher::new()
        .hash(DEMO_PASSWORD.into())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO users (email, display_name, roles, password_hash)
         VALUES ('zweitpruefung@tfm.example', 'Paula Zweitprüferin', '{reviewer}', $1)",
    )
    .bind(hash)
    .execute(&app.pool)
    .await
    .unwrap();
    let clerk_http = app.sign_in_as(foerderportal::accounts::Role::Clerk).await;
    let id = crate::applications::complete_application(&app, &clerk_http).await;
    let sign_out = "form[action='/abmelden'] button";

    // The clerk submits.
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser
        .goto(&app.url(&format!("/antraege/{id}/pruefen")))
        .await;
    browser.click("form[action$='/einreichen'] button").await;
    let reference = browser.text(".reference").await;
    assert_eq!(
        subjects(&sink.wait_for(1).await)[0],
        format!("Eingangsbestätigung: {reference} – Digitales Bürgerbüro")
    );
    browser.click(sign_out).await;

    // Reviewer A takes the case, assesses it and asks for more.
    open_login_and_sign_in(&browser, &app, "pruefung@demo.foerderportal.example").await;
    browser.click("a[href='/pruefung']").await;
    browser.assert_accessible().await;
    browser
        .click(&format!("a[href='/pruefung/antraege/{id}']"))
        .await;
    browser.assert_accessible().await;
    // The actions are on the case's Prüfung sub-page.
    browser.click("nav.sub-nav a[href$='/pruefung']").await;
    browser.assert_accessible().await;
    browser
        .click("form[action$='/zuweisen'] input[value='me'] ~ button")
        .await;
    browser
        .click("form[action$='/pruefung-beginnen'] button")
        .await;
    browser.check("#eligible_applicant-ok").await;
    browser.check("#costs_plausible-not_ok").await;
    browser
        .fill("#costs_plausible-note", "Angebote fehlen")
        .await;
    browser.click("form[action$='/pruefvermerk'] button").await;
    browser.assert_accessible().await;
    submit_expecting_errors(&browser, "form[action$='/nachforderung'] button").await;
    browser
        .fill("#message", "Bitte legen Sie Angebote vor.")
        .await;
    browser.check("#section-kosten").await;
    let deadline = (jiff::Zoned::now().date() + jiff::ToSpan::days(14)).to_string();
    browser.set_value("#deadline", &deadline).await;
    browser.click("form[action$='/nachforderung'] button").await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("Nachforderung ist gestellt")
    );
    assert_eq!(
        subjects(&sink.wait_for(2).await)[1],
        format!("Nachforderung zu Ihrem Antrag {reference}")
    );
    browser.click(sign_out).await;

    // The clerk amends the cost plan and resubmits.
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser.goto(&app.url(&format!("/antraege/{id}"))).await;
    assert!(
        browser
            .text("main")
            .await
            .contains("Bitte legen Sie Angebote vor.")
    );
    browser.assert_accessible().await;
    browser.click(".task-list a[href$='/kosten']").await;
    browser
        .fill("#cost-0-description", "Lizenzen laut Angebot vom 01.12.")
        .await;
    browser.click(".button-group button[value=weiter]").await;
    browser
        .goto(&app.url(&format!("/antraege/{id}/pruefen")))
        .await;
    browser.assert_accessible().await;
    browser.click("form[action$='/einreichen'] button").await;
    assert!(
        browser
            .text("h1")
            .await
            .contains("Ergänzter Antrag eingereicht")
    );
    let after_resubmit = subjects(&sink.wait_for(4).await);
    assert!(
        after_resubmit.contains(&format!(
            "Antrag {reference} wurde nach Nachforderung erneut eingereicht"
        )),
        "{after_resubmit:?}"
    );
    browser.click(sign_out).await;

    // Reviewer A sees what changed, notes it and proposes approval.
    open_login_and_sign_in(&browser, &app, "pruefung@demo.foerderportal.example").await;
    browser
        .goto(&app.url(&format!("/pruefung/antraege/{id}")))
        .await;
    assert!(
        browser
            .text("main")
            .await
            .contains("Lizenzen laut Angebot vom 01.12.")
    );
    browser.assert_accessible().await;
    // The dossier says it was changed and links to the changes in the Verlauf.
    browser
        .click("main .notice a[href*='/verlauf#fassung-2']")
        .await;
    assert_eq!(
        browser.path().await,
        format!("/pruefung/antraege/{id}/verlauf")
    );
    browser.assert_accessible().await;
    browser.click("nav.sub-nav a[href$='/nachrichten']").await;
    browser.assert_accessible().await;
    submit_expecting_errors(&browser, "form[action$='/notizen'] button").await;
    browser.fill("#body", "Angebote liegen vor.").await;
    browser.click("form[action$='/notizen'] button").await;
    browser.assert_accessible().await;
    browser.click("nav.sub-nav a[href$='/entscheidung']").await;
    browser.assert_accessible().await;
    browser.check("#outcome").await;
    browser.click("form[action$='/entscheidung'] button").await;
    browser.assert_accessible().await;
    browser.click(sign_out).await;

    // Reviewer B confirms; the notice is issued.
    open_login_and_sign_in(&browser, &app, "zweitpruefung@tfm.example").await;
    browser.goto(&app.url("/pruefung/aufgaben")).await;
    browser.assert_accessible().await;
    browser
        .click(&format!("ul.task-cases a[href='/pruefung/antraege/{id}']"))
        .await;
    browser.assert_accessible().await;
    // The next step at the top leads to the Entscheidung sub-page.
    browser.click(".case-summary .next-step a").await;
    browser.assert_accessible().await;
    browser.click("form[action$='/bestaetigen'] button").await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("Bewilligung ist bestätigt")
    );
    browser.assert_accessible().await;
    browser.goto(&app.url("/pruefung/statistik")).await;
    browser.assert_accessible().await;
    // The dashboard's folded filter: opened, a status chosen, shown as a removable tag.
    browser.goto(&app.url("/pruefung")).await;
    browser.check("details.filter-panel > summary").await;
    browser.select("#status", "approved").await;
    browser
        .click("details.filter-panel button[type=submit]")
        .await;
    assert!(
        browser
            .text(".filter-tags")
            .await
            .contains("Status: Bewilligt")
    );
    assert!(
        browser
            .title()
            .await
            .starts_with("Prüfung der Anträge – Status: Bewilligt")
    );
    browser.assert_accessible().await;
    browser.set_viewport_width(320).await;
    assert!(
        browser.page_scroll_width().await <= 320,
        "no sideways scrolling"
    );
    browser.set_viewport_width(1280).await;
    browser.click(".filter-tags a").await;
    assert_eq!(browser.path().await, "/pruefung");
    let all = subjects(&sink.wait_for(5).await);
    assert!(
        all.contains(&format!("Entscheidung zu Ihrem Antrag {reference}")),
        "{all:?}"
    );
    browser.click(sign_out).await;

    // The clerk sees the decision and downloads the notice.
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser.goto(&app.url(&format!("/antraege/{id}"))).await;
    assert_eq!(browser.text(".tag").await, "Bewilligt");
    browser.assert_accessible().await;
    let pdf = clerk_http
        .get(&format!("/antraege/{id}/bescheid.pdf"))
        .await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.body.starts_with("%PDF-"));
    browser.close().await;
}

#[tokio::test]
async fn conflict_partner_and_rule_change_pages_pass_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(foerderportal::accounts::Role::Clerk).await;
    let draft = crate::applications::start(&clerk).await;
    let year = crate::applications::round_year(&app).await;
    crate::applications::save(
        &clerk,
        draft,
        "vorhaben",
        &crate::applications::project(&year),
    )
    .await;

    // Two clerks on one section: the second save shows both versions.
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser
        .goto(&app.url(&format!("/antraege/{draft}/vorhaben")))
        .await;
    let mut newer = crate::applications::project(&year);
    newer[0].1 = "Titel der Kollegin".into();
    crate::applications::save(&clerk, draft, "vorhaben", &newer).await;
    browser.fill("#title", "Karlas Titel").await;
    browser.click(".button-group button[value=weiter]").await;
    assert!(
        browser
            .text(".notice-warning h2")
            .await
            .contains("inzwischen geändert")
    );
    browser.assert_accessible().await;

    // A partner municipality reads the application and is asked to confirm.
    let jena: i64 = sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = '16053000'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    crate::applications::jena_clerk(&app).await;
    clerk
        .submit(
            &format!("/antraege/{draft}/verbund"),
            &crate::applications::section_form("verbund"),
            &[
                ("partner_id", &jena.to_string()),
                ("action", "partner-hinzufuegen"),
            ],
        )
        .await;
    browser.click("form[action='/abmelden'] button").await;
    open_login_and_sign_in(&browser, &app, "kommune@jena.example").await;
    browser.goto(&app.url(&format!("/antraege/{draft}"))).await;
    assert!(browser.text("main").await.contains("Teilnahme bestätigen"));
    browser.assert_accessible().await;
    browser.click("form[action='/abmelden'] button").await;

    // A round change that would put a submitted application outside the rules.
    let submitted = crate::applications::complete_application(&app, &clerk).await;
    crate::applications::submit(&clerk, submitted).await;
    let round: i64 = sqlx::query_scalar("SELECT id FROM rounds LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    open_login_and_sign_in(&browser, &app, "admin@demo.foerderportal.example").await;
    browser
        .goto(&app.url(&format!("/admin/foerderaufrufe/{round}")))
        .await;
    browser.fill("#max_rate", "50").await;
    browser.click("form.stack button[type=submit]").await;
    assert!(
        browser
            .text(".notice-warning h2")
            .await
            .contains("Eingereichte Anträge betroffen")
    );
    browser.assert_accessible().await;
    browser.close().await;
}

#[tokio::test]
async fn journey_a_grant_is_requested_checked_ordered_and_paid_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;
    let id = crate::payouts::approved_grant(&app, foerderportal::money::Cents::from_euros(100_000))
        .await;
    let receipt = sink.wait_for(1).await;
    let sign_out = "form[action='/abmelden'] button";
    let due = (jiff::Zoned::now().date() + jiff::ToSpan::days(20)).to_string();

    // The clerk finds the payouts on the approved application; the retained tenth cannot be
    // requested; 50.000 € can.
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser.goto(&app.url(&format!("/antraege/{id}"))).await;
    browser
        .click(&format!("a[href='/antraege/{id}/auszahlungen']"))
        .await;
    browser.assert_accessible().await;
    assert_eq!(
        browser.text("table.balance tbody tr:last-child td").await,
        "90.000,00 €"
    );
    browser.click("a[href$='/auszahlungen/neu']").await;
    browser.assert_accessible().await;
    browser.fill("#purpose-1", "Lizenzen Terminservice").await;
    browser
        .fill("#payee-1", "Softwarehaus Nordthüringen GmbH")
        .await;
    browser.set_value("#due_on-1", &due).await;
    browser.fill("#item_amount-1", "90.000,01").await;
    browser.fill("#amount", "90.000,01").await;
    browser.check("#declaration").await;
    submit_expecting_errors(
        &browser,
        "form[action$='/auszahlungen'] button[type=submit]",
    )
    .await;
    assert!(
        browser
            .text("#amount-error")
            .await
            .contains("Verwendungsnachweis")
    );
    browser.fill("#item_amount-1", "30.000,00").await;
    browser.fill("#purpose-2", "Schulung").await;
    browser.fill("#payee-2", "Kommunale Akademie").await;
    browser.set_value("#due_on-2", &due).await;
    browser.fill("#item_amount-2", "20.000,00").await;
    browser.fill("#amount", "50.000,00").await;
    browser
        .click("form[action$='/auszahlungen'] button[type=submit]")
        .await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("Mittelabruf ist eingereicht")
    );
    browser.assert_accessible().await;
    let request = browser.path().await;
    let payout: i64 = request.rsplit('/').next().unwrap().parse().unwrap();
    browser.click(sign_out).await;

    // Reviewer A finds it correct.
    open_login_and_sign_in(&browser, &app, "pruefung@demo.foerderportal.example").await;
    browser.goto(&app.url("/pruefung")).await;
    browser.click("a[href='/pruefung/mittelabrufe']").await;
    browser.assert_accessible().await;
    browser
        .click(&format!("a[href='/pruefung/mittelabrufe/{payout}']"))
        .await;
    browser.assert_accessible().await;
    browser.fill("#approved", "0").await;
    submit_expecting_errors(&browser, "form[action$='/pruefen'] button").await;
    browser.fill("#approved", "50.000,00").await;
    browser.click("form[action$='/pruefen'] button").await;
    assert!(
        browser
            .text(".notice-info")
            .await
            .contains("Vier-Augen-Prinzip")
    );
    browser.assert_accessible().await;
    browser.click(sign_out).await;

    // The admin enters the account the cash office pays from.
    open_login_and_sign_in(&browser, &app, "admin@demo.foerderportal.example").await;
    browser.goto(&app.url("/admin/programm")).await;
    browser
        .fill("#debtor_iban", "DE25 8205 0000 3004 4440 41")
        .await;
    submit_expecting_errors(&browser, "form[action$='/auszahlungskonto'] button").await;
    browser
        .fill("#debtor_iban", "DE25 8205 0000 3004 4440 40")
        .await;
    browser
        .click("form[action$='/auszahlungskonto'] button")
        .await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("Auszahlungskonto ist gespeichert")
    );
    browser.click(sign_out).await;

    // Reviewer B orders the payment, builds the run, and books it once the cash office paid.
    open_login_and_sign_in(&browser, &app, "zweitpruefung@demo.foerderportal.example").await;
    browser
        .goto(&app.url(&format!("/pruefung/mittelabrufe/{payout}")))
        .await;
    browser.assert_accessible().await;
    browser.click("form[action$='/anordnen'] button").await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("Auszahlung ist angeordnet")
    );
    browser.click("a[href='/pruefung/mittelabrufe']").await;
    browser.click("a[href='/pruefung/zahllaeufe']").await;
    browser.assert_accessible().await;
    browser.set_value("#execution_date", "2020-01-01").await;
    submit_expecting_errors(&browser, "form[action='/pruefung/zahllaeufe'] button").await;
    let day = crate::payouts::a_weekday_after_today();
    browser.set_value("#execution_date", &day).await;
    browser
        .click("form[action='/pruefung/zahllaeufe'] button")
        .await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("Zahllauf ist erstellt")
    );
    browser.assert_accessible().await;
    let run_page = browser.path().await;
    let reviewer = app
        .sign_in_as(foerderportal::accounts::Role::Reviewer)
        .await;
    let file = reviewer.get(&format!("{run_page}/pain001.xml")).await;
    crate::payouts::validate(&file.body).unwrap();
    assert!(
        file.body
            .contains("<InstdAmt Ccy=\"EUR\">50000.00</InstdAmt>")
    );
    browser.click("form[action$='/bezahlt'] button").await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("als bezahlt gebucht")
    );
    browser.assert_accessible().await;
    browser.goto(&app.url("/pruefung/auszahlungen")).await;
    browser.assert_accessible().await;
    // The dashboard's budget now shows the year's payment.
    browser.goto(&app.url("/pruefung")).await;
    assert!(browser.text("main").await.contains("Nach Haushaltsjahr"));
    browser.assert_accessible().await;
    browser.click(sign_out).await;

    // The clerk sees it paid and has had a mail at every step.
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser.goto(&app.url(&request)).await;
    assert_eq!(browser.text("main p .tag").await, "Ausgezahlt");
    browser.assert_accessible().await;
    browser
        .goto(&app.url(&format!("/antraege/{id}/auszahlungen")))
        .await;
    assert_eq!(
        browser.text("table.balance tbody tr:first-child td").await,
        "50.000,00 €"
    );
    assert_eq!(
        browser.text("table.balance tbody tr:last-child td").await,
        "40.000,00 €"
    );
    let mails = subjects(&sink.wait_for(receipt.len() + 5).await);
    let reference = format!("EGOV-{}-0001", jiff::Zoned::now().year());
    assert_eq!(
        mails.last().unwrap(),
        &format!("Mittelabruf 1 zum Antrag {reference}: Ausgezahlt"),
        "{mails:?}"
    );
    browser.close().await;
}

#[tokio::test]
async fn the_split_of_a_grant_by_budget_year_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(foerderportal::accounts::Role::Clerk).await;
    let id = crate::applications::complete_application(&app, &clerk).await;
    crate::applications::submit(&clerk, id).await;
    // The round's budget spans two years; the case is in review.
    sqlx::query(
        "WITH r AS (UPDATE round_budget_years SET budget_cents = 500000000 RETURNING round_id, year)
         INSERT INTO round_budget_years (round_id, year, budget_cents) SELECT round_id, year + 1, 500000000 FROM r",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE applications SET status = 'in_review' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let year: i32 = sqlx::query_scalar("SELECT year FROM rounds LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    open_login_and_sign_in(&browser, &app, "pruefung@demo.foerderportal.example").await;
    browser
        .goto(&app.url(&format!("/pruefung/antraege/{id}/entscheidung")))
        .await;
    browser.assert_accessible().await;
    browser.check("#outcome").await;
    browser.fill(&format!("#year-{year}"), "1,00").await;
    submit_expecting_errors(&browser, "form[action$='/entscheidung'] button").await;
    assert!(
        browser
            .text(&format!("#year-{year}-error"))
            .await
            .contains("ergeben")
    );
    browser.close().await;
}

#[tokio::test]
async fn journey_a_grant_is_extended_proven_and_settled_with_a_repayment_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;
    // Approved (80.000 € for 100.000 € eligible costs), 76.000 € paid 100 days ago.
    let id = crate::proofs::paid_grant(&app, 76_000, 100).await;
    let before = sink.wait_for(1).await.len();
    let sign_out = "form[action='/abmelden'] button";
    let end: time::Date = sqlx::query_scalar("SELECT period_end FROM applications WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let new_end = foerderportal::locale::day(end + time::Duration::days(90));

    // The clerk asks for a longer period.
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser.goto(&app.url(&format!("/antraege/{id}"))).await;
    browser
        .click(&format!("a[href='/antraege/{id}/aenderungen']"))
        .await;
    browser.assert_accessible().await;
    browser.click("a[href$='/aenderungen/neu']").await;
    browser.assert_accessible().await;
    browser.fill("#period_end", "31.02.2028").await;
    browser
        .fill("#reason", "Der Anbieter liefert drei Monate später.")
        .await;
    submit_expecting_errors(&browser, "form[action$='/aenderungen'] button[type=submit]").await;
    browser.assert_accessible().await;
    browser.fill("#period_end", &new_end).await;
    browser
        .click("form[action$='/aenderungen'] button[type=submit]")
        .await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("Änderungsantrag ist eingereicht")
    );
    browser.assert_accessible().await;
    let amendment: i64 = sqlx::query_scalar("SELECT id FROM amendments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    browser.click(sign_out).await;

    // Two reviewers decide it.
    open_login_and_sign_in(&browser, &app, "pruefung@demo.foerderportal.example").await;
    browser.goto(&app.url("/pruefung")).await;
    browser.click("a[href='/pruefung/aenderungen']").await;
    browser.assert_accessible().await;
    browser
        .click(&format!("a[href='/pruefung/aenderungen/{amendment}']"))
        .await;
    browser.assert_accessible().await;
    browser.check("#outcome").await;
    browser.click("form[action$='/vorschlag'] button").await;
    assert!(
        browser
            .text(".notice-info")
            .await
            .contains("Vier-Augen-Prinzip")
    );
    browser.assert_accessible().await;
    browser.click(sign_out).await;
    open_login_and_sign_in(&browser, &app, "zweitpruefung@demo.foerderportal.example").await;
    browser
        .goto(&app.url(&format!("/pruefung/aenderungen/{amendment}")))
        .await;
    browser.click("form[action$='/bestaetigen'] button").await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("Änderungsbescheid ist erstellt")
    );
    browser.assert_accessible().await;
    browser.click(sign_out).await;
    let clerk = app.sign_in_as(foerderportal::accounts::Role::Clerk).await;
    let notice = clerk
        .http
        .get(app.url(&format!(
            "/antraege/{id}/aenderungen/{amendment}/bescheid.pdf"
        )))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = crate::review::pdf_text(&notice);
    assert!(
        text.contains("Änderungsbescheid") && text.contains(&new_end),
        "{text}"
    );

    // The clerk proves the use: Sachbericht, an imported Belegliste 10 % below plan,
    // financing, then checks and submits.
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser
        .goto(&app.url(&format!("/antraege/{id}/verwendungsnachweis")))
        .await;
    browser.assert_accessible().await;
    browser
        .click(&format!(
            "a[href='/antraege/{id}/verwendungsnachweis/sachbericht']"
        ))
        .await;
    browser.assert_accessible().await;
    for (field, text) in [
        ("work_done", "Terminservice eingeführt."),
        ("results", "Termine online buchbar."),
        ("deviations", "Lizenzen günstiger."),
        ("reuse_users", "Gemeinde Kyffhäuserland."),
        ("reuse_howto", "Mandantenfähig; IT-Stelle des Landkreises."),
    ] {
        browser.fill(&format!("#{field}"), text).await;
    }
    browser.click("form[action$='/sachbericht'] button").await;
    browser
        .click(&format!(
            "a[href='/antraege/{id}/verwendungsnachweis/belege']"
        ))
        .await;
    browser.assert_accessible().await;
    let csv = std::env::temp_dir().join(format!("fp-belegliste-{}.csv", std::process::id()));
    let day = foerderportal::locale::day(foerderportal::locale::today() - time::Duration::days(20));
    std::fs::write(
        &csv,
        format!("Datum;Empfänger;Verwendungszweck;Kostenposition;Betrag\r\n{day};Softwarehaus GmbH;Lizenzen;1;60.000,00\r\n{day};Softwarehaus GmbH;Einrichtung;1;30.000,00\r\n"),
    )
    .unwrap();
    browser.choose_file("#datei", csv.to_str().unwrap()).await;
    browser.click("form[action$='/import'] button").await;
    assert!(browser.text(".notice").await.contains("2 Belege"));
    browser.assert_accessible().await;
    let _ = std::fs::remove_file(&csv);
    browser
        .goto(&app.url(&format!("/antraege/{id}/verwendungsnachweis/anlagen")))
        .await;
    browser.assert_accessible().await;
    browser
        .goto(&app.url(&format!("/antraege/{id}/verwendungsnachweis/finanzierung")))
        .await;
    browser.assert_accessible().await;
    browser.fill("#own_share", "18.000,00").await;
    browser.check("#procurement").await;
    browser.check("#correct").await;
    browser.click("form[action$='/finanzierung'] button").await;
    browser
        .goto(&app.url(&format!("/antraege/{id}/verwendungsnachweis/pruefen")))
        .await;
    browser.assert_accessible().await;
    browser.click("form[action$='/pruefen'] button").await;
    assert!(browser.text(".notice").await.contains("ist eingereicht"));
    browser.assert_accessible().await;
    browser.click(sign_out).await;

    // The reviewer settles it, a second one confirms.
    let proof: i64 = sqlx::query_scalar("SELECT id FROM proofs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    open_login_and_sign_in(&browser, &app, "pruefung@demo.foerderportal.example").await;
    browser
        .goto(&app.url("/pruefung/verwendungsnachweise"))
        .await;
    browser.assert_accessible().await;
    browser
        .click(&format!("a[href='/pruefung/verwendungsnachweise/{proof}']"))
        .await;
    browser.assert_accessible().await;
    submit_expecting_errors(&browser, "form[action$='/abrechnung'] button").await;
    browser.assert_accessible().await;
    for (field, _) in foerderportal::proofs::db::CHECKLIST {
        browser.check(&format!("#{field}")).await;
    }
    browser.click("form[action$='/abrechnung'] button").await;
    assert!(
        browser
            .text(".notice-info")
            .await
            .contains("Vier-Augen-Prinzip")
    );
    browser.assert_accessible().await;
    browser.click(sign_out).await;
    open_login_and_sign_in(&browser, &app, "zweitpruefung@demo.foerderportal.example").await;
    browser
        .goto(&app.url(&format!("/pruefung/verwendungsnachweise/{proof}")))
        .await;
    browser.click("form[action$='/bestaetigen'] button").await;
    assert!(
        browser
            .text(".notice")
            .await
            .contains("Schlussbescheid ist erstellt")
    );
    browser.assert_accessible().await;
    browser.click(sign_out).await;

    // The clerk reads the Schlussbescheid: 72.000 € final, 4.000 € back with 87,67 € interest
    // (8 % a year for 100 days; see proofs::costs_ten_percent_below_plan…).
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser
        .goto(&app.url(&format!("/antraege/{id}/verwendungsnachweis")))
        .await;
    browser.assert_accessible().await;
    assert!(browser.text("table.balance").await.contains("4.000,00 €"));
    let pdf = clerk
        .http
        .get(app.url(&format!("/antraege/{id}/schlussbescheid.pdf")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = crate::review::pdf_text(&pdf);
    for expected in ["Schlussbescheid", "72.000,00 €", "87,67 €", "4.087,67 €"] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }
    let reference = format!("EGOV-{}-0001", jiff::Zoned::now().year());
    let mails = subjects(&sink.wait_for(before + 6).await);
    for expected in [
        format!("Änderungsantrag 1 zum Antrag {reference}: In Prüfung"),
        format!("Änderungsantrag 1 zum Antrag {reference}: Genehmigt"),
        format!("Verwendungsnachweis zum Antrag {reference}: Eingereicht"),
        format!("Verwendungsnachweis zum Antrag {reference}: Abgerechnet"),
    ] {
        assert!(mails.contains(&expected), "{expected:?} not in {mails:?}");
    }
    browser.close().await;
}

#[tokio::test]
async fn journey_a_visitor_finds_a_solution_in_the_catalogue_and_asks_for_it_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;
    crate::catalogue::lived_in(&app).await;

    browser.goto(&app.url("/nachnutzung")).await;
    browser.assert_accessible().await;
    browser.fill("#suche", "Rechnungen").await;
    browser.click("form.filter-form .search-row button").await;
    assert!(browser.title().await.contains("Suche „Rechnungen“"));
    browser.assert_accessible().await;
    browser.set_viewport_width(320).await;
    assert!(
        browser.page_scroll_width().await <= 320,
        "no sideways scrolling"
    );
    browser.set_viewport_width(1280).await;
    browser.click(".catalogue-list h3 a").await;
    assert!(
        browser
            .title()
            .await
            .starts_with("E-Rechnung im Rechnungseingang")
    );
    browser.assert_accessible().await;
    submit_expecting_errors(&browser, "form[action$='/anfrage'] button").await;
    browser.fill("#name", "Team Digitalisierung").await;
    browser.fill("#municipality", "Stadt Arnstadt").await;
    browser.fill("#email", "digital@arnstadt.example").await;
    browser
        .fill("#message", "Wir möchten den Rechnungseingang übernehmen.")
        .await;
    browser.click("form[action$='/anfrage'] button").await;
    assert!(browser.text(".notice").await.contains("weitergeleitet"));
    browser.assert_accessible().await;
    let mail = sink
        .wait_for_mail_to("digital.16052000@kommune.example")
        .await;
    assert!(
        mail.data.contains("Anfrage zur Nachnutzung"),
        "{}",
        mail.data
    );
    browser.goto(&app.url("/offene-daten")).await;
    browser.assert_accessible().await;
    // The transparency figures, linked from the open data: the programme's, then a round's.
    browser.click("main a[href='/statistik']").await;
    assert!(browser.title().await.starts_with("Statistik"));
    browser.assert_accessible().await;
    browser.click(".round-links a[href^='/statistik/']").await;
    browser.assert_accessible().await;
    browser.set_viewport_width(320).await;
    assert!(
        browser.page_scroll_width().await <= 320,
        "no sideways scrolling on the statistics"
    );
    browser.set_viewport_width(1280).await;

    // The owner's side: the consent page, with an error, and the request received.
    open_login_and_sign_in(
        &browser,
        &app,
        "kommune.16052000@demo.foerderportal.example",
    )
    .await;
    let id: i64 = sqlx::query_scalar(
        "SELECT id FROM applications WHERE title = 'E-Rechnung im Rechnungseingang'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    browser
        .goto(&app.url(&format!("/antraege/{id}/katalog")))
        .await;
    assert!(browser.text("ol.messages").await.contains("Stadt Arnstadt"));
    browser.assert_accessible().await;
    browser.fill("#mailbox", "kein Postfach").await;
    submit_expecting_errors(
        &browser,
        "form[action$='/katalog'] button[value=veroeffentlichen]",
    )
    .await;
}

/// The page passes axe at 1280 px and at 320 px, where it does not scroll sideways.
async fn accessible_wide_and_narrow(browser: &Browser, what: &str) {
    browser.set_viewport_width(1280).await;
    browser.assert_accessible().await;
    browser.set_viewport_width(320).await;
    let width = browser.page_scroll_width().await;
    assert!(
        width <= 320,
        "{what} scrolls sideways at 320 px ({width} px wide)"
    );
    browser.assert_accessible().await;
    browser.set_viewport_width(1280).await;
}

#[tokio::test]
async fn the_cost_plan_and_the_change_form_pass_axe_with_errors_wide_and_narrow() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(foerderportal::accounts::Role::Clerk).await;
    let year = crate::applications::round_year(&app).await;
    let draft = crate::applications::start(&clerk).await;
    crate::applications::save(
        &clerk,
        draft,
        "vorhaben",
        &crate::applications::project(&year),
    )
    .await;
    // Three rows, one with an amount that cannot be read and one without a year.
    let mut plan = crate::applications::costs(&year);
    plan.extend([
        ("cost-1-kind", "training".to_string()),
        ("cost-1-description", "Schulung".to_string()),
        ("cost-1-year", year.clone()),
        ("cost-1-amount", "zehn".to_string()),
        ("cost-1-eligible", "ja".to_string()),
        ("cost-2-kind", "services".to_string()),
        ("cost-2-description", "Beratung".to_string()),
        ("cost-2-amount", "5.000".to_string()),
        ("cost-2-eligible", "nein".to_string()),
    ]);
    crate::applications::save(&clerk, draft, "kosten", &plan).await;

    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser
        .goto(&app.url(&format!("/antraege/{draft}/kosten")))
        .await;
    assert!(
        browser
            .text("#cost-1-amount-error")
            .await
            .contains("Kostenposition 2")
    );
    assert!(
        browser
            .text("#cost-2-year-error")
            .await
            .contains("Kostenposition 3")
    );
    accessible_wide_and_narrow(&browser, "the cost plan with errors").await;

    // The Änderungsantrag's plan, with an amount that cannot be read.
    let grant =
        crate::payouts::approved_grant(&app, foerderportal::money::Cents::from_euros(80_000)).await;
    browser
        .goto(&app.url(&format!("/antraege/{grant}/aenderungen/neu")))
        .await;
    accessible_wide_and_narrow(&browser, "the change form").await;
    browser.fill("#cost-0-amount", "zehn").await;
    browser.fill("#reason", "Lieferverzug").await;
    submit_expecting_errors(&browser, "form[action$='/aenderungen'] button.button").await;
    accessible_wide_and_narrow(&browser, "the change form with errors").await;
    browser.close().await;
}

/// Issue 17's journey: an outline is consulted with the ministry and finds a partner, becomes
/// an application with that partner, is approved, and once published a visitor's request for
/// reuse reaches the project's mailbox. Every new page passes axe; mail goes through SMTP.
#[tokio::test]
async fn journey_an_outline_finds_a_partner_becomes_a_grant_and_is_reused_passes_axe() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;
    let year = crate::applications::round_year(&app).await;
    let sign_out = "form[action='/abmelden'] button";
    let title = "Gemeinsames Bürgerkonto für den Nordthüringer Raum";

    // The Kyffhäuserkreis writes an outline and asks for partners and the ministry's view.
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    browser.goto(&app.url("/skizzen")).await;
    browser.assert_accessible().await;
    browser.click("a[href='/skizzen/neu']").await;
    submit_expecting_errors(&browser, "form[action='/skizzen/neu'] button").await;
    browser.fill("#title", title).await;
    browser
        .fill(
            "#goal",
            "Ein Bürgerkonto für alle Onlinedienste der Kreisverwaltung.",
        )
        .await;
    browser.select("#category", "2c").await;
    browser.fill("#estimated_cost", "150.000").await;
    browser
        .set_value("#planned_start", &format!("{year}-04-01"))
        .await;
    browser.check("#partners_wanted-ja").await;
    browser
        .fill(
            "#partners_for",
            "Gemeinsamer Betrieb und gemeinsame Ausschreibung.",
        )
        .await;
    browser.click("form[action='/skizzen/neu'] button").await;
    assert!(browser.title().await.contains(title));
    accessible_wide_and_narrow(&browser, "the outline").await;
    browser
        .fill(
            "#message",
            "Ist das Bürgerkonto als Basisdienst (2c) förderfähig?",
        )
        .await;
    browser.click("form[action$='/nachrichten'] button").await;
    browser.click("#partnersuche").await;
    assert!(browser.text(".notice").await.contains("Partnersuche"));
    browser.click(sign_out).await;
    let asked = sink
        .wait_for_mail_to("pruefung@demo.foerderportal.example")
        .await;
    assert!(asked.data.contains("Bitte um Abstimmung"), "{}", asked.data);

    // The ministry answers and agrees.
    open_login_and_sign_in(&browser, &app, "pruefung@demo.foerderportal.example").await;
    browser.goto(&app.url("/pruefung/skizzen")).await;
    accessible_wide_and_narrow(&browser, "the outlines to consult").await;
    browser.click("ul[aria-labelledby='offen'] h3 a").await;
    browser.assert_accessible().await;
    submit_expecting_errors(&browser, "form[action$='/nachrichten'] button").await;
    browser
        .fill(
            "#message",
            "Ja, als Basisdienst. Bitte binden Sie Partner ein.",
        )
        .await;
    browser.click("form[action$='/nachrichten'] button").await;
    browser.click("#abgestimmt").await;
    assert!(browser.text(".notice").await.contains("abgestimmt"));
    accessible_wide_and_narrow(&browser, "the consulted outline").await;
    browser.click(sign_out).await;
    let answer = sink
        .wait_for_mail_to("kommune@demo.foerderportal.example")
        .await;
    assert!(answer.data.contains("Partner ein"), "{}", answer.data);

    // Jena finds it in the partner search and expresses interest.
    drop(crate::applications::jena_clerk(&app).await);
    open_login_and_sign_in(&browser, &app, "kommune@jena.example").await;
    browser.goto(&app.url("/partnersuche")).await;
    browser.fill("#suche", "Bürgerkonto").await;
    browser.click("form.filter-form .search-row button").await;
    accessible_wide_and_narrow(&browser, "the partner search").await;
    browser.click(".card h3 a").await;
    browser.assert_accessible().await;
    submit_expecting_errors(&browser, "form[action$='/interesse'] button").await;
    browser
        .fill(
            "#message",
            "Jena betreibt ein Bürgerkonto und teilt gern die Erfahrung.",
        )
        .await;
    browser.click("form[action$='/interesse'] button").await;
    accessible_wide_and_narrow(&browser, "the interest expressed").await;
    browser.click(sign_out).await;

    // The owner accepts and makes the application; Jena confirms its part.
    open_login_and_sign_in(&browser, &app, "kommune@demo.foerderportal.example").await;
    let outline: i64 = sqlx::query_scalar("SELECT id FROM outlines")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    browser.goto(&app.url(&format!("/skizzen/{outline}"))).await;
    assert!(browser.text("#interessen + ul").await.contains("Jena"));
    browser.click("form[action$='/annehmen'] button").await;
    browser.click("form[action$='/antrag'] button").await;
    assert!(browser.path().await.starts_with("/antraege/"));
    let id: i64 = browser
        .path()
        .await
        .trim_start_matches("/antraege/")
        .parse()
        .unwrap();
    browser.assert_accessible().await;
    browser.click(sign_out).await;
    open_login_and_sign_in(&browser, &app, "kommune@jena.example").await;
    browser.goto(&app.url(&format!("/antraege/{id}"))).await;
    browser.click("form[action$='/teilnahme'] button").await;
    browser.click(sign_out).await;

    // The rest of the application and the four-eyes approval, as the other tests do them.
    let clerk = app.sign_in_as(Role::Clerk).await;
    crate::applications::complete_sections(&app, &clerk, id).await;
    let mut project = crate::applications::project(&year);
    project.retain(|(k, _)| *k != "title");
    project.push(("title", title.into()));
    crate::applications::save(&clerk, id, "vorhaben", &project).await;
    assert_eq!(
        crate::applications::submit(&clerk, id).await.status,
        StatusCode::SEE_OTHER
    );
    let first = app.sign_in_as(Role::Reviewer).await;
    let case = format!("/pruefung/antraege/{id}");
    first
        .submit(
            &format!("{case}/pruefung"),
            "form[action$='/pruefung-beginnen']",
            &[],
        )
        .await;
    let proposed = first
        .submit(
            &format!("{case}/entscheidung"),
            "form[action$='/entscheidung']",
            &[("outcome", "approve"), ("granted", "80.000")],
        )
        .await;
    assert_eq!(proposed.status, StatusCode::SEE_OTHER, "{}", proposed.body);
    let second = crate::review::second_reviewer(&app).await;
    second
        .post_with_token(&format!("{case}/entscheidung/bestaetigen"), &[])
        .await;
    assert_eq!(crate::applications::status_of(&app, id).await, "approved");
    let published = clerk
        .submit(
            &format!("/antraege/{id}/katalog"),
            "form[action$='/katalog']",
            &[
                (
                    "reuse",
                    "Das Bürgerkonto steht allen Thüringer Kommunen offen.",
                ),
                ("mailbox", "buergerkonto@kyffhaeuser.example"),
                ("action", "veroeffentlichen"),
            ],
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );

    // A visitor finds it in the public catalogue, with its partner, and asks for it.
    browser.goto(&app.url("/nachnutzung")).await;
    browser.click(".catalogue-list h3 a").await;
    assert!(browser.title().await.starts_with(title));
    assert!(browser.text("dl.summary-list").await.contains("Jena"));
    browser.fill("#name", "Team Digitalisierung").await;
    browser.fill("#municipality", "Stadt Arnstadt").await;
    browser.fill("#email", "digital@arnstadt.example").await;
    browser
        .fill("#message", "Wir möchten das Bürgerkonto nachnutzen.")
        .await;
    browser.click("form[action$='/anfrage'] button").await;
    let request = sink
        .wait_for_mail_to("buergerkonto@kyffhaeuser.example")
        .await;
    assert!(
        request
            .data
            .contains("Antworten Sie bitte direkt an: digital@arnstadt.example"),
        "{}",
        request.data
    );
    browser.close().await;
}
