//! The command line as a tool among others: install artefacts (completions,
//! man pages, version), pipes, colour and argument checks.

use std::process::Stdio;

use super::*;

#[test]
fn completions_man_pages_and_version_come_from_the_definition() {
    let env = Env::new();
    let bash = env.ok(&["completions", "bash"]);
    assert!(
        bash.contains("_lakescore()")
            && bash.contains("lakescore__subcmd__registry__subcmd__promote"),
        "{bash}"
    );
    let zsh = env.ok(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef lakescore"), "{zsh}");
    let out = env.path("man");
    env.ok(&["man", "--out", out.to_str().unwrap()]);
    for page in [
        "lakescore.1",
        "lakescore-run.1",
        "lakescore-registry-promote.1",
    ] {
        let text = std::fs::read_to_string(out.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}: {text}");
    }
    let version = env.ok(&["--version"]);
    assert!(
        version.starts_with(&format!("lakescore {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let help = env.ok(&["--help"]);
    assert!(
        help.contains("Exit codes:") && help.contains("Global options:"),
        "{help}"
    );
    let long = env.ok(&["run", "--help"]);
    assert!(
        long.contains("Examples:\n  lakescore run jobs/demo.toml"),
        "{long}"
    );
    assert!(!env.lake().exists(), "no command above needs a lake");
}

/// The allocator options compiled into the binary reach jemalloc (it lists
/// each source of options it reads when asked to confirm them), and the
/// environment can still add to them.
#[test]
fn jemalloc_reads_the_compiled_in_options() {
    let out = Command::new(BIN)
        .arg("--version")
        .env("_RJEM_MALLOC_CONF", "confirm_conf:true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("background_thread:true,dirty_decay_ms:200"),
        "{stderr}"
    );
    assert!(stderr.contains("confirm_conf:true"), "{stderr}");
}

/// Output into a closed pipe (`| head`) ends quietly with 0, as ripgrep does.
#[test]
fn a_closed_pipe_ends_quietly() {
    let env = Env::new();
    env.register_demo();
    for args in [
        &["completions", "bash"][..],
        &["registry", "list", "--json"],
        &["runs"],
    ] {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(repo())
            .env("LAKESCORE_LAKE", env.lake())
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before anything is written
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// Logs are coloured only on a terminal (never in a file or a pipe), unless
/// `--color always`; `--color never` and NO_COLOR turn it off.
#[test]
fn colour_only_on_a_terminal_or_when_asked() {
    let env = Env::new();
    env.register_demo();
    let artifact = repo().join("fixtures/demo/churn_model.json");
    let register = |extra: &[&str], no_color: bool| {
        let mut cmd = Command::new(BIN);
        cmd.args(extra)
            .args([
                "registry",
                "register",
                "churn",
                "--flavor",
                "xgboost",
                "--artifact",
            ])
            .arg(&artifact)
            .env("LAKESCORE_LAKE", env.lake())
            .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // The same artifact again: a warning, which is the log line looked at.
    let piped = register(&[], false);
    assert!(
        piped.contains("identical (SHA-256) to version(s) [1]"),
        "{piped}"
    );
    assert!(!piped.contains('\x1b'), "{piped:?}");
    assert!(register(&["--color", "always"], false).contains('\x1b'));
    assert!(!register(&["--color", "never"], false).contains('\x1b'));
    assert!(!register(&[], true).contains('\x1b'));
}

#[test]
fn out_of_range_options_are_refused_not_adjusted() {
    let env = Env::new();
    let (_, err) = env.expect(2, &["schedule", "jobs", "--max-running", "0"]);
    assert!(err.contains("--max-running"), "{err}");
    let (_, err) = env.expect(2, &["runs", "--color", "sometimes"]);
    assert!(
        err.contains("possible values: auto, always, never"),
        "{err}"
    );
}
