//! `kbs[+plugin]://<host>/<repo>/<type>/<tag>[?query]` resource URIs.

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUri {
    pub plugin: String,
    pub repo: String,
    pub kind: String,
    pub tag: String,
    pub query: Option<String>,
}

/// Checks one path segment: `[a-zA-Z0-9_\-]+[a-zA-Z0-9_\-\.]*`.
pub fn valid_segment(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

impl ResourceUri {
    pub fn parse(uri: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::ResourceUri { uri: uri.to_string(), reason: reason.to_string() };
        let (scheme, rest) = uri.split_once("://").ok_or_else(|| bad("missing scheme"))?;
        let plugin = match scheme {
            "kbs" => "resource".to_string(),
            s => s.strip_prefix("kbs+").ok_or_else(|| bad("scheme must be kbs or kbs+<plugin>"))?.to_string(),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q.to_string())),
            None => (rest, None),
        };
        // host (possibly empty) then three segments
        let (_host, path) = rest.split_once('/').ok_or_else(|| bad("missing path"))?;
        let segs: Vec<&str> = path.split('/').collect();
        if segs.len() != 3 {
            return Err(bad("path must be <repo>/<type>/<tag>"));
        }
        if let Some(s) = segs.iter().find(|s| !valid_segment(s)) {
            return Err(bad(&format!("invalid segment {s:?}")));
        }
        if !valid_segment(&plugin) {
            return Err(bad("invalid plugin name"));
        }
        Ok(ResourceUri { plugin, repo: segs[0].into(), kind: segs[1].into(), tag: segs[2].into(), query })
    }

    /// `<repo>/<type>/<tag>`
    pub fn resource_path(&self) -> String {
        format!("{}/{}/{}", self.repo, self.kind, self.tag)
    }

    /// Path on the KBS, e.g. `/kbs/v0/resource/default/key/1`.
    pub fn kbs_path(&self) -> String {
        let mut p = format!("/kbs/v0/{}/{}", self.plugin, self.resource_path());
        if let Some(q) = &self.query {
            p.push('?');
            p.push_str(q);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let u = ResourceUri::parse("kbs:///default/key/1").unwrap();
        assert_eq!(u.kbs_path(), "/kbs/v0/resource/default/key/1");
        let u = ResourceUri::parse("kbs+plug://h:1/a/b/c.d?x=1").unwrap();
        assert_eq!(u.kbs_path(), "/kbs/v0/plug/a/b/c.d?x=1");
        for bad in ["kbs:///a/b", "kbs:///a/../b", "kbs:///.a/b/c", "http:///a/b/c", "kbs:///a/b/c/d", "kbs:///a//c"] {
            assert!(ResourceUri::parse(bad).is_err(), "{bad}");
        }
    }
}
