//! Headless Chromium driven over WebDriver (chromedriver), with axe-core accessibility checks.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

// Vendored so that test runs never need the network; see tests/vendor/axe-core/README.md.
const AXE_JS: &str = include_str!("../../vendor/axe-core/axe.min.js");

// The network is closed in CI and dev containers: without these, Chromium blocks on background
// connections (updates, sync, QUIC probing). We run as root, hence --no-sandbox.
const CHROME_ARGS: &str = "--headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-quic --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --window-size=1280,1024";

// The report is formatted in the page: only plain data crosses the WebDriver boundary anyway.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
  .then(r => done({passes: r.passes.length, violations: r.violations.length,
    report: r.violations.map(v => `- [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n` + v.nodes.map(n =>
      `    at ${n.target.map(t => [].concat(t).join(' >>> ')).join(', ')}\n       ${n.html}\n`).join('')).join('')}),
    e => done({error: String(e && e.stack || e)}));
"#;

/// A headless Chromium session driven over WebDriver (chromedriver).
pub struct Browser {
    client: Client,
    driver: Driver,
}

/// Cleans up even when a panicking test never reaches `Browser::close`.
struct Driver {
    child: Child,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Chromium survives a killed chromedriver, but it stays in chromedriver's process group.
        if let Some(pid) = self.child.id() {
            let group = format!("-{pid}");
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &group])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// One /status probe. Blocking std I/O is fine on loopback and spares the io-util tokio feature.
/// chromedriver ignores `Connection: close`, so stop reading once the answer is in.
fn driver_ready(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request = b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let timeout = Some(Duration::from_secs(1));
    if stream.set_read_timeout(timeout).is_err() || stream.write_all(request).is_err() {
        return false;
    }
    let (mut response, mut chunk) = (Vec::new(), [0; 1024]);
    while let Ok(n @ 1..) = stream.read(&mut chunk) {
        response.extend_from_slice(&chunk[..n]);
        if String::from_utf8_lossy(&response).contains("\"ready\":true") {
            return true;
        }
    }
    false
}

impl Browser {
    /// Starts a browser session, or returns None after printing a loud skip message to stderr when
    /// chromium/chromedriver are not installed. If the environment variable FP_REQUIRE_BROWSER=1 is set
    /// (CI sets it), a missing browser is a panic instead of a skip.
    pub async fn start() -> Option<Browser> {
        let chrome = find_on_path(&["chromium", "chromium-browser", "google-chrome"]);
        let (Some(chrome), Some(chromedriver)) = (chrome, find_on_path(&["chromedriver"])) else {
            let msg = "chromium/chromedriver not on PATH (apt install chromium chromium-driver)";
            let required = std::env::var("FP_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            assert!(!required, "FP_REQUIRE_BROWSER=1 but {msg}");
            // Not eprintln!: libtest captures that for passing tests, so the skip would go unseen.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!! SKIPPING BROWSER TEST: {msg} !!!!!\n"
            );
            return None;
        };
        // Another process may grab the port before chromedriver binds it; chromedriver then exits
        // and the readiness loop below reports that.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let port = listener.local_addr().expect("local port").port();
        drop(listener);
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let profile = std::env::temp_dir().join(format!("fp-chrome-{}-{port}", std::process::id()));
        let mut driver = Driver { child, profile };

        let deadline = Instant::now() + Duration::from_secs(10);
        while !driver_ready(port) {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited during startup with {status}");
            }
            assert!(Instant::now() < deadline, "chromedriver not up in 10 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let profile = format!("--user-data-dir={}", driver.profile.display());
        let mut args: Vec<&str> = CHROME_ARGS.split_whitespace().collect();
        args.push(&profile);
        let Value::Object(caps) = json!({"goog:chromeOptions": {"binary": chrome, "args": args}})
        else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start Chromium: {e}"));
        Some(Browser { client, driver })
    }

    /// Panics with a clear message on failure, including when the server is not reachable.
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.client.goto(url).await {
            panic!("browser could not load {url}: {e}");
        }
        // Chromium reports network failures as a successful load of its own error page.
        let error = "return location.protocol !== 'chrome-error:' ? null
            : (document.querySelector('.error-code')?.textContent || 'network error')";
        if let Value::String(error) = self.script(error).await {
            panic!("browser could not load {url}: {error} (is the server running?)");
        }
    }

    /// In headless mode there is no browser UI, so the window width is the viewport width.
    pub async fn set_viewport_width(&self, px: u32) {
        let (_, height) = self.client.get_window_size().await.expect("window size");
        let resized = self.client.set_window_size(px, height as u32).await;
        resized.unwrap_or_else(|e| panic!("cannot resize browser window to {px} px: {e}"));
    }

    /// JS: document.documentElement.scrollWidth (to assert no horizontal scrolling at 320 px)
    pub async fn page_scroll_width(&self) -> u64 {
        let js = "return document.documentElement.scrollWidth";
        self.script(js)
            .await
            .as_u64()
            .expect("scrollWidth is a number")
    }

    pub async fn title(&self) -> String {
        self.client.title().await.expect("read page title")
    }

    /// Focus order helper: press Tab once and return the text and href of the focused element
    /// (used to check that the first Tab reaches the skip link). Call it right after `goto`:
    /// Chromium continues from the last focused element. Returns ("", None) if nothing got focus.
    pub async fn first_tab_stop(&self) -> (String, Option<String>) {
        let tab = Key::Tab.into();
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab });
        self.client.perform_actions(keys).await.expect("press Tab");
        let focused = self
            .script(
                "const e = document.activeElement;
                 if (!e || e === document.body) return ['', null];
                 return [e.textContent.replace(/\\s+/g, ' ').trim(), e.getAttribute('href')];",
            )
            .await;
        let text = focused[0].as_str().unwrap_or_default().to_owned();
        (text, focused[1].as_str().map(str::to_owned))
    }

    /// Runs the vendored axe-core with the WCAG 2.0/2.1 A and AA rules (plus axe's best
    /// practices such as heading order and landmarks) on the current page.
    /// Panics listing every violation (rule, impact, help, target selectors, HTML) and the page
    /// URL if there is any; otherwise returns the number of rules that passed.
    pub async fn assert_accessible(&self) -> usize {
        if self.script("return typeof window.axe").await != "object" {
            // The newline keeps a trailing line comment from swallowing chromedriver's wrapper.
            self.script(&format!("{AXE_JS}\n")).await;
        }
        let url = self.client.current_url().await;
        let url = url.map_or_else(|e| e.to_string(), String::from);
        let result = self.client.execute_async(AXE_RUN, vec![]).await;
        let result = result.unwrap_or_else(|e| panic!("axe-core failed on {url}: {e}"));
        match (&result["error"], &result["violations"], &result["report"]) {
            (Value::String(error), ..) => panic!("axe-core failed on {url}: {error}"),
            (_, Value::Number(n), Value::String(report)) if n.as_u64() != Some(0) => {
                panic!("{n} accessibility violation(s) on {url}:\n{report}")
            }
            _ => result["passes"].as_u64().expect("axe reports passes") as usize,
        }
    }

    /// Types into the field matched by the CSS selector (after clearing it).
    pub async fn fill(&self, selector: &str, text: &str) {
        let field = self.client.find(fantoccini::Locator::Css(selector)).await;
        let field = field.unwrap_or_else(|e| panic!("no field {selector}: {e}"));
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("cannot clear {selector}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into {selector}: {e}"));
    }

    /// Clicks the element matched by the CSS selector and waits for the next page to load.
    pub async fn click(&self, selector: &str) {
        // A marker on the old document tells when the next one has replaced it.
        self.script("window.__fpOldPage = true; return null").await;
        let element = self.client.find(fantoccini::Locator::Css(selector)).await;
        let element = element.unwrap_or_else(|e| panic!("no element {selector}: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {selector}: {e}"));
        let loaded =
            "return window.__fpOldPage === undefined && document.readyState === 'complete'";
        let deadline = Instant::now() + Duration::from_secs(10);
        // Scripts may fail while the old document unloads: that just means "not yet".
        while self.client.execute(loaded, vec![]).await.ok() != Some(Value::Bool(true)) {
            assert!(
                Instant::now() < deadline,
                "no new page after clicking {selector}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Sets a field's value directly, as a date picker would (typing into a date field depends
    /// on the browser's locale).
    pub async fn set_value(&self, selector: &str, value: &str) {
        let js = format!("document.querySelector({selector:?}).value = {value:?}; return null");
        self.script(&js).await;
    }

    /// Chooses a file for the file input matched by the CSS selector.
    pub async fn choose_file(&self, selector: &str, path: &str) {
        let input = self.client.find(fantoccini::Locator::Css(selector)).await;
        let input = input.unwrap_or_else(|e| panic!("no file input {selector}: {e}"));
        input
            .send_keys(path)
            .await
            .unwrap_or_else(|e| panic!("cannot choose {path}: {e}"));
    }

    /// Ticks the checkbox or radio button matched by the CSS selector, or opens the
    /// disclosure (`summary`) — a click that loads no page.
    pub async fn check(&self, selector: &str) {
        let element = self.client.find(fantoccini::Locator::Css(selector)).await;
        let element = element.unwrap_or_else(|e| panic!("no element {selector}: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot tick {selector}: {e}"));
    }

    /// Chooses the option with this value in the select matched by the CSS selector.
    pub async fn select(&self, selector: &str, value: &str) {
        let element = self.client.find(fantoccini::Locator::Css(selector)).await;
        let element = element.unwrap_or_else(|e| panic!("no select {selector}: {e}"));
        let chosen = element.select_by_value(value).await;
        chosen.unwrap_or_else(|e| panic!("cannot choose {value} in {selector}: {e}"));
    }

    /// Whether keyboard focus is on the element matched by the CSS selector.
    pub async fn focus_is_on(&self, selector: &str) -> bool {
        let js = format!("return document.activeElement === document.querySelector({selector:?})");
        self.script(&js).await == Value::Bool(true)
    }

    /// Where the top of the first element matching the selector is, in CSS pixels from the top
    /// of the page: to check what stands on one row.
    pub async fn top_of(&self, selector: &str) -> f64 {
        let js = format!(
            "return window.scrollY + document.querySelector({selector:?}).getBoundingClientRect().top"
        );
        self.script(&js).await.as_f64().unwrap_or(f64::NAN)
    }

    /// The path of the current page ("/konto").
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        url.path().to_string()
    }

    /// Text content of the first element matching the selector.
    pub async fn text(&self, selector: &str) -> String {
        let element = self.client.find(fantoccini::Locator::Css(selector)).await;
        let element = element.unwrap_or_else(|e| panic!("no element {selector}: {e}"));
        element.text().await.expect("element text")
    }

    pub async fn close(self) {
        // Quitting via WebDriver lets Chromium shut down cleanly before Driver's drop kills the rest.
        let Browser { client, driver } = self;
        if let Err(e) = client.close().await {
            eprintln!("closing the browser session failed: {e}");
        }
        drop(driver);
    }

    async fn script(&self, js: &str) -> Value {
        let result = self.client.execute(js, vec![]).await;
        result.unwrap_or_else(|e| {
            let snippet: String = js.chars().take(200).collect();
            panic!("browser script failed: {e}\n{snippet}")
        })
    }
}
