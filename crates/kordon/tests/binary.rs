//! The `kordon` binary as an operator runs it: first start on an empty data directory, the
//! printed or configured admin credentials, SIGTERM, restart, and the admin recovery commands.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn kordon() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kordon"));
    command
        .env_remove("KORDON_ADMIN_USERNAME")
        .env_remove("KORDON_ADMIN_PASSWORD")
        .env_remove("KORDON_CONFIG")
        .env_remove("KORDON_LISTEN")
        .env_remove("KORDON_DATA_DIR");
    command
}

struct Running {
    child: Child,
    port: u16,
    stderr_lines: std::sync::mpsc::Receiver<String>,
}

fn start(data_dir: &Path, envs: &[(&str, &str)]) -> Running {
    let port = free_port();
    let mut command = kordon();
    command
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .env("KORDON_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("kordon starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let running = Running {
        child,
        port,
        stderr_lines: rx,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "kordon did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    running
}

impl Running {
    /// SIGTERM, then the exit status must be success within a few seconds.
    fn terminate(mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "kordon exited with {status}");
                break;
            }
            assert!(Instant::now() < deadline, "kordon did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.stderr_lines.try_iter().collect()
    }

    async fn call(&self, path: &str, key: Option<&str>, body: Value) -> Value {
        let mut request = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}{path}", self.port))
            .json(&body);
        if let Some(key) = key {
            request = request.header("Authorization", format!("Token {key}"));
        }
        request
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json reply")
    }

    async fn login(&self, username: &str, password: &str) -> Option<String> {
        let reply = self
            .call(
                "/api/auth/login/",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        reply["key"].as_str().map(str::to_string)
    }
}

#[tokio::test]
async fn first_start_prints_a_password_once_and_restart_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let lines = {
        // The password line is printed before listening starts.
        std::thread::sleep(Duration::from_millis(200));
        server.stderr_lines.try_iter().collect::<Vec<_>>()
    };
    let password = lines
        .iter()
        .find_map(|line| line.split("with password: ").nth(1))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no password printed: {lines:?}"))
        .to_string();
    assert!(
        lines
            .iter()
            .filter(|l| l.contains('{'))
            .all(|l| !l.contains(&password)),
        "the password must not reach the structured log"
    );
    let key = server.login("admin", &password).await.expect("login works");
    assert_eq!(key.len(), 40);
    let rest = server.terminate();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
    assert!(dir.path().join("kordon.db").exists());

    let again = start(dir.path(), &[]);
    std::thread::sleep(Duration::from_millis(200));
    let lines: Vec<String> = again.stderr_lines.try_iter().collect();
    assert!(
        lines.iter().all(|l| !l.contains("with password")),
        "no second password: {lines:?}"
    );
    assert!(again.login("admin", &password).await.is_some());
    again.terminate();
}

#[tokio::test]
async fn admin_from_environment_and_recovery_commands() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        &[
            ("KORDON_ADMIN_USERNAME", "chief"),
            ("KORDON_ADMIN_PASSWORD", "chief12345"),
        ],
    );
    let key = server
        .login("chief", "chief12345")
        .await
        .expect("env admin");
    server.terminate();

    // set-password reads the new password from stdin and revokes keys.
    let mut child = kordon()
        .args(["admin", "set-password", "--username", "chief", "--data-dir"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"newpass777\n")
        .unwrap();
    assert!(child.wait().unwrap().success());

    let output = kordon()
        .args([
            "admin",
            "create-user",
            "--username",
            "operator2",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let generated = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("generated password printed")
        .to_string();

    let weak = kordon()
        .args(["admin", "create-user", "--username", "x", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("username"));

    let server = start(dir.path(), &[]);
    assert!(server.login("chief", "chief12345").await.is_none());
    assert!(server.login("chief", "newpass777").await.is_some());
    assert!(server.login("operator2", &generated).await.is_some());
    let reply = server
        .call("/api/auth/logout/", Some(&key), json!({}))
        .await;
    assert_eq!(
        reply["detail"], "Invalid token.",
        "old key revoked: {reply}"
    );
    server.terminate();
}

#[test]
fn bad_settings_fail_with_the_key_named() {
    let output = kordon()
        .args(["serve"])
        .env("KORDON_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("KORDON_LISTEN"));
}
