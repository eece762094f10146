//! The events a worker writes while serving (docs/protocol.md, "Serving"):
//! `serving` (pipe designs, after `serve_open`), `token` (pipe designs, one
//! per token as it comes), `request` (in-process designs, one per request
//! after the serve), `schedule`, `served`, and `error`.

use serde::{Deserialize, Serialize};

pub use crate::results::serve::{Served, Step};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "lowercase")]
pub enum ServeEvent {
    /// The pipe worker accepted `serve_open` and reads submissions.
    Serving {},
    /// A pipe worker's token: request, index in it, token id.
    Token {
        req: u64,
        i: u32,
        id: u32,
    },
    /// An in-process worker's record of one request.
    Request {
        id: u64,
        submit_ns: u64,
        ids: Vec<u32>,
        t_ns: Vec<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Schedule {
        steps: Vec<Step>,
    },
    Served(Served),
    Error {
        code: String,
        message: String,
    },
}

impl ServeEvent {
    pub fn parse(line: &str) -> Result<ServeEvent, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// The event as one protocol line, newline included (the Rust workers).
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("a serve event serialises");
        line.push('\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_serve_event_parses_and_served_keeps_extra_keys() {
        let ev = ServeEvent::parse(r#"{"ev":"serving"}"#).unwrap();
        assert_eq!(ev, ServeEvent::Serving {});
        let ev = ServeEvent::parse(r#"{"ev":"token","req":3,"i":0,"id":77}"#).unwrap();
        assert_eq!(
            ev,
            ServeEvent::Token {
                req: 3,
                i: 0,
                id: 77
            }
        );
        let line = r#"{"ev":"request","id":5,"submit_ns":9,"ids":[1,2],"t_ns":[10,20],"error":"consumer stalled: x"}"#;
        let ServeEvent::Request { id, ids, error, .. } = ServeEvent::parse(line).unwrap() else {
            panic!("a request event");
        };
        assert_eq!(
            (id, ids, error.as_deref()),
            (5, vec![1, 2], Some("consumer stalled: x"))
        );
        let ev = ServeEvent::parse(r#"{"ev":"schedule","steps":[[100,[0,1],[]],[200,[],[0,1]]]}"#);
        let ServeEvent::Schedule { steps } = ev.unwrap() else {
            panic!("a schedule event");
        };
        assert_eq!(steps[1], Step(200, vec![], vec![0, 1]));
        let line = r#"{"ev":"served","requests":2,"tokens":8,"go":{"goroutines":5}}"#;
        let ServeEvent::Served(s) = ServeEvent::parse(line).unwrap() else {
            panic!("a served event");
        };
        assert_eq!((s.u64("tokens"), s.u64("go")), (Some(8), None));
        assert!(s.0.contains_key("go") && !s.0.contains_key("ev"), "{s:?}");
    }

    #[test]
    fn malformed_serve_events_are_refused() {
        for line in [
            r#"{"ev":"token","i":0,"id":1,"t_ns":5}"#,
            r#"{"ev":"schedule","steps":[[1,[0]]]}"#,
            r#"{"ev":"request","id":-1,"submit_ns":0,"ids":[],"t_ns":[]}"#,
            r#"{"ev":"bogus"}"#,
        ] {
            assert!(ServeEvent::parse(line).is_err(), "{line}");
        }
    }
}
