//! The report as PDF: Typst as a library. A world of two files (the template `report.typ` and
//! the document as `/data.json`) and Typst's bundled fonts; nothing is read from disk or the
//! network, and there is no clock (the PDF carries no date), so the same document gives the
//! same bytes.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::{Document, Error};

/// The layout: reads `/data.json` and sets every block of every section.
const TEMPLATE: &str = include_str!("report.typ");

struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static FONTS: LazyLock<Fonts> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    Fonts {
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

fn file_id(path: &str) -> FileId {
    RootedPath::new(
        VirtualRoot::Project,
        VirtualPath::new(path).expect("a valid virtual path"),
    )
    .intern()
}

struct ReportWorld {
    main: Source,
    data_id: FileId,
    data: Bytes,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            Ok(self.data.clone())
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.text().to_string()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

fn messages(diags: &[SourceDiagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.message.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The document typeset as PDF (A4, tagged for accessibility, fonts embedded).
pub fn pdf(doc: &Document) -> Result<Vec<u8>, Error> {
    let data = serde_json::to_vec(doc).map_err(|e| Error::Render(e.to_string()))?;
    let world = ReportWorld {
        main: Source::new(file_id("/report.typ"), TEMPLATE.to_string()),
        data_id: file_id("/data.json"),
        data: Bytes::new(data),
    };
    let compiled = typst::compile::<PagedDocument>(&world);
    let result = compiled.output.map_err(|e| Error::Render(messages(&e)));
    let pdf = result.and_then(|paged| {
        let options = typst_pdf::PdfOptions {
            ident: Smart::Custom(doc.ident.clone()),
            creator: Smart::Custom(Some("Haven".into())),
            ..Default::default()
        };
        typst_pdf::pdf(&paged, &options).map_err(|e| Error::Render(messages(&e)))
    });
    // Typst memoises across compilations; a server renders many reports, so what the last
    // ones cached is all that is kept.
    typst::comemo::evict(2);
    pdf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Block, Section};

    fn doc(text: &str) -> Document {
        Document {
            lang: "fr".into(),
            title: "Rapport".into(),
            subtitle: text.into(),
            lead: vec![],
            sections: vec![Section {
                id: "s".into(),
                heading: "Chiffres".into(),
                blocks: vec![
                    Block::Table {
                        caption: "Tableau".into(),
                        header: vec!["Chiffre".into(), "Valeur".into()],
                        rows: vec![vec!["Logements vacants".into(), "1\u{202f}234".into()]],
                        numeric: vec![false, true],
                        wide: vec![],
                    },
                    Block::Image {
                        svg: r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#336699"/></svg>"##.into(),
                        alt: "Carré".into(),
                        caption: "Carte".into(),
                    },
                    Block::Legend {
                        title: "Légende".into(),
                        items: vec![("#336699".into(), "beaucoup".into())],
                    },
                    Block::Notes {
                        items: vec!["Note".into()],
                    },
                ],
            }],
            footer: "Haven".into(),
            ident: "test".into(),
        }
    }

    #[test]
    fn a_document_is_typeset_the_same_every_time_and_markup_in_the_data_stays_text() {
        // Typst markup and code in the data must come out as the characters typed.
        let a = pdf(&doc("#panic(\"x\") *gras* $x$ @ref <lbl>")).unwrap();
        assert!(a.starts_with(b"%PDF-"));
        let b = pdf(&doc("#panic(\"x\") *gras* $x$ @ref <lbl>")).unwrap();
        assert_eq!(a, b, "the same document gives the same bytes");
        let c = pdf(&doc("autre")).unwrap();
        assert_ne!(a, c);
    }
}
