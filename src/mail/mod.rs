//! Mail transports: SMTP when `SMTP_URL` is set, otherwise `.eml` files under `./var/mail/` (the
//! local default). Features never talk SMTP inside a request; they hand messages to the outbox.

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
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
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

    pub async fn send(&self, message: &Message) -> anyhow::Result<()> {
        match self {
            Mailer::Smtp { transport, .. } => {
                transport
                    .send(message.clone())
                    .await
                    .context("SMTP delivery failed")?;
            }
            Mailer::File { dir, .. } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                AsyncFileTransport::<Tokio1Executor>::new(dir)
                    .send(message.clone())
                    .await
                    .context("writing the mail file failed")?;
            }
        }
        Ok(())
    }
}
