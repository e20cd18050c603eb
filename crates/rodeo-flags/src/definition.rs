//! The flagd flag definition format, parsed and checked. [`FlagSet::compile`] turns a
//! document into compiled flags; structural problems (what flagd's JSON schema and
//! loader reject) fail the whole document, while a flag whose targeting rule cannot be
//! compiled is kept and answers `PARSE_ERROR`, as flagd does. [`FlagSet::problems`]
//! lists those rule problems so that an apply can refuse them before they are stored.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::logic::{escape, Compiler, Expr, RuleError};

/// A problem in a definition, at a JSON Pointer (RFC 6901) into the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{pointer}: {message}")]
pub struct Problem {
    pub pointer: String,
    pub message: String,
}

impl From<RuleError> for Problem {
    fn from(e: RuleError) -> Self {
        Self {
            pointer: e.pointer,
            message: e.message,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Enabled,
    Disabled,
}

/// The JSON type every variant of a flag shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    Boolean,
    String,
    Number,
    Object,
}

impl ValueKind {
    fn of(v: &Value) -> Option<Self> {
        match v {
            Value::Bool(_) => Some(Self::Boolean),
            Value::String(_) => Some(Self::String),
            Value::Number(_) => Some(Self::Number),
            Value::Object(_) => Some(Self::Object),
            Value::Null | Value::Array(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Targeting {
    None,
    Rule(Expr),
    Broken(RuleError),
}

/// One compiled flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub(crate) key: String,
    pub(crate) state: State,
    pub(crate) variants: BTreeMap<String, Value>,
    pub(crate) kind: ValueKind,
    pub(crate) default_variant: Option<String>,
    pub(crate) targeting: Targeting,
    /// The flag set's metadata overlaid with the flag's own (the flag's wins).
    pub(crate) metadata: Map<String, Value>,
    /// The flag exactly as defined, for export.
    pub(crate) source: Value,
}

impl Flag {
    pub fn key(&self) -> &str {
        &self.key
    }
    pub fn state(&self) -> State {
        self.state
    }
    pub fn kind(&self) -> ValueKind {
        self.kind
    }
    pub fn variants(&self) -> &BTreeMap<String, Value> {
        &self.variants
    }
    pub fn default_variant(&self) -> Option<&str> {
        self.default_variant.as_deref()
    }
    pub fn has_targeting(&self) -> bool {
        !matches!(self.targeting, Targeting::None)
    }
    /// The flag's definition as written (its entry under `flags`).
    pub fn source(&self) -> &Value {
        &self.source
    }
}

/// A compiled flag set: what one environment serves.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlagSet {
    pub(crate) flags: BTreeMap<String, Flag>,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) evaluators: Map<String, Value>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) warnings: Vec<Problem>,
}

const TOP_LEVEL: [&str; 4] = ["flags", "$evaluators", "metadata", "$schema"];
const FLAG_FIELDS: [&str; 5] = [
    "state",
    "variants",
    "defaultVariant",
    "targeting",
    "metadata",
];

impl FlagSet {
    /// Parses and compiles a flagd definition. `Err` lists every structural problem.
    pub fn compile(doc: &Value) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let problem = |problems: &mut Vec<Problem>, pointer: String, message: &str| {
            problems.push(Problem {
                pointer,
                message: message.to_owned(),
            });
        };
        let Value::Object(top) = doc else {
            return Err(vec![Problem {
                pointer: String::new(),
                message: "a flag definition is a JSON object".into(),
            }]);
        };
        for key in top.keys().filter(|k| !TOP_LEVEL.contains(&k.as_str())) {
            problem(
                &mut problems,
                format!("/{}", escape(key)),
                "unknown field (expected flags, $evaluators, metadata)",
            );
        }
        let metadata = metadata_of(top.get("metadata"), "/metadata", &mut problems);
        let evaluators = match top.get("$evaluators") {
            None => Map::new(),
            Some(Value::Object(e)) => e.clone(),
            Some(_) => {
                problem(
                    &mut problems,
                    "/$evaluators".into(),
                    "must be an object of named rules",
                );
                Map::new()
            }
        };
        let flags_doc = match top.get("flags") {
            Some(Value::Object(f)) => f.clone(),
            Some(_) => {
                problem(
                    &mut problems,
                    "/flags".into(),
                    "must be an object keyed by flag key",
                );
                Map::new()
            }
            None => {
                problem(&mut problems, "/flags".into(), "is required");
                Map::new()
            }
        };
        let mut set = FlagSet {
            metadata,
            evaluators,
            ..Self::default()
        };
        for (key, def) in &flags_doc {
            let at = format!("/flags/{}", escape(key));
            if key.is_empty() || key.len() > 256 || key.chars().any(char::is_control) {
                problem(
                    &mut problems,
                    at.clone(),
                    "a flag key is 1 to 256 printable characters",
                );
            }
            if let Some(flag) = set.flag_from(key, def, &at, &mut problems) {
                set.flags.insert(key.clone(), flag);
            }
        }
        if problems.is_empty() {
            Ok(set)
        } else {
            // Report rule problems too, so one round of fixes can address everything.
            problems.extend(set.problems);
            Err(problems)
        }
    }

    fn flag_from(
        &mut self,
        key: &str,
        def: &Value,
        at: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<Flag> {
        let before = problems.len();
        let push = |problems: &mut Vec<Problem>, field: &str, message: &str| {
            problems.push(Problem {
                pointer: format!("{at}{field}"),
                message: message.to_owned(),
            });
        };
        let Value::Object(def_map) = def else {
            push(
                problems,
                "",
                "a flag is an object with state, variants and defaultVariant",
            );
            return None;
        };
        for field in def_map
            .keys()
            .filter(|k| !FLAG_FIELDS.contains(&k.as_str()))
        {
            push(
                problems,
                &format!("/{}", escape(field)),
                "unknown field (expected state, variants, defaultVariant, targeting, metadata)",
            );
        }
        let state = match def_map.get("state") {
            Some(Value::String(s)) if s == "ENABLED" => State::Enabled,
            Some(Value::String(s)) if s == "DISABLED" => State::Disabled,
            Some(_) => {
                push(problems, "/state", "must be \"ENABLED\" or \"DISABLED\"");
                State::Disabled
            }
            None => {
                push(problems, "/state", "is required");
                State::Disabled
            }
        };
        let mut variants = BTreeMap::new();
        let mut kind = None;
        match def_map.get("variants") {
            Some(Value::Object(v)) if !v.is_empty() => {
                for (name, value) in v {
                    let here = format!("/variants/{}", escape(name));
                    match (ValueKind::of(value), kind) {
                        (None, _) => push(
                            problems,
                            &here,
                            "a variant is a boolean, string, number or object",
                        ),
                        (Some(k), Some(first)) if k != first => push(
                            problems,
                            &here,
                            "all variants of a flag must have the same type",
                        ),
                        (Some(k), _) => kind = Some(k),
                    }
                    variants.insert(name.clone(), value.clone());
                }
            }
            Some(_) => push(
                problems,
                "/variants",
                "must be a non-empty object of named values",
            ),
            None => push(problems, "/variants", "is required"),
        }
        let default_variant = match def_map.get("defaultVariant") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) if variants.contains_key(d) => Some(d.clone()),
            Some(Value::String(d)) => {
                push(
                    problems,
                    "/defaultVariant",
                    &format!("{d:?} is not one of the flag's variants"),
                );
                None
            }
            Some(_) => {
                push(
                    problems,
                    "/defaultVariant",
                    "must be a variant name or null",
                );
                None
            }
        };
        let own_metadata =
            metadata_of(def_map.get("metadata"), &format!("{at}/metadata"), problems);
        let targeting = match def_map.get("targeting") {
            None => Targeting::None,
            Some(Value::Object(t)) if t.is_empty() => Targeting::None,
            Some(rule @ Value::Object(_)) => {
                let mut compiler = Compiler::new(&self.evaluators);
                match compiler.targeting(rule, &format!("{at}/targeting")) {
                    Ok(expr) => {
                        self.problems
                            .extend(compiler.problems.drain(..).map(Problem::from));
                        for (name, pointer) in compiler.outputs {
                            if !variants.contains_key(&name) {
                                self.warnings.push(Problem {
                                    pointer,
                                    message: format!(
                                        "{name:?} is not one of the flag's variants: \
                                         contexts that reach it get a GENERAL error"
                                    ),
                                });
                            }
                        }
                        Targeting::Rule(expr)
                    }
                    Err(e) => {
                        self.problems.push(e.clone().into());
                        Targeting::Broken(e)
                    }
                }
            }
            Some(_) => {
                push(problems, "/targeting", "must be a JSON Logic object");
                Targeting::None
            }
        };
        if problems.len() > before {
            return None;
        }
        let mut metadata = self.metadata.clone();
        metadata.extend(own_metadata);
        Some(Flag {
            key: key.to_owned(),
            state,
            variants,
            kind: kind.unwrap_or(ValueKind::Boolean),
            default_variant,
            targeting,
            metadata,
            source: def.clone(),
        })
    }

    /// Rule problems found while compiling (unknown operators, `$ref`s to missing or
    /// cyclic evaluators, rules too deep or too large, fractional weights summing to 0).
    /// The affected flags evaluate to `PARSE_ERROR` or to their default; an apply should
    /// refuse a set with any of these.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Findings that do not stop a set from loading or applying: a rule that can
    /// return a variant name the flag does not have (flagd accepts such files; the
    /// contexts that reach that branch get `GENERAL`).
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    pub fn get(&self, key: &str) -> Option<&Flag> {
        self.flags.get(key)
    }

    /// Flags in key order.
    pub fn flags(&self) -> impl ExactSizeIterator<Item = &Flag> {
        self.flags.values()
    }

    pub fn len(&self) -> usize {
        self.flags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// The flag set's own metadata.
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }

    /// The set as a flagd document (flags in key order, as they were written).
    pub fn to_document(&self) -> Value {
        let flags: Map<String, Value> = self
            .flags
            .values()
            .map(|f| (f.key.clone(), f.source.clone()))
            .collect();
        let mut doc = Map::new();
        doc.insert("flags".into(), Value::Object(flags));
        if !self.evaluators.is_empty() {
            doc.insert("$evaluators".into(), Value::Object(self.evaluators.clone()));
        }
        if !self.metadata.is_empty() {
            doc.insert("metadata".into(), Value::Object(self.metadata.clone()));
        }
        Value::Object(doc)
    }
}

/// Metadata values are strings, numbers or booleans (flagd's schema, OFREP's metadata).
fn metadata_of(v: Option<&Value>, at: &str, problems: &mut Vec<Problem>) -> Map<String, Value> {
    match v {
        None => Map::new(),
        Some(Value::Object(m)) => {
            for (k, v) in m {
                if !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                    problems.push(Problem {
                        pointer: format!("{at}/{}", escape(k)),
                        message: "metadata values are strings, numbers or booleans".into(),
                    });
                }
            }
            m.clone()
        }
        Some(_) => {
            problems.push(Problem {
                pointer: at.to_owned(),
                message: "must be an object".into(),
            });
            Map::new()
        }
    }
}
