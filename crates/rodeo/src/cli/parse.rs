//! clap value parsers that turn arguments into domain types with the domain's messages.

use rodeo_domain::{
    parse_timestamp, EnvironmentName, Scope, ServiceName, TeamName, Timestamp, TokenName,
};

pub(super) fn service(s: &str) -> Result<ServiceName, String> {
    ServiceName::parse(s).map_err(|e| e.message)
}

pub(super) fn environment(s: &str) -> Result<EnvironmentName, String> {
    EnvironmentName::parse(s).map_err(|e| e.message)
}

pub(super) fn team(s: &str) -> Result<TeamName, String> {
    TeamName::parse(s).map_err(|e| e.message)
}

pub(super) fn token_name(s: &str) -> Result<TokenName, String> {
    TokenName::parse(s).map_err(|e| e.message)
}

pub(super) fn timestamp(s: &str) -> Result<Timestamp, String> {
    parse_timestamp("", s).map_err(|e| e.message)
}

pub(super) fn scope(s: &str) -> Result<Scope, String> {
    Scope::parse(s)
        .ok_or_else(|| "must be one of read, write, admin, sdk_client, sdk_server".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_domain_reason() {
        assert_eq!(
            service("API").unwrap_err(),
            "must start with a lowercase letter or a digit"
        );
        assert!(timestamp("yesterday").unwrap_err().contains("RFC 3339"));
        assert_eq!(scope("admin").unwrap(), Scope::Admin);
        assert!(scope("root").is_err());
    }
}
