//! The cost figure is deterministic and counts the benchmark's request as Envoy runs it, and
//! this filter's count stays within 10% of `filter/host/instructions.baseline` (the cost
//! program, `cargo xtask bench --instructions`, prints the table and records the baseline).

use filter_host::cost;

use crate::util::*;

#[test]
fn this_filter_stays_within_the_baseline() {
    let rows = cost::rows(modules(), envoy_yaml_config().as_bytes()).expect("measured");
    eprint!("{}", cost::table(&rows));
    let recorded = cost::read_baseline().unwrap_or_else(|err| {
        panic!("{err:#}\n(record it with `cargo xtask bench --instructions --update-baseline`)")
    });
    match cost::check(&recorded, &cost::baseline(&rows)) {
        Ok(within) => eprintln!("{within}"),
        Err(grew) => panic!("{grew}"),
    }
}

#[test]
fn two_measurements_give_the_same_table() {
    let config = envoy_yaml_config();
    let first = cost::rows(modules(), config.as_bytes()).expect("measured");
    let second = cost::rows(modules(), config.as_bytes()).expect("measured");
    assert_eq!(cost::table(&first), cost::table(&second));
    let row = |key: &str| first.iter().find(|r| r.variant.key == key).unwrap().clone();
    // The benchmark's request: 6 request headers and `test`, 3 response headers and
    // `x-wasm-header`, `finished`.
    assert_eq!(row("filter-info").lines, 12);
    assert_eq!(row("naive-info").lines, 12);
    assert_eq!(row("filter-warning").lines, 0);
    assert!(row("filter-warning").instructions < row("filter-info").instructions);
    assert!(row("empty").instructions < row("filter-warning").instructions);
    // The second request: one more request header (`referer`), the same number of response
    // headers (`location` for `content-type`).
    let redirect = |key: &str| {
        first
            .iter()
            .find(|r| r.variant.key == key && r.request == "redirect")
            .unwrap()
            .clone()
    };
    assert_eq!(redirect("filter-info").lines, 13);
    assert_eq!(redirect("filter-warning").lines, 0);
}

#[test]
fn the_second_request_shows_the_url_headers_redacted() {
    let redirect = &cost::requests()[1];
    let profile =
        cost::profile(filter(), envoy_yaml_config().as_bytes(), redirect).expect("profiled");
    for secret in ["4c2Qm8vRzT1xKpL9", "q7Zk3N", "Xw9PfA"] {
        assert!(!profile.contains(secret), "{secret} logged:\n{profile}");
    }
    for kept in [
        "https://app.example/cb?",
        "state=xyz",
        "https://app.example/next?",
    ] {
        assert!(profile.contains(kept), "{kept} not logged:\n{profile}");
    }
}

#[test]
fn the_profile_accounts_for_every_instruction_of_a_request() {
    let bench = &cost::requests()[0];
    let profile = cost::profile(filter(), envoy_yaml_config().as_bytes(), bench).expect("profiled");
    let mut lines = profile.lines();
    let total: u64 = lines
        .next()
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the total first");
    let parts: u64 = lines
        .map(|l| l.split_whitespace().next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(parts, total, "{profile}");
    assert!(
        profile.contains("proxy_log request header --> :path: /bench"),
        "{profile}"
    );
}
