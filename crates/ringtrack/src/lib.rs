//! The `ringtrack` binary: the CLI, configuration, wiring of the server and its background
//! workers. A library too, so that tests build the server exactly as `serve` does.

pub mod admin;
pub mod cli;
pub mod deliveries;
pub mod llm;
pub mod outbound;
pub mod periodic;
pub mod pipeline;
pub mod quiet_calls;
pub mod renewals;
pub mod seed;
pub mod serve;
pub mod simulate;
pub mod wiring;
pub mod worker;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{AdminCommand, Cli, Command, ModelsCommand, SimulateCommand};

/// Runs the command line; what `main` does.
pub fn main() -> ExitCode {
    // Recordings, the database and the keys are for this user only: files 0600, folders 0700.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return cli::report_usage_error(error),
    };
    cli::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&anyhow::anyhow!("cannot start the async runtime: {error}")),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(&cli.storage, *args).await,
            Command::Migrate => admin::migrate(&cli.storage).await,
            Command::Admin(AdminCommand::CreateBusiness(args)) => {
                admin::create_business(&cli.storage, args).await
            }
            Command::Admin(AdminCommand::CreateKey(args)) => admin::create_key(&cli.storage, args).await,
            Command::Admin(AdminCommand::Credit(args)) => admin::credit(&cli.storage, args).await,
            Command::Admin(AdminCommand::CreateUser(args)) => admin::create_user(&cli.storage, args).await,
            Command::Simulate(SimulateCommand::Call(args)) => simulate::call(&cli.storage, args).await,
            Command::Seed(args) => seed::run(&cli.storage, args).await,
            Command::Backup { to } => admin::backup(&cli.storage, &to).await,
            Command::Restore { from } => admin::restore(&cli.storage, &from).await,
            Command::Models(ModelsCommand::Fetch { model }) => {
                let path = ringtrack_media::models::fetch(&cli.storage.data_dir, model)
                    .map_err(anyhow::Error::msg)?;
                println!("{}", path.display());
                Ok(())
            }
        }
    });
    // A blocking task still running (a transcription, a read) must not hold up the exit:
    // its job's lease runs out and another worker takes the job.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// One line on stderr, the causes joined, never a panic trace.
fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("ringtrack: {error:#}");
    ExitCode::FAILURE
}
