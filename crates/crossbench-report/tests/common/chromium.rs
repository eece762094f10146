//! Headless Chromium for the report tests: dump the rendered DOM, take a
//! screenshot, and list the network requests the page made (from Chromium's
//! net log). Shared by this crate's tests and the root CLI tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Flags that work on the CI machines (root, no display, no GPU, offline).
const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

/// The Chromium binary, or None after saying loudly that the test is
/// skipped. With CROSSBENCH_REQUIRE_CHROMIUM=1 (set by .ci/run) a missing
/// Chromium fails the test instead.
pub fn find() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH")?
                .to_str()?
                .split(':')
                .map(|dir| Path::new(dir).join(name))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        let msg = "chromium not found: the headless-browser checks of the HTML report did NOT run \
                   (apt-get install -y chromium; .ci/run installs it)";
        if std::env::var_os("CROSSBENCH_REQUIRE_CHROMIUM").is_some_and(|v| v == "1") {
            panic!("{msg}");
        }
        // Written to the stderr handle, not with eprintln!: the test harness
        // captures the print macros of passing tests, and this must be seen.
        use std::io::Write as _;
        let bar = "!".repeat(78);
        let _ = writeln!(std::io::stderr(), "\n{bar}\nSKIPPED: {msg}\n{bar}\n");
    }
    found
}

pub struct Rendered {
    /// The DOM after parsing and layout (`--dump-dom`).
    pub dom: String,
    /// URLs the page itself asked the network for (Chromium's own
    /// background requests are told apart by their initiator).
    pub page_requests: Vec<String>,
}

fn run(chromium: &Path, work: &Path, extra: &[String], url: &str) -> std::process::Output {
    let profile = tempfile::Builder::new()
        .prefix("profile")
        .tempdir_in(work)
        .expect("profile dir");
    let out = Command::new(chromium)
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Loads `page` (an HTML file) and returns its DOM and the page's requests.
pub fn render(chromium: &Path, page: &Path, work: &Path) -> Rendered {
    let net_log = work.join(format!("net-{}.json", std::process::id()));
    let extra = vec![
        format!("--log-net-log={}", net_log.display()),
        "--net-log-capture-mode=Everything".to_string(),
        "--dump-dom".to_string(),
    ];
    let out = run(chromium, work, &extra, &file_url(page));
    let log = std::fs::read_to_string(&net_log).unwrap_or_default();
    Rendered {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        page_requests: page_requests(&log),
    }
}

/// Screenshot of the page, `width` x `height` CSS pixels, as PNG bytes.
pub fn screenshot(chromium: &Path, page: &Path, work: &Path, width: u32, height: u32) -> Vec<u8> {
    let png = work.join(format!("shot-{}.png", std::process::id()));
    let extra = vec![
        format!("--screenshot={}", png.display()),
        format!("--window-size={width},{height}"),
    ];
    run(chromium, work, &extra, &file_url(page));
    std::fs::read(&png).expect("chromium wrote the screenshot")
}

fn file_url(page: &Path) -> String {
    format!(
        "file://{}",
        page.canonicalize().expect("page exists").display()
    )
}

/// URL_REQUEST_START_JOB events the page initiated: requests from a file://
/// page carry an opaque ("null") initiator and a file:// isolation key;
/// Chromium's own (updater, time, accounts) say "not an origin".
pub fn page_requests(net_log: &str) -> Vec<String> {
    // Chromium may be killed before closing the JSON array: close it for it.
    let value: serde_json::Value = serde_json::from_str(net_log)
        .or_else(|_| {
            serde_json::from_str(&format!("{}]}}", net_log.trim_end().trim_end_matches(',')))
        })
        .unwrap_or_default();
    let Some(start_job) = value["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64()
    else {
        // Unreadable log: fall back to its text, which names the page's initiator.
        return if net_log.contains("\"initiator\":\"null\"") {
            vec!["(unparsed net log)".into()]
        } else {
            Vec::new()
        };
    };
    let events = value["events"].as_array().cloned().unwrap_or_default();
    events
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .map(|e| &e["params"])
        .filter(|p| p["initiator"].as_str() != Some("not an origin"))
        .filter_map(|p| p["url"].as_str().map(str::to_string))
        .collect()
}

/// (width, height) of a PNG from its header.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG"
    );
    let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
    (be(16), be(20))
}

/// The markup of the figure whose `data-chart` is `id`, up to its `</figure>`.
pub fn figure<'d>(dom: &'d str, id: &str) -> &'d str {
    let start = dom
        .find(&format!("data-chart=\"{id}\""))
        .unwrap_or_else(|| panic!("no figure {id} in the DOM"));
    let end = dom[start..]
        .find("</figure>")
        .map_or(dom.len(), |e| start + e);
    &dom[start..end]
}
