//! `dashboard/cpu` reports the real machine: checked against `/proc`.

mod common;

use common::TestServer;
use kordon_model::rutime;

/// A `/proc/meminfo` value in KiB.
fn meminfo_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("{field} in /proc/meminfo"))
}

fn proc_uptime() -> f64 {
    let text = std::fs::read_to_string("/proc/uptime").expect("/proc/uptime");
    text.split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .expect("uptime seconds")
}

#[tokio::test]
async fn reports_the_machines_cpu_memory_and_uptime() {
    let server = TestServer::start().await;
    let (status, body) = server.get(&server.admin, "/api/dashboard/cpu").await;
    assert_eq!(status, 200, "{body}");

    let cpu = body["cpu"].as_f64().expect("cpu is a number");
    assert!((0.0..=100.0).contains(&cpu), "{body}");

    let total_mib = meminfo_kib("MemTotal") / 1024;
    let used_mib = (meminfo_kib("MemTotal") - meminfo_kib("MemAvailable")) / 1024;
    let total = body["memory"]["total"]
        .as_u64()
        .expect("total is an integer");
    let used = body["memory"]["used"].as_u64().expect("used is an integer");
    assert!(total.abs_diff(total_mib) <= 1, "{total} vs {total_mib}");
    // Memory moves while tests run: within 5% of the machine.
    assert!(
        used.abs_diff(used_mib) <= total_mib / 20 + 16,
        "{used} vs {used_mib}"
    );
    assert!(used <= total);

    let seconds = body["uptime"]["seconds"]
        .as_u64()
        .expect("uptime is an integer");
    assert!(
        (seconds as f64 - proc_uptime()).abs() <= 5.0,
        "{seconds} vs {}",
        proc_uptime()
    );
    assert_eq!(
        body["uptime"]["humanize"],
        rutime::humanize_duration(seconds as i64)
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        3,
        "exactly cpu, memory, uptime"
    );

    // A second reading measures since the first and stays a percentage.
    let (_, again) = server.get(&server.admin, "/api/dashboard/cpu/").await;
    assert!((0.0..=100.0).contains(&again["cpu"].as_f64().unwrap()));
}

#[tokio::test]
async fn any_user_with_a_key_may_read_it() {
    let server = TestServer::start().await;
    let (_, key) = server.user("alice1").await;
    let (status, body) = server.get(&key, "/api/dashboard/cpu").await;
    assert_eq!(status, 200);
    assert!(body["memory"]["total"].as_u64().unwrap() > 0);
    let (status, body) = server.call("GET", "/api/dashboard/cpu", None, None).await;
    assert_eq!(status, 401);
    assert!(body["detail"].is_string());
}
