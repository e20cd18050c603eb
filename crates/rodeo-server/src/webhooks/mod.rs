//! PLACEHOLDER until the webhook parsing module lands (branch h/c).
#![allow(dead_code, unreachable_pub)]

use rodeo_domain::Command;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MappingConfig {}

#[derive(Debug, Default)]
pub struct Mapping;

impl Mapping {
    pub fn from_config(_: &MappingConfig) -> Result<Self, std::io::Error> {
        Ok(Self)
    }
}

#[derive(Debug)]
pub enum Parsed {
    Commands {
        actor: String,
        commands: Vec<Command>,
    },
    Ping,
    Ignored {
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("bad")]
pub struct WebhookError;

#[derive(Debug, thiserror::Error)]
#[error("bad signature")]
pub struct SignatureError;

pub fn verify_github(_: &[u8], _: &[u8], _: Option<&str>) -> Result<(), SignatureError> {
    Err(SignatureError)
}

pub fn verify_gitlab(_: &str, _: Option<&str>) -> Result<(), SignatureError> {
    Err(SignatureError)
}

pub fn parse_github(_: &str, _: &[u8], _: &Mapping) -> Result<Parsed, WebhookError> {
    Err(WebhookError)
}

pub fn parse_gitlab(_: &str, _: &[u8], _: &Mapping) -> Result<Parsed, WebhookError> {
    Err(WebhookError)
}
