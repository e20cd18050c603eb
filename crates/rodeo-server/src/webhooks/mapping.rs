//! Which rodeo service a repository (or a path inside a monorepo) belongs to, and what
//! rodeo calls an environment that a CI system names differently.
//!
//! [`MappingConfig`] is the `[mapping]` section of the configuration file;
//! [`Mapping::from_config`] checks it and compiles its globs once, at start-up.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use rodeo_domain::{EnvironmentName, FieldError, ServiceName};
use serde::{Deserialize, Serialize};

/// The `[mapping]` section of rodeo's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MappingConfig {
    /// Service for each repository (`owner/name`, compared case-insensitively), e.g.
    /// `repositories = { "acme/api-server" = "api" }`. A repository not listed maps to
    /// its name without the owner, lowercased, other characters replaced by `-`.
    pub repositories: BTreeMap<String, ServiceName>,
    /// Monorepos: a commit belongs to the services whose path globs match a file it
    /// added, modified or removed. One `[[mapping.monorepo]]` entry per service.
    pub monorepo: Vec<MonorepoConfig>,
    /// Environment aliases applied before names are normalized (keys compared
    /// case-insensitively), e.g. `environments = { prod = "production", live = "production" }`.
    pub environments: BTreeMap<String, EnvironmentName>,
}

/// One service inside a monorepo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonorepoConfig {
    /// The repository, `owner/name` (compared case-insensitively).
    pub repository: String,
    /// The service that owns the paths below.
    pub service: ServiceName,
    /// Globs relative to the repository root: `*` stays within one directory, `**`
    /// crosses directories, e.g. `["services/billing/**", "libs/money/**"]`.
    pub paths: Vec<String>,
}

/// A configuration the mapping cannot be built from.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("mapping.monorepo[{index}] ({repository}): path glob {pattern:?} is invalid")]
    Glob {
        index: usize,
        repository: String,
        pattern: String,
        #[source]
        source: globset::Error,
    },
    #[error("mapping.monorepo[{index}] ({repository}): paths must list at least one glob")]
    NoPaths { index: usize, repository: String },
    #[error("mapping.environments: aliases {first:?} and {second:?} differ only in case but name different environments")]
    ConflictingAliases { first: String, second: String },
}

/// The compiled mapping.
#[derive(Debug, Default)]
pub struct Mapping {
    /// Keyed by lowercased `owner/name`.
    repositories: HashMap<String, ServiceName>,
    monorepos: HashMap<String, Vec<(ServiceName, GlobSet)>>,
    /// Keyed by lowercased alias.
    environments: HashMap<String, EnvironmentName>,
}

impl Mapping {
    pub fn from_config(config: &MappingConfig) -> Result<Self, MappingError> {
        let repositories = config
            .repositories
            .iter()
            .map(|(repo, service)| (repo.to_lowercase(), service.clone()))
            .collect();

        let mut monorepos: HashMap<String, Vec<(ServiceName, GlobSet)>> = HashMap::new();
        for (index, entry) in config.monorepo.iter().enumerate() {
            let set = compile(index, entry)?;
            monorepos
                .entry(entry.repository.to_lowercase())
                .or_default()
                .push((entry.service.clone(), set));
        }

        let mut environments: HashMap<String, EnvironmentName> = HashMap::new();
        let mut original: HashMap<String, &str> = HashMap::new();
        for (alias, target) in &config.environments {
            let key = alias.trim().to_lowercase();
            if let Some(previous) = environments.insert(key.clone(), target.clone()) {
                if previous != *target {
                    return Err(MappingError::ConflictingAliases {
                        first: original.get(&key).copied().unwrap_or_default().to_owned(),
                        second: alias.clone(),
                    });
                }
            }
            original.insert(key, alias);
        }

        Ok(Self {
            repositories,
            monorepos,
            environments,
        })
    }

    /// The service a repository deploys as. `field` names the payload field the
    /// repository came from, for the error when its name cannot become a service name.
    pub fn service_for_repository(
        &self,
        field: &str,
        repository: &str,
    ) -> Result<ServiceName, FieldError> {
        if let Some(service) = self.repositories.get(&repository.to_lowercase()) {
            return Ok(service.clone());
        }
        let name = repository
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(repository);
        ServiceName::normalize(field, name).map_err(|e| FieldError {
            message: format!(
                "{repository:?} does not give a service name ({}); map it under [mapping] repositories",
                e.message
            ),
            ..e
        })
    }

    /// Whether `repository` has monorepo path globs.
    pub fn is_monorepo(&self, repository: &str) -> bool {
        self.monorepos.contains_key(&repository.to_lowercase())
    }

    /// The services whose globs match any of `paths`, sorted; empty when the repository
    /// is not a monorepo or nothing matched.
    pub fn services_for_paths<'p>(
        &self,
        repository: &str,
        paths: impl IntoIterator<Item = &'p str> + Clone,
    ) -> Vec<ServiceName> {
        let Some(entries) = self.monorepos.get(&repository.to_lowercase()) else {
            return Vec::new();
        };
        let mut services = BTreeSet::new();
        for (service, set) in entries {
            if paths.clone().into_iter().any(|p| set.is_match(p)) {
                services.insert(service.clone());
            }
        }
        services.into_iter().collect()
    }

    /// The rodeo environment for a name a CI system sent: the alias table first, then
    /// [`EnvironmentName::normalize`].
    pub fn environment(&self, field: &str, name: &str) -> Result<EnvironmentName, FieldError> {
        match self.environments.get(&name.trim().to_lowercase()) {
            Some(env) => Ok(env.clone()),
            None => EnvironmentName::normalize(field, name),
        }
    }
}

fn compile(index: usize, entry: &MonorepoConfig) -> Result<GlobSet, MappingError> {
    if entry.paths.is_empty() {
        return Err(MappingError::NoPaths {
            index,
            repository: entry.repository.clone(),
        });
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in &entry.paths {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|source| MappingError::Glob {
                index,
                repository: entry.repository.clone(),
                pattern: pattern.clone(),
                source,
            })?;
        builder.add(glob);
    }
    builder.build().map_err(|source| MappingError::Glob {
        index,
        repository: entry.repository.clone(),
        pattern: entry.paths.join(", "),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_text: &str) -> MappingConfig {
        toml::from_str(toml_text).unwrap()
    }

    fn example() -> Mapping {
        Mapping::from_config(&config(
            r#"
            repositories = { "acme/api-server" = "api" }
            environments = { prod = "production", Live = "production" }

            [[monorepo]]
            repository = "acme/mono"
            service = "billing"
            paths = ["services/billing/**", "libs/money/**"]

            [[monorepo]]
            repository = "acme/mono"
            service = "checkout"
            paths = ["services/checkout/**", "libs/money/*.rs"]
            "#,
        ))
        .unwrap()
    }

    fn names(services: Vec<ServiceName>) -> Vec<String> {
        services.into_iter().map(ServiceName::into_string).collect()
    }

    #[test]
    fn repositories_map_explicitly_or_by_name() {
        let m = example();
        let svc = |r| {
            m.service_for_repository("repository", r)
                .unwrap()
                .into_string()
        };
        assert_eq!(svc("acme/api-server"), "api");
        assert_eq!(svc("ACME/Api-Server"), "api");
        assert_eq!(svc("acme/Web_Frontend"), "web_frontend");
        assert_eq!(svc("group/subgroup/Payments Service"), "payments-service");
        assert_eq!(svc("bare"), "bare");
        let e = m
            .service_for_repository("repository.full_name", "acme/---")
            .unwrap_err();
        assert_eq!(e.field, "repository.full_name");
        assert!(
            e.message.contains("[mapping] repositories"),
            "{}",
            e.message
        );
    }

    #[test]
    fn monorepo_paths_select_services() {
        let m = example();
        assert!(m.is_monorepo("ACME/mono"));
        assert!(!m.is_monorepo("acme/api-server"));
        let s = |paths: &[&str]| names(m.services_for_paths("acme/mono", paths.iter().copied()));
        assert_eq!(s(&["services/billing/src/lib.rs"]), ["billing"]);
        assert_eq!(s(&["libs/money/lib.rs"]), ["billing", "checkout"]);
        assert_eq!(
            s(&["libs/money/src/lib.rs"]),
            ["billing"],
            "* stays in one directory"
        );
        assert_eq!(s(&["README.md", "services/checkout/x"]), ["checkout"]);
        assert!(s(&["docs/index.md"]).is_empty());
        assert!(s(&[]).is_empty());
        assert!(m
            .services_for_paths("acme/api-server", ["services/billing/a"])
            .is_empty());
    }

    #[test]
    fn environment_aliases_apply_before_normalizing() {
        let m = example();
        let env = |n| m.environment("environment", n).unwrap().into_string();
        assert_eq!(env("prod"), "production");
        assert_eq!(env("PROD"), "production");
        assert_eq!(env("live"), "production");
        assert_eq!(env("Staging EU"), "staging-eu");
        assert_eq!(
            m.environment("deployment.environment", "!!!")
                .unwrap_err()
                .field,
            "deployment.environment"
        );
    }

    #[test]
    fn bad_configs_are_rejected_clearly() {
        let bad_glob = config(
            r#"
            [[monorepo]]
            repository = "acme/mono"
            service = "billing"
            paths = ["services/{billing"]
            "#,
        );
        let e = Mapping::from_config(&bad_glob).unwrap_err();
        assert!(matches!(e, MappingError::Glob { index: 0, .. }));
        assert!(e.to_string().contains("services/{billing"), "{e}");
        assert!(std::error::Error::source(&e).is_some());

        let no_paths = config("[[monorepo]]\nrepository = \"a/b\"\nservice = \"b\"\npaths = []");
        assert!(matches!(
            Mapping::from_config(&no_paths),
            Err(MappingError::NoPaths { .. })
        ));

        let conflict = config(r#"environments = { prod = "production", PROD = "prod-eu" }"#);
        assert!(matches!(
            Mapping::from_config(&conflict),
            Err(MappingError::ConflictingAliases { .. })
        ));
    }

    #[test]
    fn the_config_rejects_unknown_keys_and_invalid_names() {
        assert!(toml::from_str::<MappingConfig>("repos = {}").is_err());
        assert!(
            toml::from_str::<MappingConfig>(r#"repositories = { "a/b" = "Bad Name" }"#).is_err()
        );
        assert!(toml::from_str::<MappingConfig>(r#"environments = { prod = "PROD" }"#).is_err());
        let extra =
            "[[monorepo]]\nrepository = \"a/b\"\nservice = \"b\"\npaths = [\"x\"]\nglob = 1";
        assert!(toml::from_str::<MappingConfig>(extra).is_err());
        assert_eq!(
            toml::from_str::<MappingConfig>("").unwrap(),
            MappingConfig::default()
        );
    }
}
