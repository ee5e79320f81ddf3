//! Debian's squid as the HTTP CONNECT peer: no authentication, CONNECT allowed only to the
//! bench's servers on 127.0.0.1, no cache, no access or store logs, foreground (`-N`, one
//! process), its own pid file, cache log and core directory, and as many descriptors as the
//! bench's limit.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::lanes::free_port;
use super::process::ProxyProcess;

/// Squid started as root switches to this user (Debian's build default, made explicit).
const SQUID_USER: &str = "proxy";

/// The squid.conf of the run.
pub fn config(
    listen: SocketAddr,
    targets: &[SocketAddr],
    dir: &Path,
    max_files: u64,
    as_root: bool,
) -> String {
    let ports: Vec<String> = targets.iter().map(|t| t.port().to_string()).collect();
    let hosts: std::collections::BTreeSet<String> =
        targets.iter().map(|t| format!("{}/32", t.ip())).collect();
    let hosts: Vec<String> = hosts.into_iter().collect();
    let mut config = format!(
        "http_port {listen}\n\
         pid_filename {dir}/squid.pid\n\
         cache_log {dir}/cache.log\n\
         coredump_dir {dir}\n\
         access_log none\n\
         cache_store_log none\n\
         logfile_rotate 0\n\
         cache deny all\n\
         cache_mem 0 MB\n\
         digest_generation off\n\
         pinger_enable off\n\
         netdb_filename none\n\
         workers 1\n\
         max_filedescriptors {max_files}\n\
         shutdown_lifetime 0 seconds\n\
         acl CONNECT method CONNECT\n\
         acl bench_hosts dst {hosts}\n\
         acl bench_ports port {ports}\n\
         http_access allow CONNECT bench_hosts bench_ports\n\
         http_access deny all\n",
        dir = dir.display(),
        hosts = hosts.join(" "),
        ports = ports.join(" "),
    );
    if as_root {
        config.push_str(&format!("cache_effective_user {SQUID_USER}\n"));
    }
    config
}

/// Starts squid in `dir` and waits until it listens.
pub async fn start(
    program: &Path,
    dir: &Path,
    targets: &[SocketAddr],
    max_files: u64,
) -> Result<(ProxyProcess, SocketAddr)> {
    std::fs::create_dir_all(dir)?;
    let listen = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let as_root = nix::unistd::geteuid().is_root();
    if as_root {
        // Squid writes its pid file and logs after dropping to its user.
        let user = nix::unistd::User::from_name(SQUID_USER)?.with_context(|| {
            format!("squid run as root drops to the user {SQUID_USER}, which does not exist")
        })?;
        nix::unistd::chown(dir, Some(user.uid), Some(user.gid))?;
    }
    let conf = dir.join("squid.conf");
    std::fs::write(&conf, config(listen, targets, dir, max_files, as_root))?;
    let check = Command::new(program)
        .arg("-k")
        .arg("parse")
        .arg("-f")
        .arg(&conf)
        .output()?;
    if !check.status.success() {
        bail!(
            "squid refuses the generated {}: {}",
            conf.display(),
            String::from_utf8_lossy(&check.stderr)
        );
    }
    let mut command = Command::new(program);
    command.arg("-N").arg("-f").arg(&conf);
    let mut process = ProxyProcess::spawn("squid", command, &dir.join("squid.out"))?;
    process
        .wait_accepting(listen, Duration::from_secs(30))
        .await?;
    Ok((process, listen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_connect_to_the_targets_only() {
        let listen: SocketAddr = "127.0.0.1:3128".parse().unwrap();
        let targets: Vec<SocketAddr> = vec![
            "127.0.0.1:9000".parse().unwrap(),
            "127.0.0.1:9001".parse().unwrap(),
        ];
        let text = config(listen, &targets, Path::new("/run/s"), 30_000, true);
        assert!(text.starts_with("http_port 127.0.0.1:3128\n"));
        assert!(text.contains("acl bench_ports port 9000 9001\n"));
        assert!(text
            .contains("http_access allow CONNECT bench_hosts bench_ports\nhttp_access deny all\n"));
        assert!(text.contains("max_filedescriptors 30000\n"));
        assert!(text.contains("cache_effective_user proxy\n"));
    }
}
