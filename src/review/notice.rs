//! The Zuwendungsbescheid and the Ablehnungsbescheid as PDF, made in process with krilla and the
//! DejaVu Sans fonts shipped in `src/review/fonts` (Bitstream Vera licence, see there). Text is
//! laid out here: measured with the font's own advance widths, wrapped at word boundaries, broken
//! across A4 pages with page numbers. The file is tagged PDF/UA-1 (headings, paragraphs, reading
//! order; rule and page footer as artifacts), so screen readers read a notice like the pages.

use std::sync::{Arc, LazyLock};

use std::num::NonZeroU16;

use krilla::configure::{Configuration, Validator};
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::tagging::{ArtifactType, ContentTag, Identifier, SpanTag, Tag, TagGroup, TagTree};
use krilla::text::{Font, TextDirection};
use krilla::{Document, SerializeSettings};
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

/// A unit of the document's structure: what screen readers announce.
enum Block {
    /// Level, text, and where it stands (page index, top of its first line) for the outline.
    Heading(u16, String, usize, f32),
    Paragraph,
}

enum Item {
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        text: String,
        /// The block (index into `Layout::blocks`) this line belongs to.
        block: usize,
    },
    Rule {
        y: f32,
    },
}

/// Lays text out onto pages.
struct Layout {
    pages: Vec<Vec<Item>>,
    blocks: Vec<Block>,
    y: f32,
}

/// The shipped faces, parsed once, for measuring text.
static FACES: LazyLock<[skrifa::FontRef<'static>; 2]> = LazyLock::new(|| {
    let face = |bytes| skrifa::FontRef::new(bytes).expect("the shipped font parses");
    [face(REGULAR), face(BOLD)]
});

/// Advance widths of one face at one size: a text is as wide as the sum of its characters.
struct Measure {
    charmap: skrifa::charmap::Charmap<'static>,
    metrics: skrifa::metrics::GlyphMetrics<'static>,
    size: f32,
}

impl Measure {
    fn new(size: f32, weight: Weight) -> Self {
        let face = &FACES[match weight {
            Weight::Regular => 0,
            Weight::Bold => 1,
        }];
        Measure {
            charmap: face.charmap(),
            metrics: face.glyph_metrics(Size::new(size), LocationRef::default()),
            size,
        }
    }

    fn char(&self, c: char) -> f32 {
        self.charmap
            .map(c)
            .and_then(|g| self.metrics.advance_width(g))
            .unwrap_or(self.size * 0.6)
    }

    fn text(&self, text: &str) -> f32 {
        text.chars().map(|c| self.char(c)).sum()
    }
}

#[cfg(test)]
fn width(text: &str, size: f32, weight: Weight) -> f32 {
    Measure::new(size, weight).text(text)
}

/// Breaks a paragraph into lines no wider than `max` (a word longer than a line is split).
/// Each word is measured once, so a long text costs no more per word than a short one.
fn wrap(text: &str, size: f32, weight: Weight, max: f32) -> Vec<String> {
    let measure = Measure::new(size, weight);
    let space = measure.char(' ');
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let (mut line, mut line_width) = (String::new(), 0.0);
        for word in paragraph.split_whitespace() {
            let word_width = measure.text(word);
            let joined = if line.is_empty() {
                word_width
            } else {
                line_width + space + word_width
            };
            if joined <= max {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
                line_width = joined;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the line is split by characters.
            line_width = 0.0;
            for c in word.chars() {
                let c_width = measure.char(c);
                if line_width + c_width > max && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_width = 0.0;
                }
                line.push(c);
                line_width += c_width;
            }
        }
        lines.push(line);
    }
    lines
}

impl Layout {
    fn new() -> Self {
        Layout {
            pages: vec![Vec::new()],
            blocks: Vec::new(),
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
        self.blocks.push(Block::Paragraph);
        self.lines(text, size, weight, indent);
    }

    fn title(&mut self, level: u16, text: &str, size: f32) {
        self.room(size * 1.4);
        let page = self.pages.len() - 1;
        self.blocks
            .push(Block::Heading(level, text.to_string(), page, self.y));
        self.lines(text, size, Weight::Bold, 0.0);
    }

    /// Lines of the current block.
    fn lines(&mut self, text: &str, size: f32, weight: Weight, indent: f32) {
        let block = self.blocks.len() - 1;
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
                block,
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
        self.title(2, text, 11.0);
    }

    /// "Label: value" with the value wrapped beside a fixed label column.
    fn field(&mut self, label: &str, value: &str) {
        let size = 10.0;
        let line_height = size * 1.4;
        let column = 185.0;
        self.blocks.push(Block::Paragraph);
        let block = self.blocks.len() - 1;
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
                    block,
                });
            }
            self.item(Item::Text {
                x: LEFT + column,
                y: self.y,
                size,
                weight: Weight::Regular,
                text: line,
                block,
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
    l.title(1, kind, 14.0);
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

/// Bookmarks: the notice's title with its sections beneath (PDF/UA asks for them).
fn outline(blocks: &[Block]) -> Outline {
    let mut outline = Outline::new();
    let mut top: Option<OutlineNode> = None;
    for block in blocks {
        if let Block::Heading(level, text, page, y) = block {
            let node = OutlineNode::new(
                text.clone(),
                XyzDestination::new(*page, Point::from_xy(LEFT, *y)),
            );
            match (level, top.as_mut()) {
                (1, _) => {
                    if let Some(done) = top.replace(node) {
                        outline.push_child(done);
                    }
                }
                (_, Some(parent)) => parent.push_child(node),
                (_, None) => outline.push_child(node),
            }
        }
    }
    if let Some(done) = top {
        outline.push_child(done);
    }
    outline
}

/// The notice as PDF bytes.
pub fn render(n: &Notice) -> anyhow::Result<Vec<u8>> {
    let layout = layout(n);
    let (regular, bold) = FONTS.clone();
    let mut document = Document::new_with(SerializeSettings {
        enable_tagging: true,
        configuration: Configuration::new_with_validator(Validator::UA1),
        ..SerializeSettings::default()
    });
    let total = layout.pages.len();
    let mut ids: Vec<Vec<Identifier>> = layout.blocks.iter().map(|_| Vec::new()).collect();
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
                    block,
                } => {
                    let font = if *weight == Weight::Bold {
                        bold.clone()
                    } else {
                        regular.clone()
                    };
                    ids[*block].push(surface.start_tagged(ContentTag::Span(SpanTag::empty())));
                    surface.draw_text(
                        Point::from_xy(*x, *y),
                        font,
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                    surface.end_tagged();
                }
                Item::Rule { y } => {
                    let mut path = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(LEFT, *y, PAGE_W - LEFT - RIGHT, 0.8) {
                        path.push_rect(rect);
                    }
                    if let Some(path) = path.finish() {
                        surface.start_tagged(ContentTag::Artifact(ArtifactType::Other));
                        surface.draw_path(&path);
                        surface.end_tagged();
                    }
                }
            }
        }
        let footer = format!("{} · Seite {} von {total}", n.reference, number + 1);
        surface.start_tagged(ContentTag::Artifact(ArtifactType::Footer));
        surface.draw_text(
            Point::from_xy(LEFT, PAGE_H - BOTTOM / 2.0),
            regular.clone(),
            8.0,
            &footer,
            false,
            TextDirection::Auto,
        );
        surface.end_tagged();
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
    let mut tree = TagTree::new();
    for (block, ids) in layout.blocks.iter().zip(ids) {
        let mut group = match block {
            Block::Heading(level, text, _, _) => TagGroup::new(Tag::Hn(
                NonZeroU16::new(*level).unwrap_or(NonZeroU16::MIN),
                Some(text.clone()),
            )),
            Block::Paragraph => TagGroup::new(Tag::P),
        };
        for id in ids {
            group.push(id);
        }
        tree.push(group);
    }
    document.set_tag_tree(tree);
    document.set_outline(outline(&layout.blocks));
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

    #[test]
    fn the_notice_is_tagged_for_screen_readers() {
        let pdf = render(&sample(true)).unwrap();
        let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"/StructTreeRoot"), "a structure tree");
        assert!(has(b"pdfuaid:part"), "declared PDF/UA-1");
        assert!(has(b"/Lang (de-DE)"), "the document's language");
        assert!(has(b"/Outlines"), "bookmarks");
    }
}
