//! Payload tests over realistic fixtures (`tests/fixtures/webhooks/`), shaped like the
//! examples GitHub and GitLab publish.

mod garbage;
mod github;
mod gitlab;

use rodeo_domain::{Command, NewDeployment};
use serde_json::Value;

use super::{Mapping, MappingConfig, Parsed};

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/webhooks/",
            $path
        ))
    };
}
pub(super) use fixture;

/// The mapping the fixtures are written against.
fn mapping() -> Mapping {
    let config: MappingConfig = toml::from_str(
        r#"
        repositories = { "acme/api-server" = "api" }
        environments = { prod = "production", live = "production" }

        [[monorepo]]
        repository = "acme/shop"
        service = "billing"
        paths = ["services/billing/**", "libs/money/**"]

        [[monorepo]]
        repository = "acme/shop"
        service = "checkout"
        paths = ["services/checkout/**"]

        [[monorepo]]
        repository = "acme/platform/shop"
        service = "billing"
        paths = ["services/billing/**", "libs/money/**"]

        [[monorepo]]
        repository = "acme/platform/shop"
        service = "checkout"
        paths = ["services/checkout/**"]
        "#,
    )
    .unwrap();
    Mapping::from_config(&config).unwrap()
}

/// A fixture with `edit` applied to its JSON.
fn edited(fixture: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value: Value = serde_json::from_str(fixture).unwrap();
    edit(&mut value);
    serde_json::to_vec(&value).unwrap()
}

/// Sets the value at a JSON pointer (`/deployment/payload`).
fn set(value: &mut Value, pointer: &str, new: Value) {
    *value.pointer_mut(pointer).unwrap() = new;
}

fn commands(parsed: Parsed) -> (String, Vec<Command>) {
    match parsed {
        Parsed::Commands { actor, commands } => (actor, commands),
        other => panic!("expected commands, got {other:?}"),
    }
}

fn only(parsed: Parsed) -> (String, Command) {
    let (actor, mut commands) = commands(parsed);
    assert_eq!(commands.len(), 1, "{commands:?}");
    (actor, commands.remove(0))
}

fn deployment(parsed: Parsed) -> NewDeployment {
    match only(parsed).1 {
        Command::RecordDeployment(d) => d,
        other => panic!("expected a deployment, got {other:?}"),
    }
}

fn ignored(parsed: Parsed) -> String {
    match parsed {
        Parsed::Ignored { reason } => reason,
        other => panic!("expected Ignored, got {other:?}"),
    }
}

fn ts(s: &str) -> rodeo_domain::Timestamp {
    rodeo_domain::parse_timestamp("test", s).unwrap()
}
