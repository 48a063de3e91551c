//! The cost figure that doesn't wobble: wasm instructions the module executes per request
//! (wasmtime's fuel, one unit per wasm operator; host calls are not counted), for each of
//! [`requests`], the first being the Envoy benchmark's (`cargo xtask bench`: wrk's `GET /bench`,
//! answered by a `direct_response` of 3 bytes). [`rows`] measures the benchmark's variants
//! (`filter_testing::variants`) and [`table`] prints them: the cost program
//! (`examples/cost.rs`) and the tests (`tests/module/cost.rs`) do.
//!
//! Every figure is the same on every run and every machine for the same modules: no clock,
//! no randomness, no other process. The recorded [`Baseline`] is what a test compares with.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use filter_testing::variants::{Module, Modules, VARIANTS, Variant};
use thousands::Separable;

use crate::abi::{Headers, LogLevel, headers};
use crate::state::{HostState, LogLine};
use crate::vm::{Vm, Wasm};

/// The modules the tests and the cost program run: the filter and the benchmark's two
/// baselines, as built and handed in by `cargo xtask` (`filter_testing::handed_in`), compiled
/// once.
pub struct Compiled(Vec<(Module, Wasm)>);

impl Compiled {
    /// Compiles the filter and the two baselines of `built`.
    pub fn load(built: &Modules) -> Result<Compiled> {
        let paths = [Module::Filter, Module::Empty, Module::Naive].map(|m| (m, built.path(m)));
        let loaded = paths.into_iter().filter_map(|(module, path)| {
            let path = path?;
            let wasm = crate::vm::compile(path).map_err(anyhow::Error::from);
            let what = format!("loading {} (built by `{}`)", path.display(), Modules::BUILD);
            Some(wasm.context(what).map(|wasm| (module, wasm)))
        });
        Ok(Compiled(loaded.collect::<Result<_>>()?))
    }

    /// The compiled `module`; an error for [`Module::None`], which has none.
    pub fn get(&self, module: Module) -> Result<&Wasm> {
        let found = self.0.iter().find(|(m, _)| *m == module);
        let found = found.map(|(_, wasm)| wasm);
        found.with_context(|| format!("no compiled module for {module:?}"))
    }
}

/// Streams run before counting (the allocator and the SDK's maps warm up).
pub const WARMUP: u64 = 10;
/// Streams counted; a figure is their total divided by this.
pub const MEASURED: u64 = 100;
/// How much a count may grow over the baseline before the test fails.
pub const TOLERANCE: f64 = 0.10;

/// A request the table measures: its headers and its answer's, as the filter sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// A short name (no spaces), for the table and the baseline's keys.
    pub name: &'static str,
    /// The request headers.
    pub request: Headers,
    /// The response headers.
    pub response: Headers,
}

/// The requests the table measures, in its order. The first, `bench`, is the Envoy benchmark's:
/// its baseline keys carry no request name. The second, `redirect`, carries the URL
/// headers whose query the filter redacts (`referer` and `location`), so that work shows.
/// Another request is one more entry here (and its counts recorded in the baseline).
pub fn requests() -> Vec<Request> {
    // The request headers as this filter sees them in the benchmark (taken from Envoy 1.40.0's
    // log of a wrk request: `GET /bench HTTP/1.1` with `Host` only).
    let bench = [
        (":authority", "127.0.0.1:10000"),
        (":path", "/bench"),
        (":method", "GET"),
        (":scheme", "http"),
        ("x-forwarded-proto", "http"),
        ("x-request-id", "8d586026-7c3e-423b-8b75-a9230f19e8d1"),
    ];
    // Plus a `referer` with a secret in its query: the page an OAuth sign-in came back to
    // (`code` is a credential, `state` is not).
    let referer = "https://app.example/cb?code=4c2Qm8vRzT1xKpL9&state=xyz";
    // A redirect's `location` with a token in its query and another in its fragment, as an
    // implicit-flow sign-in answers.
    let location = "https://app.example/next?access_token=eyJhbGciOiJIUzI1NiJ9.e30.q7Zk3N&token_type=bearer#id_token=eyJhbGciOiJIUzI1NiJ9.e30.Xw9PfA";
    vec![
        // The benchmark's, answered by its `direct_response` (200, body `ok\n`): the response
        // headers as the filter sees them (Envoy adds `date` and `server` after the filters).
        Request {
            name: "bench",
            request: headers(&bench),
            response: headers(&[
                (":status", "200"),
                ("content-length", "3"),
                ("content-type", "text/plain"),
            ]),
        },
        // A redirect (302, no body) with that `location`.
        Request {
            name: "redirect",
            request: headers(&[&bench[..], &[("referer", referer)]].concat()),
            response: headers(&[
                (":status", "302"),
                ("location", location),
                ("content-length", "0"),
            ]),
        },
    ]
}

/// What one variant costs per request, for one of [`requests`].
#[derive(Debug, Clone)]
pub struct Row {
    /// The request's name ([`Request::name`]).
    pub request: &'static str,
    /// The benchmark's variant.
    pub variant: Variant,
    /// Wasm instructions per request.
    pub instructions: u64,
    /// Lines Envoy prints per request (at the variant's level).
    pub lines: u64,
    /// Host calls per request.
    pub host_calls: u64,
}

/// A row's key in the baseline: the variant's, then `/<request>` but for the benchmark's.
pub fn key(variant: &str, request: &str) -> String {
    match request {
        "bench" => variant.to_string(),
        _ => format!("{variant}/{request}"),
    }
}

/// Every variant of the Envoy benchmark that loads a module, in its table order, for each of
/// [`requests`] in turn, with `config` (envoy.yaml's plugin configuration).
pub fn rows(modules: &Compiled, config: &[u8]) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for request in &requests() {
        for variant in VARIANTS.iter().filter(|v| v.module != Module::None) {
            let wasm = modules.get(variant.module)?;
            let level = match variant.wasm_log_level {
                "info" => LogLevel::Info,
                "warning" => LogLevel::Warn,
                other => bail!("`{}`: no wasm log level {other}", variant.key),
            };
            let [instructions, lines, host_calls] = measure(wasm, level, config, request)
                .with_context(|| format!("measuring `{}` ({})", variant.label, request.name))?;
            rows.push(Row {
                request: request.name,
                variant: *variant,
                instructions,
                lines,
                host_calls,
            });
        }
    }
    Ok(rows)
}

/// An instance of `wasm` at `level` with `config`, started, after [`WARMUP`] streams of
/// `request`.
fn warmed_up(wasm: &Wasm, level: LogLevel, config: &[u8], request: &Request) -> Result<Vm> {
    let mut vm = Vm::new(wasm, HostState::new(level, config))?;
    if !vm.start()? {
        let log = &vm.state().log;
        bail!("the module refused the plugin configuration: {log:?}");
    }
    for _ in 0..WARMUP {
        vm.stream(&request.request, &request.response)?;
    }
    Ok(vm)
}

/// Counts one module at `level` with `config`: the mean of [`MEASURED`] streams of `request`
/// after the warm-up, as `[instructions, lines printed, host calls]`.
pub fn measure(wasm: &Wasm, level: LogLevel, config: &[u8], request: &Request) -> Result<[u64; 3]> {
    let mut vm = warmed_up(wasm, level, config, request)?;
    let mut totals = [0; 3];
    for _ in 0..MEASURED {
        let stream = vm.stream(&request.request, &request.response)?;
        let printed = stream.log.iter().filter(|l| l.level >= Some(level));
        totals[0] += stream.instructions;
        totals[1] += printed.count() as u64;
        totals[2] += stream.calls.values().sum::<u64>();
    }
    Ok(totals.map(|total| (total + MEASURED / 2) / MEASURED))
}

/// Where one `request` of `wasm` at info spends its instructions, after the warm-up: one line
/// per callback or host call, with the instructions executed from there to the next.
pub fn profile(wasm: &Wasm, config: &[u8], request: &Request) -> Result<String> {
    let mut vm = warmed_up(wasm, LogLevel::Info, config, request)?;
    vm.state_mut().trace = Some(Vec::new());
    let stream = vm.stream(&request.request, &request.response)?;
    let end = vm.fuel_left()?;
    let trace = vm.state_mut().trace.take().unwrap_or_default();
    let mut out = format!("{} instructions in one request:\n", stream.instructions);
    let mut lines = stream.log.iter();
    for (i, (what, fuel)) in trace.iter().enumerate() {
        let next = trace.get(i + 1).map_or(end, |(_, f)| *f);
        let line = (what == "proxy_log").then(|| lines.next()).flatten();
        let detail = line.map(LogLine::text).unwrap_or_default();
        let _ = writeln!(out, "{:>8}  {what} {detail}", fuel.saturating_sub(next));
    }
    Ok(out)
}

/// The table, in Markdown (it reads as well in a terminal): a row per request and variant.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| request | variant | wasm instructions/request | × empty filter | lines logged/request | instructions/logged line | host calls/request |\n\
         |---|---|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let is_empty = |r: &&Row| r.variant.key == "empty" && r.request == row.request;
        let empty = rows.iter().find(|r| is_empty(r) && r.instructions > 0);
        let ratio = empty.map_or("—".to_string(), |empty| {
            format!("{:.2}", row.instructions as f64 / empty.instructions as f64)
        });
        let per_line = row.instructions.checked_div(row.lines);
        let per_line = per_line.map_or("—".to_string(), |n| n.separate_with_commas());
        let (request, label, lines, calls) =
            (row.request, row.variant.label, row.lines, row.host_calls);
        let instructions = row.instructions.separate_with_commas();
        let _ = writeln!(
            out,
            "| {request} | {label} | {instructions} | {ratio} | {lines} | {per_line} | {calls} |"
        );
    }
    out
}

/// This filter's recorded counts per request, `(key, instructions per request)` for its variants
/// ([`key`]): what the regression test compares with.
pub type Baseline = Vec<(String, u64)>;

/// The variants the baseline records: this filter's.
pub const BASELINE_VARIANTS: [&str; 2] = ["filter-info", "filter-warning"];

/// The comment at the top of the baseline file.
const BASELINE_HEADER: &str = "\
# Wasm instructions per request of filter.wasm: `<variant>` for the Envoy benchmark's
# request, `<variant>/<request>` for the others (filter/host/src/cost.rs). A test
# fails when a count grows more than 10% over this (filter/host/tests/module/cost.rs).
# Re-record on purpose, saying why in the commit:
#   cargo xtask bench --instructions --update-baseline
";

/// The baseline's file in the repository: `filter/host/instructions.baseline`.
pub fn baseline_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions.baseline")
}

/// This filter's counts out of `rows`.
pub fn baseline(rows: &[Row]) -> Baseline {
    let ours = rows
        .iter()
        .filter(|r| BASELINE_VARIANTS.contains(&r.variant.key));
    ours.map(|r| (key(r.variant.key, r.request), r.instructions))
        .collect()
}

/// Reads [`baseline_path`].
pub fn read_baseline() -> Result<Baseline> {
    let path = baseline_path();
    let read = || -> Result<Baseline> { parse_baseline(&std::fs::read_to_string(&path)?) };
    read().with_context(|| format!("reading the baseline {}", path.display()))
}

/// `<variant> <count>` lines; `#` starts a comment.
pub fn parse_baseline(text: &str) -> Result<Baseline> {
    let lines = text.lines().map(str::trim);
    let lines = lines.filter(|line| !line.is_empty() && !line.starts_with('#'));
    let counts = lines.map(|line| {
        let (key, count) = line.split_once(' ').with_context(|| {
            format!("`{line}`: expected `<variant> <instructions per request>`")
        })?;
        let count = count.trim().parse();
        let count = count.with_context(|| format!("`{line}`: the count is not a whole number"));
        Ok((key.to_string(), count?))
    });
    let counts = counts.collect::<Result<Baseline>>()?;
    // The keys a baseline must have: [`BASELINE_VARIANTS`] for each of [`requests`].
    let names = requests().into_iter().map(|r| r.name);
    let mut keys = names.flat_map(|r| BASELINE_VARIANTS.map(|v| key(v, r)));
    if let Some(key) = keys.find(|key| counts.iter().all(|(k, _)| k != key)) {
        bail!("no count for `{key}`");
    }
    Ok(counts)
}

/// The baseline file's text.
pub fn render_baseline(baseline: &Baseline) -> String {
    let lines = baseline.iter().map(|(k, count)| format!("{k} {count}\n"));
    BASELINE_HEADER.to_string() + &lines.collect::<String>()
}

/// What the regression check says: `Ok` with a line when each count of `measured` is within
/// [`TOLERANCE`] of `recorded`, else `Err` with what grew, by how much, and how to re-record on
/// purpose.
pub fn check(recorded: &Baseline, measured: &Baseline) -> Result<String, String> {
    let (path, tolerance) = (baseline_path(), TOLERANCE * 100.0);
    let path = path.display();
    let grown = recorded.iter().filter_map(|(key, recorded)| {
        let (_, now) = measured.iter().find(|(k, _)| k == key)?;
        let limit = (*recorded as f64 * (1.0 + TOLERANCE)) as u64;
        let over = (*now as f64 / *recorded as f64 - 1.0) * 100.0;
        let line = format!(
            "{key}: {now} instructions/request, {over:+.1}% over the baseline {recorded} (limit {limit}, +{tolerance:.0}%)"
        );
        (*now > limit).then_some(line)
    });
    let regressions = grown.collect::<Vec<_>>().join("\n  ");
    if regressions.is_empty() {
        return Ok(format!(
            "instructions: this filter within {tolerance:.0}% of {path}: {measured:?}"
        ));
    }
    Err(format!(
        "FAILED: this filter executes more wasm instructions per request than recorded:\n  \
         {regressions}\n\
         EXPECTED at most {tolerance:.0}% over {path}; GOT {measured:?}.\n\
         If the growth is wanted, re-record the baseline on purpose and say why in the commit:\n  \
         cargo xtask bench --instructions --update-baseline"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_round_trips_and_names_what_is_missing() {
        let b: Baseline = vec![
            ("filter-info".into(), 1000),
            ("filter-warning".into(), 200),
            ("filter-info/redirect".into(), 3000),
            ("filter-warning/redirect".into(), 200),
        ];
        assert_eq!(parse_baseline(&render_baseline(&b)).unwrap(), b);
        let err = parse_baseline("filter-info 3\n").unwrap_err();
        assert!(format!("{err:#}").contains("filter-warning"), "{err:#}");
        let err = parse_baseline("filter-info 3\nfilter-warning 1\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("filter-info/redirect"),
            "{err:#}"
        );
        assert!(parse_baseline("filter-info x\nfilter-warning 1").is_err());
    }

    #[test]
    fn regressions_over_ten_percent_only() {
        let b: Baseline = vec![("filter-info".into(), 1000), ("filter-warning".into(), 200)];
        let m = |info, warning| -> Baseline {
            vec![
                ("filter-info".into(), info),
                ("filter-warning".into(), warning),
            ]
        };
        assert!(check(&b, &m(1100, 220)).is_ok());
        assert!(check(&b, &m(500, 100)).is_ok());
        let r = check(&b, &m(1101, 200)).unwrap_err();
        assert_eq!(r.matches(" over the baseline ").count(), 1, "{r}");
        assert!(r.contains("\n  filter-info: 1101 instructions"), "{r}");
    }
}
