//! The line protocol every worker speaks, and the serve loop of in-process
//! (Rust) workers.
//!
//! Requests are text lines on the worker's stdin:
//! `generate max_new=100 temperature=0 top_p=1 seed=0 prompt=1,2,3` and `quit`.
//! Events are JSON lines on its stdout, tagged by `ev`: `loaded`, `token`,
//! `done`, `error`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::clock::monotonic_ns;

/// Error codes shared with the C++ shim and the Python worker.
pub mod codes {
    pub const IO: &str = "CB_ERR_IO";
    pub const PROTOCOL: &str = "CB_ERR_PROTOCOL";
    pub const LOAD: &str = "CB_ERR_LOAD";
    pub const GENERATE: &str = "CB_ERR_GENERATE";
    pub const MOCK_FAULT: &str = "CB_ERR_MOCK_FAULT";
    pub const UNSUPPORTED: &str = "CB_ERR_UNSUPPORTED";
    pub const ARGUMENT: &str = "CB_ERR_ARGUMENT";
}

/// What an in-process worker answers to `serve_open` (the Python designs' verb).
pub const PIPE_SERVE_UNSUPPORTED: &str =
    "this worker serves from a trace file (`serve trace=PATH`), not over its pipe (`serve_open`)";

/// One generation request.
#[derive(Debug, Clone, PartialEq)]
pub struct GenRequest {
    pub max_new: u32,
    pub temperature: f32,
    pub top_p: f32,
    pub seed: u64,
    pub prompt: Vec<u32>,
}

/// A request line from the driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Generate(GenRequest),
    /// `serve trace=PATH` (docs/protocol.md, "Serving").
    Serve(std::path::PathBuf),
    /// `serve_open ...`: the pipe designs' serve, not served by in-process workers.
    ServeOpen,
    Quit,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RequestParseError {
    #[error("empty request line")]
    Empty,
    #[error("unknown request `{0}` (expected `generate`, `serve`, `serve_open` or `quit`)")]
    UnknownVerb(String),
    #[error("`serve` takes exactly one key, trace=PATH")]
    BadServe,
    #[error("`{0}` is not key=value")]
    NotKeyValue(String),
    #[error("unknown key `{0}` (allowed: max_new, temperature, top_p, seed, prompt)")]
    UnknownKey(String),
    #[error("bad value for `{key}`: `{value}`")]
    BadValue { key: String, value: String },
    #[error("missing key `{0}`")]
    Missing(&'static str),
    #[error("repeated key `{0}`")]
    Repeated(String),
}

impl Request {
    pub fn parse(line: &str) -> Result<Request, RequestParseError> {
        let mut words = line.split_whitespace();
        match words.next() {
            None => Err(RequestParseError::Empty),
            Some("quit") => Ok(Request::Quit),
            Some("generate") => parse_generate(words).map(Request::Generate),
            Some("serve_open") => Ok(Request::ServeOpen),
            Some("serve") => match (words.next(), words.next()) {
                (Some(w), None) if w.len() > 6 && w.starts_with("trace=") => {
                    Ok(Request::Serve(w[6..].into()))
                }
                _ => Err(RequestParseError::BadServe),
            },
            Some(other) => Err(RequestParseError::UnknownVerb(other.to_string())),
        }
    }

    /// The request as one line, without the trailing newline.
    pub fn to_line(&self) -> String {
        match self {
            Request::Quit => "quit".to_string(),
            Request::Serve(trace) => format!("serve trace={}", trace.display()),
            Request::ServeOpen => "serve_open".to_string(),
            Request::Generate(g) => {
                let mut line = format!(
                    "generate max_new={} temperature={} top_p={} seed={} prompt=",
                    g.max_new, g.temperature, g.top_p, g.seed
                );
                for (i, id) in g.prompt.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "," };
                    let _ = write!(line, "{sep}{id}");
                }
                line
            }
        }
    }
}

fn parse_generate<'a>(
    words: impl Iterator<Item = &'a str>,
) -> Result<GenRequest, RequestParseError> {
    let bad = |key: &str, value: &str| RequestParseError::BadValue {
        key: key.to_string(),
        value: value.to_string(),
    };
    let (mut max_new, mut prompt) = (None, None);
    let mut req = GenRequest {
        max_new: 0,
        temperature: 0.0,
        top_p: 1.0,
        seed: 0,
        prompt: Vec::new(),
    };
    let mut seen: Vec<&str> = Vec::with_capacity(5);
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| RequestParseError::NotKeyValue(word.to_string()))?;
        if !KEYS.contains(&key) {
            return Err(RequestParseError::UnknownKey(key.to_string()));
        }
        if seen.contains(&key) {
            return Err(RequestParseError::Repeated(key.to_string()));
        }
        seen.push(key);
        let ok = match key {
            "max_new" => value
                .parse::<u32>()
                .ok()
                .filter(|&n| n > 0)
                .map(|n| max_new = Some(n)),
            "temperature" => parse_f32_in(value, |t| t >= 0.0).map(|t| req.temperature = t),
            "top_p" => parse_f32_in(value, |p| p > 0.0 && p <= 1.0).map(|p| req.top_p = p),
            "seed" => value.parse().ok().map(|s| req.seed = s),
            _ => value
                .split(',')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
                .ok()
                .map(|ids| prompt = Some(ids)),
        };
        ok.ok_or_else(|| bad(key, value))?;
    }
    req.max_new = max_new.ok_or(RequestParseError::Missing("max_new"))?;
    req.prompt = prompt.ok_or(RequestParseError::Missing("prompt"))?;
    Ok(req)
}

/// The keys of a `generate` request (docs/protocol.md).
const KEYS: [&str; 5] = ["max_new", "temperature", "top_p", "seed", "prompt"];

/// A finite f32 for which `valid` holds.
fn parse_f32_in(value: &str, valid: impl Fn(f32) -> bool) -> Option<f32> {
    value
        .parse::<f32>()
        .ok()
        .filter(|v| v.is_finite() && valid(*v))
}

/// The longest event line (newline excluded) a worker may write before any
/// request, i.e. its `loaded` or `error` event: far above any real event.
pub const EVENT_LINE_BASE_BYTES: usize = 4 << 20;
/// What each token of a `generate` request adds to that bound: its `phases`
/// event holds up to 8 spans per token, of at most 46 bytes each (`[6,u64,u64],`).
pub const EVENT_LINE_BYTES_PER_TOKEN: usize = 512;

/// The stderr line a worker writes per token when its environment has
/// `CROSSBENCH_TOKEN_PROGRESS=1` (full-size scenarios, `[run] token_progress`):
/// the progress bar then counts tokens while a generation runs. Not kept in
/// the stderr tail. Part of the protocol (workers write it, the driver's
/// stderr reader counts it), so it lives here and `worker` re-exports it.
pub const TOKEN_LINE: &str = "crossbench-token";
pub const TOKEN_PROGRESS_ENV: &str = "CROSSBENCH_TOKEN_PROGRESS";

/// The longest event line a worker may write while serving `max_new` tokens;
/// the driver kills a worker that writes a longer one (docs/protocol.md).
pub fn max_event_line_bytes(max_new: u32) -> usize {
    EVENT_LINE_BYTES_PER_TOKEN
        .saturating_mul(max_new as usize)
        .saturating_add(EVENT_LINE_BASE_BYTES)
}

/// What each token a serve may hand out (the sum of its trace's `max_new`)
/// adds to the line bound while serving: a `request` event holds per token
/// an id and a stamp (at most 32 bytes), `schedule` per token at most one
/// request id and, per step (at most one per token), a stamp and brackets.
pub const SERVE_LINE_BYTES_PER_TOKEN: usize = 64;

/// The longest event line a worker may write while serving a trace whose
/// requests ask for `total_new_tokens` in all (docs/protocol.md, "Limits").
pub fn max_serve_event_line_bytes(total_new_tokens: u64) -> usize {
    usize::try_from(total_new_tokens)
        .unwrap_or(usize::MAX)
        .saturating_mul(SERVE_LINE_BYTES_PER_TOKEN)
        .saturating_add(EVENT_LINE_BASE_BYTES)
}

/// An event line from a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "lowercase")]
pub enum Event {
    Loaded {
        load_ns: u64,
        t_ns: u64,
        /// The MLX device the worker runs on, as the worker's MLX reports it
        /// (absent from workers without MLX, and from results before it existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<String>,
        /// The worker's peak RSS once its model is loaded: the load's peak,
        /// apart from the generations' (absent from older workers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_rss_bytes: Option<u64>,
    },
    Token {
        i: u32,
        id: u32,
        t_ns: u64,
    },
    /// `bench --phases`: the generation's phase spans, `[phase id, begin_ns,
    /// end_ns]` with ids into `names` (crate::phases), after the token lines.
    Phases {
        names: Vec<String>,
        spans: Vec<crate::phases::Span>,
    },
    Done {
        tokens: u32,
        prefill_ns: u64,
        decode_ns: u64,
        /// Optional counters (load_ns, peak_rss_bytes, mlx_peak_bytes, evals,
        /// syncs, calls, callbacks, worker_gen_ns, ...). Every extra field of
        /// a done event must be a non-negative integer.
        #[serde(flatten)]
        counters: BTreeMap<String, u64>,
    },
    Error {
        code: String,
        message: String,
    },
}

impl Event {
    pub fn parse(line: &str) -> Result<Event, serde_json::Error> {
        serde_json::from_str(line)
    }

    pub fn to_line(&self) -> String {
        // Serializing these plain variants cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What an engine reports after loading its model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadInfo {
    pub load_ns: u64,
    /// The device the engine runs on, as its MLX reports it; None without MLX.
    pub device: Option<String>,
}

/// What an engine reports after one generation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenStats {
    pub prefill_ns: u64,
    pub decode_ns: u64,
    pub counters: BTreeMap<String, u64>,
    /// The generation's phase spans when phases were asked for (crate::phases).
    pub phases: Option<Vec<crate::phases::Span>>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EngineError {
    pub code: String,
    pub message: String,
}

impl EngineError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        EngineError {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// An engine that runs inside the worker process (FFI backends, the mock).
pub trait InProcessEngine {
    fn load(&mut self) -> Result<LoadInfo, EngineError>;
    /// Generate, calling `on_token` with each token id the moment Rust holds it.
    fn generate(
        &mut self,
        req: &GenRequest,
        on_token: &mut dyn FnMut(u32),
    ) -> Result<GenStats, EngineError>;
    /// Serves a trace file and returns all its events as text (docs/protocol.md,
    /// "Serving"). Engines without a serving design refuse it.
    fn serve_trace(&mut self, _trace: &std::path::Path) -> Result<String, EngineError> {
        Err(EngineError::new(
            codes::UNSUPPORTED,
            "this backend has no serving design (serve: native-cpp, ffi-batched, go-cgo-token, go-cgo-stream)",
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("model load failed: {0}")]
    Load(EngineError),
    #[error("worker i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// The worker loop of in-process backends: load, print `loaded`, then serve
/// requests until `quit` or end of input.
///
/// Tokens are stamped into preallocated vectors inside `on_token` and only
/// printed after the generation, so no IPC happens inside the measured loop.
/// Errors become `error` events and the loop keeps serving; only a failed
/// load or a broken output ends it.
pub fn serve_in_process(
    engine: &mut dyn InProcessEngine,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<(), ServeError> {
    let info = match engine.load() {
        Ok(info) => info,
        Err(e) => {
            emit(&mut output, &error_event(&e))?;
            return Err(ServeError::Load(e));
        }
    };
    let loaded = Event::Loaded {
        load_ns: info.load_ns,
        t_ns: monotonic_ns(),
        device: info.device,
        peak_rss_bytes: self_peak_rss_bytes(),
    };
    emit(&mut output, &(loaded.to_line() + "\n"))?;
    for line in input.lines() {
        let raw = line?;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        match Request::parse(line) {
            Ok(Request::Quit) => break,
            Ok(Request::Generate(req)) => {
                let text = serve_one(engine, &req);
                emit(&mut output, &text)?;
            }
            Ok(Request::ServeOpen) => {
                let err = EngineError::new(codes::UNSUPPORTED, PIPE_SERVE_UNSUPPORTED);
                emit(&mut output, &error_event(&err))?;
            }
            Ok(Request::Serve(trace)) => {
                let text = engine
                    .serve_trace(&trace)
                    .unwrap_or_else(|e| error_event(&e));
                emit(&mut output, &text)?;
            }
            Err(e) => {
                let err = EngineError::new(codes::PROTOCOL, format!("{e} in `{line}`"));
                emit(&mut output, &error_event(&err))?;
            }
        }
    }
    Ok(())
}

/// Runs one generation and renders all its events as text.
fn serve_one(engine: &mut dyn InProcessEngine, req: &GenRequest) -> String {
    let capacity = req.max_new as usize;
    let mut ids: Vec<u32> = Vec::with_capacity(capacity);
    let mut stamps: Vec<u64> = Vec::with_capacity(capacity);
    let started = monotonic_ns();
    let progress = std::env::var(TOKEN_PROGRESS_ENV).is_ok_and(|v| v == "1");
    let extra_work = crate::host_work::injected_host_work();
    let result = {
        let mut on_token = |id: u32| {
            stamps.push(monotonic_ns());
            ids.push(id);
            crate::host_work::host_work(extra_work);
            if progress {
                // One stderr line per token (full-size scenarios only).
                eprintln!("{}", TOKEN_LINE);
            }
        };
        engine.generate(req, &mut on_token)
    };
    let worker_gen_ns = monotonic_ns().saturating_sub(started);
    let mut text = String::with_capacity(64 * (ids.len() + 2));
    for (i, (&id, &t_ns)) in ids.iter().zip(&stamps).enumerate() {
        let ev = Event::Token {
            i: i as u32,
            id,
            t_ns,
        };
        text.push_str(&ev.to_line());
        text.push('\n');
    }
    match result {
        Ok(stats) => {
            if let Some(spans) = stats.phases {
                let names = crate::phases::PHASE_NAMES.map(String::from).to_vec();
                text.push_str(&Event::Phases { names, spans }.to_line());
                text.push('\n');
            }
            let mut counters = stats.counters;
            counters.insert("worker_gen_ns".into(), worker_gen_ns);
            if let Some(rss) = self_peak_rss_bytes() {
                counters.insert("peak_rss_bytes".into(), rss);
            }
            let done = Event::Done {
                tokens: ids.len() as u32,
                prefill_ns: stats.prefill_ns,
                decode_ns: stats.decode_ns,
                counters,
            };
            text.push_str(&done.to_line());
            text.push('\n');
        }
        Err(e) => text.push_str(&error_event(&e)),
    }
    text
}

fn error_event(e: &EngineError) -> String {
    let ev = Event::Error {
        code: e.code.clone(),
        message: e.message.clone(),
    };
    ev.to_line() + "\n"
}

/// One write and one flush per response, so the driver sees whole batches.
fn emit(output: &mut impl Write, text: &str) -> std::io::Result<()> {
    output.write_all(text.as_bytes())?;
    output.flush()
}

/// Peak resident set size of this process so far.
pub fn self_peak_rss_bytes() -> Option<u64> {
    // SAFETY: rusage is plain data; getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    (rc == 0).then(|| maxrss_to_bytes(usage.ru_maxrss))
}

/// ru_maxrss is KiB on Linux and bytes on macOS.
pub(crate) fn maxrss_to_bytes(maxrss: libc::c_long) -> u64 {
    let value = maxrss.max(0) as u64;
    if cfg!(target_os = "macos") {
        value
    } else {
        value * 1024
    }
}

#[cfg(test)]
mod tests;
