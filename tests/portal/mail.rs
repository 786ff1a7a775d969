//! E-mail through the outbox: real SMTP exchanges, outages, concurrent workers, crashes,
//! rollbacks, header injection, retention and the admin's Postausgang.

use std::collections::HashSet;
use std::time::Duration;

use foerderportal::accounts::Role;
use foerderportal::config::{Config, MailSettings};
use foerderportal::mail::messages::{DeadlineReminder, SubmissionReceipt};
use foerderportal::mail::{Mailer, Message, Outbox, Recipient, Worker, outbox, worker};
use mail_parser::{MessageParser, MimeHeaders};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::common::relay::{Relay, Target};
use crate::common::smtp::{SmtpSink, unused_port, url_for_port};
use crate::common::{TestApp, fresh_database};

async fn pool() -> PgPool {
    let (options, _) = fresh_database().await;
    PgPool::connect_with(options).await.unwrap()
}

fn settings() -> MailSettings {
    MailSettings {
        retry_base: Duration::from_millis(200),
        retry_max: Duration::from_secs(1),
        ..MailSettings::default()
    }
}

fn mailer(smtp_url: String) -> Mailer {
    let mut config = Config::local_defaults();
    config.smtp_url = Some(smtp_url.into());
    Mailer::from_config(&config).unwrap()
}

pub fn receipt(n: usize) -> Message {
    Message::SubmissionReceipt(SubmissionReceipt {
        reference: format!("EGOV-2027-{n:04}"),
        title: "Gemeinsames Bürgerportal für Ämter & Kreise".into(),
        round: "Förderaufruf 2027".into(),
        submitted_at: "02.06.2027, 10:45 Uhr".into(),
        link: format!("https://foerderportal.example/antraege/{n}"),
    })
}

/// Enqueues `n` receipts in one committed transaction.
pub async fn enqueue_receipts(pool: &PgPool, n: usize) {
    let outbox = Outbox::new("https://foerderportal.example");
    let mut tx = pool.begin().await.unwrap();
    for i in 0..n {
        let to = Recipient::new(&format!("kommune{i}@gemeinde.example"), "Kommune").unwrap();
        outbox.enqueue(&mut tx, &to, &receipt(i)).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn states(pool: &PgPool) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT state, count(*) FROM mail_outbox GROUP BY state ORDER BY state")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_message_arrives_over_smtp_as_german_multipart_with_its_stable_message_id() {
    let pool = pool().await;
    let sink = SmtpSink::start().await;
    let outbox = Outbox::new("https://foerderportal.example");
    let message = Message::SubmissionReceipt(SubmissionReceipt {
        reference: "EGOV-2027-0042".into(),
        title: "Digitale Bauantragsstrecke für Gemeinden".into(),
        round: "Förderaufruf 2027".into(),
        submitted_at: "02.06.2027, 10:45 Uhr".into(),
        link: "https://foerderportal.example/antraege/42".into(),
    });
    let mut tx = pool.begin().await.unwrap();
    let to = Recipient::new("juergen@gemeinde.example", "Jürgen Müller").unwrap();
    let id = outbox.enqueue(&mut tx, &to, &message).await.unwrap();
    tx.commit().await.unwrap();

    let report = Worker::new(pool.clone(), mailer(sink.url()), settings())
        .deliver_due()
        .await
        .unwrap();
    assert_eq!(report.sent, 1);

    let received = sink.wait_for(1).await;
    assert_eq!(received[0].rcpt_to, ["juergen@gemeinde.example"]);
    assert!(
        received[0].header("subject").unwrap().contains("=?utf-8?"),
        "umlauts travel encoded"
    );
    let parsed = MessageParser::default()
        .parse(received[0].data.as_bytes())
        .expect("a parsable e-mail");
    assert_eq!(
        parsed.subject(),
        Some("Eingangsbestätigung: EGOV-2027-0042 – Digitale Bauantragsstrecke für Gemeinden")
    );
    let stored: String = sqlx::query_scalar("SELECT message_id FROM mail_outbox WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(format!("<{}>", parsed.message_id().unwrap()), stored);
    let to = parsed.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("Jürgen Müller"));
    let root = parsed.content_type().unwrap();
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    let text = parsed.body_text(0).unwrap();
    assert!(
        text.contains("Vorhaben: Digitale Bauantragsstrecke für Gemeinden"),
        "{text}"
    );
    assert!(text.contains("Förderaufruf: Förderaufruf 2027"), "{text}");
    assert!(
        text.contains("egovernment@tfm.thueringen.de"),
        "footer with the programme contact"
    );
    let html = parsed.body_html(0).unwrap();
    assert!(
        html.contains("href=\"https://foerderportal.example/antraege/42\""),
        "{html}"
    );
    assert_eq!(states(&pool).await, [("sent".to_string(), 1)]);
}

#[tokio::test]
async fn during_an_smtp_outage_messages_wait_and_are_all_delivered_once_it_is_back() {
    let pool = pool().await;
    let port = unused_port();
    // Retries start after about a second, so "nothing due yet" below holds.
    let settings = MailSettings {
        retry_base: Duration::from_secs(1),
        ..settings()
    };
    let worker = Worker::new(pool.clone(), mailer(url_for_port(port)), settings);
    enqueue_receipts(&pool, 5).await;

    let report = worker.deliver_due().await.unwrap();
    assert_eq!(
        report.retrying, 5,
        "every message failed and will be retried"
    );
    let (attempts, errors): (i64, i64) = sqlx::query_as(
        "SELECT sum(attempts), count(last_error) FROM mail_outbox WHERE state = 'queued' AND next_attempt_at > now()",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((attempts, errors), (5, 5));
    assert_eq!(
        worker.deliver_due().await.unwrap().attempted(),
        0,
        "nothing is due before the backoff ends"
    );

    let sink = SmtpSink::start_on(port).await;
    for _ in 0..50 {
        worker.deliver_due().await.unwrap();
        if states(&pool).await == [("sent".to_string(), 5)] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(states(&pool).await, [("sent".to_string(), 5)]);
    let ids: HashSet<_> = sink
        .messages()
        .iter()
        .map(|m| m.header("message-id").unwrap())
        .collect();
    assert_eq!(
        (sink.messages().len(), ids.len()),
        (5, 5),
        "each message exactly once"
    );
}

#[tokio::test]
async fn two_workers_at_once_never_send_a_message_twice() {
    let pool = pool().await;
    let sink = SmtpSink::start().await;
    enqueue_receipts(&pool, 60).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn(
                Worker::new(pool.clone(), mailer(sink.url()), settings()).run(stop.clone()),
            )
        })
        .collect();

    sink.wait_for(60).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.cancel();
    for w in workers {
        w.await.unwrap();
    }

    let ids: HashSet<_> = sink
        .messages()
        .iter()
        .map(|m| m.header("message-id").unwrap())
        .collect();
    assert_eq!((sink.messages().len(), ids.len()), (60, 60));
    assert_eq!(states(&pool).await, [("sent".to_string(), 60)]);
}

#[tokio::test]
async fn a_crash_between_sending_and_marking_sent_repeats_the_message_once_with_the_same_id() {
    let pool = pool().await;
    let sink = SmtpSink::start().await;
    let mailer = mailer(sink.url());
    let settings = MailSettings {
        lease: Duration::from_secs(1),
        ..settings()
    };
    enqueue_receipts(&pool, 1).await;

    // A worker claims and sends, then dies before it can record the delivery.
    let mut conn = pool.acquire().await.unwrap();
    let claimed = outbox::claim_due(&mut conn, 10, settings.lease, settings.max_attempts)
        .await
        .unwrap();
    mailer
        .send(&worker::build(&mailer, &claimed[0]).unwrap())
        .await
        .unwrap();
    drop(conn);

    let survivor = Worker::new(pool.clone(), mailer.clone(), settings.clone());
    assert_eq!(
        survivor.deliver_due().await.unwrap().attempted(),
        0,
        "the lease protects the claimed message"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(survivor.deliver_due().await.unwrap().sent, 1);
    assert_eq!(survivor.deliver_due().await.unwrap().attempted(), 0);

    let received = sink.wait_for(2).await;
    assert_eq!(received.len(), 2, "one duplicate");
    assert_eq!(
        received[0].header("message-id"),
        received[1].header("message-id")
    );
    assert_eq!(states(&pool).await, [("sent".to_string(), 1)]);
}

#[tokio::test]
async fn a_rolled_back_change_enqueues_nothing() {
    let pool = pool().await;
    let sink = SmtpSink::start().await;
    let outbox = Outbox::new("https://foerderportal.example");

    let mut tx = pool.begin().await.unwrap();
    let to = Recipient::new("kommune@gemeinde.example", "").unwrap();
    outbox.enqueue(&mut tx, &to, &receipt(1)).await.unwrap();
    tx.rollback().await.unwrap();

    let report = Worker::new(pool.clone(), mailer(sink.url()), settings())
        .deliver_due()
        .await
        .unwrap();
    assert_eq!(report.attempted(), 0);
    assert!(states(&pool).await.is_empty());
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn line_breaks_cannot_inject_headers_or_recipients() {
    for bad in [
        "a@gemeinde.example\r\nBcc: x@evil.example",
        "a@gemeinde.example, x@evil.example",
        "kein-at-zeichen",
        "",
    ] {
        assert!(
            Recipient::new(bad, "Name").is_err(),
            "{bad:?} must be refused"
        );
    }
    let pool = pool().await;
    let sink = SmtpSink::start().await;
    let outbox = Outbox::new("https://foerderportal.example");
    let mut message = receipt(7);
    if let Message::SubmissionReceipt(m) = &mut message {
        m.title = "Portal\r\nBcc: x@evil.example\r\n\r\nGefälschter Text".into();
    }
    let to = Recipient::new("kommune@gemeinde.example", "Kommune\r\nBcc: y@evil.example").unwrap();
    let mut tx = pool.begin().await.unwrap();
    outbox.enqueue(&mut tx, &to, &message).await.unwrap();
    tx.commit().await.unwrap();

    Worker::new(pool.clone(), mailer(sink.url()), settings())
        .deliver_due()
        .await
        .unwrap();

    let received = sink.wait_for(1).await;
    assert_eq!(received[0].rcpt_to, ["kommune@gemeinde.example"]);
    assert_eq!(received[0].header("bcc"), None);
    let parsed = MessageParser::default()
        .parse(received[0].data.as_bytes())
        .unwrap();
    assert_eq!(
        parsed.subject(),
        Some("Eingangsbestätigung: EGOV-2027-0007 – Portal Bcc: x@evil.example Gefälschter Text")
    );
}

#[tokio::test]
async fn after_the_last_attempt_a_message_is_marked_failed() {
    let pool = pool().await;
    let settings = MailSettings {
        max_attempts: 2,
        ..settings()
    };
    let worker = Worker::new(pool.clone(), mailer(url_for_port(unused_port())), settings);
    enqueue_receipts(&pool, 1).await;

    assert_eq!(worker.deliver_due().await.unwrap().retrying, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(worker.deliver_due().await.unwrap().failed, 1);

    assert_eq!(states(&pool).await, [("failed".to_string(), 1)]);
}

#[tokio::test]
async fn a_reminder_with_a_once_key_is_enqueued_only_once() {
    let pool = pool().await;
    let outbox = Outbox::new("https://foerderportal.example");
    let reminder = Message::DeadlineReminder(DeadlineReminder {
        title: "Digitale Bauantragsstrecke".into(),
        round: "Förderaufruf 2027".into(),
        deadline: "31.03.2027, 23:59 Uhr".into(),
        days_left: 7,
        link: "https://foerderportal.example/antraege/42".into(),
    });
    let to = Recipient::new("kommune@gemeinde.example", "").unwrap();
    let mut conn = pool.acquire().await.unwrap();

    let first = outbox
        .enqueue_once(
            &mut conn,
            &to,
            &reminder,
            "deadline-reminder:7:application-42",
        )
        .await
        .unwrap();
    let again = outbox
        .enqueue_once(
            &mut conn,
            &to,
            &reminder,
            "deadline-reminder:7:application-42",
        )
        .await
        .unwrap();

    assert!(first.is_some());
    assert_eq!(again, None);
}

#[tokio::test]
async fn sent_messages_are_pruned_after_the_retention_but_failed_ones_are_kept() {
    let pool = pool().await;
    enqueue_receipts(&pool, 3).await;
    sqlx::query(
        "UPDATE mail_outbox SET state = CASE id % 3 WHEN 0 THEN 'failed' ELSE 'sent' END,
                sent_at = CASE id % 3 WHEN 1 THEN now() - interval '91 days' WHEN 2 THEN now() - interval '1 day' END,
                created_at = now() - interval '100 days'",
    )
    .execute(&pool)
    .await
    .unwrap();

    let pruned = outbox::prune_sent(
        &mut pool.acquire().await.unwrap(),
        MailSettings::default().retention,
    )
    .await
    .unwrap();

    assert_eq!(pruned, 1);
    assert_eq!(
        states(&pool).await,
        [("failed".to_string(), 1), ("sent".to_string(), 1)]
    );
}

#[tokio::test]
async fn an_admin_sees_the_outbox_and_sends_a_failed_message_again() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;
    let to = Recipient::new("kommune@gemeinde.example", "Karla Kommunal").unwrap();
    let id = app.failed_message(&to, &receipt(3)).await;
    let admin = app.sign_in_as(Role::Admin).await;

    let list = admin.get("/admin/postausgang?status=failed").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.count("tbody tr[data-state=failed]"), 1);
    assert_eq!(list.texts("tbody td")[5], "550 mailbox unavailable");

    let detail_path = format!("/admin/postausgang/{id}");
    let detail = admin.get(&detail_path).await;
    assert!(detail.texts("pre.mail-body")[0].contains("Aktenzeichen: EGOV-2027-0003"));
    let done = admin
        .submit(&detail_path, "form[action$='/erneut-senden']", &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        admin.get(&detail_path).await.text(".notice"),
        "Hinweis: Die Nachricht wird erneut gesendet."
    );

    let received = sink.wait_for(1).await;
    assert_eq!(received[0].rcpt_to, ["kommune@gemeinde.example"]);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'mail.retry' AND subject = $1",
    )
    .bind(format!("mail_outbox:{id}"))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn only_admins_see_the_outbox_and_message_bodies() {
    let app = TestApp::spawn().await;
    let mut tx = app.pool.begin().await.unwrap();
    let to = Recipient::new("kommune@gemeinde.example", "").unwrap();
    let id = Outbox::new(&app.base_url)
        .enqueue(&mut tx, &to, &receipt(4))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    for role in [Role::Clerk, Role::Reviewer] {
        let client = app.sign_in_as(role).await;
        for path in [
            "/admin/postausgang".to_string(),
            format!("/admin/postausgang/{id}"),
        ] {
            let page = client.get(&path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{role} on {path}");
            assert!(
                !page.body.contains("EGOV-2027-0004"),
                "{role} must not see the body"
            );
        }
        let post = client
            .post_with_token(&format!("/admin/postausgang/{id}/erneut-senden"), &[])
            .await;
        assert_eq!(post.status, StatusCode::FORBIDDEN, "{role} cannot resend");
    }
    let anonymous = app.client().get("/admin/postausgang").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    let admin = app.sign_in_as(Role::Admin).await;
    assert_eq!(
        admin.get("/admin/postausgang/999999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_message_to_several_people_is_delivered_to_each_separately() {
    let pool = pool().await;
    let sink = SmtpSink::start().await;
    let clerks: Vec<Recipient> = ["a@gotha.example", "b@gotha.example", "c@gotha.example"]
        .iter()
        .map(|e| Recipient::new(e, "").unwrap())
        .collect();
    let mut tx = pool.begin().await.unwrap();
    let ids = Outbox::new("https://foerderportal.example")
        .enqueue_to_all(&mut tx, &clerks, &receipt(9))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ids.len(), 3);

    Worker::new(pool.clone(), mailer(sink.url()), settings())
        .deliver_due()
        .await
        .unwrap();

    let received = sink.wait_for(3).await;
    let mut recipients: Vec<_> = received.iter().map(|m| m.rcpt_to.clone()).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        [
            ["a@gotha.example"],
            ["b@gotha.example"],
            ["c@gotha.example"]
        ]
    );
    let ids: HashSet<_> = received
        .iter()
        .map(|m| m.header("message-id").unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "each copy has its own Message-ID");
}

#[tokio::test]
async fn an_idle_worker_is_woken_by_the_commit_of_a_new_message() {
    let pool = pool().await;
    let sink = SmtpSink::start().await;
    let stop = tokio_util::sync::CancellationToken::new();
    let worker =
        tokio::spawn(Worker::new(pool.clone(), mailer(sink.url()), settings()).run(stop.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await; // idle now, polling only every 5 s

    let committed = std::time::Instant::now();
    enqueue_receipts(&pool, 1).await;
    sink.wait_for(1).await;

    assert!(
        committed.elapsed() < Duration::from_millis(3500),
        "took {:?}: no notification?",
        committed.elapsed()
    );
    stop.cancel();
    worker.await.unwrap();
}

#[tokio::test]
async fn a_server_that_answers_too_late_gets_the_message_again_with_the_same_id() {
    let pool = pool().await;
    let sink = SmtpSink::start().await;
    let settings = MailSettings {
        lease: Duration::from_secs(1),
        ..settings()
    };
    let worker = Worker::new(pool.clone(), mailer(sink.url()), settings);
    enqueue_receipts(&pool, 1).await;
    sink.set_reply_delay(Duration::from_millis(900)); // past the send timeout of half the lease

    assert_eq!(
        worker.deliver_due().await.unwrap().retrying,
        1,
        "no answer in time: retried later"
    );
    sink.set_reply_delay(Duration::ZERO);
    let mut report = worker.deliver_due().await.unwrap();
    for _ in 0..30 {
        if report.sent == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        report = worker.deliver_due().await.unwrap();
    }

    assert_eq!(report.sent, 1);
    let received = sink.wait_for(2).await;
    assert_eq!(received.len(), 2, "the unclear first attempt and the retry");
    assert_eq!(
        received[0].header("message-id"),
        received[1].header("message-id")
    );
    assert_eq!(states(&pool).await, [("sent".to_string(), 1)]);
}

#[tokio::test]
async fn a_worker_whose_lease_ran_out_cannot_record_an_outcome_over_its_successor() {
    let pool = pool().await;
    enqueue_receipts(&pool, 1).await;
    let mut conn = pool.acquire().await.unwrap();
    let lease = Duration::from_millis(200);
    let first = outbox::claim_due(&mut conn, 1, lease, 12)
        .await
        .unwrap()
        .remove(0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = outbox::claim_due(&mut conn, 1, Duration::from_secs(60), 12)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(first.id, second.id);

    assert!(
        !outbox::mark_attempt_failed(&mut conn, &first, "timeout", None)
            .await
            .unwrap()
    );
    assert!(!outbox::mark_sent(&mut conn, &first).await.unwrap());
    assert_eq!(
        states(&pool).await,
        [("sending".to_string(), 1)],
        "still the successor's"
    );
    assert!(outbox::mark_sent(&mut conn, &second).await.unwrap());
    assert_eq!(states(&pool).await, [("sent".to_string(), 1)]);
}

#[tokio::test]
async fn a_message_whose_last_attempt_was_never_confirmed_ends_as_failed() {
    let pool = pool().await;
    enqueue_receipts(&pool, 1).await;
    let mut conn = pool.acquire().await.unwrap();
    outbox::claim_due(&mut conn, 1, Duration::from_millis(100), 1)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let again = outbox::claim_due(&mut conn, 1, Duration::from_secs(60), 1)
        .await
        .unwrap();

    assert!(
        again.is_empty(),
        "not sent a second time after the last attempt"
    );
    assert_eq!(states(&pool).await, [("failed".to_string(), 1)]);
}

#[tokio::test]
async fn one_time_links_are_masked_for_admins_and_removed_once_sent() {
    let pool = pool().await;
    let sink = SmtpSink::start().await;
    let reset = Message::PasswordReset(foerderportal::mail::messages::PasswordReset {
        name: "Karla Kommunal".into(),
        link: "https://foerderportal.example/passwort-zuruecksetzen?token=Geheim_123-abc".into(),
        valid_until: "22.11.2026, 14:00 Uhr".into(),
    });
    let mut tx = pool.begin().await.unwrap();
    let to = Recipient::new("kommune@gemeinde.example", "").unwrap();
    let id = Outbox::new("https://foerderportal.example")
        .enqueue(&mut tx, &to, &reset)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (_, text, html) = outbox::find(&mut pool.acquire().await.unwrap(), id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !text.contains("Geheim_123-abc") && !html.contains("Geheim_123-abc"),
        "masked for the admin page"
    );
    Worker::new(pool.clone(), mailer(sink.url()), settings())
        .deliver_due()
        .await
        .unwrap();
    let received = sink.wait_for(1).await;
    let delivered = MessageParser::default()
        .parse(received[0].data.as_bytes())
        .unwrap();
    assert!(
        delivered
            .body_text(0)
            .unwrap()
            .contains("token=Geheim_123-abc"),
        "the recipient gets the link"
    );
    let stored: String =
        sqlx::query_scalar("SELECT body_text || body_html FROM mail_outbox WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        !stored.contains("Geheim_123-abc"),
        "no usable token kept after delivery"
    );
}

#[tokio::test]
async fn a_server_that_accepts_and_never_greets_holds_up_one_message_not_the_queue() {
    let pool = pool().await;
    let sink = SmtpSink::start().await;
    // The first connection is accepted and never greeted; later ones reach the sink.
    let hanging = Relay::stalling_first(Target::Tcp(format!("127.0.0.1:{}", sink.port())), 1).await;
    let settings = MailSettings {
        max_send_time: Duration::from_secs(3),
        ..settings()
    };
    assert_eq!(settings.send_timeout(), Duration::from_secs(3));
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(
        Worker::new(pool.clone(), mailer(url_for_port(hanging.port)), settings).run(stop.clone()),
    );
    enqueue_receipts(&pool, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    enqueue_receipts(&pool, 5).await;

    // The five behind the stuck one arrive while it still waits for its greeting.
    let started = std::time::Instant::now();
    sink.wait_for(5).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the queue waited {:?} behind the stuck connection",
        started.elapsed()
    );
    // The stuck one gives up after the send timeout and is delivered on its retry.
    sink.wait_for(6).await;
    stop.cancel();
    worker.await.unwrap();
    assert_eq!(states(&pool).await, [("sent".to_string(), 6)]);
}
