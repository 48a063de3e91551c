//! The figures' formats that every report, step and message of the tools shares: a duration
//! (`1.23 s`) and a count (`2,143`). A leaf: it uses nothing of smoke.

/// A duration as every report, step and message of the tools shows it: `1.23 s`.
pub fn seconds(d: std::time::Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// An unsigned integer with its thousands grouped: `2143` as `2,143`, for the reports' counts.
pub fn thousands(n: impl std::fmt::Display) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_the_same_everywhere() {
        assert_eq!(seconds(std::time::Duration::from_millis(250)), "0.25 s");
        assert_eq!(seconds(std::time::Duration::from_millis(1234)), "1.23 s");
        assert_eq!(thousands(0u64), "0");
        assert_eq!(thousands(999usize), "999");
        assert_eq!(thousands(1000u64), "1,000");
        assert_eq!(thousands(12345678u64), "12,345,678");
    }
}
