//! The cost figure is deterministic and counts the benchmark's request as Envoy runs it. (The
//! baseline check is the `instructions` test target: tests/instructions.rs.)

use filter_host::cost;

use crate::util::*;

#[test]
fn two_measurements_give_the_same_table() {
    let config = envoy_yaml_config();
    let first = rows(&config).expect("measured");
    let second = rows(&config).expect("measured");
    assert_eq!(cost::table(&first), cost::table(&second));
    let row = |key: &str| first.iter().find(|r| r.variant == key).unwrap().clone();
    // The benchmark's request: 6 request headers and `test`, 3 response headers and
    // `x-wasm-header`, `finished`.
    assert_eq!(row("filter-info").lines, 12);
    assert_eq!(row("naive-info").lines, 12);
    assert_eq!(row("filter-warning").lines, 0);
    assert!(row("filter-warning").instructions < row("filter-info").instructions);
    assert!(row("empty").instructions < row("filter-warning").instructions);
}

#[test]
fn the_profile_accounts_for_every_instruction_of_a_request() {
    let profile = cost::profile(filter(), envoy_yaml_config().as_bytes()).expect("profiled");
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
