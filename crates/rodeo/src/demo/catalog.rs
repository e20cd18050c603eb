//! The fictional organisation the demo describes: Tumbleweed, a parcel-delivery
//! company. Teams, services with their deployment cadence, people, and the words
//! commit messages are made of. Plain data; all randomness is in the generators.

/// How often a service ships to staging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cadence {
    /// Several deployments on a working day.
    Hourly,
    /// About one deployment a working day.
    Daily,
    /// One deployment a week, on the service's release day.
    Weekly,
}

pub(super) struct TeamSpec {
    pub(super) name: &'static str,
    pub(super) display_name: &'static str,
}

pub(super) struct ServiceSpec {
    pub(super) name: &'static str,
    pub(super) team: &'static str,
    pub(super) cadence: Cadence,
    /// Commit message scopes (`feat(<scope>): ...`).
    pub(super) scopes: &'static [&'static str],
}

pub(super) struct Person {
    pub(super) name: &'static str,
    pub(super) email: &'static str,
    /// `None`: a bot that works for every team.
    pub(super) team: Option<&'static str>,
}

const fn team(name: &'static str, display_name: &'static str) -> TeamSpec {
    TeamSpec { name, display_name }
}

const fn service(
    name: &'static str,
    team: &'static str,
    cadence: Cadence,
    scopes: &'static [&'static str],
) -> ServiceSpec {
    ServiceSpec {
        name,
        team,
        cadence,
        scopes,
    }
}

const fn person(name: &'static str, email: &'static str, team: Option<&'static str>) -> Person {
    Person { name, email, team }
}

pub(super) const ORG: &str = "tumbleweed";

pub(super) const TEAMS: &[TeamSpec] = &[
    team("payments", "Payments & Billing"),
    team("platform", "Platform"),
    team("growth", "Growth"),
    team("fulfilment", "Fulfilment"),
];

// One line per entry reads as a table.
#[rustfmt::skip]
pub(super) const SERVICES: &[ServiceSpec] = &[
    service("api-gateway", "platform", Cadence::Hourly, &["routing", "auth", "rate-limit", "tls"]),
    service("checkout", "payments", Cadence::Hourly, &["cart", "payment", "tax", "ui"]),
    service("search", "growth", Cadence::Hourly, &["index", "ranking", "query", "api"]),
    service("web", "growth", Cadence::Hourly, &["tracking", "i18n", "a11y", "layout"]),
    service("auth", "platform", Cadence::Daily, &["oidc", "session", "mfa", "tokens"]),
    service("billing", "payments", Cadence::Daily, &["invoice", "refund", "currency", "dunning"]),
    service("notifications", "platform", Cadence::Daily, &["email", "sms", "push", "templates"]),
    service("inventory", "fulfilment", Cadence::Daily, &["stock", "sync", "reservations", "api"]),
    service("ledger", "payments", Cadence::Weekly, &["journal", "reconcile", "export"]),
    service("recommendations", "growth", Cadence::Weekly, &["model", "features", "batch"]),
    service("shipping", "fulfilment", Cadence::Weekly, &["labels", "carriers", "tracking"]),
    service("warehouse-worker", "fulfilment", Cadence::Weekly, &["picking", "queue", "scanner"]),
];

#[rustfmt::skip]
pub(super) const PEOPLE: &[Person] = &[
    person("Amara Okafor", "amara.okafor@tumbleweed.example", Some("payments")),
    person("Lukas Becker", "lukas.becker@tumbleweed.example", Some("payments")),
    person("Priya Raman", "priya.raman@tumbleweed.example", Some("payments")),
    person("Tomás Herrera", "tomas.herrera@tumbleweed.example", Some("payments")),
    person("Mei Tanaka", "mei.tanaka@tumbleweed.example", Some("payments")),
    person("Jonas Lindqvist", "jonas.lindqvist@tumbleweed.example", Some("payments")),
    person("Sofia Rossi", "sofia.rossi@tumbleweed.example", Some("platform")),
    person("Kwame Mensah", "kwame.mensah@tumbleweed.example", Some("platform")),
    person("Elena Petrova", "elena.petrova@tumbleweed.example", Some("platform")),
    person("Arjun Mehta", "arjun.mehta@tumbleweed.example", Some("platform")),
    person("Chloé Dubois", "chloe.dubois@tumbleweed.example", Some("platform")),
    person("Noor Al-Sayed", "noor.alsayed@tumbleweed.example", Some("platform")),
    person("Hannah Schmidt", "hannah.schmidt@tumbleweed.example", Some("growth")),
    person("Diego Álvarez", "diego.alvarez@tumbleweed.example", Some("growth")),
    person("Aisha Rahman", "aisha.rahman@tumbleweed.example", Some("growth")),
    person("Oliver Brooks", "oliver.brooks@tumbleweed.example", Some("growth")),
    person("Yuki Sato", "yuki.sato@tumbleweed.example", Some("growth")),
    person("Nadia Haddad", "nadia.haddad@tumbleweed.example", Some("growth")),
    person("Mateo García", "mateo.garcia@tumbleweed.example", Some("fulfilment")),
    person("Ingrid Johansen", "ingrid.johansen@tumbleweed.example", Some("fulfilment")),
    person("Samuel Adeyemi", "samuel.adeyemi@tumbleweed.example", Some("fulfilment")),
    person("Zoë Müller", "zoe.mueller@tumbleweed.example", Some("fulfilment")),
    person("Leo Novak", "leo.novak@tumbleweed.example", Some("fulfilment")),
    person("Fatima Zahra Benali", "fatima.benali@tumbleweed.example", Some("fulfilment")),
    person("Renovate Bot", "bot@renovate.tumbleweed.example", None),
];

/// `(type, weight)`: how often each conventional-commit type appears.
pub(super) const COMMIT_TYPES: &[(&str, u32)] = &[
    ("feat", 24),
    ("fix", 24),
    ("chore", 10),
    ("refactor", 12),
    ("test", 8),
    ("docs", 6),
    ("perf", 5),
    ("ci", 5),
    ("build", 6),
];

/// Things commits are about; `{}` in the subjects below.
pub(super) const THINGS: &[&str] = &[
    "retry policy",
    "rate limiter",
    "pagination",
    "session expiry",
    "currency rounding",
    "timezone handling",
    "health check",
    "batch size",
    "request timeout",
    "audit log",
    "cache invalidation",
    "parcel label",
    "tracking number",
    "address validation",
    "webhook signature",
    "feature flag",
    "connection pool",
    "error messages",
    "metrics",
    "idempotency keys",
    "locale fallback",
    "CSV export",
    "search facets",
    "price display",
];

pub(super) const SUBJECTS: &[(&str, &[&str])] = &[
    (
        "feat",
        &[
            "add {}",
            "support {} for business accounts",
            "expose {} in the API",
            "make {} configurable",
            "show {} on the order page",
        ],
    ),
    (
        "fix",
        &[
            "handle empty {}",
            "avoid a panic when {} is missing",
            "correct {} for UTC+13",
            "stop double-counting {}",
            "restore {} after restart",
        ],
    ),
    (
        "chore",
        &[
            "tidy up {}",
            "remove the old {} code path",
            "rename {} for clarity",
        ],
    ),
    (
        "refactor",
        &[
            "extract {} into its own module",
            "simplify {}",
            "move {} behind a trait",
        ],
    ),
    (
        "test",
        &[
            "cover {} edge cases",
            "add a regression test for {}",
            "make the {} test deterministic",
        ],
    ),
    (
        "docs",
        &[
            "explain {} in the runbook",
            "document {}",
            "fix a typo in the {} guide",
        ],
    ),
    (
        "perf",
        &["cache {}", "avoid an allocation in {}", "batch {} lookups"],
    ),
    ("ci", &["run {} checks in parallel", "pin the {} job image"]),
    (
        "build",
        &[
            "bump dependencies",
            "update the base image",
            "enable LTO for release builds",
        ],
    ),
];

pub(super) const BODIES: &[&str] = &[
    "The previous behaviour surprised on-call twice this month.",
    "Measured on staging: p99 went from 180 ms to 95 ms.",
    "Customers in Auckland saw yesterday's date on their receipts.",
    "This keeps the old path behind a flag until the migration is done.",
    "Follow-up to the incident review: we now fail closed.",
    "No behaviour change intended.",
    "Requested by the support team — ça marche enfin.",
];

pub(super) const DEPENDENCIES: &[&str] = &[
    "tokio",
    "serde",
    "axum",
    "react",
    "postgres driver",
    "openssl",
    "protobuf",
    "grpc",
];
