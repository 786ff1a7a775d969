//! Horizontal bar charts as server-rendered SVG: every bar with its name and its value as
//! text, and a scale. Laid out in CSS pixels down the page and in per cent across it, without
//! a viewBox: the bars stretch with the page while the text keeps its size, so a chart reads at
//! 320 pixels as it does at 1280. Pure layout, no I/O; `templates/charts/bar.html` draws it.
//! Shared by the ministry's statistics and the public transparency page (imports no feature).

/// Line height of a label line, height of a bar and the gaps, in CSS pixels.
const LINE: i64 = 18;
const BAR: i64 = 18;
const GAP: i64 = 4;
const ROW_GAP: i64 = 14;
/// Room for the scale's labels above the first row.
const AXIS: i64 = 26;
/// Label lines stay this short, so that a label fits in 288 pixels of 14-pixel text.
const LABEL_CHARS: usize = 34;
/// In per mille of the chart: where the bars start when labels stand left of them.
const LEFT_LABELS: i64 = 340;
/// The narrowest chart: a 320-pixel screen less the page's margins. A value goes where it
/// fits at this width (inside its bar, else beside it); at any wider one it fits there too.
const NARROWEST: i64 = 288;

/// One series of a row: its CSS class and value, and the value's text.
pub struct Series {
    pub class: &'static str,
    pub value: i64,
    pub text: String,
}

/// A row of the chart: its name and its series (each a bar below the name, or, with
/// `behind`, a bar drawn first at the same height: the whole that the next bar is part of).
pub struct Row {
    pub label: String,
    pub series: Vec<Series>,
    pub behind: Option<Series>,
}

/// A mark on the scale: where (per cent), what it says, how it is anchored, and whether it is
/// labelled (the quarter marks are lines only: five labels do not fit at 320 pixels).
pub struct Tick {
    pub x: String,
    pub label: String,
    pub anchor: &'static str,
    pub labelled: bool,
}

pub struct Rect {
    pub class: &'static str,
    pub x: String,
    pub y: i64,
    pub width: String,
    pub height: i64,
}

pub struct Text {
    pub class: &'static str,
    pub x: String,
    /// Offset from `x` in pixels: off the bar's end, inwards or outwards.
    pub dx: i64,
    pub y: i64,
    pub anchor: &'static str,
    pub text: String,
}

/// What the template draws.
pub struct Chart {
    pub id: String,
    /// The accessible name (the SVG is one image; the table beside it holds the figures).
    pub title: String,
    pub height: i64,
    pub axis_bottom: i64,
    pub ticks: Vec<Tick>,
    pub rects: Vec<Rect>,
    pub texts: Vec<Text>,
}

/// Where the labels stand: on their own lines above the bars (long names), or left of a single
/// bar (short names such as months).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    Above,
    Left,
}

/// The scale's end and how its marks are written.
pub struct Scale {
    pub max: i64,
    pub format: fn(i64) -> String,
}

impl Scale {
    /// The next "round" value at or above every value (1, 2, 2.5 or 5 times a power of ten).
    pub fn nice(values: impl IntoIterator<Item = i64>, format: fn(i64) -> String) -> Self {
        let largest = values.into_iter().max().unwrap_or(0).max(1);
        let mut power: i128 = 1;
        let max = loop {
            let fit = [10, 20, 25, 50]
                .into_iter()
                .map(|m| m * power)
                .find(|c| c % 10 == 0 && c / 10 >= i128::from(largest));
            if let Some(c) = fit {
                break i64::try_from(c / 10).unwrap_or(i64::MAX);
            }
            power *= 10;
        };
        Scale { max, format }
    }

    /// Exactly `max`, e.g. a round's budget.
    pub fn exact(max: i64, format: fn(i64) -> String) -> Self {
        Scale {
            max: max.max(1),
            format,
        }
    }

    /// `value` in per mille of the scale, within 0–1000.
    fn share(&self, value: i64) -> i64 {
        i64::try_from((i128::from(value.max(0)) * 1000 / i128::from(self.max)).min(1000))
            .unwrap_or(1000)
    }
}

/// Estimated width in pixels of `text` in the charts' 14-pixel font, generously: digits,
/// letters and "€" 0.64 em, punctuation and spaces 0.32 em (as in DejaVu Sans, the widest of
/// the usual sans-serif fonts); bold 8 % wider; the small font 12 pixels.
fn text_width(text: &str, bold: bool, small: bool) -> i64 {
    let hundredths_em: i64 = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '€' {
                64
            } else {
                32
            }
        })
        .sum();
    let px = hundredths_em * if small { 12 } else { 14 } / 100;
    if bold { px * 108 / 100 } else { px }
}

/// Where a bar's value goes, given the bar's end and start in per mille of the chart: inside
/// the bar (white on the bar) if it fits there at the narrowest width, else beside it; a value
/// too long for either side is set smaller, on the side with more room.
fn value_place(start: i64, end: i64, text: &str) -> (bool, bool) {
    let inside = (end - start) * NARROWEST / 1000 - 12;
    let outside = (1000 - end) * NARROWEST / 1000 - 8;
    if text_width(text, true, false) <= inside {
        (true, false)
    } else if text_width(text, false, false) <= outside {
        (false, false)
    } else {
        (inside >= outside, true)
    }
}

/// "43.2%" for 432 per mille.
fn percent(per_mille: i64) -> String {
    format!("{}.{}%", per_mille / 10, per_mille % 10)
}

/// The label in lines of at most `LABEL_CHARS` characters, broken between words (a longer
/// word stands alone on its line).
pub fn wrap(label: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in label.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= LABEL_CHARS => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

impl Chart {
    pub fn new(id: &str, title: &str, labels: Labels, scale: &Scale, rows: Vec<Row>) -> Chart {
        let start = if labels == Labels::Left {
            LEFT_LABELS
        } else {
            0
        };
        // Per mille of the chart's width for a share of the bars' room.
        let at = |share: i64| start + share * (1000 - start) / 1000;
        let mut chart = Chart {
            id: id.into(),
            title: title.into(),
            height: 0,
            axis_bottom: 0,
            ticks: (0..=4)
                .map(|quarter| {
                    let exact = (i128::from(scale.max) * quarter) % 4 == 0;
                    let value = i64::try_from(i128::from(scale.max) * quarter / 4).unwrap_or(0);
                    Tick {
                        x: percent(at(250 * i64::try_from(quarter).unwrap_or(0))),
                        label: (scale.format)(value),
                        anchor: match quarter {
                            0 => "start",
                            4 => "end",
                            _ => "middle",
                        },
                        // A mark that falls between two whole units (half of 1, of 5) stays
                        // unlabelled rather than say "0" or "2" where 0,5 or 2,5 is meant.
                        labelled: quarter % 2 == 0 && exact,
                    }
                })
                .collect(),
            rects: Vec::new(),
            texts: Vec::new(),
        };
        let mut y = AXIS;
        for row in rows {
            y = chart.add_row(row, y, labels, scale, &at);
        }
        chart.axis_bottom = y - ROW_GAP + GAP;
        chart.height = chart.axis_bottom + 2;
        chart
    }

    /// Draws one row from `y` on; returns where the next row starts.
    fn add_row(
        &mut self,
        row: Row,
        mut y: i64,
        labels: Labels,
        scale: &Scale,
        at: &impl Fn(i64) -> i64,
    ) -> i64 {
        let label_class = "chart-label";
        if labels == Labels::Above {
            for line in wrap(&row.label) {
                y += LINE;
                self.texts.push(Text {
                    class: label_class,
                    x: "0".into(),
                    dx: 0,
                    y: y - 5,
                    anchor: "start",
                    text: line,
                });
            }
            y += GAP;
        } else {
            // Right-aligned against the bars' axis.
            self.texts.push(Text {
                class: label_class,
                x: percent(at(0)),
                dx: -6,
                y: y + BAR - 5,
                anchor: "end",
                text: row.label,
            });
        }
        if let Some(whole) = row.behind {
            self.rects.push(Rect {
                class: whole.class,
                x: percent(at(0)),
                y,
                width: percent(at(scale.share(whole.value)) - at(0)),
                height: BAR,
            });
        }
        for s in row.series {
            let end = at(scale.share(s.value));
            let (inside, small) = value_place(at(0), end, &s.text);
            self.rects.push(Rect {
                class: s.class,
                x: percent(at(0)),
                y,
                width: percent(end - at(0)),
                height: BAR,
            });
            self.texts.push(Text {
                class: match (inside, small) {
                    (true, false) => "chart-value chart-value-inside",
                    (true, true) => "chart-value chart-value-inside chart-value-small",
                    (false, false) => "chart-value",
                    (false, true) => "chart-value chart-value-small",
                },
                x: percent(end),
                dx: if inside { -6 } else { 6 },
                y: y + BAR - 5,
                anchor: if inside { "end" } else { "start" },
                text: s.text,
            });
            y += BAR + GAP;
        }
        y - GAP + ROW_GAP
    }
}

/// A scale mark in euros, short: "0 €", "250.000 €", "2,5 Mio. €", "1.250 Mio. €" would be
/// "1,25 Mrd. €".
pub fn euros_short(cents: i64) -> String {
    let euros = cents / 100;
    let (unit, size) = match euros {
        e if e >= 1_000_000_000 => ("Mrd.", 1_000_000_000),
        e if e >= 1_000_000 => ("Mio.", 1_000_000),
        _ => {
            return format!(
                "{}\u{a0}€",
                crate::money::group_thousands(euros.unsigned_abs())
            );
        }
    };
    let hundredths = euros / (size / 100);
    let (whole, fraction) = (hundredths / 100, hundredths % 100);
    let fraction = match fraction {
        0 => String::new(),
        f if f % 10 == 0 => format!(",{}", f / 10),
        f => format!(",{f:02}"),
    };
    format!(
        "{}{fraction}\u{a0}{unit}\u{a0}€",
        crate::money::group_thousands(whole.unsigned_abs())
    )
}

/// A scale mark as a count: "1.500".
pub fn count(n: i64) -> String {
    crate::locale::count(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_ends_at_the_next_round_value() {
        let max = |v: i64| Scale::nice([v], count).max;
        assert_eq!(max(0), 1);
        assert_eq!(max(3), 5);
        assert_eq!(max(11), 20);
        assert_eq!(max(21), 25);
        assert_eq!(max(8_333), 10_000);
        assert_eq!(max(88_871_600_000), 100_000_000_000);
        assert_eq!(max(2_000), 2_000);
    }

    #[test]
    fn a_middle_mark_between_whole_units_is_not_labelled() {
        let labels = |max: i64| -> Vec<String> {
            Chart::new(
                "c",
                "Test",
                Labels::Left,
                &Scale::exact(max, count),
                Vec::new(),
            )
            .ticks
            .into_iter()
            .filter(|t| t.labelled)
            .map(|t| t.label)
            .collect()
        };
        assert_eq!(labels(1), ["0", "1"]);
        assert_eq!(labels(5), ["0", "5"]);
        assert_eq!(labels(10), ["0", "5", "10"]);
    }

    #[test]
    fn scale_marks_in_euros_are_short_and_german() {
        assert_eq!(euros_short(0), "0\u{a0}€");
        assert_eq!(euros_short(25_000_000), "250.000\u{a0}€");
        assert_eq!(euros_short(250_000_000), "2,5\u{a0}Mio.\u{a0}€");
        assert_eq!(euros_short(1_000_000_000), "10\u{a0}Mio.\u{a0}€");
        assert_eq!(euros_short(125_000_000), "1,25\u{a0}Mio.\u{a0}€");
        assert_eq!(euros_short(250_000_000_000), "2,5\u{a0}Mrd.\u{a0}€");
    }

    #[test]
    fn a_value_too_long_for_its_bar_stands_beside_it_and_one_too_long_for_both_is_smaller() {
        // 10 % of 288 pixels is 28: "200" fits beside, not inside; a full bar holds it.
        assert_eq!(value_place(0, 100, "200"), (false, false));
        assert_eq!(value_place(0, 1000, "200"), (true, false));
        // Half of 288 pixels on either side: too little for a value in the billions.
        assert_eq!(value_place(0, 540, "2.727.664.190,00 €"), (true, true));
        assert_eq!(value_place(0, 500, "10.000.000,00 €"), (true, false));
        assert_eq!(value_place(0, 450, "10.000.000,00 €"), (false, false));
    }

    #[test]
    fn long_labels_break_between_words() {
        assert_eq!(
            wrap("2b Gemeinsame Ausschreibung und Beschaffung"),
            vec!["2b Gemeinsame Ausschreibung und", "Beschaffung"]
        );
        assert_eq!(wrap("Erfurt"), vec!["Erfurt"]);
    }

    #[test]
    fn long_bars_carry_their_value_inside_and_short_ones_beside_them() {
        let scale = Scale::exact(1000, count);
        let row = |v: i64| Row {
            label: format!("Zeile {v}"),
            series: vec![Series {
                class: "bar",
                value: v,
                text: v.to_string(),
            }],
            behind: None,
        };
        let chart = Chart::new("c", "Test", Labels::Left, &scale, vec![row(1000), row(200)]);
        assert_eq!(
            chart.rects[0].width, "66.0%",
            "the bars' room right of the labels"
        );
        assert_eq!(chart.rects[1].width, "13.2%");
        let values: Vec<_> = chart
            .texts
            .iter()
            .filter(|t| t.class.starts_with("chart-value"))
            .map(|t| (t.x.as_str(), t.anchor, t.text.as_str()))
            .collect();
        assert_eq!(
            values,
            vec![("100.0%", "end", "1000"), ("47.2%", "start", "200")]
        );
        let ticks: Vec<_> = chart.ticks.iter().filter(|t| t.labelled).collect();
        assert_eq!(ticks.len(), 3);
        assert_eq!(ticks[1].x, "67.0%");
        assert_eq!(ticks[1].label, "500");
    }
}
