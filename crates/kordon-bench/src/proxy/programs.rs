//! The peer programs a run needs, found before anything starts: a missing one stops the bench
//! with the Debian package (or build command) that provides it.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::args::Options;

/// Every program of a run, found.
#[derive(Debug)]
pub struct Programs {
    pub danted: PathBuf,
    pub squid: PathBuf,
    pub kordon: Option<PathBuf>,
}

/// Finds every peer the options ask for, or refuses the run naming what is missing.
pub fn locate(options: &Options, search_path: &OsStr) -> Result<Programs> {
    let danted = find_debian(DANTED, options.danted.as_deref(), search_path)?;
    let squid = find_debian(SQUID, options.squid.as_deref(), search_path)?;
    if let Some(kordon) = &options.kordon {
        check_kordon(kordon)?;
    }
    Ok(Programs {
        danted,
        squid,
        kordon: options.kordon.clone(),
    })
}

/// A Debian program the bench compares kordon with.
#[derive(Debug, Clone, Copy)]
pub struct DebianProgram {
    pub name: &'static str,
    pub package: &'static str,
    /// The bench's option that names it explicitly.
    pub option: &'static str,
}

pub const DANTED: DebianProgram = DebianProgram {
    name: "danted",
    package: "dante-server",
    option: "--danted",
};

pub const SQUID: DebianProgram = DebianProgram {
    name: "squid",
    package: "squid",
    option: "--squid",
};

/// The explicit path if given, else the first executable `name` on `search_path` (`$PATH`'s
/// form). Debian puts daemons in /usr/sbin, which a non-root user's PATH often lacks, so the
/// sbin directories are searched too.
pub fn find_debian(
    program: DebianProgram,
    explicit: Option<&Path>,
    search_path: &OsStr,
) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if is_executable(path) {
            return Ok(path.to_path_buf());
        }
        bail!(
            "{} {}: no such executable (it comes with the Debian package {}: \
             apt-get install -y {})",
            program.option,
            path.display(),
            program.package,
            program.package
        );
    }
    let sbin = [PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")];
    std::env::split_paths(search_path)
        .chain(sbin)
        .map(|dir| dir.join(program.name))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{} not found in PATH: install the Debian package {} (apt-get install -y {}) \
                 or pass {} PATH",
                program.name,
                program.package,
                program.package,
                program.option
            )
        })
}

/// kordon's release binary, which the bench never builds itself.
pub fn check_kordon(path: &Path) -> Result<()> {
    if !is_executable(path) {
        bail!(
            "{} not found: build it (cargo build --release -p kordon), pass --kordon PATH, \
             or leave kordon out with --no-kordon",
            path.display()
        );
    }
    Ok(())
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A program that exists nowhere, so the sbin fallback cannot find it either.
    const ABSENT: DebianProgram = DebianProgram {
        name: "kordon-bench-absent-daemon",
        package: "absent-package",
        option: "--absent",
    };

    #[test]
    fn a_missing_program_names_its_debian_package() {
        let empty = tempfile::tempdir().unwrap();
        let error = find_debian(ABSENT, None, empty.path().as_os_str())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("kordon-bench-absent-daemon not found")
                && error.contains("apt-get install -y absent-package"),
            "{error}"
        );
        let error = find_debian(DANTED, Some(&empty.path().join("danted")), OsStr::new(""))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--danted") && error.contains("dante-server"),
            "{error}"
        );
    }

    #[test]
    fn the_run_is_refused_when_a_peer_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = Options::defaults(dir.path().join("kordon"));
        options.kordon = None;
        options.danted = Some(dir.path().join("danted"));
        let error = locate(&options, OsStr::new("")).unwrap_err().to_string();
        assert!(error.contains("Debian package dante-server"), "{error}");
        // Any executable stands in for danted, so this holds where dante is not installed.
        options.danted = Some(PathBuf::from("/bin/sh"));
        options.squid = Some(dir.path().join("squid"));
        let error = locate(&options, OsStr::new("")).unwrap_err().to_string();
        assert!(error.contains("Debian package squid"), "{error}");
    }

    #[test]
    fn finds_an_executable_on_the_search_path() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join(ABSENT.name);
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = find_debian(ABSENT, None, dir.path().as_os_str()).unwrap();
        assert_eq!(found, program);
    }

    #[test]
    fn a_missing_kordon_says_how_to_build_it() {
        let error = check_kordon(Path::new("/nonexistent/kordon"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("cargo build --release -p kordon"), "{error}");
    }
}
