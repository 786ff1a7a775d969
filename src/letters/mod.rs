//! Official letters (Bescheide) as PDF, made in process with krilla and the DejaVu Sans fonts
//! shipped in `src/letters/fonts` (Bitstream Vera licence, see there). Text is laid out here:
//! measured with the font's own advance widths, wrapped at word boundaries, broken across A4
//! pages with page numbers. The file is tagged PDF/UA-1 (headings, paragraphs, tables with
//! header cells, reading order; rules and page footer as artifacts), so screen readers read a
//! notice like the pages. The notices themselves (award, amendment, settlement) say what to
//! write; this module only knows how a letter of the ministry looks.

use std::num::NonZeroU16;
use std::sync::{Arc, LazyLock};

use krilla::configure::{Configuration, Validator};
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::tagging::{
    ArtifactType, ContentTag, Identifier, SpanTag, TableHeaderScope, Tag, TagGroup, TagTree,
};
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

/// What every letter of the authority prints besides its own content, from the programme's
/// legal texts (admins keep them; `programmes::legal_texts` refuses a notice without them).
#[derive(Clone, Debug, Default)]
pub struct Sender {
    /// The authority and its address, one line each; the first is printed large.
    pub letterhead: Vec<String>,
    pub legal_remedy: String,
    /// The general Nebenbestimmungen an award prints before the decision's own.
    pub standard_conditions: String,
    /// Under the signer's name: unit or function; may be empty.
    pub signature_line: String,
}

/// The addressee block of a notice: the municipality, its street and "postcode city", each
/// line only where the directory has it.
pub fn address(
    name: &str,
    street: Option<&str>,
    postal_code: Option<&str>,
    city: Option<&str>,
) -> Vec<String> {
    let mut lines = vec![name.to_string()];
    lines.extend(street.filter(|s| !s.trim().is_empty()).map(str::to_string));
    let place = format!(
        "{} {}",
        postal_code.unwrap_or_default(),
        city.unwrap_or_default()
    );
    if !place.trim().is_empty() {
        lines.push(place.trim().to_string());
    }
    lines
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 70.0;
const RIGHT: f32 = 60.0;
const TOP: f32 = 60.0;
const BOTTOM: f32 = 70.0;
const TEXT_W: f32 = PAGE_W - LEFT - RIGHT;
const BODY: f32 = 10.5;
const SMALL: f32 = 10.0;

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
    /// A table cell; it is announced as part of its table, not on its own.
    Cell {
        header: bool,
    },
    /// Rows of cell blocks (indexes into `Letter::blocks`); the first row holds the headers.
    Table(Vec<Vec<usize>>),
}

enum Item {
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        text: String,
        /// The block (index into `Letter::blocks`) this line belongs to.
        block: usize,
    },
    Rule {
        y: f32,
    },
}

/// How a table column aligns its cells: text left, amounts right (so the digits line up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table column: its header, its share of the text width and its alignment.
#[derive(Clone, Copy, Debug)]
pub struct Column<'a> {
    pub header: &'a str,
    pub share: f32,
    pub align: Align,
}

/// The kinds of table row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Row {
    Header,
    /// The header again at the top of a later page.
    RepeatedHeader,
    Body,
    /// A sum row at the end, set in bold below a rule.
    Total,
}

impl Row {
    fn weight(self) -> Weight {
        match self {
            Row::Body => Weight::Regular,
            _ => Weight::Bold,
        }
    }
}

/// The `block` of text drawn as an artifact (a repeated table header): not read out again.
const ARTIFACT: usize = usize::MAX;

/// A letter being laid out onto pages.
pub struct Letter {
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

    /// The text as the font can print it: invisible format characters (bidi overrides,
    /// zero-width marks, noncharacters) go, a character without a glyph becomes "�". A PDF/UA
    /// file may not show a missing glyph, and what people type is not ours to choose.
    fn printable(&self, text: &str) -> String {
        let replacement = if self.charmap.map('\u{FFFD}').is_some() {
            '\u{FFFD}'
        } else {
            '?'
        };
        text.chars()
            .filter(|&c| !invisible(c))
            .map(|c| {
                if c.is_whitespace() || self.charmap.map(c).is_some() {
                    c
                } else {
                    replacement
                }
            })
            .collect()
    }
}

/// Characters that print nothing and would only confuse the reading order or the font.
fn invisible(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c,
            '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FDD0}'..='\u{FDEF}')
        || (u32::from(c) & 0xFFFE) == 0xFFFE
}

fn width(text: &str, size: f32, weight: Weight) -> f32 {
    Measure::new(size, weight).text(text)
}

/// Breaks a paragraph into lines no wider than `max` (a word longer than a line is split).
/// Each word is measured once, so a long text costs no more per word than a short one.
fn wrap(text: &str, size: f32, weight: Weight, max: f32) -> Vec<String> {
    let measure = Measure::new(size, weight);
    let space = measure.char(' ');
    let mut lines = Vec::new();
    for paragraph in measure.printable(text).split('\n') {
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

impl Default for Letter {
    fn default() -> Self {
        Self::new()
    }
}

impl Letter {
    pub fn new() -> Self {
        Letter {
            pages: vec![Vec::new()],
            blocks: Vec::new(),
            y: TOP,
        }
    }

    /// The authority's letterhead, the addressee and the date/reference block.
    pub fn head(&mut self, sender: &Sender, addressee: &[String], date: &str, reference: &str) {
        let mut letterhead = sender.letterhead.iter();
        if let Some(authority) = letterhead.next() {
            self.styled(authority, 15.0, Weight::Bold);
        }
        for line in letterhead {
            self.styled(line, 8.5, Weight::Regular);
        }
        self.gap(6.0);
        let rule_y = self.y;
        self.item(Item::Rule { y: rule_y });
        self.gap(24.0);
        for line in addressee {
            self.styled(line, BODY, Weight::Regular);
        }
        self.gap(18.0);
        self.field("Datum", date);
        self.field("Aktenzeichen", reference);
        self.gap(18.0);
    }

    /// The letter's title (level 1) and what it is about, then the salutation.
    pub fn subject(&mut self, kind: &str, about: &str) {
        self.title(1, kind, 14.0);
        self.styled(about, BODY, Weight::Bold);
        self.gap(12.0);
        self.text("Sehr geehrte Damen und Herren,");
        self.gap(6.0);
    }

    /// A paragraph of body text.
    pub fn text(&mut self, text: &str) {
        self.styled(text, BODY, Weight::Regular);
    }

    /// A paragraph of smaller body text (legal texts, conditions).
    pub fn small(&mut self, text: &str) {
        self.styled(text, SMALL, Weight::Regular);
    }

    /// A figure that stands out (the amount granted).
    pub fn figure(&mut self, text: &str) {
        self.gap(6.0);
        self.styled(text, 14.0, Weight::Bold);
        self.gap(6.0);
    }

    /// Rechtsbehelfsbelehrung, greeting and signature: how every notice ends. They stay
    /// together on one page, so a page never holds only a letter's last lines.
    pub fn closing(&mut self, sender: &Sender, signed_by: &str) {
        let lines = |text: &str, size: f32| {
            let n = wrap(text, size, Weight::Regular, TEXT_W).len();
            f32::from(u16::try_from(n).unwrap_or(u16::MAX)) * size * 1.4
        };
        let height = 8.0
            + 11.0 * 1.4
            + lines(&sender.legal_remedy, SMALL)
            + 14.0
            + 3.0 * BODY * 1.4
            + lines(&sender.signature_line, BODY)
            + 10.0
            + 8.5 * 1.4;
        self.room(height);
        self.heading("Rechtsbehelfsbelehrung");
        self.small(&sender.legal_remedy);
        self.gap(14.0);
        self.text("Mit freundlichen Grüßen");
        self.text("Im Auftrag");
        self.text(signed_by);
        if !sender.signature_line.is_empty() {
            self.text(&sender.signature_line);
        }
        self.gap(10.0);
        self.styled(
            "Dieser Bescheid wurde elektronisch erstellt und ist ohne Unterschrift gültig.",
            8.5,
            Weight::Regular,
        );
    }

    /// How many pages the letter fills so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
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

    fn styled(&mut self, text: &str, size: f32, weight: Weight) {
        self.blocks.push(Block::Paragraph);
        self.lines(text, size, weight);
    }

    fn title(&mut self, level: u16, text: &str, size: f32) {
        self.room(size * 1.4);
        let page = self.pages.len() - 1;
        self.blocks
            .push(Block::Heading(level, text.to_string(), page, self.y));
        self.lines(text, size, Weight::Bold);
    }

    /// Lines of the current block.
    fn lines(&mut self, text: &str, size: f32, weight: Weight) {
        let block = self.blocks.len() - 1;
        let line_height = size * 1.4;
        for line in wrap(text, size, weight, TEXT_W) {
            self.room(line_height);
            self.y += line_height;
            self.item(Item::Text {
                x: LEFT,
                y: self.y,
                size,
                weight,
                text: line,
                block,
            });
        }
    }

    pub fn gap(&mut self, height: f32) {
        self.y += height;
    }

    /// A section heading (level 2), kept with at least two lines of what follows.
    pub fn heading(&mut self, text: &str) {
        self.room(11.0 * 1.4 * 3.0 + 8.0);
        self.gap(8.0);
        self.title(2, text, 11.0);
    }

    /// "Label: value" with the value wrapped beside a fixed label column.
    pub fn field(&mut self, label: &str, value: &str) {
        let line_height = SMALL * 1.4;
        let column = 185.0;
        self.blocks.push(Block::Paragraph);
        let block = self.blocks.len() - 1;
        let lines = wrap(value, SMALL, Weight::Regular, TEXT_W - column);
        for (i, line) in lines.into_iter().enumerate() {
            self.room(line_height);
            self.y += line_height;
            if i == 0 {
                self.item(Item::Text {
                    x: LEFT,
                    y: self.y,
                    size: SMALL,
                    weight: Weight::Bold,
                    text: format!("{label}:"),
                    block,
                });
            }
            self.item(Item::Text {
                x: LEFT + column,
                y: self.y,
                size: SMALL,
                weight: Weight::Regular,
                text: line,
                block,
            });
        }
    }

    /// A table with a header row and a rule under it; `total` rows (the last ones) are set in
    /// bold below a rule, as sums are on paper. A row never breaks across pages; the header is
    /// repeated on a new page.
    pub fn table(&mut self, columns: &[Column<'_>], rows: &[Vec<String>], total: usize) {
        let size = 9.0;
        let line_height = size * 1.4;
        let shares: f32 = columns.iter().map(|c| c.share).sum();
        let widths: Vec<f32> = columns.iter().map(|c| TEXT_W * c.share / shares).collect();
        let table = self.blocks.len();
        self.blocks.push(Block::Table(Vec::new()));
        let header: Vec<String> = columns.iter().map(|c| c.header.to_string()).collect();
        self.room(line_height * 4.0);
        self.gap(4.0);
        self.table_row(table, columns, &widths, &header, Row::Header);
        let first_body = rows.len().saturating_sub(total);
        for (i, row) in rows.iter().enumerate() {
            let kind = if i >= first_body {
                Row::Total
            } else {
                Row::Body
            };
            let height = row_height(row, &widths, size, kind.weight()) + 4.0;
            if self.y + height > PAGE_H - BOTTOM {
                self.room(f32::MAX);
                self.table_row(table, columns, &widths, &header, Row::RepeatedHeader);
            }
            if i == first_body && total > 0 {
                let rule_y = self.y + 2.0;
                self.item(Item::Rule { y: rule_y });
                self.gap(2.0);
            }
            self.table_row(table, columns, &widths, row, kind);
        }
        self.gap(6.0);
    }

    /// One row: each cell wrapped in its column, the row as tall as its tallest cell. The
    /// header row is tagged once; its repeats on later pages are drawn as artifacts.
    fn table_row(
        &mut self,
        table: usize,
        columns: &[Column<'_>],
        widths: &[f32],
        cells: &[String],
        kind: Row,
    ) {
        let size = 9.0;
        let line_height = size * 1.4;
        let weight = kind.weight();
        let header = matches!(kind, Row::Header | Row::RepeatedHeader);
        let repeat = kind == Row::RepeatedHeader;
        let top = self.y;
        let mut x = LEFT;
        let mut ids = Vec::new();
        let mut bottom = top;
        for ((cell, column), column_width) in cells.iter().zip(columns).zip(widths) {
            let block = if repeat {
                ARTIFACT
            } else {
                self.blocks.push(Block::Cell { header });
                ids.push(self.blocks.len() - 1);
                self.blocks.len() - 1
            };
            let inner = column_width - 6.0;
            let mut y = top;
            for line in wrap(cell, size, weight, inner) {
                y += line_height;
                let text_x = match column.align {
                    Align::Left => x,
                    Align::Right => x + inner - width(&line, size, weight),
                };
                self.item(Item::Text {
                    x: text_x,
                    y,
                    size,
                    weight,
                    text: line,
                    block,
                });
            }
            bottom = bottom.max(y);
            x += column_width;
        }
        self.y = bottom + 4.0;
        if header {
            let rule_y = self.y - 1.0;
            self.item(Item::Rule { y: rule_y });
        }
        if let Block::Table(rows) = &mut self.blocks[table]
            && !repeat
        {
            rows.push(ids);
        }
    }

    /// The letter as PDF bytes: `title` is the document title ("Zuwendungsbescheid
    /// EGOV-2027-0042"), `reference` stands in every page's footer.
    pub fn render(self, title: &str, reference: &str) -> anyhow::Result<Vec<u8>> {
        let (regular, bold) = FONTS.clone();
        let mut document = Document::new_with(SerializeSettings {
            enable_tagging: true,
            configuration: Configuration::new_with_validator(Validator::UA1),
            ..SerializeSettings::default()
        });
        let total = self.pages.len();
        let mut ids: Vec<Vec<Identifier>> = self.blocks.iter().map(|_| Vec::new()).collect();
        for (number, items) in self.pages.iter().enumerate() {
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
                        if *block == ARTIFACT {
                            surface.start_tagged(ContentTag::Artifact(ArtifactType::Other));
                        } else {
                            ids[*block]
                                .push(surface.start_tagged(ContentTag::Span(SpanTag::empty())));
                        }
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
                        if let Some(rect) = Rect::from_xywh(LEFT, *y, TEXT_W, 0.8) {
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
            let footer = format!("{reference} · Seite {} von {total}", number + 1);
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
        document.set_metadata(
            Metadata::new()
                .title(title.to_string())
                .language("de-DE".into())
                .creator("Förderportal E-Government Thüringen".into()),
        );
        document.set_tag_tree(tag_tree(&self.blocks, ids));
        document.set_outline(outline(&self.blocks));
        document
            .finish()
            .map_err(|e| anyhow::anyhow!("the letter could not be written: {e:?}"))
    }
}

fn row_height(cells: &[String], widths: &[f32], size: f32, weight: Weight) -> f32 {
    let lines = cells
        .iter()
        .zip(widths)
        .map(|(cell, w)| wrap(cell, size, weight, w - 6.0).len())
        .max()
        .unwrap_or(1);
    // A row of more than a few hundred lines does not fit a page anyway.
    f32::from(u16::try_from(lines).unwrap_or(u16::MAX)) * size * 1.4
}

/// The structure screen readers follow: blocks in reading order, tables as Table › TR › TH/TD.
fn tag_tree(blocks: &[Block], mut ids: Vec<Vec<Identifier>>) -> TagTree {
    let mut tree = TagTree::new();
    for (i, block) in blocks.iter().enumerate() {
        let group = match block {
            Block::Heading(level, text, _, _) => group(
                Tag::Hn(
                    NonZeroU16::new(*level).unwrap_or(NonZeroU16::MIN),
                    Some(text.clone()),
                ),
                &mut ids[i],
            ),
            Block::Paragraph => group(Tag::P, &mut ids[i]),
            Block::Cell { .. } => continue,
            Block::Table(rows) => {
                let mut table = TagGroup::new(Tag::Table);
                for row in rows {
                    let mut tr = TagGroup::new(Tag::TR);
                    for &cell in row {
                        tr.push(match blocks[cell] {
                            Block::Cell { header: true } => {
                                group(Tag::TH(TableHeaderScope::Column), &mut ids[cell])
                            }
                            _ => group(Tag::TD, &mut ids[cell]),
                        });
                    }
                    table.push(tr);
                }
                table
            }
        };
        tree.push(group);
    }
    tree
}

/// A structure element holding the marked content of one block.
fn group(tag: impl Into<krilla::tagging::TagKind>, ids: &mut Vec<Identifier>) -> TagGroup {
    let mut group = TagGroup::new(tag);
    for id in std::mem::take(ids) {
        group.push(id);
    }
    group
}

/// Bookmarks: the letter's title with its sections beneath (PDF/UA asks for them).
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn what_the_font_cannot_print_is_replaced_and_the_letter_still_renders() {
        let typed = "Bürger\u{202E}büro \u{FFFE}\u{200B}Straße 漢 ok";
        let lines = wrap(typed, 10.0, Weight::Regular, 400.0);
        assert_eq!(lines, ["Bürgerbüro Straße \u{FFFD} ok"]);
        let mut letter = Letter::new();
        letter.text(typed);
        assert!(letter.render("Test", "EGOV-1").is_ok());
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

    fn columns() -> [Column<'static>; 2] {
        [
            Column {
                header: "Position",
                share: 3.0,
                align: Align::Left,
            },
            Column {
                header: "Betrag",
                share: 1.0,
                align: Align::Right,
            },
        ]
    }

    #[test]
    fn a_long_table_repeats_its_header_on_each_page_and_is_tagged_as_a_table() {
        let mut letter = Letter::new();
        let rows: Vec<Vec<String>> = (1..=120)
            .map(|i| vec![format!("Beleg {i}"), "1.000,00 €".to_string()])
            .collect();
        letter.table(&columns(), &rows, 1);
        assert!(letter.pages.len() >= 3);
        for page in &letter.pages {
            let first_text = page.iter().find_map(|item| match item {
                Item::Text { text, .. } => Some(text.as_str()),
                Item::Rule { .. } => None,
            });
            assert_eq!(
                first_text,
                Some("Position"),
                "every page starts with the header"
            );
        }
        let Block::Table(tagged) = &letter.blocks[0] else {
            panic!("the first block is the table");
        };
        assert_eq!(tagged.len(), 121, "the header row is tagged once");
        let pdf = letter.render("Test", "EGOV-2027-0042").unwrap();
        let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"/Table") && has(b"/TH") && has(b"/TD"));
    }

    /// A sender as the demo's Rechtstexte set it, in the length real texts have.
    pub(crate) fn sample_sender() -> Sender {
        Sender {
            letterhead: vec![
                "Thüringer Finanzministerium".into(),
                "Ludwig-Erhard-Ring 7 · 99099 Erfurt".into(),
            ],
            legal_remedy: "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Klage beim Verwaltungsgericht Weimar, Jenaer Straße 2a, 99425 Weimar, erhoben werden. ".repeat(3),
            standard_conditions: String::new(),
            signature_line: "Referat E-Government und IT".into(),
        }
    }

    #[test]
    fn the_closing_is_never_split_from_its_signature() {
        // Fill the first page almost to the bottom, whatever the closing's length.
        for filler in 40..60 {
            let mut letter = Letter::new();
            for i in 0..filler {
                letter.text(&format!("Absatz {i}"));
            }
            letter.closing(&sample_sender(), "Paula Zweitprüferin");
            let page_of = |needle: &str| {
                letter.pages.iter().position(|page| {
                    page.iter().any(
                        |item| matches!(item, Item::Text { text, .. } if text.contains(needle)),
                    )
                })
            };
            assert_eq!(
                page_of("Rechtsbehelfsbelehrung"),
                page_of("Referat E-Government und IT"),
                "with {filler} paragraphs before it"
            );
            assert_eq!(
                page_of("Rechtsbehelfsbelehrung"),
                page_of("ohne Unterschrift gültig"),
                "with {filler} paragraphs before it"
            );
        }
    }

    #[test]
    fn amounts_stand_flush_right_in_their_column() {
        let mut letter = Letter::new();
        letter.table(
            &columns(),
            &[
                vec!["a".into(), "1,00 €".into()],
                vec!["b".into(), "1.000,00 €".into()],
            ],
            0,
        );
        let right_edges: Vec<f32> = letter.pages[0]
            .iter()
            .filter_map(|item| match item {
                Item::Text {
                    x,
                    text,
                    size,
                    weight,
                    ..
                } if text.ends_with('€') => Some(x + width(text, *size, *weight)),
                _ => None,
            })
            .collect();
        assert_eq!(right_edges.len(), 2);
        assert!((right_edges[0] - right_edges[1]).abs() < 0.01);
    }
}
