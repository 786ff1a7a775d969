//! The files in `deploy/`: the nginx site and the production environment agree with the
//! portal's limits, nginx takes the site and serves the portal through it over TLS, and the
//! systemd units pass `systemd-analyze verify`. The tools are skipped loudly when missing,
//! unless FP_REQUIRE_DEPLOY_TOOLS=1 (as in CI).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use foerderportal::config::Config;
use scraper::{Html, Selector};

use crate::common::TestApp;

fn repo_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The value of the first `name value;` directive in an nginx configuration.
fn directive<'a>(conf: &'a str, name: &str) -> &'a str {
    conf.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .strip_suffix(';')
        })
        .unwrap_or_else(|| panic!("no {name} in the nginx site"))
}

/// nginx sizes (`21m`, `512k`) in bytes.
fn nginx_bytes(value: &str) -> usize {
    let (number, unit) = value.split_at(value.len() - 1);
    let factor = match unit {
        "k" | "K" => 1024,
        "m" | "M" => 1024 * 1024,
        "g" | "G" => 1024 * 1024 * 1024,
        _ => return value.parse().unwrap(),
    };
    number.parse::<usize>().unwrap() * factor
}

/// nginx times in seconds (`60s`, `5s`, `1m`).
fn nginx_duration(value: &str) -> Duration {
    let secs = match value.strip_suffix('s') {
        Some(n) => n.parse().unwrap(),
        None => value.strip_suffix('m').unwrap().parse::<u64>().unwrap() * 60,
    };
    Duration::from_secs(secs)
}

/// deploy/foerderportal.env, read by the portal's own configuration code.
fn production_config() -> Config {
    let vars: HashMap<String, String> = repo_file("deploy/foerderportal.env")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("NAME=value");
            (k.to_string(), v.to_string())
        })
        .collect();
    Config::from_lookup(|name| vars.get(name).cloned()).expect("a valid configuration")
}

#[test]
fn the_nginx_site_and_the_production_environment_agree_with_the_portals_limits() {
    let site = repo_file("deploy/nginx/foerderportal.conf");
    let config = production_config();
    assert!(config.uses_https() && !config.is_local_default());
    assert!(config.require_second_factor);

    // nginx takes exactly what the portal takes: larger requests never reach it.
    assert_eq!(
        nginx_bytes(directive(&site, "client_max_body_size")),
        config.upload_limit_bytes
    );
    // The portal's own timeout page comes before nginx's.
    assert!(nginx_duration(directive(&site, "proxy_read_timeout")) > config.request_timeout);
    // nginx gives up idle upstream connections before the portal closes them.
    assert!(nginx_duration(directive(&site, "keepalive_timeout")) < config.header_timeout);

    // The upstream is the portal's LISTEN_ADDR; nginx connects from that address, which the
    // portal trusts for X-Forwarded-For, and the header is what nginx appends.
    let upstream = directive(&site, "server");
    assert_eq!(upstream, config.listen_addr.to_string());
    assert!(config.listen_addr.ip().is_loopback());
    assert!(config.trusted_proxies.contains(&config.listen_addr.ip()));
    assert!(site.contains("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"));
    assert!(site.contains("proxy_set_header Host $host;"));
    let public_host = config.base_url.trim_start_matches("https://");
    assert_eq!(directive(&site, "server_name"), public_host);

    // Metrics stay internal.
    let metrics = config.metrics_addr.expect("metrics in production");
    assert!(metrics.ip().is_loopback());
}

fn tool(name: &str) -> Option<PathBuf> {
    crate::common::system_tool(name, "FP_REQUIRE_DEPLOY_TOOLS")
}

/// The site as shipped, with only what a test machine must differ in replaced: ports, the
/// upstream, certificate and log paths, and no IPv6 listeners.
fn site_for_test(dir: &Path, http: u16, https: u16, upstream: u16) -> String {
    let mut site = repo_file("deploy/nginx/foerderportal.conf");
    let dir = dir.display();
    for (from, to) in [
        ("listen 80;", format!("listen 127.0.0.1:{http};")),
        (
            "listen 443 ssl http2;",
            format!("listen 127.0.0.1:{https} ssl http2;"),
        ),
        (
            "server 127.0.0.1:8080;",
            format!("server 127.0.0.1:{upstream};"),
        ),
        ("/etc/ssl/foerderportal/", format!("{dir}/")),
        ("/var/log/nginx/", format!("{dir}/")),
        (
            "/usr/share/foerderportal/static/",
            format!("{}/static/", env!("CARGO_MANIFEST_DIR")),
        ),
    ] {
        assert!(site.contains(from), "the site has {from}");
        site = site.replace(from, &to);
    }
    site.lines()
        .filter(|l| !l.trim_start().starts_with("listen [::]"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A response through curl: status, headers (lower-case names), body.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

/// curl against the site, from 127.0.0.2 (not a trusted proxy), trusting any certificate.
async fn curl(https: u16, path: &str, extra: &[&str]) -> Answer {
    let host = "foerderportal.example.de";
    let out = tokio::process::Command::new("curl")
        .args([
            "-s",
            "-k",
            "-i",
            "--interface",
            "127.0.0.2",
            "-H",
            "Expect:",
        ])
        .arg("--resolve")
        .arg(format!("{host}:{https}:127.0.0.1"))
        .args(extra)
        .arg(format!("https://{host}:{https}{path}"))
        .output()
        .await
        .expect("curl");
    assert!(out.status.success(), "curl {path}: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// nginx as the site configures it, in the foreground; ended with the test.
async fn start_nginx(nginx: &Path, dir: &Path, site: &str, https: u16) -> tokio::process::Child {
    let d = dir.display();
    std::fs::write(dir.join("foerderportal.conf"), site).unwrap();
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "master_process off;\ndaemon off;\npid {d}/nginx.pid;\nerror_log stderr;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  \
             scgi_temp_path {d}/scgi;\n  include {d}/foerderportal.conf;\n}}\n"
        ),
    )
    .unwrap();
    let conf = dir.join("nginx.conf");
    let checked = tokio::process::Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&checked.stderr);
    assert!(
        checked.status.success(),
        "nginx -t refused the site: {said}"
    );
    assert!(said.contains("test is successful"), "{said}");

    let child = tokio::process::Command::new(nginx)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", https))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

#[tokio::test]
async fn nginx_takes_the_site_and_passes_the_real_client_and_the_upload_limit() {
    let (Some(nginx), Some(_), Some(_)) = (tool("nginx"), tool("curl"), tool("openssl")) else {
        return;
    };
    let loopback: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
    let mut app = TestApp::spawn_with(|c| {
        c.trusted_proxies = loopback;
        c.allowed_hosts = vec!["foerderportal.example.de".into()];
    })
    .await;
    let upstream: u16 = app.base_url.rsplit(':').next().unwrap().parse().unwrap();
    let dir = std::env::temp_dir().join(format!("fp-nginx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args([
            "-nodes",
            "-keyout",
            "privkey.pem",
            "-out",
            "fullchain.pem",
            "-days",
            "2",
        ])
        .args(["-subj", "/CN=foerderportal.example.de"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let (http, https) = (crate::common::free_port(), crate::common::free_port());
    let site = site_for_test(&dir, http, https, upstream);
    let _nginx = start_nginx(&nginx, &dir, &site, https).await;

    let health = curl(https, "/healthz", &[]).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    assert!(
        health.headers.contains_key("x-request-id"),
        "the portal answered"
    );

    // A failed login through nginx is recorded with the client's address, not nginx's and
    // not one the client put into X-Forwarded-For itself.
    let jar = dir.join("cookies.txt");
    let jar = jar.to_str().unwrap();
    let form = curl(https, "/anmelden", &["-c", jar]).await;
    assert_eq!(form.status, 200);
    let token = Html::parse_document(&form.body)
        .select(&Selector::parse("form[action='/anmelden'] input[name=csrf_token]").unwrap())
        .next()
        .and_then(|e| e.value().attr("value").map(str::to_string))
        .expect("the form token");
    let login = curl(
        https,
        "/anmelden",
        &[
            "-b",
            jar,
            "-H",
            "X-Forwarded-For: 203.0.113.9",
            "--data-urlencode",
            "email=pruefung@demo.foerderportal.example",
            "--data-urlencode",
            "password=falsches-Passwort-123",
            "--data-urlencode",
            &format!("csrf_token={token}"),
        ],
    )
    .await;
    assert!(login.status < 500, "{}", login.body);
    let client: String =
        sqlx::query_scalar("SELECT client FROM login_failures ORDER BY id DESC LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .expect("the failed login is recorded");
    assert_eq!(client, "127.0.0.2");

    // A form within the portal's form limit reaches the portal (which decides on it); so does
    // a body over the form limit, and one the portal refuses before reading it (no session):
    // the portal reads what it left before it answers, so nginx never finds the connection
    // closed while it still sends (its 502). A body beyond the largest upload is refused by
    // nginx already.
    let limit = app.config.upload_limit_bytes;
    let mib = 1024 * 1024;
    for (path, size, expected) in [
        ("/anmelden", mib, None),
        ("/anmelden", 5 * mib, Some(413)),
        ("/konto/passwort", 10 * mib, Some(303)),
        ("/antraege/1/anlagen", limit - mib, Some(303)),
        ("/anmelden", limit + mib, Some(413)),
    ] {
        let file = dir.join("body.bin");
        std::fs::write(&file, vec![b'x'; size]).unwrap();
        let data = format!("@{}", file.display());
        let answer = curl(https, path, &["--data-binary", &data]).await;
        let by_nginx = size > limit;
        assert_eq!(
            answer.headers.contains_key("x-request-id"),
            !by_nginx,
            "{path}, {size} bytes: {} {}",
            answer.status,
            answer.body
        );
        assert!(
            answer.status < 500,
            "{path}, {size} bytes: {}",
            answer.status
        );
        if let Some(status) = expected {
            assert_eq!(answer.status, status, "{path}, {size} bytes");
        }
        if by_nginx {
            assert!(
                answer.body.contains("Die Anfrage ist zu groß"),
                "{}",
                answer.body
            );
        }
    }
    // With no instance answering, nginx says so in German too.
    app.stop.cancel();
    let _ = (&mut app.server).await;
    let down = curl(https, "/antraege", &[]).await;
    assert_eq!(down.status, 502);
    assert!(
        down.body.contains("gerade nicht erreichbar"),
        "{}",
        down.body
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    let Some(analyze) = tool("systemd-analyze") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("fp-units-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for unit in ["foerderportal.service", "foerderportal-mail.service"] {
        let text = repo_file(&format!("deploy/systemd/{unit}"));
        for hardening in [
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "PrivateTmp=yes",
            "LimitNOFILE=65536",
            "ReadWritePaths=/var/lib/foerderportal",
        ] {
            assert!(text.contains(hardening), "{unit} lacks {hardening}");
        }
        // verify checks that the program exists: the binary of this build stands in.
        let path = dir.join(unit);
        let here = env!("CARGO_BIN_EXE_foerderportal");
        std::fs::write(&path, text.replace("/usr/local/bin/foerderportal", here)).unwrap();
        let out = std::process::Command::new(&analyze)
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.trim().is_empty(),
            "{unit}: {said}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
