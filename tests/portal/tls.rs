//! TLS to PostgreSQL: a private server that takes TLS connections only (`hostssl`), with a
//! certificate from a CA made for this test, reached with `sslmode=verify-full` the way an
//! operator configures `DATABASE_URL`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use foerderportal::database;
use sqlx::postgres::PgConnectOptions;

use crate::common::StopOnDrop;

const OPENSSL_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Foerderportal test CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`<name>.crt`, `<name>.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) -> PathBuf {
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-config",
            "openssl.cnf",
            "-extensions",
            "ca",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "2",
        ],
    );
    dir.join(crt)
}

/// `server.crt` and `server.key` for 127.0.0.1 and localhost, signed by the CA `ca`.
fn make_server_certificate(dir: &Path, ca: &str) {
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-config",
            "openssl.cnf",
            "-subj",
            "/CN=localhost",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-set_serial",
            "2",
            "-days",
            "2",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            "server",
            "-out",
            "server.crt",
        ],
    );
}

/// A private PostgreSQL on 127.0.0.1 that accepts TLS connections only; the CA that signed
/// its certificate is `dir/ca.crt`, another one nobody used is `dir/other-ca.crt`.
struct TlsPostgres {
    dir: PathBuf,
    port: u16,
    data: PathBuf,
    _stop: StopOnDrop,
}

impl TlsPostgres {
    async fn start() -> TlsPostgres {
        let dir = std::env::temp_dir().join(format!("fp-tls-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // The postgres system user must reach the directory when we run as root.
        let _ = Command::new("chmod").arg("755").arg(&dir).status();
        std::fs::write(dir.join("openssl.cnf"), OPENSSL_CONFIG).unwrap();
        make_ca(&dir, "ca");
        make_ca(&dir, "other-ca");
        make_server_certificate(&dir, "ca");

        let instance = dir.join("postgres");
        let data = database::init_private_cluster(&instance)
            .await
            .expect("a private cluster initialises");
        // The key must belong to the server's user and be closed to others.
        for file in ["server.crt", "server.key"] {
            let target = data.join(file);
            std::fs::copy(dir.join(file), &target).unwrap();
            let _ = Command::new("chmod").arg("600").arg(&target).status();
            database::give_to_postgres(&target).await.unwrap();
        }
        // TCP only with TLS; the Unix socket (which cannot carry TLS) for pg_ctl.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let port = crate::common::free_port();
        let socket_dir = format!("'{}'", instance.display());
        database::start_private_cluster(
            &instance,
            &format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {socket_dir} -c ssl=on \
                 -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
            ),
        )
        .await
        .expect("the TLS-only server starts");
        TlsPostgres {
            _stop: StopOnDrop(data.clone()),
            dir,
            port,
            data,
        }
    }

    /// A `DATABASE_URL` for this server with `query` (`sslmode=…&sslrootcert=…`).
    fn url(&self, database: &str, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?{query}",
            self.port
        )
    }

    fn ca(&self, name: &str) -> String {
        self.dir.join(format!("{name}.crt")).display().to_string()
    }

    async fn stop(self) {
        database::stop_private_instance(&self.data).await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the portal's connection is encrypted, as the server sees it.
async fn server_says_encrypted(pool: &sqlx::PgPool) -> bool {
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_portal_reaches_a_tls_only_database_with_verify_full_and_refuses_a_wrong_ca() {
    let server = TlsPostgres::start().await;
    let connect = |url: String| async move {
        database::connect(PgConnectOptions::from_str(&url).unwrap()).await
    };

    // verify-full with the CA that signed the server's certificate.
    let url = server.url(
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={}", server.ca("ca")),
    );
    let pool = connect(url)
        .await
        .expect("verify-full with the right CA connects");
    assert!(server_says_encrypted(&pool).await);
    pool.close().await;

    // require encrypts without checking the certificate; verify-ca checks it but not the name.
    let pool = connect(server.url("postgres", "sslmode=require"))
        .await
        .expect("sslmode=require connects");
    assert!(server_says_encrypted(&pool).await);
    pool.close().await;
    let verify_ca = format!("sslmode=verify-ca&sslrootcert={}", server.ca("ca"));
    connect(server.url("postgres", &verify_ca))
        .await
        .expect("verify-ca with the right CA connects")
        .close()
        .await;

    // Without TLS the server lets nobody in (hostssl only).
    let plain = connect(server.url("postgres", "sslmode=disable")).await;
    let plain = format!("{:#}", plain.expect_err("a plain connection is refused"));
    assert!(plain.contains("no encryption"), "{plain}");

    // A certificate the configured CA did not sign is refused, and the error says why.
    let wrong = format!("sslmode=verify-full&sslrootcert={}", server.ca("other-ca"));
    let refused = connect(server.url("postgres", &wrong)).await;
    let refused = format!("{:#}", refused.expect_err("a wrong CA is refused"));
    assert!(
        refused.contains("TLS connection to PostgreSQL at 127.0.0.1")
            && refused.contains("certificate")
            && refused.contains("sslrootcert"),
        "{refused}"
    );

    // What the operator sees: the portal started against it stops with that line.
    let out = Command::new(env!("CARGO_BIN_EXE_foerderportal"))
        .arg("migrate")
        .env("DATABASE_URL", server.url("foerderportal", &wrong))
        .env("RUST_LOG", "error")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("TLS connection to PostgreSQL")
            && stderr.contains("invalid peer certificate"),
        "{stderr}"
    );
    assert!(
        stdout.contains(
            "TLS connection to PostgreSQL failed: the server's certificate was not accepted"
        ),
        "the log names the cause: {stdout}"
    );

    // And with the right CA it creates and migrates its database over TLS.
    let right = format!("sslmode=verify-full&sslrootcert={}", server.ca("ca"));
    let out = Command::new(env!("CARGO_BIN_EXE_foerderportal"))
        .arg("migrate")
        .env("DATABASE_URL", server.url("foerderportal", &right))
        .env("RUST_LOG", "error")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Migrations applied."));

    server.stop().await;
}
