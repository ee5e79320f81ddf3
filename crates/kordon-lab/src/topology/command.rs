//! Running `ip` and `nft`, in the current namespace or in a named one.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::error::TopologyError;

/// `ip [-n NS] ARGS…`.
pub async fn ip(netns: Option<&str>, args: &[&str]) -> Result<(), TopologyError> {
    let mut full: Vec<&str> = Vec::with_capacity(args.len() + 2);
    if let Some(ns) = netns {
        full.extend(["-n", ns]);
    }
    full.extend_from_slice(args);
    run("ip", &full, None).await.map(drop)
}

/// `ip netns exec NS nft -f -` fed with `ruleset`.
pub async fn nft(netns: &str, ruleset: &str) -> Result<(), TopologyError> {
    run(
        "ip",
        &["netns", "exec", netns, "nft", "-f", "-"],
        Some(ruleset),
    )
    .await
    .map(drop)
}

/// Runs `program args…`, feeding `stdin`; the output when it succeeds.
pub async fn run(
    program: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<String, TopologyError> {
    let command = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| TopologyError::Spawn {
            command: command.clone(),
            source,
        })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .await
            .map_err(|source| TopologyError::Spawn {
                command: command.clone(),
                source,
            })?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|source| TopologyError::Spawn {
            command: command.clone(),
            source,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(TopologyError::Command {
            command,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Blocking `ip ARGS…` for clean-up paths that cannot await (Drop); failures are ignored
/// because clean-up removes what may already be gone.
pub fn ip_blocking(args: &[&str]) -> Option<String> {
    std::process::Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}
