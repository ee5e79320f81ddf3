//! `kordon lab up|status|down` (needs root): the lab comes up in the foreground, its status
//! lists the modems and the echo service, and `down` stops it and leaves nothing behind.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KORDON: &str = env!("CARGO_BIN_EXE_kordon");

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The `lab up` process; killed and cleaned up even when the test fails.
struct Up {
    child: Child,
    name: String,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new(KORDON)
            .args(["lab", "down", "--name", &self.name])
            .output();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn namespaces() -> String {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn lab_up_status_down() {
    if !is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the lab CLI test needs root in CI"
        );
        eprintln!("skipped: needs root");
        return;
    }
    let name = format!("tc{}", std::process::id() % 100_000);
    let child = Command::new(KORDON)
        .args(["lab", "up", "--modems", "2", "--models", "Huawei_h_320,2"])
        .args(["--name", &name, "--reconnect-delay", "0.2"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let up = Up {
        child,
        name: name.clone(),
    };

    let started = Instant::now();
    let status = loop {
        let out = Command::new(KORDON)
            .args(["lab", "status", "--json", "--name", &name])
            .output()
            .unwrap();
        if out.status.success() {
            break serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "lab did not come up"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status["echo_url"], "http://203.0.113.10:80/");
    let modems = status["modems"].as_array().unwrap();
    assert_eq!(modems.len(), 2);
    assert_eq!(modems[0]["model_code"], "Huawei_h_320");
    assert_eq!(modems[0]["lan_address"], "192.168.8.1");
    assert_eq!(modems[1]["model_code"], "Zte_mf_833_r");
    assert_eq!(modems[1]["host_address"], "192.168.0.100");
    assert!(modems[1]["wan_address"]
        .as_str()
        .unwrap()
        .starts_with("198.18.1."));
    assert!(namespaces().contains(&format!("{name}-m1")));

    let down = Command::new(KORDON)
        .args(["lab", "down", "--name", &name])
        .output()
        .unwrap();
    assert!(down.status.success());
    assert!(!namespaces().contains(&format!("{name}-")));
    drop(up);
}
