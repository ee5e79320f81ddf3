//! The `kordon` binary: command line, settings, logging, and the wiring of the planes.

mod admin;
mod bootstrap;
mod cli;
mod housekeeping;
mod ipfilter_plane;
mod lab;
mod proxy_counters;
mod proxy_plane;
mod rotation_bridge;
mod serve;
mod settings;

use anyhow::Result;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command};
use settings::{ProcessEnv, Settings};

fn init_logging(filter: &str, format: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { common, listen } => {
            let settings = Settings::load(&common, listen, &ProcessEnv)?;
            init_logging(&settings.log, &settings.log_format);
            serve::run(settings).await
        }
        Command::Admin { action } => {
            init_logging("warn", "text");
            admin::run(action).await
        }
        Command::Lab { action } => {
            init_logging("info", "text");
            lab::run(action).await
        }
    }
}
