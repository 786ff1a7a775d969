//! The Zuwendungsbescheid and the Ablehnungsbescheid as PDF, made in process with krilla and the
//! DejaVu Sans fonts shipped in `src/review/fonts` (Bitstream Vera licence, see there). Text is
//! laid out here: measured with the font's own advance widths, wrapped at word boundaries, broken
//! across A4 pages with page numbers.

use std::sync::{Arc, LazyLock};

use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

const REGULAR: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("fonts/DejaVuSans-Bold.ttf");

static FONTS: LazyLock<(Font, Font)> = LazyLock::new(|| {
    let load = |bytes: &'static [u8]| {
        Font::new(Arc::new(bytes.to_vec()).into(), 0).expect("the shipped font loads")
    };
    (load(REGULAR), load(BOLD))
});

/// Everything a notice says; values already formatted for display.
#[derive(Clone, Debug)]
pub struct Notice {
    pub approved: bool,
    pub reference: String,
    /// "23.11.2026"
    pub date: String,
    pub addressee: Vec<String>,
    pub title: String,
    pub round: String,
    pub submitted: String,
    pub amount: String,
    pub rate: String,
    pub eligible: String,
    pub financing: String,
    pub period: String,
    pub legal_basis: String,
    pub conditions: String,
    /// Rejection grounds, or why the eligible costs were cut.
    pub reason: String,
    pub signed_by: String,
    pub contact: String,
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 70.0;
const RIGHT: f32 = 60.0;
const TOP: f32 = 60.0;
const BOTTOM: f32 = 70.0;

#[derive(Clone, Copy, PartialEq)]
enum Weight {
    Regular,
    Bold,
}

enum Item {
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        text: String,
    },
    Rule {
        y: f32,
    },
}

/// Lays text out onto pages.
struct Layout {
    pages: Vec<Vec<Item>>,
    y: f32,
}

fn width(text: &str, size: f32, weight: Weight) -> f32 {
    let bytes = match weight {
        Weight::Regular => REGULAR,
        Weight::Bold => BOLD,
    };
    let Ok(font) = skrifa::FontRef::new(bytes) else {
        return text.chars().count() as f32 * size * 0.6;
    };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
    text.chars()
        .map(|c| {
            charmap
                .map(c)
                .and_then(|g| metrics.advance_width(g))
                .unwrap_or(size * 0.6)
        })
        .sum()
}

/// Breaks a paragraph into lines no wider than `max` (a word longer than a line is split).
fn wrap(text: &str, size: f32, weight: Weight, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if width(&candidate, size, weight) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A single word wider than the line: split it by characters.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if width(&piece, size, weight) > max {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

impl Layout {
    fn new() -> Self {
        Layout {
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn room(&mut self, height: f32) {
        if self.y + height > PAGE_H - BOTTOM {
            self.pages.push(Vec::new());
            self.y = TOP;
        }
    }

    fn item(&mut self, item: Item) {
        self.pages.last_mut().expect("a page").push(item);
    }

    fn paragraph(&mut self, text: &str, size: f32, weight: Weight, indent: f32) {
        let line_height = size * 1.4;
        for line in wrap(text, size, weight, PAGE_W - LEFT - RIGHT - indent) {
            self.room(line_height);
            self.y += line_height;
            self.item(Item::Text {
                x: LEFT + indent,
                y: self.y,
                size,
                weight,
                text: line,
            });
        }
    }

    fn gap(&mut self, height: f32) {
        self.y += height;
    }

    fn heading(&mut self, text: &str) {
        // Keep a heading with at least two lines of what follows.
        self.room(11.0 * 1.4 * 3.0 + 8.0);
        self.gap(8.0);
        self.paragraph(text, 11.0, Weight::Bold, 0.0);
    }

    /// "Label: value" with the value wrapped beside a fixed label column.
    fn field(&mut self, label: &str, value: &str) {
        let size = 10.0;
        let line_height = size * 1.4;
        let column = 185.0;
        let lines = wrap(value, size, Weight::Regular, PAGE_W - LEFT - RIGHT - column);
        for (i, line) in lines.into_iter().enumerate() {
            self.room(line_height);
            self.y += line_height;
            if i == 0 {
                self.item(Item::Text {
                    x: LEFT,
                    y: self.y,
                    size,
                    weight: Weight::Bold,
                    text: format!("{label}:"),
                });
            }
            self.item(Item::Text {
                x: LEFT + column,
                y: self.y,
                size,
                weight: Weight::Regular,
                text: line,
            });
        }
    }
}

fn layout(n: &Notice) -> Layout {
    let mut l = Layout::new();
    l.paragraph("Thüringer Finanzministerium", 15.0, Weight::Bold, 0.0);
    l.paragraph(
        "E-Government und IT in Thüringer Kommunen (ThürEGovRL)",
        9.0,
        Weight::Regular,
        0.0,
    );
    l.paragraph(&n.contact, 8.0, Weight::Regular, 0.0);
    l.gap(6.0);
    let rule_y = l.y;
    l.item(Item::Rule { y: rule_y });
    l.gap(24.0);
    for line in &n.addressee {
        l.paragraph(line, 10.5, Weight::Regular, 0.0);
    }
    l.gap(18.0);
    l.field("Datum", &n.date);
    l.field("Aktenzeichen", &n.reference);
    l.gap(18.0);
    let kind = if n.approved {
        "Zuwendungsbescheid"
    } else {
        "Ablehnungsbescheid"
    };
    l.paragraph(kind, 14.0, Weight::Bold, 0.0);
    l.paragraph(&format!("Vorhaben: {}", n.title), 10.5, Weight::Bold, 0.0);
    l.gap(12.0);
    l.paragraph("Sehr geehrte Damen und Herren,", 10.5, Weight::Regular, 0.0);
    l.gap(6.0);
    if n.approved {
        l.paragraph(
            &format!(
                "auf Ihren Antrag vom {} im Förderaufruf „{}“ bewillige ich Ihnen für das oben genannte Vorhaben eine nicht rückzahlbare Zuwendung in Höhe von",
                n.submitted, n.round
            ),
            10.5,
            Weight::Regular,
            0.0,
        );
        l.gap(6.0);
        l.paragraph(&n.amount, 14.0, Weight::Bold, 0.0);
        l.gap(6.0);
        l.field("Zuwendungsart", "Projektförderung");
        l.field("Finanzierungsart", &n.financing);
        l.field(
            "Förderquote",
            &format!("{} der zuwendungsfähigen Ausgaben", n.rate),
        );
        l.field("Zuwendungsfähige Ausgaben", &n.eligible);
        l.field("Bewilligungszeitraum", &n.period);
        if !n.reason.is_empty() {
            l.field("Begründung der Kürzung", &n.reason);
        }
        l.heading("Rechtsgrundlage");
        l.paragraph(&n.legal_basis, 10.0, Weight::Regular, 0.0);
        l.heading("Nebenbestimmungen");
        l.paragraph(&n.conditions, 10.0, Weight::Regular, 0.0);
    } else {
        l.paragraph(
            &format!(
                "Ihren Antrag vom {} im Förderaufruf „{}“ auf Gewährung einer Zuwendung für das oben genannte Vorhaben lehne ich ab.",
                n.submitted, n.round
            ),
            10.5,
            Weight::Regular,
            0.0,
        );
        l.heading("Begründung");
        l.paragraph(&n.reason, 10.0, Weight::Regular, 0.0);
        l.heading("Rechtsgrundlage");
        l.paragraph(&n.legal_basis, 10.0, Weight::Regular, 0.0);
    }
    l.heading("Rechtsbehelfsbelehrung");
    l.paragraph(
        "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Klage beim zuständigen Verwaltungsgericht erhoben werden. [Platzhalter: Die verbindliche Rechtsbehelfsbelehrung stellt das Thüringer Finanzministerium bereit.]",
        10.0,
        Weight::Regular,
        0.0,
    );
    l.gap(14.0);
    l.paragraph("Mit freundlichen Grüßen", 10.5, Weight::Regular, 0.0);
    l.paragraph("Im Auftrag", 10.5, Weight::Regular, 0.0);
    l.paragraph(&n.signed_by, 10.5, Weight::Regular, 0.0);
    l.gap(10.0);
    l.paragraph(
        "Dieser Bescheid wurde elektronisch erstellt und ist ohne Unterschrift gültig.",
        8.5,
        Weight::Regular,
        0.0,
    );
    l
}

/// The notice as PDF bytes.
pub fn render(n: &Notice) -> anyhow::Result<Vec<u8>> {
    let layout = layout(n);
    let (regular, bold) = FONTS.clone();
    let mut document = Document::new();
    let total = layout.pages.len();
    for (number, items) in layout.pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| anyhow::anyhow!("A4 is a page size"))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for item in items {
            match item {
                Item::Text {
                    x,
                    y,
                    size,
                    weight,
                    text,
                } => {
                    let font = if *weight == Weight::Bold {
                        bold.clone()
                    } else {
                        regular.clone()
                    };
                    surface.draw_text(
                        Point::from_xy(*x, *y),
                        font,
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Item::Rule { y } => {
                    let mut path = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(LEFT, *y, PAGE_W - LEFT - RIGHT, 0.8) {
                        path.push_rect(rect);
                    }
                    if let Some(path) = path.finish() {
                        surface.draw_path(&path);
                    }
                }
            }
        }
        let footer = format!("{} · Seite {} von {total}", n.reference, number + 1);
        surface.draw_text(
            Point::from_xy(LEFT, PAGE_H - BOTTOM / 2.0),
            regular.clone(),
            8.0,
            &footer,
            false,
            TextDirection::Auto,
        );
        surface.finish();
        page.finish();
    }
    let title = if n.approved {
        "Zuwendungsbescheid"
    } else {
        "Ablehnungsbescheid"
    };
    document.set_metadata(
        Metadata::new()
            .title(format!("{title} {}", n.reference))
            .language("de-DE".into())
            .creator("Förderportal E-Government Thüringen".into()),
    );
    document
        .finish()
        .map_err(|e| anyhow::anyhow!("the notice could not be written: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn sample(approved: bool) -> Notice {
        Notice {
            approved,
            reference: "EGOV-2027-0042".into(),
            date: "23.11.2026".into(),
            addressee: vec![
                "Landkreis Kyffhäuserkreis".into(),
                "Markt 1".into(),
                "99706 Sondershausen".into(),
            ],
            title: "Digitales Bürgerbüro".into(),
            round: "Förderaufruf 2027".into(),
            submitted: "02.06.2026".into(),
            amount: "145.012,03 €".into(),
            rate: "80 %".into(),
            eligible: "181.265,04 €".into(),
            financing: "Anteilfinanzierung".into(),
            period: "01.04.2027 bis 31.03.2028".into(),
            legal_basis: "Richtlinie zur Förderung von E-Government und IT in Thüringer Kommunen"
                .into(),
            conditions: "Die ANBest-Gk sind Bestandteil dieses Bescheides. ".repeat(80),
            reason: String::new(),
            signed_by: "Paula Zweitprüferin".into(),
            contact: "Ludwig-Erhard-Ring 7, 99099 Erfurt".into(),
        }
    }

    #[test]
    fn lines_never_run_past_the_right_margin() {
        let max = 200.0;
        let text = "Zuwendungsfähige Ausgaben für die Einführung eines digitalen Bürgerbüros in allen Gemeinden Donaudampfschifffahrtsgesellschaftskapitänsmützenhalter";
        for line in wrap(text, 10.0, Weight::Regular, max) {
            assert!(width(&line, 10.0, Weight::Regular) <= max, "{line}");
        }
        assert!(width("MMMM", 10.0, Weight::Regular) > width("iiii", 10.0, Weight::Regular));
    }

    #[test]
    fn a_long_notice_breaks_across_numbered_pages() {
        let pdf = render(&sample(true)).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(layout(&sample(true)).pages.len() >= 2);
        assert!(render(&sample(false)).unwrap().starts_with(b"%PDF-"));
    }
}
