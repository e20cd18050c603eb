//! The demo's feature flags: a realistic flagd definition per environment (release
//! flags mid-rollout, an experiment, an ops kill switch, a permission flag, one stale
//! flag) and a few everyday changes after it, so the ledger shows flag flips next to
//! deployments.

use serde_json::{json, Value};

/// The definition applied to `environment` (staging runs ahead of production).
pub fn definition(environment: &str) -> Value {
    let staging = environment == "staging";
    json!({
        "$evaluators": {
            "staff": {"ends_with": [{"var": "email"}, "@northwind.example"]},
            "beta-accounts": {"in": [{"var": "accountId"}, ["acct-1001", "acct-1002", "acct-2040"]]}
        },
        "metadata": {"source": "rodeo demo"},
        "flags": {
            "new-checkout": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "off",
                "targeting": {"if": [{"$ref": "staff"}, "on",
                    {"fractional": [["on", if staging { 100 } else { 25 }], ["off", if staging { 0 } else { 75 }]]}]},
                "metadata": {"owner": "payments", "type": "release", "lifetimeDays": 30}
            },
            "search-ranking": {
                "state": "ENABLED",
                "variants": {"control": "bm25", "semantic": "hybrid-v2", "semantic-boosted": "hybrid-v2-boost"},
                "defaultVariant": "control",
                "targeting": {"fractional": [{"cat": [{"var": "$flagd.flagKey"}, {"var": "accountId"}]},
                    ["control", 50], ["semantic", 25], ["semantic-boosted", 25]]},
                "metadata": {"owner": "discovery", "type": "experiment"}
            },
            "pdf-invoices": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "on",
                "metadata": {"owner": "billing", "type": "release", "lifetimeDays": 14}
            },
            "recommendations-widget": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "on",
                "metadata": {"owner": "discovery", "type": "kill-switch"}
            },
            "read-only-mode": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "off",
                "metadata": {"owner": "platform", "type": "ops", "lifetimeDays": 365}
            },
            "bulk-export": {
                "state": "ENABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "off",
                "targeting": {"if": [{"$ref": "beta-accounts"}, "on", {"if": [{"in": [{"var": "plan"}, ["enterprise"]]}, "on", "off"]}]},
                "metadata": {"owner": "web", "type": "permission"}
            },
            "min-app-version": {
                "state": "ENABLED",
                "variants": {"supported": "ok", "upgrade": "please-upgrade"},
                "defaultVariant": "supported",
                "targeting": {"if": [{"sem_ver": [{"var": "appVersion"}, "<", "4.2.0"]}, "upgrade", "supported"]},
                "metadata": {"owner": "mobile", "type": "ops", "lifetimeDays": 365}
            },
            "legacy-cart": {
                "state": "DISABLED",
                "variants": {"on": true, "off": false},
                "defaultVariant": "on",
                "metadata": {"owner": "payments", "type": "release"}
            },
            "holiday-banner": {
                "state": "ENABLED",
                "variants": {"none": "", "winter": "Winter sale: 20% off annual plans"},
                "defaultVariant": if staging { "winter" } else { "none" },
                "metadata": {"owner": "growth", "type": "release", "lifetimeDays": 45}
            }
        }
    })
}

/// Changes made after the definitions are applied: `(environment, path, body)` of
/// `POST /api/v1/flags/{env}/{key}/{action}`.
pub fn changes() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    vec![
        ("prod-eu", "new-checkout", "rollout", json!({"percent": 50})),
        ("prod-us", "recommendations-widget", "kill", json!({})),
        (
            "prod-us",
            "recommendations-widget",
            "toggle",
            json!({"enabled": true}),
        ),
        (
            "staging",
            "legacy-cart",
            "toggle",
            json!({"enabled": false}),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_definition_is_valid() {
        for env in ["staging", "prod-eu", "prod-us"] {
            rodeo_store::flags::validate(&definition(env)).unwrap();
        }
    }
}
