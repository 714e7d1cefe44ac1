//! The `otlp-capture` binary: parse, validate, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use otlp_capture::cli::{Cli, Command, SessionCommand};
use otlp_capture::commands::{inspect, output, replay, session};
use otlp_capture::config::ServeSettings;
use otlp_capture::server;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Prints the one-line error; exit 2 for settings refused before serving, 1 otherwise,
/// and 0 without a word when the reader of stdout went away.
fn fail(error: &anyhow::Error) -> ExitCode {
    if error.downcast_ref::<output::ClosedPipe>().is_some() {
        return ExitCode::SUCCESS;
    }
    eprintln!("otlp-capture: {error:#}");
    match error.downcast_ref::<server::ServeError>() {
        Some(server::ServeError::Refused(_)) => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => Ok(server::run(ServeSettings::from_args(args).map_err(anyhow::Error::msg)?).await?),
        Command::Session(SessionCommand::Start(args)) => session::start(&args).await,
        Command::Session(SessionCommand::Stop { id, tap }) => session::stop(&id, &tap).await,
        Command::Session(SessionCommand::List { store }) => session::list(&store).await,
        Command::Session(SessionCommand::Show { id, store }) => session::show(&id, &store).await,
        Command::Replay(args) => replay::run(&args).await,
        Command::Inspect { target, store } => inspect::run(&target, &store).await,
    }
}
