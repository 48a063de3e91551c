//! The benchmark's figures: one sample per variant and round, summarised as medians with
//! min and max, ratios paired by round, and the two CPU goals ([`goals`]).

use crate::load::LoadResult;
use filter_testing::variants::{VARIANTS, Variant, variant};

/// One measured run of one variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The variant's key.
    pub key: &'static str,
    /// The round (0-based).
    pub round: usize,
    /// Envoy's CPU time per request, microseconds.
    pub cpu_us: f64,
    /// What wrk counted: requests, latency, requests per second.
    pub load: LoadResult,
}

/// A median with the smallest and largest value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spread {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

/// The spread of `values` (all zero when there are none).
pub fn spread(values: &[f64]) -> Spread {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
        return Spread::default();
    };
    let n = sorted.len();
    let median = (sorted[(n - 1) / 2] + sorted[n / 2]) / 2.0;
    Spread { median, min, max }
}

/// One line of the results table.
#[derive(Debug, Clone)]
pub struct Row {
    /// The variant.
    pub variant: Variant,
    /// CPU per request, microseconds.
    pub cpu_us: Spread,
    /// CPU per request over the empty filter's, paired by round.
    pub vs_empty: Spread,
    /// Median latency, microseconds.
    pub p50_us: Spread,
    /// 99th percentile latency, microseconds.
    pub p99_us: Spread,
    /// Requests per second.
    pub rps: Spread,
    /// Requests measured, all rounds.
    pub requests: u64,
}

/// A row per variant, in table order.
pub fn rows(samples: &[Sample]) -> Vec<Row> {
    let row = |v: &Variant| {
        let mine: Vec<&Sample> = samples.iter().filter(|s| s.key == v.key).collect();
        let of = |f: fn(&Sample) -> f64| spread(&mine.iter().map(|s| f(s)).collect::<Vec<_>>());
        Row {
            variant: *v,
            cpu_us: of(|s| s.cpu_us),
            vs_empty: paired_ratio(samples, v.key, "empty"),
            p50_us: of(|s| s.load.p50_us as f64),
            p99_us: of(|s| s.load.p99_us as f64),
            rps: of(|s| s.load.rps()),
            requests: mine.iter().map(|s| s.load.requests).sum(),
        }
    };
    VARIANTS.iter().map(row).collect()
}

/// The CPU per request of `a` over that of `b` in each round where both ran.
pub fn paired_ratio(samples: &[Sample], a: &str, b: &str) -> Spread {
    let of_a = samples.iter().filter(|s| s.key == a);
    let ratios = of_a.filter_map(|sa| {
        let partner = |sb: &&Sample| sb.key == b && sb.round == sa.round && sb.cpu_us > 0.0;
        samples.iter().find(partner).map(|sb| sa.cpu_us / sb.cpu_us)
    });
    spread(&ratios.collect::<Vec<_>>())
}

/// The CPU goals, each as its verdict, `PASS` or `MISS` (`PASS: CPU/request of … ÷ … = 1.03×
/// (rounds 1.01–1.05; goal ≤ 1.10×)`): at warning (a sidecar's default), at most 1.10× the
/// empty filter, the floor any wasm filter pays; at info, no more than the naive filter at info.
pub fn goals(samples: &[Sample]) -> Vec<String> {
    let goal = |a: &str, b: &str, limit: f64| {
        let Spread { median, min, max } = paired_ratio(samples, a, b);
        // The median is finite (spread leaves out NaN and infinities).
        let verdict = if median > limit { "MISS" } else { "PASS" };
        let (a, b) = (variant(a).label, variant(b).label);
        format!(
            "{verdict}: CPU/request of {a} ÷ {b} = {median:.2}× (rounds {min:.2}–{max:.2}; goal ≤ {limit:.2}×)"
        )
    };
    vec![
        goal("filter-warning", "empty", 1.10),
        goal("filter-info", "naive-info", 1.00),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: &'static str, round: usize, cpu_us: f64) -> Sample {
        Sample {
            key,
            round,
            cpu_us,
            load: LoadResult {
                requests: 5000,
                duration_us: 5_000_000,
                p50_us: 100,
                p99_us: 300,
                ..LoadResult::default()
            },
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(
            spread(&[3.0, 1.0, 2.0]),
            Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0
            }
        );
        assert_eq!(spread(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
        assert_eq!(spread(&[]).median, 0.0);
    }

    #[test]
    fn ratios_pair_samples_of_the_same_round() {
        // Round 0 is slow for everyone, round 1 fast: paired ratios stay at 1.1.
        let samples = [
            sample("empty", 0, 50.0),
            sample("filter-warning", 0, 55.0),
            sample("empty", 1, 40.0),
            sample("filter-warning", 1, 44.0),
        ];
        let r = paired_ratio(&samples, "filter-warning", "empty");
        assert!(
            (r.min - 1.1).abs() < 1e-9 && (r.max - 1.1).abs() < 1e-9,
            "{r:?}"
        );
    }

    #[test]
    fn goals_pass_at_the_limit_and_miss_above_it() {
        let samples = [
            sample("empty", 0, 40.0),
            sample("filter-warning", 0, 44.0),
            sample("naive-info", 0, 60.0),
            sample("filter-info", 0, 61.0),
        ];
        let goals = goals(&samples);
        assert!(goals[0].starts_with("PASS: "), "{}", goals[0]);
        assert!(goals[1].starts_with("MISS: "), "{}", goals[1]);
    }

    #[test]
    fn rows_cover_every_variant_and_sum_requests() {
        let samples = [sample("empty", 0, 40.0), sample("empty", 1, 42.0)];
        let rows = rows(&samples);
        assert_eq!(rows.len(), VARIANTS.len());
        let empty = rows.iter().find(|r| r.variant.key == "empty").unwrap();
        assert_eq!(empty.requests, 10_000);
        assert_eq!(empty.cpu_us.median, 41.0);
        assert_eq!(empty.vs_empty.median, 1.0);
    }
}
