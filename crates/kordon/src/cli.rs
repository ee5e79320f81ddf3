//! Command line of the `kordon` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "kordon", version, about = "Self-hosted network-edge server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand that opens the store shares. Each also reads a `KORDON_*`
/// environment variable and the TOML file; the flag wins.
#[derive(Debug, Clone, Args, Default)]
pub struct CommonArgs {
    /// TOML configuration file [env: KORDON_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded database [env: KORDON_DATA_DIR] [default: ./kordon-data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: API, services, planes.
    Serve {
        #[command(flatten)]
        common: CommonArgs,
        /// Address of the API [env: KORDON_LISTEN] [default: 0.0.0.0:8000]
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<SocketAddr>,
    },
    /// Account recovery and set-up without the API.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// A lab of emulated modems in network namespaces (root).
    Lab {
        #[command(subcommand)]
        action: LabAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum LabAction {
    /// Build the lab and serve its modem emulators until SIGINT/SIGTERM or `kordon lab down`.
    Up {
        /// Number of emulated modems.
        #[arg(long, default_value_t = 5)]
        modems: usize,
        /// Comma-separated model codes or ids (e.g. Huawei_h_150,Zte_mf_833_r or 1,2),
        /// repeated to fill --modems [default: all five models in turn]
        #[arg(long, value_delimiter = ',')]
        models: Vec<String>,
        /// Lab name: 1-8 characters of a-z0-9; prefixes its namespaces and interfaces.
        #[arg(long, default_value = "lab")]
        name: String,
        /// Seconds a reconnect keeps the data link down.
        #[arg(long, default_value_t = 2.0)]
        reconnect_delay: f64,
    },
    /// Print the running labs' modems and echo service.
    Status {
        /// Only this lab [default: every running lab]
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Stop a lab and remove its namespaces and interfaces (also after a crash).
    Down {
        #[arg(long, default_value = "lab")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create a panel user (a superuser with --superuser).
    CreateUser {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        username: String,
        /// E-mail address [default: <username>@localhost.localdomain]
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        superuser: bool,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Replace a user's password (read from standard input) and revoke their keys.
    SetPassword {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        username: String,
    },
}
