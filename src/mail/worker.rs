//! The delivery worker: claims due messages, sends them, records the outcome; retries with
//! exponential backoff and jitter; prunes old sent messages. Several workers (in several app
//! instances) can run at once without sending a message twice. Up to [`IN_FLIGHT`] sends run at
//! once, each on its own and bounded in time: a server that hangs holds up one message, and
//! the worker claims the next ones as soon as any send is done.

use std::time::{Duration, Instant};

use lettre::message::{Mailbox, MultiPart};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::outbox::{self, CHANNEL, Claimed};
use super::transport::{Mailer, SendError};
use crate::config::MailSettings;

/// Sends at once per worker.
const IN_FLIGHT: usize = 32;
/// Without a notification, look for due messages this often (also how soon a lost
/// notification connection is retried).
const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Never spin: wait at least this long between rounds that found nothing.
const MIN_WAIT: Duration = Duration::from_millis(100);
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

#[derive(Clone)]
pub struct Worker {
    pool: PgPool,
    mailer: Mailer,
    settings: MailSettings,
}

/// What one round of delivery did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    /// Outcomes not recorded because another worker had taken the message over, or because
    /// recording failed (the message is then sent again after its lease).
    pub unrecorded: usize,
}

impl Report {
    pub fn attempted(&self) -> usize {
        self.sent + self.retrying + self.failed + self.unrecorded
    }
}

impl Worker {
    pub fn new(pool: PgPool, mailer: Mailer, settings: MailSettings) -> Self {
        Worker {
            pool,
            mailer,
            settings,
        }
    }

    /// Runs until `stop` is cancelled: sends whatever is due, then waits for a notification
    /// from `enqueue`, a finished send, the next due retry or the poll interval. Sends in
    /// progress are finished (each is bounded by the send timeout) before it returns.
    pub async fn run(self, stop: CancellationToken) {
        let mut listener = None;
        let mut last_prune: Option<Instant> = None;
        let mut sends = JoinSet::new();
        while !stop.is_cancelled() {
            if listener.is_none() {
                listener = self.listen().await;
            }
            let free = IN_FLIGHT - sends.len();
            // Every slot taken: the next finished send is the signal, not the clock.
            let mut more_due = free == 0;
            if free > 0 {
                match self.claim(free).await {
                    Ok(claimed) => {
                        more_due = claimed.len() == free;
                        for message in claimed {
                            let worker = self.clone();
                            sends.spawn(async move { worker.deliver(message).await });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming due mail failed"),
                }
            }
            if last_prune.is_none_or(|t| t.elapsed() > PRUNE_INTERVAL) {
                self.prune().await;
                last_prune = Some(Instant::now());
            }
            // With every slot taken and more waiting, the next finished send is the signal.
            let wait = if more_due {
                POLL_INTERVAL
            } else {
                self.time_until_next_due().await
            };
            let notified = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
                Some(_) = sends.join_next(), if !sends.is_empty() => {}
                result = notified => if let Err(e) = result {
                    tracing::warn!(error = %e, "mail worker lost its notification connection; reconnecting");
                    listener = None;
                },
            }
        }
        while sends.join_next().await.is_some() {}
    }

    async fn listen(&self) -> Option<PgListener> {
        let listening = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listening.await {
            Ok(listener) => Some(listener),
            Err(e) => {
                tracing::warn!(error = %e, "mail worker cannot listen for notifications; polling for now");
                None
            }
        }
    }

    /// By the database's clock, bounded below (no spinning) and above (the poll interval).
    async fn time_until_next_due(&self) -> Duration {
        let until = match self.pool.acquire().await {
            Ok(mut conn) => outbox::time_until_next_due(&mut conn).await.ok().flatten(),
            Err(_) => None,
        };
        until
            .unwrap_or(POLL_INTERVAL)
            .clamp(MIN_WAIT, POLL_INTERVAL)
    }

    async fn claim(&self, limit: usize) -> sqlx::Result<Vec<Claimed>> {
        let mut conn = self.pool.acquire().await?;
        outbox::claim_due(
            &mut conn,
            i64::try_from(limit).unwrap_or(i64::MAX),
            self.settings.lease,
            self.settings.max_attempts,
        )
        .await
    }

    /// Claims one batch of due messages, sends them concurrently and waits for all outcomes.
    pub async fn deliver_due(&self) -> anyhow::Result<Report> {
        let mut sends = JoinSet::new();
        for message in self.claim(IN_FLIGHT).await? {
            let worker = self.clone();
            sends.spawn(async move { worker.deliver(message).await });
        }
        let mut report = Report::default();
        while let Some(outcome) = sends.join_next().await {
            outcome?.count(&mut report);
        }
        Ok(report)
    }

    /// Sends one message within the send timeout and records the outcome. A failure to record
    /// it leaves the message to be sent again after its lease.
    async fn deliver(self, message: Claimed) -> Outcome {
        let timeout = self.settings.send_timeout();
        let result = match build(&self.mailer, &message) {
            Ok(email) => match tokio::time::timeout(timeout, self.mailer.send(&email)).await {
                Ok(sent) => sent,
                Err(_) => Err(SendError::transient(format!(
                    "no answer within {} s",
                    timeout.as_secs()
                ))),
            },
            Err(e) => Err(e),
        };
        match self.record(&message, result).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(outbox_id = message.id, error = %e, "recording a delivery failed; it is retried after the lease");
                Outcome::Unrecorded
            }
        }
    }

    async fn record(
        &self,
        message: &Claimed,
        result: Result<(), SendError>,
    ) -> anyhow::Result<Outcome> {
        let mut conn = self.pool.acquire().await?;
        let (recorded, outcome) = match result {
            Ok(()) => (outbox::mark_sent(&mut conn, message).await?, Outcome::Sent),
            Err(error) => {
                let retry_at = (!error.permanent && message.attempts < self.settings.max_attempts)
                    .then(|| {
                        OffsetDateTime::now_utc()
                            + self.settings.delay_after(message.attempts, rand::random())
                    });
                tracing::warn!(
                    outbox_id = message.id, attempts = message.attempts, permanent = error.permanent,
                    error = %error.message, "mail delivery failed"
                );
                let recorded =
                    outbox::mark_attempt_failed(&mut conn, message, &error.message, retry_at)
                        .await?;
                (
                    recorded,
                    if retry_at.is_some() {
                        Outcome::Retrying
                    } else {
                        Outcome::Failed
                    },
                )
            }
        };
        if !recorded {
            tracing::warn!(
                outbox_id = message.id,
                "another worker took this message over; outcome not recorded"
            );
            return Ok(Outcome::Unrecorded);
        }
        Ok(outcome)
    }

    async fn prune(&self) {
        let pruned = match self.pool.acquire().await {
            Ok(mut conn) => outbox::prune_sent(&mut conn, self.settings.retention).await,
            Err(e) => Err(e),
        };
        match pruned {
            Ok(0) => {}
            Ok(n) => tracing::info!(messages = n, "pruned old sent mail"),
            Err(e) => tracing::warn!(error = %e, "pruning sent mail failed"),
        }
    }
}

enum Outcome {
    Sent,
    Retrying,
    Failed,
    Unrecorded,
}

impl Outcome {
    fn count(self, report: &mut Report) {
        match self {
            Outcome::Sent => report.sent += 1,
            Outcome::Retrying => report.retrying += 1,
            Outcome::Failed => report.failed += 1,
            Outcome::Unrecorded => report.unrecorded += 1,
        }
    }
}

/// The e-mail for an outbox row: multipart/alternative (plain text and HTML), with the row's
/// stable Message-ID so a resend after an unclear failure is recognisable as the same message.
pub fn build(mailer: &Mailer, m: &Claimed) -> Result<lettre::Message, SendError> {
    let address = m
        .recipient
        .parse()
        .map_err(|e| SendError::permanent(format!("bad recipient: {e}")))?;
    let name = (!m.recipient_name.is_empty()).then(|| m.recipient_name.clone());
    lettre::Message::builder()
        .message_id(Some(m.message_id.clone()))
        .from(mailer.sender().clone())
        .to(Mailbox::new(name, address))
        .subject(m.subject.clone())
        .date_now()
        .multipart(MultiPart::alternative_plain_html(
            m.body_text.clone(),
            m.body_html.clone(),
        ))
        .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))
}

impl MailSettings {
    /// Exponential backoff: base, 2×base, 4×base, … with ±20 % jitter (`jitter` in 0..1) so
    /// that many messages failing together do not retry together; never beyond the maximum.
    pub fn delay_after(&self, attempts: i32, jitter: f64) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let delay = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(exponent));
        delay
            .mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
            .min(self.retry_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MailSettings {
        MailSettings {
            retry_base: Duration::from_secs(60),
            retry_max: Duration::from_secs(6 * 3600),
            ..MailSettings::default()
        }
    }

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let s = settings();
        let middle = |n| s.delay_after(n, 0.5).as_secs();
        assert_eq!(
            [middle(1), middle(2), middle(3), middle(4)],
            [60, 120, 240, 480]
        );
        assert_eq!(middle(9), 256 * 60);
        assert_eq!(
            middle(10),
            6 * 3600,
            "512 minutes would be more than six hours"
        );
        assert_eq!(middle(100), 6 * 3600);
    }

    #[test]
    fn jitter_spreads_retries_by_twenty_percent_but_never_past_the_cap() {
        let s = settings();
        assert_eq!(s.delay_after(1, 0.0).as_secs(), 48);
        assert_eq!(s.delay_after(1, 1.0).as_secs(), 72);
        let capped = MailSettings {
            retry_max: Duration::from_secs(300 * 60),
            ..s
        };
        assert_eq!(
            capped.delay_after(9, 1.0).as_secs(),
            300 * 60,
            "256 min + 20 % would pass the cap"
        );
    }
}
