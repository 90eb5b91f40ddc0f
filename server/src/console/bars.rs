//! Bars drawn by the server as SVG (no script, and assertable in browser
//! tests): a stacked bar of parts of a whole, each part a rectangle with
//! its class, count and title. Pure.

/// One part of a bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The CSS class (`ok`, `bad`, `busy`, `wait`, `idle`, `gone`).
    pub class: &'static str,
    pub label: &'static str,
    pub count: u64,
    /// Its x offset and width, in percent of the bar.
    pub x: f64,
    pub width: f64,
}

/// A stacked bar of `parts` (class, label, count) over their sum (an empty
/// bar when nothing counts).
pub fn stack(parts: &[(&'static str, &'static str, u64)]) -> Vec<Part> {
    let total: u64 = parts.iter().map(|p| p.2).sum();
    let mut x = 0.0;
    parts
        .iter()
        .map(|&(class, label, count)| {
            // Counts of boxes stay far below 2^53.
            #[allow(clippy::cast_precision_loss)]
            let width = if total == 0 {
                0.0
            } else {
                100.0 * count as f64 / total as f64
            };
            let p = Part {
                class,
                label,
                count,
                x,
                width,
            };
            x += width;
            p
        })
        .collect()
}

/// A single bar's width in percent of the largest value.
pub fn share(value: u64, max: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    if max == 0 {
        0.0
    } else {
        100.0 * value as f64 / max as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_fill_the_bar_in_order() {
        let b = stack(&[
            ("ok", "succeeded", 3),
            ("bad", "failed", 1),
            ("idle", "pending", 0),
        ]);
        assert_eq!(
            b.iter().map(|p| p.width).collect::<Vec<_>>(),
            [75.0, 25.0, 0.0]
        );
        assert_eq!(b[1].x, 75.0);
        assert!(stack(&[("ok", "succeeded", 0)])
            .iter()
            .all(|p| p.width == 0.0));
        assert_eq!(share(5, 10), 50.0);
        assert_eq!(share(1, 0), 0.0);
    }
}
