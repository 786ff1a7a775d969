//! Mail transports: SMTP when `SMTP_URL` is set (pooled connections, STARTTLS or implicit TLS,
//! timeouts), otherwise `.eml` files under `./var/mail/` (the local default).

use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    File {
        dir: PathBuf,
        from: Mailbox,
    },
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .context("MAIL_FROM is not a valid mailbox")?;
        match &config.smtp_url {
            // smtp://host:25 (plain), smtp://host:587?tls=required (STARTTLS), smtps://user:pass@host:465
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .context("SMTP_URL is not a valid SMTP URL")?
                    .timeout(Some(Duration::from_secs(30)))
                    .build();
                Ok(Mailer::Smtp { transport, from })
            }
            None => Ok(Mailer::File {
                dir: config.mail_dir.clone(),
                from,
            }),
        }
    }

    pub fn sender(&self) -> &Mailbox {
        match self {
            Mailer::Smtp { from, .. } | Mailer::File { from, .. } => from,
        }
    }

    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        match self {
            Mailer::Smtp { transport, .. } => match transport.send(message.clone()).await {
                Ok(_) => Ok(()),
                // The server refuses this recipient for good; retrying cannot help. Other 5xx
                // replies (wrong credentials, a refusing relay) are the operator's to fix, so
                // the messages wait for that.
                Err(e) if e.is_permanent() && is_recipient_rejection(&e) => {
                    Err(SendError::permanent(format!("SMTP: {e}")))
                }
                Err(e) => Err(SendError::transient(format!("SMTP: {e}"))),
            },
            Mailer::File { dir, .. } => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| {
                    SendError::transient(format!("cannot create {}: {e}", dir.display()))
                })?;
                AsyncFileTransport::<Tokio1Executor>::new(dir)
                    .send(message.clone())
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError::transient(format!("writing the mail file failed: {e}")))
            }
        }
    }
}

fn is_recipient_rejection(e: &lettre::transport::smtp::Error) -> bool {
    matches!(
        e.status().map(|code| code.to_string()).as_deref(),
        Some("550" | "551" | "553")
    )
}

/// Why a message could not be handed over; `permanent` failures are not retried.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    pub fn permanent(message: String) -> Self {
        SendError {
            permanent: true,
            message,
        }
    }

    pub fn transient(message: String) -> Self {
        SendError {
            permanent: false,
            message,
        }
    }
}
