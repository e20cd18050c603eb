//! An incremental parser for Server-Sent Events (the WHATWG `text/event-stream`
//! format). Bytes are fed as they arrive, so a line or a UTF-8 character may be split
//! across chunks; lines end in `\n`, `\r\n` or `\r`; `data` lines of one event are
//! joined with `\n`; lines that start with `:` are comments (the server's keep-alives).
//! The parser does no I/O: the stream reader in `follow` feeds it.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event` field, `"message"` when the event had none.
    pub(crate) event: String,
    pub(crate) data: String,
    /// The last `id` seen on the stream so far (it carries over between events).
    pub(crate) id: Option<String>,
}

/// An event (or a single line) grew past the parser's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub(crate) limit: usize,
}

#[derive(Debug)]
pub(crate) struct SseParser {
    /// The bytes of the line being read, before its end.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` that starts the next one ends nothing.
    after_cr: bool,
    /// Whether the stream's first line has been seen (to drop a leading BOM).
    started: bool,
    event: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    /// At most this many bytes of pending line and event data.
    limit: usize,
}

impl SseParser {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            line: Vec::new(),
            after_cr: false,
            started: false,
            event: String::new(),
            data: String::new(),
            has_data: false,
            last_id: None,
            limit,
        }
    }

    /// Feeds the next chunk of the stream and appends the events it completes to `out`.
    pub(crate) fn feed(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), TooLarge> {
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let [b'\n', tail @ ..] = rest {
                rest = tail;
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&rest[..end]);
            let ended_by_cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if ended_by_cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out)?;
        }
        self.line.extend_from_slice(rest);
        if self.line.len() + self.data.len() > self.limit {
            return Err(TooLarge { limit: self.limit });
        }
        Ok(())
    }

    fn process_line(&mut self, raw: &[u8], out: &mut Vec<SseEvent>) -> Result<(), TooLarge> {
        let mut line = String::from_utf8_lossy(raw);
        if !self.started {
            self.started = true;
            if let Some(stripped) = line.strip_prefix('\u{feff}') {
                line = stripped.to_owned().into();
            }
        }
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.data.len() + value.len() + 1 > self.limit {
                    return Err(TooLarge { limit: self.limit });
                }
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            // An id with NUL is ignored, as the specification says.
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            // `retry` and unknown fields: the SDK has its own reconnection policy.
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = std::mem::take(&mut self.event);
        if !std::mem::take(&mut self.has_data) {
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        out.push(SseEvent {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
            id: self.last_id.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new(1 << 20);
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, &mut out).unwrap();
        }
        out
    }

    fn event(event: &str, data: &str, id: Option<&str>) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
            id: id.map(Into::into),
        }
    }

    #[test]
    fn one_event_with_every_field() {
        let got = parse_chunks(&[b"event: definition\nid: 7\ndata: {\"version\":7}\n\n"]);
        assert_eq!(got, [event("definition", "{\"version\":7}", Some("7"))]);
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let stream: &[u8] = b": keep-alive\r\n\r\nevent: definition\r\nid: 3\r\ndata: a\r\ndata: b\r\n\r\ndata:x\rdata: y\r\rid: 4\n\ndata: \xc3\xa9t\xc3\xa9\n\n";
        let whole = parse_chunks(&[stream]);
        assert_eq!(
            whole,
            [
                event("definition", "a\nb", Some("3")),
                event("message", "x\ny", Some("3")),
                event("message", "\u{e9}t\u{e9}", Some("4")),
            ]
        );
        for split in 0..=stream.len() {
            let (a, b) = stream.split_at(split);
            assert_eq!(parse_chunks(&[a, b]), whole, "split at {split}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(parse_chunks(&bytes), whole, "one byte at a time");
    }

    #[test]
    fn comments_and_events_without_data_dispatch_nothing() {
        let got = parse_chunks(&[b":\n\n: ping\n\nevent: definition\n\nid: 9\n\n"]);
        assert!(got.is_empty());
        // The event type does not leak into the next event; the id does.
        let got = parse_chunks(&[b"event: x\n\nid: 9\n\ndata: d\n\n"]);
        assert_eq!(got, [event("message", "d", Some("9"))]);
    }

    #[test]
    fn field_syntax_edge_cases() {
        let got = parse_chunks(&[b"data\n\ndata:no space\ndata:  two spaces\n\n"]);
        assert_eq!(
            got,
            [
                event("message", "", None),
                event("message", "no space\n two spaces", None)
            ]
        );
        let got = parse_chunks(&[b"\xef\xbb\xbfdata: after a BOM\nretry: 10\nunknown: x\n\n"]);
        assert_eq!(got, [event("message", "after a BOM", None)]);
        let got = parse_chunks(&[b"id: 1\nid: a\0b\ndata: d\n\n"]);
        assert_eq!(got, [event("message", "d", Some("1"))]);
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        assert!(parse_chunks(&[b"data: half"]).is_empty());
        assert!(parse_chunks(&[b"data: half\n"]).is_empty());
    }

    #[test]
    fn oversized_events_are_refused() {
        let mut parser = SseParser::new(16);
        let mut out = Vec::new();
        assert_eq!(
            parser.feed(b"data: 0123456789abcdef\n", &mut out),
            Err(TooLarge { limit: 16 })
        );
        let mut parser = SseParser::new(16);
        assert!(parser.feed(&[b'x'; 17], &mut out).is_err());
        let mut parser = SseParser::new(12);
        assert!(parser.feed(b"data: 0123\n", &mut out).is_ok());
        assert!(parser.feed(b"data: 4567\n", &mut out).is_ok());
        assert!(parser.feed(b"data: 89ab\n", &mut out).is_err());
    }
}
