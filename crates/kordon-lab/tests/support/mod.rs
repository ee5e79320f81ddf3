//! What the namespace lab tests share: the root check, `ip`, and the farm's namespace.

use kordon_lab::topology::{is_root, netns, LabModem};

/// Whether the test can run; without root it is skipped, except in CI, where it fails.
pub fn root_or_skip() -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the lab tests need root in CI"
    );
    eprintln!("skipped: needs root");
    false
}

pub fn ip(args: &[&str]) {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The farm's namespace of one test, removed even when the test fails.
pub struct FarmNs(pub String);

impl FarmNs {
    pub fn new(name: String) -> Self {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &name])
            .output();
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        netns::sysctl(&name, "net.ipv4.conf.all.rp_filter", "0").unwrap();
        netns::sysctl(&name, "net.ipv4.conf.default.rp_filter", "0").unwrap();
        FarmNs(name)
    }

    /// Sends what leaves `m`'s interface to the internet through `m`, with one routing table
    /// per interface (what kordon's policy routing does). `replace` also restores the route
    /// a replug took away.
    pub fn route_via(&self, m: &LabModem) {
        let table = (100 + m.index).to_string();
        let gw = m.emulator.state().lan.modem.to_string();
        ip(&[
            "-n", &self.0, "route", "replace", "default", "via", &gw, "dev", &m.host_if, "table",
            &table,
        ]);
        let rules = std::process::Command::new("ip")
            .args(["-n", &self.0, "rule", "show", "oif", &m.host_if])
            .output()
            .unwrap();
        if rules.stdout.is_empty() {
            ip(&[
                "-n", &self.0, "rule", "add", "oif", &m.host_if, "table", &table,
            ]);
        }
    }
}

impl Drop for FarmNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .output();
    }
}
