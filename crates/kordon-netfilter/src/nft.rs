//! Running `nft`: a script goes in on stdin (`nft -f -`), so the whole script is one
//! transaction — it applies completely or not at all.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("nft refused the script: {0}")]
    Refused(String),
}

/// How to call `nft`: the program and the arguments before nft's own (e.g. `ip netns exec
/// NAME nft` to act in another network namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nft {
    command: Vec<String>,
}

impl Default for Nft {
    fn default() -> Self {
        Self {
            command: vec!["nft".into()],
        }
    }
}

/// At most this much of nft's error output is kept in an error.
const ERROR_TEXT_MAX: usize = 2000;

impl Nft {
    /// `nft` from `PATH`.
    pub fn new() -> Self {
        Self::default()
    }

    /// `command` (non-empty: program and leading arguments) instead of plain `nft`.
    pub fn with_command(command: Vec<String>) -> Self {
        if command.is_empty() {
            Self::default()
        } else {
            Self { command }
        }
    }

    /// `nft` run inside network namespace `namespace` (through `ip netns exec`).
    pub fn in_namespace(namespace: &str) -> Self {
        Self::with_command(vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            namespace.into(),
            "nft".into(),
        ])
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.command[0]);
        command.args(&self.command[1..]).args(args);
        command.kill_on_drop(true);
        command
    }

    async fn output(&self, args: &[&str], stdin: Option<&str>) -> Result<String, NftError> {
        let spawn_error = |source| NftError::Spawn {
            program: self.command.join(" "),
            source,
        };
        let mut child = self
            .command(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).await.map_err(spawn_error)?;
            drop(pipe);
        }
        let output = child.wait_with_output().await.map_err(spawn_error)?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let mut text = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if text.len() > ERROR_TEXT_MAX {
            let mut end = ERROR_TEXT_MAX;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        if text.is_empty() {
            text = format!("exit status {}", output.status);
        }
        Err(NftError::Refused(text))
    }

    /// Runs `script` as one transaction.
    pub async fn run(&self, script: &str) -> Result<(), NftError> {
        self.output(&["-f", "-"], Some(script)).await.map(|_| ())
    }

    /// `nft -j list table FAMILY NAME`: the table as nft's JSON.
    pub async fn list_table_json(&self, family: &str, name: &str) -> Result<String, NftError> {
        self.output(&["-j", "list", "table", family, name], None)
            .await
    }

    /// Whether nft runs and may change the ruleset here (`nft -c` checks a script without
    /// applying it, but still needs the rights and the kernel support).
    pub async fn check(&self, script: &str) -> Result<(), NftError> {
        self.output(&["-c", "-f", "-"], Some(script))
            .await
            .map(|_| ())
    }
}
