//! The facts printed with a run: machine, kernel, peer versions, date.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use super::machine;

pub struct MachineFacts {
    pub cores: usize,
    pub cpu: String,
    pub kernel: String,
    pub memory_gib: f64,
    pub date: String,
    pub danted: String,
    pub squid: String,
}

impl MachineFacts {
    pub fn read(danted: &Path, squid: &Path) -> MachineFacts {
        let memory_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|line| line.starts_with("MemTotal:"))
                    .and_then(|line| line.split_whitespace().nth(1))
                    .and_then(|value| value.parse::<u64>().ok())
            })
            .unwrap_or(0);
        MachineFacts {
            cores: machine::cores(),
            cpu: machine::cpu_model(),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|text| text.trim().to_owned())
                .unwrap_or_else(|_| "unknown".to_owned()),
            memory_gib: memory_kib as f64 / (1024.0 * 1024.0),
            date: today(),
            danted: first_line_of(danted, "-v"),
            squid: first_line_of(squid, "-v"),
        }
    }

    pub fn line(&self) -> String {
        format!(
            "{date}, {cores} cores (`nproc`), {cpu}, {memory:.0} GiB, Linux {kernel}; peers: {danted}, {squid}",
            date = self.date,
            cores = self.cores,
            cpu = self.cpu,
            memory = self.memory_gib,
            kernel = self.kernel,
            danted = self.danted,
            squid = self.squid,
        )
    }
}

/// The first line a program prints for its version flag, trimmed of its copyright.
fn first_line_of(program: &Path, flag: &str) -> String {
    Command::new(program)
        .arg(flag)
        .output()
        .ok()
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            text.lines().next().map(|line| {
                line.split("Copyright")
                    .next()
                    .unwrap_or(line)
                    .trim_end_matches([' ', '.'])
                    .to_owned()
            })
        })
        .unwrap_or_else(|| format!("{} (version unknown)", program.display()))
}

/// Today's UTC date, `YYYY-MM-DD`.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs() / 86_400)
        .unwrap_or(0);
    let (year, month, day) = civil_from_days(days as i64);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_day_counts() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }
}
