//! JSON Logic, compiled. A targeting rule is parsed once into an [`Expr`] tree: operator
//! names become an enum, `var` paths are split ahead of time, `$ref`s to shared
//! evaluators are inlined, constant arrays stay as ready-made JSON, and `sem_ver`'s
//! literal versions are parsed. Evaluation then walks the tree without looking at the
//! rule's JSON again.

use serde_json::Value;

mod collections;
mod compile;
mod eval;
pub(crate) mod fractional;
pub(crate) mod semver;

pub(crate) use compile::Compiler;
pub(crate) use eval::Env;

/// Deeper rules are rejected: nothing legitimate nests this far, and evaluation recurses.
pub const MAX_DEPTH: usize = 64;
/// Larger rules (in operator and literal nodes, after `$ref`s are inlined) are rejected.
pub const MAX_NODES: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(Value),
    Array(Vec<Expr>),
    Var(Box<Var>),
    Op(Op, Vec<Expr>),
    /// `sem_ver` with its three operands. It has a node of its own so that literal
    /// versions, the usual right-hand side, are parsed once rather than per evaluation.
    SemVer(Box<SemVer>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SemVer {
    pub(crate) left: Arg<semver::Parsed>,
    pub(crate) cmp: Arg<semver::Cmp>,
    pub(crate) right: Arg<semver::Parsed>,
}

/// An operand that was decoded at compile time when it was a literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg<T> {
    /// The decoded literal; `None` when the literal is not valid in this position, so
    /// that the operator yields `null` whatever the context.
    Literal(Option<T>),
    Computed(Expr),
}

impl<T> Arg<T> {
    fn decode(e: Expr, decode: impl FnOnce(&Value) -> Option<T>) -> Self {
        match e {
            Expr::Literal(v) => Self::Literal(decode(&v)),
            computed => Self::Computed(computed),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Var {
    pub(crate) path: VarPath,
    pub(crate) default: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VarPath {
    /// `""` or `null`: the whole data object.
    Whole,
    /// Dot-separated keys known when the rule was compiled.
    Keys(Vec<String>),
    /// A path computed by an expression.
    Computed(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Missing,
    MissingSome,
    If,
    Eq,
    StrictEq,
    Ne,
    StrictNe,
    Not,
    Truthy,
    Or,
    And,
    Gt,
    Ge,
    Lt,
    Le,
    Max,
    Min,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    In,
    Cat,
    Substr,
    Merge,
    Map,
    Filter,
    Reduce,
    All,
    None,
    Some,
    Log,
    Fractional,
    StartsWith,
    EndsWith,
    SemVer,
}

impl Op {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "missing" => Self::Missing,
            "missing_some" => Self::MissingSome,
            "if" | "?:" => Self::If,
            "==" => Self::Eq,
            "===" => Self::StrictEq,
            "!=" => Self::Ne,
            "!==" => Self::StrictNe,
            "!" => Self::Not,
            "!!" => Self::Truthy,
            "or" => Self::Or,
            "and" => Self::And,
            ">" => Self::Gt,
            ">=" => Self::Ge,
            "<" => Self::Lt,
            "<=" => Self::Le,
            "max" => Self::Max,
            "min" => Self::Min,
            "+" => Self::Add,
            "-" => Self::Sub,
            "*" => Self::Mul,
            "/" => Self::Div,
            "%" => Self::Mod,
            "in" => Self::In,
            "cat" => Self::Cat,
            "substr" => Self::Substr,
            "merge" => Self::Merge,
            "map" => Self::Map,
            "filter" => Self::Filter,
            "reduce" => Self::Reduce,
            "all" => Self::All,
            "none" => Self::None,
            "some" => Self::Some,
            "log" => Self::Log,
            "fractional" => Self::Fractional,
            "starts_with" => Self::StartsWith,
            "ends_with" => Self::EndsWith,
            "sem_ver" => Self::SemVer,
            _ => return None,
        })
    }
}

/// A rule that cannot be compiled, with the JSON Pointer (RFC 6901) of the offending node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct RuleError {
    pub pointer: String,
    pub message: String,
}

/// Escapes a key for a JSON Pointer segment.
pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
