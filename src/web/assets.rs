//! The stylesheet and script, under a path that changes with their content.

/// Static files are served under a path that contains a hash of their content, so browsers may
/// cache them for a year and still see a new stylesheet on the next release.
#[derive(Debug)]
pub struct Assets {
    pub version: String,
    pub stylesheet_href: String,
    pub script_href: String,
}

impl Assets {
    pub fn scan(dir: &std::path::Path) -> anyhow::Result<Self> {
        use std::hash::Hasher as _;
        let mut files: Vec<_> = walk(dir)?;
        files.sort();
        // FNV-1a: stable across Rust releases and builds, unlike std's DefaultHasher.
        let mut hash = Fnv(0xcbf29ce484222325);
        for path in &files {
            hash.write(
                path.strip_prefix(dir)
                    .unwrap_or(path)
                    .to_string_lossy()
                    .as_bytes(),
            );
            hash.write(&std::fs::read(path)?);
        }
        let version = format!("{:012x}", hash.finish() & 0xffff_ffff_ffff);
        Ok(Assets {
            stylesheet_href: format!("/static/{version}/app.css"),
            script_href: format!("/static/{version}/app.js"),
            version,
        })
    }
}

fn walk(dir: &std::path::Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read the static directory {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x100000001b3);
        }
    }
}
