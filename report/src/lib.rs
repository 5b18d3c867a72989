//! The council report as a document: a title, a lead and sections of paragraphs, tables,
//! images (SVG), legends and notes, every string already in the reader's language. One
//! document, two renderings: PDF through Typst (`pdf`) and HTML (`html`). What goes into the
//! document (published figures only) is the application core's business, not this crate's.

mod html;
mod locale;
mod pdf;

use serde::Serialize;

pub use html::html;
pub use locale::{Catalogue, languages};
pub use pdf::pdf;

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Language(String),
    /// The renderer refused the document: a defect of the template, never of the data.
    #[error("the report could not be typeset: {0}")]
    Render(String),
}

/// A report, every string in one language.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// Language code (`en`, `nl`, `fr`).
    pub lang: String,
    pub title: String,
    pub subtitle: String,
    pub lead: Vec<String>,
    pub sections: Vec<Section>,
    /// The line at the foot of every page.
    pub footer: String,
    /// A stable identity for the PDF (the same data and language give the same bytes).
    pub ident: String,
}

/// A titled part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    pub heading: String,
    pub blocks: Vec<Block>,
}

impl Section {
    /// A section of one paragraph (a figure that cannot be shown says why).
    pub fn text(id: &str, heading: String, text: String) -> Section {
        Section {
            id: id.into(),
            heading,
            blocks: vec![Block::Paragraph { text }],
        }
    }
}

/// The parts a section is made of.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    Paragraph {
        text: String,
    },
    /// A table with its caption; `numeric` marks the right-aligned columns, `wide` the ones
    /// that share the width left and wrap (the others keep their text on one line).
    Table {
        caption: String,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
        numeric: Vec<bool>,
        wide: Vec<bool>,
    },
    /// An SVG drawing with its text alternative and caption.
    Image {
        svg: String,
        alt: String,
        caption: String,
    },
    /// Colour swatches with what each colour means (`#rrggbb`, label).
    Legend {
        title: String,
        items: Vec<(String, String)>,
    },
    /// Small print: a list of notes.
    Notes {
        items: Vec<String>,
    },
}
