//! The stale-flag report: which flags are due for clean-up, and why, from a flag's
//! definition, its creation and change times and its last evaluation.

use serde_json::Value;

use super::FLAG_TYPES;

/// Why a flag is due for clean-up, as the stale-flag report lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Staleness {
    /// A flag of a type with an expected lifetime (release, experiment, ops) is older.
    PastLifetime {
        flag_type: String,
        lifetime_days: u32,
        age_days: i64,
    },
    /// Everyone has been served `variant`, unchanged, for `days` days: roll it into the code.
    FullyRolledOut { variant: String, days: i64 },
    /// Disabled, unchanged, for `days` days.
    Disabled { days: i64 },
    /// No evaluation recorded for `days` days (or ever, for a flag that old).
    Unused { days: i64 },
}

/// What the report needs to know about one flag.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagFacts<'a> {
    pub definition: &'a Value,
    pub created_at: rodeo_domain::Timestamp,
    pub updated_at: rodeo_domain::Timestamp,
    pub last_evaluated_at: Option<rodeo_domain::Timestamp>,
}

/// The variant every context gets, when that is decided without looking at the context:
/// no targeting, or a `fractional` rule with all the weight on one literal variant.
pub fn single_variant(definition: &Value) -> Option<String> {
    let default = definition.get("defaultVariant").and_then(Value::as_str);
    match definition.get("targeting") {
        None => default.map(str::to_owned),
        Some(Value::Object(t)) if t.is_empty() => default.map(str::to_owned),
        Some(t) => {
            let args = t.get("fractional")?.as_array()?;
            let buckets = args.iter().filter_map(Value::as_array);
            let live: Vec<&str> = buckets
                .filter(|b| b.get(1).and_then(Value::as_f64).is_none_or(|w| w > 0.0))
                .map(|b| b.first().and_then(Value::as_str))
                .collect::<Option<Vec<_>>>()?;
            match live.as_slice() {
                [one] => Some((*one).to_owned()),
                _ => None,
            }
        }
    }
}

/// The stale-flag findings for one flag at `now` (`after_days`: the rolled-out, disabled
/// and unused thresholds).
pub fn staleness(
    flag: &FlagFacts<'_>,
    now: rodeo_domain::Timestamp,
    after_days: u32,
) -> Vec<Staleness> {
    let mut out = Vec::new();
    let days = |since: rodeo_domain::Timestamp| (now - since).num_days();
    let meta = flag.definition.get("metadata");
    if let Some(flag_type) = meta.and_then(|m| m.get("type")).and_then(Value::as_str) {
        let default = FLAG_TYPES
            .iter()
            .find(|(t, _)| *t == flag_type)
            .and_then(|(_, d)| *d);
        let lifetime = meta
            .and_then(|m| m.get("lifetimeDays"))
            .and_then(Value::as_u64)
            .and_then(|d| u32::try_from(d).ok())
            .or(default);
        if let Some(lifetime) = lifetime.filter(|_| default.is_some()) {
            let age = days(flag.created_at);
            if age > i64::from(lifetime) {
                out.push(Staleness::PastLifetime {
                    flag_type: flag_type.to_owned(),
                    lifetime_days: lifetime,
                    age_days: age,
                });
            }
        }
    }
    let unchanged = days(flag.updated_at);
    let threshold = i64::from(after_days);
    if flag.definition.get("state").and_then(Value::as_str) == Some("DISABLED") {
        if unchanged >= threshold {
            out.push(Staleness::Disabled { days: unchanged });
        }
    } else if let Some(variant) = single_variant(flag.definition) {
        if unchanged >= threshold {
            out.push(Staleness::FullyRolledOut {
                variant,
                days: unchanged,
            });
        }
    }
    let idle = days(flag.last_evaluated_at.unwrap_or(flag.created_at));
    if idle >= threshold {
        out.push(Staleness::Unused { days: idle });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn boolean_flag() -> Value {
        json!({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"})
    }

    #[test]
    fn stale_flags_are_reported_for_each_reason() {
        let t = |d: i64| chrono::DateTime::from_timestamp(1_700_000_000 + d * 86_400, 0).unwrap();
        let mut release = boolean_flag();
        release["metadata"] = json!({"type": "release"});
        let facts = FlagFacts {
            definition: &release,
            created_at: t(0),
            updated_at: t(10),
            last_evaluated_at: Some(t(59)),
        };
        assert_eq!(
            staleness(&facts, t(60), 14),
            [
                Staleness::PastLifetime {
                    flag_type: "release".into(),
                    lifetime_days: 40,
                    age_days: 60
                },
                Staleness::FullyRolledOut {
                    variant: "off".into(),
                    days: 50
                },
            ]
        );
        let mut rolling = boolean_flag();
        rolling["targeting"] = json!({"fractional": [["on", 30], ["off", 70]]});
        let facts = FlagFacts {
            definition: &rolling,
            created_at: t(0),
            updated_at: t(0),
            last_evaluated_at: None,
        };
        assert_eq!(
            staleness(&facts, t(20), 14),
            [Staleness::Unused { days: 20 }]
        );
        rolling["targeting"] = json!({"fractional": [["on", 100], ["off", 0]]});
        assert_eq!(single_variant(&rolling).as_deref(), Some("on"));
        let mut kill_switch = boolean_flag();
        kill_switch["metadata"] = json!({"type": "kill-switch"});
        kill_switch["state"] = json!("DISABLED");
        let facts = FlagFacts {
            definition: &kill_switch,
            created_at: t(0),
            updated_at: t(0),
            last_evaluated_at: Some(t(99)),
        };
        assert_eq!(
            staleness(&facts, t(100), 14),
            [Staleness::Disabled { days: 100 }]
        );
    }
}
