//! RFC 9457 problem details as the server sends them, and how the CLI shows them.

use std::fmt;

use rodeo_domain::FieldError;

/// An error response. Bodies that are not problem JSON (a proxy's HTML page) are
/// turned into one from the status line and the start of the body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Problem {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

/// How much of a non-problem body is quoted in the message.
const SNIPPET_CHARS: usize = 200;

impl Problem {
    /// Reads an error response body received with `status`.
    pub fn from_response(status: u16, body: &str) -> Self {
        match serde_json::from_str::<Problem>(body) {
            Ok(mut p) => {
                // The status line is authoritative; a body may omit or contradict it.
                p.status = status;
                if p.title.is_empty() {
                    p.title = reason(status).to_owned();
                }
                p
            }
            Err(_) => {
                let snippet: String = body.trim().chars().take(SNIPPET_CHARS).collect();
                Self {
                    kind: None,
                    title: reason(status).to_owned(),
                    status,
                    detail: (!snippet.is_empty()).then_some(snippet),
                    errors: Vec::new(),
                }
            }
        }
    }

    /// The message and each field error, one per line, for stderr. When the detail
    /// already names the only invalid field, it is not repeated.
    pub fn render(&self) -> String {
        let mut out = self.to_string();
        let detail = self.detail.as_deref().unwrap_or("");
        let said = |e: &FieldError| detail.contains(&format!("{}: {}", e.field, e.message));
        if self.errors.len() == 1 && self.errors.iter().all(said) {
            return out;
        }
        for e in &self.errors {
            out.push_str(&format!("\n  {}: {}", e.field, e.message));
        }
        out
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.title, self.status)?;
        if let Some(d) = self.detail.as_deref().filter(|d| !d.is_empty()) {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_problem_json_with_field_errors() {
        let body = r#"{"type":"about:blank","title":"Invalid request","status":422,
            "detail":"2 fields are invalid",
            "errors":[{"field":"commit_sha","message":"must be hex"},
                      {"field":"service","message":"must not be empty"}]}"#;
        let p = Problem::from_response(422, body);
        assert_eq!(
            p.render(),
            "Invalid request (422): 2 fields are invalid\n  commit_sha: must be hex\n  service: must not be empty"
        );
    }

    #[test]
    fn does_not_repeat_a_single_field_error_the_detail_names() {
        let body = r#"{"title":"Invalid request","status":422,
            "detail":"invalid request: version: must not contain whitespace",
            "errors":[{"field":"version","message":"must not contain whitespace"}]}"#;
        assert_eq!(
            Problem::from_response(422, body).render(),
            "Invalid request (422): invalid request: version: must not contain whitespace"
        );
    }

    #[test]
    fn wraps_a_body_that_is_not_a_problem() {
        let p = Problem::from_response(502, "<html>Bad gateway</html>\n");
        assert_eq!(p.to_string(), "Bad Gateway (502): <html>Bad gateway</html>");
        let p = Problem::from_response(404, "");
        assert_eq!(p.to_string(), "Not Found (404)");
    }
}
