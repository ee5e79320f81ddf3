//! Debian's dante-server (`danted`) as the SOCKS5 peer: no authentication, CONNECT allowed
//! only from loopback to the bench's servers, default process model (one mother process that
//! forks negotiate, request and io children as load needs).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Result;

use super::lanes::free_port;
use super::process::ProxyProcess;

/// The danted.conf of the run.
pub fn config(listen: SocketAddr, targets: &[SocketAddr], log: &Path, as_root: bool) -> String {
    let mut config = format!(
        "logoutput: {}\n\
         internal: {} port = {}\n\
         external: 127.0.0.1\n\
         clientmethod: none\n\
         socksmethod: none\n",
        log.display(),
        listen.ip(),
        listen.port()
    );
    if as_root {
        // Debian's example drops to `proxy`; root keeps this run independent of that user.
        config.push_str("user.privileged: root\nuser.unprivileged: nobody\n");
    }
    config.push_str("client pass {\n    from: 127.0.0.0/8 to: 0.0.0.0/0\n}\n");
    for target in targets {
        config.push_str(&format!(
            "socks pass {{\n    from: 127.0.0.0/8 to: {}/32 port = {}\n    command: connect\n}}\n",
            target.ip(),
            target.port()
        ));
    }
    config
}

/// Starts danted in `dir` (its config, pid file, log and TMPDIR) and waits until it listens.
pub async fn start(
    program: &Path,
    dir: &Path,
    targets: &[SocketAddr],
) -> Result<(ProxyProcess, SocketAddr)> {
    std::fs::create_dir_all(dir)?;
    let listen = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let conf = dir.join("danted.conf");
    let as_root = nix::unistd::geteuid().is_root();
    std::fs::write(
        &conf,
        config(listen, targets, &dir.join("danted.log"), as_root),
    )?;
    let mut command = Command::new(program);
    command
        .arg("-f")
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("danted.pid"))
        .env("TMPDIR", dir);
    let mut process = ProxyProcess::spawn("danted", command, &dir.join("danted.out"))?;
    process
        .wait_accepting(listen, Duration::from_secs(15))
        .await?;
    Ok((process, listen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_connect_to_each_target_only() {
        let listen: SocketAddr = "127.0.0.1:1080".parse().unwrap();
        let targets: Vec<SocketAddr> = vec![
            "127.0.0.1:9000".parse().unwrap(),
            "127.0.0.1:9001".parse().unwrap(),
        ];
        let text = config(listen, &targets, Path::new("/run/d.log"), false);
        assert!(text.contains("internal: 127.0.0.1 port = 1080\n"));
        assert!(text.contains("to: 127.0.0.1/32 port = 9001\n    command: connect\n"));
        assert_eq!(text.matches("socks pass").count(), 2);
        assert!(!text.contains("user.privileged"));
    }
}
