//! Saving a section and submitting an application, from many clerks at once:
//!
//!     cargo bench --bench applications   # FP_BENCH_SECONDS=10 for the saves
//!
//! 10 clients, each signed in and working on its own draft. Saves: open the section ("Vorhaben"),
//! post it with all its answers, repeatedly; only the post is timed (it checks, stores, updates
//! the list columns and writes the audit entry). Submits: each client first completes
//! FP_BENCH_SUBMITS (default 20) applications, then all submit theirs at once; every submission
//! takes the next Aktenzeichen of the year, so they queue on one counter row by design.
//! The server is the release binary in its own process on a scratch database (see `common`).
// Reports: counts and durations as floating-point rates and milliseconds.
#![allow(clippy::cast_precision_loss)]

mod common;

use std::time::{Duration, Instant};

use common::{Portal, form_token, median_ms, percentile_ms};
use foerderportal::applications::model::Section;
use foerderportal::applications::sample;

const CLIENTS: usize = 10;
const CLERK: &str = "kommune@demo.foerderportal.example";
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let submits: usize = std::env::var("FP_BENCH_SUBMITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let portal = Portal::start("applications", &[]).await?;
    let result = run(&portal, Duration::from_secs(common::seconds()), submits).await;
    portal.stop().await?;
    result
}

async fn run(portal: &Portal, duration: Duration, submits: usize) -> anyhow::Result<()> {
    let base = portal.base.as_str();
    let mut clerks = Vec::new();
    for _ in 0..CLIENTS {
        let client = common::client()?;
        anyhow::ensure!(common::login(&client, base, CLERK).await?, "login failed");
        clerks.push(Clerk {
            client,
            base: base.to_string(),
        });
    }

    // Saves.
    let before = portal.cpu();
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = clerks
        .iter()
        .cloned()
        .map(|clerk| {
            tokio::spawn(async move {
                let id = clerk.start().await?;
                let mut latencies = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    n += 1;
                    let title = format!("Digitales Bürgerbüro, Fassung {n}");
                    latencies.push(clerk.save(id, "vorhaben", &project(&title)).await?);
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut saves = Vec::new();
    for task in tasks {
        saves.extend(task.await??);
    }
    println!(
        "section saves with {CLIENTS} clerks over {} s: {:.0} per second, median {:.1} ms, p95 {:.1} ms",
        duration.as_secs(),
        saves.len() as f64 / duration.as_secs_f64(),
        median_ms(&mut saves),
        percentile_ms(&mut saves, 95)
    );
    // Each save is a page view and a post.
    println!(
        "  {}",
        before.ms_per_operation(&portal.cpu(), saves.len()).report()
    );

    // Submits: complete the applications first (not timed), then submit them all at once.
    let mut prepared = Vec::new();
    for clerk in &clerks {
        let mut ids = Vec::new();
        for _ in 0..submits {
            ids.push(clerk.complete().await?);
        }
        prepared.push((clerk.clone(), ids));
    }
    let (started, before) = (Instant::now(), portal.cpu());
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|(clerk, ids)| {
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                for id in ids {
                    latencies.push(clerk.submit(id).await?);
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut submitted = Vec::new();
    for task in tasks {
        submitted.extend(task.await??);
    }
    let elapsed = started.elapsed();
    println!(
        "submissions with {CLIENTS} clerks at once: {} in {:.2} s ({:.0} per second), median {:.1} ms, p95 {:.1} ms",
        submitted.len(),
        elapsed.as_secs_f64(),
        submitted.len() as f64 / elapsed.as_secs_f64(),
        median_ms(&mut submitted),
        percentile_ms(&mut submitted, 95)
    );
    // Each submission is the check page and the post.
    println!(
        "  {}",
        before
            .ms_per_operation(&portal.cpu(), submitted.len())
            .report()
    );
    Ok(())
}

#[derive(Clone)]
struct Clerk {
    client: reqwest::Client,
    base: String,
}

impl Clerk {
    async fn page(&self, path: &str) -> anyhow::Result<String> {
        Ok(self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await?
            .text()
            .await?)
    }

    /// A new draft for the demo round; its id.
    async fn start(&self) -> anyhow::Result<i64> {
        common::start_draft(&self.client, &self.base).await
    }

    /// Opens the section and saves it; returns how long the save took.
    async fn save(
        &self,
        id: i64,
        section: &str,
        answers: &[(&str, String)],
    ) -> anyhow::Result<Duration> {
        let path = format!("/antraege/{id}/{section}");
        let page = self.page(&path).await?;
        let mut form = vec![
            ("csrf_token", form_token(&page)?),
            (
                "version",
                attribute_after(&page, "name=\"version\" value=\"")?,
            ),
        ];
        form.extend(answers.iter().map(|(k, v)| (*k, v.clone())));
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await?;
        let took = started.elapsed();
        anyhow::ensure!(
            response.status() == reqwest::StatusCode::SEE_OTHER,
            "saving {section} answered {}",
            response.status()
        );
        Ok(took)
    }

    /// A draft with every section complete and every document uploaded.
    async fn complete(&self) -> anyhow::Result<i64> {
        let id = self.start().await?;
        let year = i32::from(jiff::Zoned::now().year());
        for section in [
            Section::Applicant,
            Section::Project,
            Section::Partnership,
            Section::Costs,
            Section::Declarations,
        ] {
            self.save(id, section.slug(), &sample::answers(section, year))
                .await?;
        }
        let attachments = self.page(&format!("/antraege/{id}/anlagen")).await?;
        let token = form_token(&attachments)?;
        for document in attachments
            .split("name=\"document\" value=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|d| *d != "extra")
        {
            let form = reqwest::multipart::Form::new()
                .text("csrf_token", token.clone())
                .text("document", document.to_string())
                .part(
                    "datei",
                    reqwest::multipart::Part::bytes(PDF).file_name("Unterlage.pdf"),
                );
            let response = self
                .client
                .post(format!("{}/antraege/{id}/anlagen", self.base))
                .multipart(form)
                .send()
                .await?;
            anyhow::ensure!(
                response.status() == reqwest::StatusCode::SEE_OTHER,
                "upload failed"
            );
        }
        Ok(id)
    }

    async fn submit(&self, id: i64) -> anyhow::Result<Duration> {
        let check = self.page(&format!("/antraege/{id}/pruefen")).await?;
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}/antraege/{id}/einreichen", self.base))
            .form(&[("csrf_token", form_token(&check)?)])
            .send()
            .await?;
        let took = started.elapsed();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok());
        anyhow::ensure!(
            location.is_some_and(|l| l.ends_with("/bestaetigung")),
            "submission answered {}",
            response.status()
        );
        Ok(took)
    }
}

fn attribute_after(html: &str, marker: &str) -> anyhow::Result<String> {
    html.split(marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("{marker} not on the page"))
}

/// The sample answers, with another title for each save.
fn project(title: &str) -> Vec<(&'static str, String)> {
    let mut answers = sample::answers(Section::Project, i32::from(jiff::Zoned::now().year()));
    answers.retain(|(k, _)| *k != "title");
    answers.push(("title", title.to_string()));
    answers
}
