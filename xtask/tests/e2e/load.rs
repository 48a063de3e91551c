//! Load through the real Envoy: a short soak with the filter (every answer 2xx, Envoy's
//! memory flat after warm-up, every stream logged), and `cargo xtask bench --quick` run end
//! to end, writing a table that parses; `cargo xtask bench --instructions` twice, the same table.

use xtask::paths;
use xtask::soak::{self, Args, MAX_GROWTH_PERCENT, Upstream};

use crate::util::{output_text, xtask_cli};

#[test]
fn a_short_soak_answers_every_request_and_envoy_memory_stays_flat() {
    let args = Args {
        requests: 20_000,
        concurrency: 8,
        warmup: 2,
        upstream: Upstream::Direct,
        envoy: Default::default(),
    };
    let report = match soak::soak(&args) {
        Ok(report) => report,
        Err(err) => panic!("the soak could not run: {err:#}"),
    };
    let text = soak::render(&report, &args);
    let f = &report.filter;
    assert!(
        f.load.requests >= args.requests,
        "EXPECTED at least {} requests through Envoy with the filter\nGOT {}\n{text}",
        args.requests,
        f.load.requests
    );
    for o in [&report.filter, &report.bare] {
        assert_eq!(
            o.failures, 0,
            "{}: EXPECTED 0 non-2xx or failed requests\nGOT {}\n{text}",
            o.label, o.failures
        );
    }
    assert!(
        f.growth_percent() < MAX_GROWTH_PERCENT,
        "EXPECTED Envoy's resident memory to grow under {MAX_GROWTH_PERCENT}% after warm-up\nGOT {:+.2}%\n{text}",
        f.growth_percent()
    );
    assert!(
        f.finished_lines >= f.load.requests,
        "EXPECTED a `finished` log line for each of {} requests\nGOT {}\n{text}",
        f.load.requests,
        f.finished_lines
    );
    assert!(report.passed(), "EXPECTED every check to pass\nGOT\n{text}");
    assert!(
        report.bare.load.rps() > 0.0 && f.load.rps() > 0.0,
        "EXPECTED requests per second with and without the filter\nGOT\n{text}"
    );
}

/// The labels of `cargo xtask bench`'s table rows, as BENCHMARKS.md shows them.
const VARIANT_LABELS: [&str; 6] = [
    "no wasm filter",
    "empty wasm filter",
    "this filter, wasm:info",
    "this filter, wasm:warning",
    "naive filter, wasm:info",
    "naive filter, wasm:warning",
];

#[test]
fn bench_quick_runs_end_to_end_and_writes_a_table_that_parses() {
    let output = paths::work_dir("test-bench-quick").join("BENCHMARKS.md");
    let _ = std::fs::remove_file(&output);
    let out = xtask_cli(&["bench", "--quick", "--output", output.to_str().unwrap()]);
    let text = output_text(&out);
    assert!(
        out.status.success(),
        "EXPECTED cargo xtask bench --quick to exit 0\nGOT {}\n{text}",
        out.status
    );
    let markdown = std::fs::read_to_string(&output).unwrap_or_else(|e| {
        panic!(
            "EXPECTED {} to be written\nGOT {e}\n{text}",
            output.display()
        )
    });

    for label in VARIANT_LABELS {
        let row = markdown
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("EXPECTED a table row for `{label}`\nGOT\n{markdown}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // | label | CPU median | min | max | × empty median | min | max | p50 | p99 | rps | requests |
        let numbers: Vec<f64> = cells[2..12]
            .iter()
            .map(|c| {
                c.parse()
                    .unwrap_or_else(|_| panic!("EXPECTED numbers in `{row}`\nGOT `{c}`"))
            })
            .collect();
        let (cpu, ratio, requests) = (numbers[0], numbers[3], numbers[9]);
        assert!(
            cpu > 1.0 && cpu < 10_000.0,
            "EXPECTED a CPU time per request in µs for `{label}`\nGOT {cpu} in `{row}`"
        );
        assert!(
            ratio > 0.0,
            "EXPECTED a ratio to the empty filter\nGOT `{row}`"
        );
        assert!(requests >= 100.0, "EXPECTED requests measured\nGOT `{row}`");
        if label == "empty wasm filter" {
            assert_eq!(ratio, 1.0, "the reference's ratio to itself: `{row}`");
        }
    }
    let goals: Vec<&str> = markdown
        .lines()
        .filter(|l| l.starts_with("- PASS: ") || l.starts_with("- MISS: "))
        .collect();
    assert_eq!(
        goals.len(),
        2,
        "EXPECTED the two CPU goals, each PASS or MISS\nGOT\n{markdown}"
    );
    for needle in [
        "| machine | ",
        "| Envoy | envoy 1.40.0",
        "| load generator | wrk",
        "bench_naive.wasm",
    ] {
        assert!(
            markdown.contains(needle),
            "EXPECTED BENCHMARKS.md to contain `{needle}`\nGOT\n{markdown}"
        );
    }
    assert!(
        text.contains("PASS: ") || text.contains("MISS: "),
        "EXPECTED the goals on the terminal\nGOT\n{text}"
    );
}

#[test]
fn bench_instructions_prints_the_same_table_twice_and_writes_it() {
    let output = paths::work_dir("test-bench-instructions").join("BENCHMARKS.md");
    let _ = std::fs::remove_file(&output);
    let run = || {
        let out = xtask_cli(&[
            "bench",
            "--instructions",
            "--output",
            output.to_str().unwrap(),
        ]);
        let text = output_text(&out);
        assert!(
            out.status.success(),
            "EXPECTED cargo xtask bench --instructions to exit 0\nGOT {}\n{text}",
            out.status
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (first, second) = (run(), run());
    assert_eq!(first, second, "EXPECTED the same table twice");
    for label in &VARIANT_LABELS[1..] {
        assert!(
            first.contains(&format!("| {label} | ")),
            "EXPECTED a row for `{label}`\nGOT\n{first}"
        );
    }
    let markdown = std::fs::read_to_string(&output).expect("the table is written");
    assert!(
        markdown.contains("## Wasm instructions per request") && markdown.contains(first.trim()),
        "EXPECTED the table in {}\nGOT\n{markdown}",
        output.display()
    );
}
