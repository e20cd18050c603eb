//! Which commit authors are bots, by glob patterns (`*` matches any run of characters;
//! case-insensitive).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotPatterns(Vec<String>);

impl Default for BotPatterns {
    fn default() -> Self {
        Self::new(["*[bot]", "dependabot*", "renovate*"])
    }
}

impl BotPatterns {
    pub fn new<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> Self {
        Self(
            patterns
                .into_iter()
                .map(|p| p.as_ref().to_lowercase())
                .collect(),
        )
    }

    pub fn none() -> Self {
        Self(Vec::new())
    }

    pub fn matches(&self, author: &str) -> bool {
        let author = author.to_lowercase();
        self.0.iter().any(|p| glob(p, &author))
    }
}

/// `*` matches any run of characters (including none); everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty(); // no `*` at all
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_patterns_catch_the_usual_bots() {
        let b = BotPatterns::default();
        for bot in [
            "dependabot[bot]",
            "github-actions[bot]",
            "Renovate Bot",
            "dependabot-preview",
        ] {
            assert!(b.matches(bot), "{bot}");
        }
        for human in ["Ada Lovelace", "bot", "robot builder", "[bot]ler"] {
            assert!(!b.matches(human), "{human}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(glob("a*b*c", "abc"));
        assert!(!glob("a*b*c", "acb"));
        assert!(glob("*", ""));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
        assert!(!glob("ab*ba", "aba"), "the parts may not overlap");
    }
}
