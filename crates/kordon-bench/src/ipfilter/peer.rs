//! The peer: the same load through the plain `nft` command line, as an operator would script
//! it — one `nft add element` call per rule, and one batch file for all of them.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::data::Rule;

fn nft(script: &str) -> Result<()> {
    use std::io::Write;
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("nft")?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(script.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("nft: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

fn nft_args(args: &[&str]) -> Result<()> {
    let output = Command::new("nft").args(args).output().context("nft")?;
    if !output.status.success() {
        bail!("nft {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

/// The hash-set layout kordon uses (one set per family and prefix length), in table `name`.
fn hash_table(name: &str, rules: &[Rule]) -> String {
    let mut script =
        format!("add table inet {name}\ndelete table inet {name}\nadd table inet {name}\n");
    let mut sets: Vec<(bool, u8)> = rules.iter().map(|r| (r.v6, r.prefix)).collect();
    sets.sort_unstable();
    sets.dedup();
    for (v6, prefix) in &sets {
        let kind = if *v6 { "ipv6_addr" } else { "ipv4_addr" };
        let _ = writeln!(
            script,
            "add set inet {name} s{}_{prefix} {{ type {kind}; flags timeout; gc-interval 1m; }}",
            if *v6 { 6 } else { 4 }
        );
    }
    script
}

fn set_of(rule: &Rule) -> String {
    format!("s{}_{}", if rule.v6 { 6 } else { 4 }, rule.prefix)
}

/// One batch file with every rule, into per-prefix hash sets: seconds.
pub fn batch_hash_sets(rules: &[Rule]) -> Result<Duration> {
    let name = "kordon_bench_peer";
    let mut script = hash_table(name, rules);
    for chunk in rules.chunks(10_000) {
        for rule in chunk {
            let _ = writeln!(
                script,
                "add element inet {name} {} {{ {} }}",
                set_of(rule),
                rule.ip
            );
        }
    }
    let started = Instant::now();
    nft(&script)?;
    Ok(started.elapsed())
}

/// One batch file with every rule into one interval set per family (the layout the nft
/// documentation suggests for address lists): seconds.
pub fn batch_interval_set(rules: &[Rule]) -> Result<Duration> {
    let name = "kordon_bench_peer";
    let mut script = format!(
        "add table inet {name}\ndelete table inet {name}\nadd table inet {name}\n\
         add set inet {name} v4 {{ type ipv4_addr; flags interval, timeout; }}\n\
         add set inet {name} v6 {{ type ipv6_addr; flags interval, timeout; }}\n"
    );
    for rule in rules {
        let set = if rule.v6 { "v6" } else { "v4" };
        let _ = writeln!(
            script,
            "add element inet {name} {set} {{ {}/{} }}",
            rule.ip, rule.prefix
        );
    }
    let started = Instant::now();
    nft(&script)?;
    Ok(started.elapsed())
}

/// `calls` rules, one `nft add element` each, into the hash sets [`batch_hash_sets`] filled
/// (call it first): the mean time per call.
pub fn per_call_hash_sets(calls: usize) -> Result<Duration> {
    let name = "kordon_bench_peer";
    let started = Instant::now();
    for i in 0..calls {
        let address = std::net::Ipv4Addr::from((172u32 << 24) + (16 << 16) + i as u32);
        nft_args(&[
            "add",
            "element",
            "inet",
            name,
            "s4_32",
            &format!("{{ {address} }}"),
        ])?;
    }
    Ok(started.elapsed() / calls.max(1) as u32)
}

/// One `nft add element` call into the interval set holding every rule (nft reads the whole
/// set back from the kernel first).
pub fn one_call_interval_set() -> Result<Duration> {
    let started = Instant::now();
    nft_args(&[
        "add",
        "element",
        "inet",
        "kordon_bench_peer",
        "v4",
        "{ 172.31.0.1 }",
    ])?;
    Ok(started.elapsed())
}

pub fn remove() {
    let _ = nft("add table inet kordon_bench_peer\ndelete table inet kordon_bench_peer\n");
}
