//! The `otlp-capture` binary: parse, validate, run, map errors to exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use otlp_capture::cli::{Cli, Command, InvalidArgs, LogFormat, SessionCommand};
use otlp_capture::commands::{inspect, output, replay, session};
use otlp_capture::config::ServeSettings;
use otlp_capture::phases::MarkRequest;
use otlp_capture::retention::PruneRule;
use otlp_capture::server;

fn main() -> ExitCode {
    // Everything this process writes (store, metadata, journal, spool, cache) holds
    // production telemetry: private to the user running it, whatever the umask.
    otlp_capture::file_modes::private_by_default();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        // Colour codes only where a person reads them, never into files or pipes.
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
    if matches!(cli.command, Command::Replay(_)) {
        otlp_capture::memory::use_one_arena();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    // A bug must not end the process with a backtrace and exit 101: one line, exit 1.
    std::panic::set_hook(Box::new(|info| {
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::error!("internal error{place}: {}", panic_message(info.payload()));
    }));
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(run(cli.command))));
    match ran {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => fail(&e),
        Err(payload) => fail(&anyhow::anyhow!("internal error: {}", panic_message(&*payload))),
    }
}

/// The text a panic carried, when it carried text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
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
        _ if error.downcast_ref::<InvalidArgs>().is_some() => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => Ok(server::run(ServeSettings::from_args(args).map_err(InvalidArgs)?).await?),
        Command::Session(SessionCommand::Start(args)) => session::start(&args).await,
        Command::Session(SessionCommand::Stop { id, tap }) => session::stop(&id, &tap).await,
        Command::Session(SessionCommand::List { store, filter, json }) => session::list(&store, &filter, json).await,
        Command::Session(SessionCommand::Show { id, store, filter, tap }) => {
            session::show(&id, &store, &filter, &tap).await
        }
        Command::Session(SessionCommand::Delete { id, store, filter, force, tap }) => {
            session::delete(&id, &store, &filter, force, &tap).await
        }
        Command::Session(SessionCommand::Mark { id, phase, at, value, store, filter, tap }) => {
            let value = value.map(|v| serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v)));
            let request = MarkRequest { name: phase, at: at.map(|a| serde_json::Value::from(a.0)), value };
            session::mark(session::MarkArgs { id: &id, request, store: &store, filter: &filter, tap: &tap }).await
        }
        Command::Session(SessionCommand::Prune { older_than, keep, dry_run, store }) => {
            session::prune(&store, PruneRule { older_than, keep }, dry_run).await
        }
        Command::Replay(args) => replay::run(&args).await,
        Command::Generate { what } => generate(&what),
        Command::Inspect { target, store, filter, phase } => {
            inspect::run(&target, &store, &filter, phase.as_deref()).await
        }
    }
}

/// Shell completions or the man page, from the command line's own definition;
/// or the component the binary embeds, for other hosts to load.
fn generate(what: &str) -> anyhow::Result<()> {
    use clap::CommandFactory;
    use std::io::{IsTerminal, Write};
    if what == "compilation" {
        let installed = otlp_capture::runtime::install_compilation()?;
        output::line(format_args!("installed the component's compilation: {}", installed.display()))?;
        return Ok(());
    }
    if what == "component" {
        let component = otlp_capture::runtime::EMBEDDED_COMPONENT;
        anyhow::ensure!(!component.is_empty(), "this binary was built without the component (run `make build`)");
        let mut stdout = std::io::stdout().lock();
        anyhow::ensure!(
            !stdout.is_terminal(),
            "generate component writes a .wasm file: redirect it (> otlp-processor.wasm)"
        );
        stdout.write_all(component)?;
        return Ok(stdout.flush()?);
    }
    let mut command = Cli::command();
    let mut text = Vec::new();
    if what == "man" {
        clap_mangen::Man::new(command).render(&mut text)?;
    } else {
        let shell: clap_complete::Shell = what.parse().map_err(|_| {
            anyhow::anyhow!("generate {what:?}: use bash, zsh, fish, elvish, powershell, man, component or compilation")
        })?;
        clap_complete::generate(shell, &mut command, "otlp-capture", &mut text);
    }
    output::line(String::from_utf8_lossy(&text).trim_end())?;
    Ok(())
}
