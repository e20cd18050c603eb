//! The rule compiler: turns a targeting rule's JSON into an [`Expr`], inlining `$ref`s,
//! enforcing [`MAX_DEPTH`] and [`MAX_NODES`], noting the variant names a rule can return,
//! and decoding what can be decoded once (literal arrays, `sem_ver`'s literal operands)
//! so that evaluation does not repeat it for every context.

use serde_json::{Map, Value};

use super::{escape, fractional, semver, Arg, Expr, Op, RuleError, SemVer, Var, VarPath};
use super::{MAX_DEPTH, MAX_NODES};

pub(crate) struct Compiler<'d> {
    evaluators: &'d Map<String, Value>,
    /// `$ref`s being inlined, to report a cycle instead of recursing forever.
    resolving: Vec<String>,
    nodes: usize,
    /// Strings a rule can return as a variant name (for the apply-time check).
    pub(crate) outputs: Vec<(String, String)>,
    pub(crate) problems: Vec<RuleError>,
}

impl<'d> Compiler<'d> {
    pub(crate) fn new(evaluators: &'d Map<String, Value>) -> Self {
        Self {
            evaluators,
            resolving: Vec::new(),
            nodes: 0,
            outputs: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Compiles a flag's targeting rule; `Err` carries the first problem.
    pub(crate) fn targeting(&mut self, rule: &Value, pointer: &str) -> Result<Expr, RuleError> {
        self.nodes = 0;
        self.compile(rule, pointer, 0, true)
    }

    fn error(pointer: &str, message: impl Into<String>) -> RuleError {
        RuleError {
            pointer: pointer.to_owned(),
            message: message.into(),
        }
    }

    fn compile(
        &mut self,
        v: &Value,
        at: &str,
        depth: usize,
        output: bool,
    ) -> Result<Expr, RuleError> {
        if depth > MAX_DEPTH {
            return Err(Self::error(
                at,
                format!("rule nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Self::error(
                at,
                format!("rule has more than {MAX_NODES} nodes"),
            ));
        }
        match v {
            Value::Array(items) => {
                let exprs = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.compile(item, &format!("{at}/{i}"), depth + 1, false))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(fold_array(exprs))
            }
            Value::Object(map) if map.len() == 1 => {
                let (name, args) = map
                    .iter()
                    .next()
                    .map_or(("", &Value::Null), |(k, v)| (k.as_str(), v));
                let here = format!("{at}/{}", escape(name));
                if name == "$ref" {
                    return self.reference(args, &here, depth, output);
                }
                if name == "var" {
                    return self.var(args, &here, depth);
                }
                let Some(op) = Op::parse(name) else {
                    return Err(Self::error(&here, format!("unknown operator {name:?}")));
                };
                let raw: Vec<&Value> = match args {
                    Value::Array(items) => items.iter().collect(),
                    single => vec![single],
                };
                let mut compiled = Vec::with_capacity(raw.len());
                for (i, arg) in raw.iter().enumerate() {
                    let arg_at = if args.is_array() {
                        format!("{here}/{i}")
                    } else {
                        here.clone()
                    };
                    let is_output = output && returns_arg(op, i, raw.len());
                    if output && op == Op::Fractional {
                        self.note_bucket_output(arg, &arg_at);
                    }
                    compiled.push(self.compile(arg, &arg_at, depth + 1, is_output)?);
                }
                self.check_static(op, &compiled, &here)?;
                Ok(specialise(op, compiled))
            }
            Value::String(s) if output => {
                self.outputs.push((s.clone(), at.to_owned()));
                Ok(Expr::Literal(v.clone()))
            }
            other => Ok(Expr::Literal(other.clone())),
        }
    }

    fn reference(
        &mut self,
        name: &Value,
        at: &str,
        depth: usize,
        output: bool,
    ) -> Result<Expr, RuleError> {
        let Value::String(name) = name else {
            return Err(Self::error(at, "$ref must name an evaluator"));
        };
        if self.resolving.iter().any(|n| n == name) {
            let cycle = [self.resolving.as_slice(), std::slice::from_ref(name)]
                .concat()
                .join(" → ");
            return Err(Self::error(at, format!("cyclic $ref: {cycle}")));
        }
        let Some(rule) = self.evaluators.get(name) else {
            return Err(Self::error(
                at,
                format!("$ref to unknown evaluator {name:?}"),
            ));
        };
        self.resolving.push(name.clone());
        let pointer = format!("/$evaluators/{}", escape(name));
        let compiled = self.compile(rule, &pointer, depth + 1, output);
        self.resolving.pop();
        compiled
    }

    fn var(&mut self, args: &Value, at: &str, depth: usize) -> Result<Expr, RuleError> {
        let (path, default) = match args {
            Value::Array(items) => (items.first().unwrap_or(&Value::Null), items.get(1)),
            single => (single, None),
        };
        let default = default
            .map(|d| self.compile(d, &format!("{at}/1"), depth + 1, false))
            .transpose()?;
        let path = match path {
            Value::Null => VarPath::Whole,
            Value::String(s) if s.is_empty() => VarPath::Whole,
            Value::String(s) => VarPath::Keys(s.split('.').map(str::to_owned).collect()),
            Value::Number(n) => {
                VarPath::Keys(vec![
                    crate::value::to_text(&Value::Number(n.clone())).into_owned()
                ])
            }
            computed @ Value::Object(_) => VarPath::Computed(Box::new(self.compile(
                computed,
                &format!("{at}/0"),
                depth + 1,
                false,
            )?)),
            _ => {
                return Err(Self::error(
                    at,
                    "var takes a path string, a number or an expression",
                ))
            }
        };
        Ok(Expr::Var(Box::new(Var { path, default })))
    }

    /// Records the literal variant names of a fractional rule in an output position.
    fn note_bucket_output(&mut self, arg: &Value, at: &str) {
        if let Value::Array(entry) = arg {
            if let Some(Value::String(name)) = entry.first() {
                self.outputs.push((name.clone(), format!("{at}/0")));
            }
        }
    }

    /// Problems visible without a context: a fractional rule whose literal weights sum to 0.
    fn check_static(&mut self, op: Op, args: &[Expr], at: &str) -> Result<(), RuleError> {
        if op != Op::Fractional {
            return Ok(());
        }
        let buckets: Vec<&Value> = args
            .iter()
            .filter_map(|a| match a {
                Expr::Literal(v @ Value::Array(_)) => Some(v),
                _ => None,
            })
            .collect();
        let all_literal = buckets.len()
            + usize::from(!matches!(
                args.first(),
                Some(Expr::Literal(Value::Array(_)))
            ))
            >= args.len();
        if all_literal && !buckets.is_empty() {
            let total: u64 = buckets
                .iter()
                .filter_map(|b| fractional::bucket_entry(b))
                .map(|(_, w)| w)
                .sum();
            if total == 0 {
                self.problems
                    .push(Self::error(at, "fractional weights sum to 0"));
            }
        }
        Ok(())
    }
}

/// Whether argument `i` of `op` can become the operator's result.
fn returns_arg(op: Op, i: usize, len: usize) -> bool {
    match op {
        Op::If => (i % 2 == 1) || (i + 1 == len && len % 2 == 1),
        Op::Or | Op::And => true,
        _ => false,
    }
}

/// An operator with a compiled form of its own takes that form: `sem_ver` with three
/// operands (with any other count it is flagd's `null`, which the generic path answers).
fn specialise(op: Op, args: Vec<Expr>) -> Expr {
    if op != Op::SemVer {
        return Expr::Op(op, args);
    }
    match <[Expr; 3]>::try_from(args) {
        Ok([left, cmp, right]) => Expr::SemVer(Box::new(SemVer {
            left: Arg::decode(left, semver::Parsed::of),
            cmp: Arg::decode(cmp, semver::Cmp::of),
            right: Arg::decode(right, semver::Parsed::of),
        })),
        Err(args) => Expr::Op(op, args),
    }
}

/// An array whose elements are all literals is itself one literal.
fn fold_array(exprs: Vec<Expr>) -> Expr {
    if exprs.iter().all(|e| matches!(e, Expr::Literal(_))) {
        Expr::Literal(Value::Array(
            exprs
                .into_iter()
                .filter_map(|e| {
                    if let Expr::Literal(v) = e {
                        Some(v)
                    } else {
                        None
                    }
                })
                .collect(),
        ))
    } else {
        Expr::Array(exprs)
    }
}
