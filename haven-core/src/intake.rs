//! The region's intake: municipalities as tenants of one Haven that alone holds the lake's
//! writer credentials (docs/scale.md).
//!
//! A municipality's Haven packs a release ([`pack`]: its published tables, the restricted
//! figures behind them and its manifest, in one archive) and sends it with the token of one of
//! its users on the region's Haven. The intake ([`receive`]) unpacks it within bounds, reads
//! which municipality the release is about from the release itself (never from what the sender
//! says), lets it through only for that municipality's own users or the regional admin, and
//! pushes it to the lake in the same commits as `haven lake push`. So no municipality holds
//! credentials that could write another's rows.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Settings};

/// Files an archive may hold: the label, and each table's Parquet file.
const MAX_FILES: usize = 64;

/// The label of a packed release: what it is, and which of its files is which.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Label {
    municipality: String,
    version: u32,
    published_at: String,
    manifest: String,
    public: Vec<String>,
    restricted: Vec<String>,
    /// The key of the restricted files (one for the push), when they are encrypted.
    key: Option<String>,
    /// The release folder's files, kept as they are beside the tables.
    #[serde(default)]
    files: Vec<String>,
}

const LABEL: &str = "release.json";

/// Who sends a release to the intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A user of one municipality (a tenant).
    Municipality(String),
    /// The regional admin, or the region's operator on its own machine.
    Region,
}

impl Sender {
    /// Whether the sender may act for `municipality`; the refusal says why not.
    pub fn may_act_for(&self, municipality: &str) -> Result<(), Error> {
        match self {
            Sender::Region => Ok(()),
            Sender::Municipality(own) if own == municipality => Ok(()),
            Sender::Municipality(own) => Err(Error::Forbidden(format!(
                "a user of {own} acts only for {own}, and this is {municipality}'s"
            ))),
        }
    }
}

/// One archive (ZIP, stored) of a release as it goes to a region's intake.
pub fn pack(release: &lake::Release) -> Result<Vec<u8>, Error> {
    let keys: Vec<Option<&str>> = release
        .restricted
        .iter()
        .map(|t| t.key.as_ref().map(lake::Secret::expose))
        .collect();
    if keys.windows(2).any(|w| w[0] != w[1]) {
        return Err(Error::Internal(
            "the restricted files of one push share one key".into(),
        ));
    }
    let label = Label {
        municipality: release.municipality.clone(),
        version: release.version,
        published_at: release.published_at.clone(),
        manifest: release.manifest.clone(),
        public: release.public.iter().map(|t| t.name.clone()).collect(),
        restricted: release.restricted.iter().map(|t| t.name.clone()).collect(),
        key: keys.first().copied().flatten().map(str::to_string),
        files: release.files.iter().map(|(n, _)| n.clone()).collect(),
    };
    let io = |e: std::io::Error| Error::Internal(format!("packing the release: {e}"));
    let zip = |e: zip::result::ZipError| Error::Internal(format!("packing the release: {e}"));
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // Parquet is compressed already.
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    out.start_file(LABEL, stored).map_err(zip)?;
    out.write_all(&serde_json::to_vec(&label).map_err(|e| Error::Internal(format!("label: {e}")))?)
        .map_err(io)?;
    let entries = release
        .public
        .iter()
        .map(|t| (format!("public/{}.parquet", t.name), &t.parquet))
        .chain(
            release
                .restricted
                .iter()
                .map(|t| (format!("restricted/{}.parquet", t.name), &t.parquet)),
        )
        .chain(release.files.iter().map(|(n, p)| (format!("files/{n}"), p)));
    for (name, path) in entries {
        out.start_file(name, stored).map_err(zip)?;
        let mut file = std::fs::File::open(path)
            .map_err(|e| Error::NotFound(format!("{}: {e}", path.display())))?;
        std::io::copy(&mut file, &mut out).map_err(io)?;
    }
    Ok(out.finish().map_err(zip)?.into_inner())
}

/// Unpacks an archive into `dir`: at most [`MAX_FILES`] files and `limit` bytes unpacked in
/// all, each file one the label names, nothing else. The release it holds, its files in `dir`.
fn unpack(packed: &[u8], dir: &Path, limit: u64) -> Result<lake::Release, Error> {
    let bad = |why: String| Error::Invalid(format!("the release's archive: {why}"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(packed))
        .map_err(|e| bad(format!("not a ZIP archive ({e})")))?;
    if zip.len() > MAX_FILES {
        return Err(bad(format!(
            "{} files; a release has at most {MAX_FILES}",
            zip.len()
        )));
    }
    let mut left = limit;
    let mut label: Option<Label> = None;
    let mut files = std::collections::BTreeSet::new();
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|e| bad(format!("file {i}: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| bad(format!("file {i}: {e}")))?
            .into_owned();
        let target = if name == LABEL {
            None
        } else {
            let (folder, file) = name
                .split_once('/')
                .ok_or_else(|| bad(format!("{name:?} is not a file a release holds")))?;
            if folder == "files" {
                lake::objects::check_file(file)?;
            } else {
                let table = file
                    .strip_suffix(".parquet")
                    .ok_or_else(|| bad(format!("{name:?} is not a Parquet file")))?;
                if !matches!(folder, "public" | "restricted") {
                    return Err(bad(format!(
                        "{name:?} is neither public/, restricted/ nor files/"
                    )));
                }
                lake::check_table(table)?;
            }
            if !files.insert(name.clone()) {
                return Err(bad(format!("{name:?} is there twice")));
            }
            Some(dir.join(folder).join(file))
        };
        // Read up to what is left and one byte more: what a header claims is not believed.
        let mut bytes = Vec::new();
        entry
            .take(left + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("{name}: {e}")))?;
        if bytes.len() as u64 > left {
            return Err(Error::TooLarge(format!(
                "the release unpacks to more than the server takes ({} MiB: [server] max_upload_megabytes)",
                limit >> 20
            )));
        }
        left -= bytes.len() as u64;
        match target {
            None => {
                label =
                    Some(serde_json::from_slice(&bytes).map_err(|e| bad(format!("{LABEL}: {e}")))?);
            }
            Some(path) => {
                let parent = path.parent().unwrap_or(dir);
                std::fs::create_dir_all(parent)
                    .and_then(|()| std::fs::write(&path, &bytes))
                    .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
            }
        }
    }
    let label = label.ok_or_else(|| bad(format!("no {LABEL}")))?;
    let named: std::collections::BTreeSet<String> = label
        .public
        .iter()
        .map(|t| format!("public/{t}.parquet"))
        .chain(
            label
                .restricted
                .iter()
                .map(|t| format!("restricted/{t}.parquet")),
        )
        .chain(label.files.iter().map(|f| format!("files/{f}")))
        .collect();
    if named != files {
        let missing: Vec<_> = named.difference(&files).cloned().collect();
        let extra: Vec<_> = files.difference(&named).cloned().collect();
        return Err(bad(format!(
            "its files are not the ones its label names (missing: {missing:?}; not named: {extra:?})"
        )));
    }
    let table = |folder: &str, name: &String, key: Option<&String>| lake::Table {
        name: name.clone(),
        parquet: dir.join(folder).join(format!("{name}.parquet")),
        key: key.cloned().map(lake::Secret::new),
    };
    Ok(lake::Release {
        municipality: label.municipality.clone(),
        version: label.version,
        published_at: label.published_at.clone(),
        manifest: label.manifest.clone(),
        public: label
            .public
            .iter()
            .map(|t| table("public", t, None))
            .collect(),
        restricted: label
            .restricted
            .iter()
            .map(|t| table("restricted", t, label.key.as_ref()))
            .collect(),
        files: label
            .files
            .iter()
            .map(|f| (f.clone(), dir.join("files").join(f)))
            .collect(),
    })
}

/// Receives a packed release from `sender` and pushes it to the lake: unpacked within `limit`
/// bytes, its municipality read from its own indicators (and required to be the one its label
/// names), let through only for that municipality's users or the region.
pub fn receive(
    settings: &Settings,
    packed: &[u8],
    sender: &Sender,
    limit: u64,
) -> Result<lake::Pushed, Error> {
    let lake_settings = crate::region::settings(settings)?;
    let tmp = tempfile::tempdir()
        .map_err(|e| Error::Internal(format!("a temporary folder for the release: {e}")))?;
    let release = unpack(packed, tmp.path(), limit)?;
    // A quick refusal before any file is read, by what the label says.
    sender.may_act_for(&release.municipality)?;
    let indicators = release
        .public
        .iter()
        .find(|t| t.name == "indicators")
        .ok_or_else(|| {
            Error::Invalid("the release has no indicators, which say whose it is".into())
        })?;
    let lake = lake::Lake::open(lake_settings, lake::Access::Writer)?;
    let about = crate::region::municipality_of(&lake.connection()?, &indicators.parquet)?;
    if about != release.municipality {
        return Err(Error::Invalid(format!(
            "the release is labelled {} but its indicators are {about}'s",
            release.municipality
        )));
    }
    Ok(lake.push(&release)?)
}

/// A table of the restricted catalogue as CSV: one municipality's rows, or every one's. The
/// caller has checked who may read which.
pub fn restricted_csv(
    settings: &Settings,
    table: &str,
    municipality: Option<&str>,
) -> Result<Vec<u8>, Error> {
    let lake = lake::Lake::open(crate::region::settings(settings)?, lake::Access::Writer)?;
    let tmp = tempfile::tempdir()
        .map_err(|e| Error::Internal(format!("a temporary folder for the rows: {e}")))?;
    let out = tmp.path().join("rows.csv");
    lake.export(table, municipality, None, true, &out)?;
    std::fs::read(&out).map_err(|e| Error::Internal(format!("{}: {e}", out.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in files {
            out.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    fn label(public: &[&str]) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "municipality": "BE22001", "version": 1, "published_at": "2026-01-01T00:00:00Z",
            "manifest": "{}", "public": public, "restricted": [], "key": null,
        }))
        .unwrap()
    }

    fn refusal(packed: &[u8], limit: u64) -> String {
        let dir = tempfile::tempdir().unwrap();
        unpack(packed, dir.path(), limit).unwrap_err().to_string()
    }

    #[test]
    fn an_archive_holds_the_files_its_label_names_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let ok = archive(&[
            (LABEL, &label(&["indicators"])),
            ("public/indicators.parquet", b"PAR1"),
        ]);
        let release = unpack(&ok, dir.path(), 1 << 20).unwrap();
        assert_eq!(
            release.public[0].parquet,
            dir.path().join("public/indicators.parquet")
        );
        assert_eq!(std::fs::read(&release.public[0].parquet).unwrap(), b"PAR1");

        let extra = archive(&[(LABEL, &label(&[])), ("public/indicators.parquet", b"PAR1")]);
        assert!(refusal(&extra, 1 << 20).contains("not named"));
        let missing = archive(&[(LABEL, &label(&["indicators"]))]);
        assert!(refusal(&missing, 1 << 20).contains("missing"));
        let escape = archive(&[(LABEL, &label(&[])), ("public/../../etc.parquet", b"x")]);
        assert!(refusal(&escape, 1 << 20).contains("cannot be a table of the lake"));
        let elsewhere = archive(&[(LABEL, &label(&[])), ("secret/a.parquet", b"x")]);
        assert!(refusal(&elsewhere, 1 << 20).contains("neither"));
        assert!(refusal(b"not a zip", 1 << 20).contains("not a ZIP"));
        let unlabelled = archive(&[("public/indicators.parquet", b"PAR1")]);
        assert!(refusal(&unlabelled, 1 << 20).contains("no release.json"));
    }

    #[test]
    fn an_archive_that_unpacks_past_the_limit_is_refused_whatever_its_headers_say() {
        // Deflated zeros: a few KiB packed, 8 MiB unpacked.
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        out.start_file(LABEL, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&label(&["indicators"])).unwrap();
        out.start_file(
            "public/indicators.parquet",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        out.write_all(&vec![0u8; 8 << 20]).unwrap();
        let bomb = out.finish().unwrap().into_inner();
        assert!(bomb.len() < 64 << 10, "{}", bomb.len());
        assert!(refusal(&bomb, 1 << 20).contains("more than the server takes"));
    }

    #[test]
    fn a_municipality_acts_only_for_itself_and_the_region_for_all() {
        let own = Sender::Municipality("BE22001".into());
        assert!(own.may_act_for("BE22001").is_ok());
        let e = own.may_act_for("BE22021").unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{e}");
        assert!(Sender::Region.may_act_for("BE22021").is_ok());
    }
}
