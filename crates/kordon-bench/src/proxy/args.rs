//! Command-line options.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

pub const USAGE: &str = "usage: proxy-bench [--kordon PATH | --no-kordon] [--danted PATH] \
[--squid PATH] [--workloads LIST] [--proxy-cpus LIST] [--bulk-bytes N[K|M|G]] [--workers N] [--rate-seconds S] \
[--rounds N] [--idle N] [--markdown]
  --workloads LIST  comma-separated, of bulk, rate, idle (default: all three)
  --proxy-cpus LIST run the proxies on these CPUs only (e.g. 1; start the bench itself with
                    `taskset -c 0` so clients, servers and proxy do not share a core)";

/// The workloads a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workloads {
    pub bulk: bool,
    pub rate: bool,
    pub idle: bool,
}

impl Workloads {
    pub const ALL: Workloads = Workloads {
        bulk: true,
        rate: true,
        idle: true,
    };

    /// `bulk,rate,idle` or any non-empty part of it, in any order.
    pub fn parse(list: &str) -> Result<Workloads> {
        let mut chosen = Workloads {
            bulk: false,
            rate: false,
            idle: false,
        };
        for name in list.split(',').map(str::trim) {
            match name {
                "bulk" => chosen.bulk = true,
                "rate" => chosen.rate = true,
                "idle" => chosen.idle = true,
                "" => bail!("--workloads: empty name in {list:?} (a list like bulk,rate,idle)"),
                other => bail!("--workloads: unknown workload {other:?} (known: bulk, rate, idle)"),
            }
        }
        Ok(chosen)
    }

    /// The names chosen, comma-separated as the option takes them.
    pub fn list(self) -> String {
        [
            ("bulk", self.bulk),
            ("rate", self.rate),
            ("idle", self.idle),
        ]
        .into_iter()
        .filter(|(_, chosen)| *chosen)
        .map(|(name, _)| name)
        .collect::<Vec<_>>()
        .join(",")
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// kordon's release binary; `None` leaves kordon out of the run.
    pub kordon: Option<PathBuf>,
    pub danted: Option<PathBuf>,
    pub squid: Option<PathBuf>,
    pub workloads: Workloads,
    /// CPUs the proxies are confined to (`None`: wherever the scheduler puts them).
    pub proxy_cpus: Option<Vec<usize>>,
    /// Bytes per bulk measurement, split over its streams.
    pub bulk_bytes: u64,
    /// Concurrent workers of the connection-rate test.
    pub workers: usize,
    /// Measured window of the connection-rate test (after a warm-up of a third of it).
    pub rate_window: Duration,
    /// Rounds of the bulk and rate tests, every lane once per round.
    pub rounds: usize,
    /// Idle connections held through each proxy for the memory figure.
    pub idle: usize,
    pub markdown: bool,
}

impl Options {
    pub fn defaults(kordon: PathBuf) -> Options {
        Options {
            kordon: Some(kordon),
            danted: None,
            squid: None,
            workloads: Workloads::ALL,
            proxy_cpus: None,
            bulk_bytes: 1 << 30,
            workers: 32,
            rate_window: Duration::from_secs(2),
            rounds: 3,
            idle: 10_000,
            markdown: false,
        }
    }
}

/// Reads the arguments after the program name; `kordon` is the default binary path.
pub fn parse(args: impl IntoIterator<Item = String>, kordon: PathBuf) -> Result<Options> {
    let mut options = Options::defaults(kordon);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--kordon" => options.kordon = Some(PathBuf::from(value()?)),
            "--no-kordon" => options.kordon = None,
            "--danted" => options.danted = Some(PathBuf::from(value()?)),
            "--squid" => options.squid = Some(PathBuf::from(value()?)),
            "--workloads" => options.workloads = Workloads::parse(&value()?)?,
            "--proxy-cpus" => options.proxy_cpus = Some(parse_cpus(&value()?)?),
            "--bulk-bytes" => options.bulk_bytes = parse_bytes(&value()?)?,
            "--workers" => options.workers = positive(&arg, &value()?)?,
            "--rate-seconds" => {
                options.rate_window = Duration::from_secs(positive(&arg, &value()?)? as u64)
            }
            "--idle" => options.idle = positive(&arg, &value()?)?,
            "--rounds" => options.rounds = positive(&arg, &value()?)?,
            "--markdown" => options.markdown = true,
            "--help" | "-h" => bail!("{USAGE}"),
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    if options.bulk_bytes < 16 {
        bail!("--bulk-bytes must be at least 16 (one byte per stream of the 16-stream test)");
    }
    Ok(options)
}

/// A comma-separated list of CPU numbers.
fn parse_cpus(list: &str) -> Result<Vec<usize>> {
    list.split(',')
        .map(|part| {
            part.trim()
                .parse::<usize>()
                .with_context(|| format!("--proxy-cpus: {part:?} is not a CPU number"))
        })
        .collect()
}

fn positive(name: &str, value: &str) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(number) if number > 0 => Ok(number),
        _ => bail!("{name} must be a positive integer, got {value:?}"),
    }
}

/// `1073741824`, `512M`, `1G` (binary multiples).
pub fn parse_bytes(value: &str) -> Result<u64> {
    let (digits, scale) = match value.char_indices().last() {
        Some((at, 'K' | 'k')) => (&value[..at], 1u64 << 10),
        Some((at, 'M' | 'm')) => (&value[..at], 1 << 20),
        Some((at, 'G' | 'g')) => (&value[..at], 1 << 30),
        _ => (value, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|number| number.checked_mul(scale))
        .with_context(|| format!("--bulk-bytes: {value:?} is not a byte count like 1G or 512M"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn reads_sizes_and_counts() {
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert!(parse_bytes("1T").is_err() && parse_bytes("").is_err());
        let options = parse(
            args(&[
                "--no-kordon",
                "--idle",
                "100",
                "--markdown",
                "--bulk-bytes",
                "64M",
            ]),
            PathBuf::from("kordon"),
        )
        .unwrap();
        assert!(options.kordon.is_none() && options.markdown);
        assert_eq!((options.idle, options.bulk_bytes), (100, 64 << 20));
    }

    #[test]
    fn refuses_bad_values_by_name() {
        let error = parse(args(&["--workers", "0"]), PathBuf::new()).unwrap_err();
        assert!(error
            .to_string()
            .contains("--workers must be a positive integer"));
        let error = parse(args(&["--idle"]), PathBuf::new()).unwrap_err();
        assert!(error.to_string().contains("--idle needs a value"));
        assert!(parse(args(&["--bogus"]), PathBuf::new()).is_err());
    }

    #[test]
    fn chooses_workloads() {
        let defaults = parse(Vec::new(), PathBuf::new()).unwrap();
        assert_eq!(defaults.workloads, Workloads::ALL);
        assert_eq!(defaults.workloads.list(), "bulk,rate,idle");
        let options = parse(args(&["--workloads", "idle, bulk"]), PathBuf::new()).unwrap();
        let chosen = Workloads {
            bulk: true,
            rate: false,
            idle: true,
        };
        assert_eq!(options.workloads, chosen);
        assert_eq!(chosen.list(), "bulk,idle");
        assert_eq!(Workloads::parse("rate,rate").unwrap().list(), "rate");
        let unknown = parse(args(&["--workloads", "bulk,latency"]), PathBuf::new()).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "--workloads: unknown workload \"latency\" (known: bulk, rate, idle)"
        );
        for empty in ["", "bulk,", ",rate"] {
            let error = Workloads::parse(empty).unwrap_err().to_string();
            assert!(error.contains("--workloads: empty name"), "{error}");
        }
        let missing = parse(args(&["--workloads"]), PathBuf::new()).unwrap_err();
        assert!(missing.to_string().contains("--workloads needs a value"));
    }

    #[test]
    fn usage_names_every_option() {
        for option in [
            "--kordon",
            "--no-kordon",
            "--danted",
            "--squid",
            "--workloads",
            "--bulk-bytes",
            "--workers",
            "--rate-seconds",
            "--rounds",
            "--idle",
            "--markdown",
        ] {
            assert!(USAGE.contains(option), "{option}");
        }
    }
}
