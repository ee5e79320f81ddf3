//! Asking with `dig` (BIND 9, Debian `bind9-dnsutils`), a real client, and reading what it
//! printed: the status, the header flags, the answer section and an Extended DNS Error.

use std::net::SocketAddr;
use std::process::Command;

#[derive(Debug)]
pub struct Dig {
    /// `NOERROR`, `NXDOMAIN`, `REFUSED`, …; `None` when no reply came.
    pub status: Option<String>,
    pub flags: Vec<String>,
    /// The answer section as (type, data).
    pub answers: Vec<(String, String)>,
    /// The Extended DNS Error code, if the reply had one.
    pub ede: Option<u16>,
    pub output: String,
}

impl Dig {
    /// The data of the answers of `rtype`.
    pub fn data(&self, rtype: &str) -> Vec<String> {
        self.answers
            .iter()
            .filter(|(t, _)| t == rtype)
            .map(|(_, d)| d.clone())
            .collect()
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// Panics unless the reply is NOERROR with exactly `expected` as the `rtype` data.
    pub fn expect(&self, rtype: &str, expected: &[&str]) {
        assert_eq!(self.status.as_deref(), Some("NOERROR"), "{}", self.output);
        assert_eq!(self.data(rtype), expected, "{}", self.output);
    }
}

/// `dig @server -p port ARGS…` with one try of `wait_secs`, inside namespace `netns` if any.
pub fn dig(netns: Option<&str>, server: SocketAddr, wait_secs: u32, args: &[&str]) -> Dig {
    let mut command = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "dig"]);
            c
        }
        None => Command::new("dig"),
    };
    let at = format!("@{}", server.ip());
    let port = server.port().to_string();
    let wait = format!("+time={wait_secs}");
    command.args([at.as_str(), "-p", &port, "+tries=1", &wait]);
    command.args(args);
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("running dig (Debian package bind9-dnsutils): {e}"));
    parse(&String::from_utf8_lossy(&out.stdout))
}

fn parse(output: &str) -> Dig {
    let status = output
        .split_once("status: ")
        .and_then(|(_, rest)| rest.split(',').next())
        .map(str::to_string);
    let flags = output
        .split_once(";; flags: ")
        .and_then(|(_, rest)| rest.split(';').next())
        .map(|f| f.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let answers = output
        .split_once(";; ANSWER SECTION:\n")
        .map(|(_, rest)| {
            rest.lines()
                .take_while(|l| !l.trim().is_empty())
                .filter_map(|l| {
                    let fields: Vec<&str> = l.split_whitespace().collect();
                    // name ttl class type data…
                    Some((fields.get(3)?.to_string(), fields.get(4..)?.join(" ")))
                })
                .collect()
        })
        .unwrap_or_default();
    let ede = output
        .split_once("; EDE: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|code| code.parse().ok());
    Dig {
        status,
        flags,
        answers,
        ede,
        output: output.to_string(),
    }
}
