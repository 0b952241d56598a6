//! `lakescore registry ...`: one module per subcommand (approve and reject
//! share one, as do tag and untag, and the free-text annotations).

mod alias;
mod annotate;
mod decide;
mod diff;
mod history;
mod list;
mod promote;
mod register;
mod request;
mod requests;
mod resolve;
mod rollback;
mod settings;
mod show;
mod tag;

use std::collections::BTreeMap;

use anyhow::Result;
use lakescore_engine::registry::{Registry, default_actor};

use super::Context;
use crate::cli::{Actor, RegistryCommand};
use crate::exit::{ExitStatus, UsageError};

pub(crate) async fn registry(ctx: &Context, cmd: RegistryCommand) -> Result<ExitStatus> {
    // Registering is how a lake comes to be; every other command needs one.
    let lake = if matches!(cmd, RegistryCommand::Register(_)) {
        ctx.create_lake()?
    } else {
        ctx.open_lake()?
    };
    let registry = Registry::new(lake);
    let p = ctx.printer;
    match cmd {
        RegistryCommand::Register(a) => register::register(&registry, p, a).await?,
        RegistryCommand::Show(a) => show::show(&registry, p, a).await?,
        RegistryCommand::Resolve(a) => resolve::resolve(&registry, p, a).await?,
        RegistryCommand::Promote(a) => promote::promote(&registry, p, a).await?,
        RegistryCommand::Request(a) => request::request(&registry, p, a).await?,
        RegistryCommand::Approve(a) => decide::decide(&registry, p, a, true).await?,
        RegistryCommand::Reject(a) => decide::decide(&registry, p, a, false).await?,
        RegistryCommand::Requests(a) => requests::requests(&registry, p, a).await?,
        RegistryCommand::Settings(a) => settings::settings(&registry, p, a).await?,
        RegistryCommand::Tag(a) => tag::tag(&registry, p, a).await?,
        RegistryCommand::Untag(a) => tag::untag(&registry, p, a).await?,
        RegistryCommand::Describe(a) => annotate::describe(&registry, p, a).await?,
        RegistryCommand::Owner(a) => annotate::owner(&registry, p, a).await?,
        RegistryCommand::Comment(a) => annotate::comment(&registry, p, a).await?,
        RegistryCommand::Alias(a) => alias::alias(&registry, p, a).await?,
        RegistryCommand::Rollback(a) => rollback::rollback(&registry, p, a).await?,
        RegistryCommand::Diff(a) => diff::diff(&registry, p, a).await?,
        RegistryCommand::List(a) => list::list(&registry, p, a).await?,
        RegistryCommand::History(a) => history::history(&registry, p, a).await?,
    }
    Ok(ExitStatus::Success)
}

/// The acting user: `--actor`, else the environment's.
fn actor(a: Actor) -> String {
    a.actor.unwrap_or_else(default_actor)
}

/// "NAME version N" or "model NAME".
fn on_what(name: &str, version: Option<i64>) -> String {
    match version {
        Some(v) => format!("{name} version {v}"),
        None => format!("model {name}"),
    }
}

/// Parse repeated `--FLAG KEY=VALUE` arguments.
fn parse_pairs(flag: &str, pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|t| {
            t.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| UsageError(format!("{flag} {t:?} must be KEY=VALUE")).into())
        })
        .collect()
}
