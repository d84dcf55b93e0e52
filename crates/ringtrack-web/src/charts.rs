//! Charts drawn on the server as SVG (no script, no library): columns stacked by series
//! over time, bars side by side per category, and a week's hours as a grid. Each is a group
//! named by its title, with a description that says what it shows; its bars are links to
//! the call log, each named by what it counts, and the table beside it ([`crate::table`])
//! carries the same numbers and links for everyone, the keyboard included.

use maud::{Markup, html};

/// One series of a chart: its class (`s-answered` colours it) and its name in the legend.
#[derive(Clone, Copy)]
pub struct Series {
    pub class: &'static str,
    pub label: &'static str,
}

/// A bar (or a column): its label, and per series its value and the calls it counts.
pub struct Bar {
    pub label: String,
    pub values: Vec<(i64, Option<String>)>,
}

const WIDTH: i64 = 640;
const AXIS: i64 = 44;
const BELOW: i64 = 24;
const COLUMNS_HEIGHT: i64 = 220;
/// Room above the columns for the top tick's label.
const ABOVE: i64 = 10;

/// A round ceiling for an axis: 1, 2 or 5 times a power of ten.
fn ceiling(max: i64) -> i64 {
    let mut step = 1;
    loop {
        for factor in [1, 2, 5] {
            if step * factor >= max {
                return (step * factor).max(1);
            }
        }
        step *= 10;
    }
}

fn svg_open(id: &str, width: i64, height: i64) -> (String, String) {
    (format!("{id}-title"), format!("0 0 {width} {height}"))
}

fn legend(series: &[Series]) -> Markup {
    html! {
        ul.legend {
            @for s in series {
                li { svg.swatch viewBox="0 0 10 10" aria-hidden="true" focusable="false" { rect class=(s.class) width="10" height="10" rx="2" {} } (s.label) }
            }
        }
    }
}

/// A link around a mark, named as its tooltip is; out of the tab order (the table's links
/// are the keyboard's road to the same calls, without a stop per bar).
fn linked(link: &Option<String>, name: &str, mark: Markup) -> Markup {
    html! {
        @match link {
            Some(href) => a href=(href) tabindex="-1" aria-label=(name) { (mark) },
            None => (mark),
        }
    }
}

/// Columns over time, each stacked by series.
pub fn columns(id: &str, title: &str, description: &str, series: &[Series], bars: &[Bar]) -> Markup {
    let height = ABOVE + COLUMNS_HEIGHT + BELOW;
    let (title_id, view_box) = svg_open(id, WIDTH, height);
    let max = ceiling(bars.iter().map(|b| b.values.iter().map(|v| v.0).sum::<i64>()).max().unwrap_or(0));
    let slot = (WIDTH - AXIS) as f64 / bars.len().max(1) as f64;
    let width = (slot * 0.8).max(1.0);
    let y = |value: i64| ABOVE as f64 + COLUMNS_HEIGHT as f64 * (1.0 - value as f64 / max as f64);
    // Up to eight labels along the bottom.
    let every = bars.len().div_ceil(8).max(1);
    html! {
        svg.chart-image viewBox=(view_box) role="group" aria-labelledby={(title_id) " " (id) "-desc"} {
            title id=(title_id) { (title) }
            desc id={(id) "-desc"} { (description) }
            @for tick in [0, max / 2, max] {
                line.grid x1=(AXIS) x2=(WIDTH) y1=(format!("{:.1}", y(tick))) y2=(format!("{:.1}", y(tick))) {}
                text.axis x=(AXIS - 6) y=(format!("{:.1}", y(tick) + 4.0)) text-anchor="end" { (tick) }
            }
            @for (i, bar) in bars.iter().enumerate() {
                @let x = AXIS as f64 + slot * i as f64 + (slot - width) / 2.0;
                @let bases = bar.values.iter().scan(0, |base, (value, _)| { *base += value; Some(*base - value) });
                @for ((s, (value, link)), base) in series.iter().zip(&bar.values).zip(bases) {
                    @if *value > 0 {
                        @let top = y(base + value);
                        @let bottom = y(base);
                        @let name = format!("{}: {value} {}", bar.label, s.label.to_lowercase());
                        (linked(link, &name, html! {
                            rect class=(s.class) x=(format!("{x:.1}")) y=(format!("{top:.1}")) width=(format!("{width:.1}")) height=(format!("{:.1}", bottom - top)) {
                                title { (name) }
                            }
                        }))
                    }
                }
                @if i % every == 0 {
                    text.axis x=(format!("{:.1}", x + width / 2.0)) y=(height - 6) text-anchor="middle" { (bar.label) }
                }
            }
        }
        (legend(series))
    }
}

/// Bars side by side for each category, longest first as given.
pub fn bars(id: &str, title: &str, description: &str, series: &[Series], bars: &[Bar]) -> Markup {
    const LABEL: i64 = 200;
    const ROW: i64 = 14;
    let per_category = ROW * series.len() as i64 + 12;
    let height = per_category * bars.len().max(1) as i64;
    let (title_id, view_box) = svg_open(id, WIDTH, height);
    let max = ceiling(bars.iter().flat_map(|b| b.values.iter().map(|v| v.0)).max().unwrap_or(0));
    let length = |value: i64| (WIDTH - LABEL - 48) as f64 * value as f64 / max as f64;
    html! {
        svg.chart-image viewBox=(view_box) role="group" aria-labelledby={(title_id) " " (id) "-desc"} {
            title id=(title_id) { (title) }
            desc id={(id) "-desc"} { (description) }
            @for (i, bar) in bars.iter().enumerate() {
                @let top = per_category * i as i64 + 6;
                text.axis x=(LABEL - 8) y=(top + ROW * series.len() as i64 / 2 + 4) text-anchor="end" { (shorten(&bar.label, 28)) }
                @for (j, (s, (value, link))) in series.iter().zip(&bar.values).enumerate() {
                    @let y = top + ROW * j as i64;
                    @let name = format!("{}: {value} {}", bar.label, s.label.to_lowercase());
                    (linked(link, &name, html! {
                        rect class=(s.class) x=(LABEL) y=(y) width=(format!("{:.1}", length(*value).max(1.0))) height=(ROW - 2) {
                            title { (name) }
                        }
                    }))
                    text.value x=(format!("{:.1}", LABEL as f64 + length(*value).max(1.0) + 4.0)) y=(y + ROW - 4) { (value) }
                }
            }
        }
        (legend(series))
    }
}

/// A week's hours as a grid per series (calls, missed): how dark a cell is shows how many
/// calls came in that hour of that day, against the busiest hour of its grid.
pub fn week_grid(
    id: &str,
    title: &str,
    description: &str,
    rows: &[&str],
    grids: &[(Series, Vec<[i64; 24]>)],
) -> Markup {
    const LABEL: i64 = 44;
    const CELL: i64 = 24;
    let grid_height = CELL * rows.len() as i64 + 28;
    let height = grid_height * grids.len() as i64;
    let width = LABEL + CELL * 24;
    let (title_id, view_box) = svg_open(id, width, height);
    html! {
        svg.chart-image viewBox=(view_box) role="group" aria-labelledby={(title_id) " " (id) "-desc"} {
            title id=(title_id) { (title) }
            desc id={(id) "-desc"} { (description) }
            @for (g, (series, values)) in grids.iter().enumerate() {
                @let top = grid_height * g as i64;
                @let max = values.iter().flat_map(|r| r.iter()).copied().max().unwrap_or(0).max(1);
                text.axis x="0" y=(top + 14) { (series.label) }
                @for hour in [0, 6, 12, 18] {
                    text.axis x=(LABEL + CELL * hour + 2) y=(top + 14) { (hour_word(hour)) }
                }
                @for (r, row) in rows.iter().enumerate() {
                    @let y = top + 20 + CELL * r as i64;
                    text.axis x=(LABEL - 6) y=(y + CELL / 2 + 4) text-anchor="end" { (row) }
                    @for (hour, value) in values.get(r).into_iter().flat_map(|v| v.iter()).enumerate() {
                        rect class={"cell " (series.class)} x=(LABEL + CELL * hour as i64) y=(y) width=(CELL - 2) height=(CELL - 2)
                            fill-opacity=(format!("{:.2}", if *value == 0 { 0.06 } else { 0.2 + 0.8 * *value as f64 / max as f64 })) {
                            title { (row) " " (hour_word(hour as i64)) ": " (value) " " (series.label.to_lowercase()) }
                        }
                    }
                }
            }
        }
    }
}

/// `12 am`, `6 am`, `1 pm`.
pub fn hour_word(hour: i64) -> String {
    match hour {
        0 => "12 am".into(),
        1..=11 => format!("{hour} am"),
        12 => "12 pm".into(),
        _ => format!("{} pm", hour - 12),
    }
}

fn shorten(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(most - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!([0, 1, 3, 7, 10, 11, 180, 2001].map(ceiling), [1, 1, 5, 10, 10, 20, 200, 5000]);
        assert_eq!([0, 9, 12, 13, 23].map(hour_word), ["12 am", "9 am", "12 pm", "1 pm", "11 pm"]);
    }
}
