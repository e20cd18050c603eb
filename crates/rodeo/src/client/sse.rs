//! An incremental parser for `text/event-stream` (the WHATWG server-sent events
//! format): bytes arrive in arbitrary chunks, messages come out when a blank line ends
//! them.

/// One dispatched message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseMessage {
    /// The `event:` field; `None` means the default type `message`.
    pub event: Option<String>,
    /// The `id:` field of this message, if it had one.
    pub id: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Feed it chunks; it keeps the unfinished line and message between calls.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event: Option<String>,
    id: Option<String>,
    data: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `chunk` and returns the messages it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseMessage> {
        let mut out = Vec::new();
        for &b in chunk {
            if b == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                // Splitting on `\n` before decoding keeps multi-byte characters whole.
                let line = String::from_utf8_lossy(&line).into_owned();
                if let Some(m) = self.line_done(&line) {
                    out.push(m);
                }
            } else {
                self.line.push(b);
            }
        }
        out
    }

    fn line_done(&mut self, line: &str) -> Option<SseMessage> {
        if line.is_empty() {
            let data = self.data.take();
            let event = self.event.take();
            let id = self.id.take();
            // A message without data lines is not dispatched (per the spec).
            return data.map(|data| SseMessage { event, id, data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "event" => self.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_messages_split_across_chunks() {
        let stream = "event: deployment.finished\r\nid: 41\ndata: {\"a\":\ndata: 1}\n\n: keep-alive\n\nid: 42\ndata:é\n\n";
        let bytes = stream.as_bytes();
        // Every split point, including inside the two-byte `é`, gives the same result.
        for cut in 0..bytes.len() {
            let mut p = SseParser::new();
            let mut got = p.feed(&bytes[..cut]);
            got.extend(p.feed(&bytes[cut..]));
            assert_eq!(
                got,
                vec![
                    SseMessage {
                        event: Some("deployment.finished".into()),
                        id: Some("41".into()),
                        data: "{\"a\":\n1}".into(),
                    },
                    SseMessage {
                        event: None,
                        id: Some("42".into()),
                        data: "é".into(),
                    },
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn holds_an_unfinished_message() {
        let mut p = SseParser::new();
        assert!(p.feed(b"id: 1\ndata: x\n").is_empty());
        assert_eq!(p.feed(b"\n").len(), 1);
        assert!(p.feed(b"id: 2\n\n").is_empty(), "no data, no message");
    }
}
