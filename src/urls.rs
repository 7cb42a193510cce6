//! Canonical links: absolute, no fragment, no tracking parameters. Pure.

use url::Url;

/// Query parameters that only track the reader and never select content.
const TRACKING_EXACT: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "twclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "wt_mc",
    "ref_src",
    "__s",
    "s_cid",
    "spm",
    "ncid",
    "sr_share",
];
/// Prefixes of tracking parameter names (`utm_source`, `utm_medium`, …).
const TRACKING_PREFIXES: &[&str] = &["utm_", "hsa_", "pk_", "mtm_"];

/// Returns true if and only if the query parameter named `name` is a known
/// tracking parameter.
pub fn is_tracking_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    TRACKING_EXACT.contains(&lower.as_str()) || TRACKING_PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// Resolves `raw` against `base` and canonicalises it: only `http(s)` links,
/// fragment removed, tracking parameters removed (the others kept as
/// written, in order), host lower-cased, default port dropped.
///
/// ```
/// use url::Url;
/// let base = Url::parse("https://www.bolnews.com/feed/").unwrap();
/// assert_eq!(
///     syndic::urls::canonical_link("/cpec/story?utm_source=rss&id=7#comments", &base).as_deref(),
///     Some("https://www.bolnews.com/cpec/story?id=7"),
/// );
/// ```
pub fn canonical_link(raw: &str, base: &Url) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let mut url = base.join(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_fragment(None);
    if let Some(query) = url.query() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .filter(|pair| !is_tracking_param(pair.split('=').next().unwrap_or(pair)))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            let q = kept.join("&");
            url.set_query(Some(&q));
        }
    }
    Some(url.to_string())
}

/// The host of a URL without a leading `www.`, for matching sites by name.
pub fn site_host(url: &str) -> Option<String> {
    let u = Url::parse(url).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    Some(host.strip_prefix("www.").unwrap_or(&host).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(raw: &str) -> Option<String> {
        canonical_link(raw, &Url::parse("https://Example.COM/blog/feed.xml").unwrap())
    }

    #[test]
    fn relative_links_become_absolute() {
        assert_eq!(canon("post/1").as_deref(), Some("https://example.com/blog/post/1"));
        assert_eq!(canon("//cdn.example.org/a").as_deref(), Some("https://cdn.example.org/a"));
    }

    #[test]
    fn tracking_parameters_and_fragment_are_removed() {
        assert_eq!(
            canon("https://a.example/x?utm_source=rss&utm_medium=feed&fbclid=1&gclid=2#frag").as_deref(),
            Some("https://a.example/x")
        );
        assert_eq!(
            canon("https://a.example/x?p=1&UTM_Campaign=z&q=a%20b").as_deref(),
            Some("https://a.example/x?p=1&q=a%20b")
        );
    }

    #[test]
    fn host_case_and_default_port_are_normalised() {
        assert_eq!(canon("HTTPS://A.Example:443/Path").as_deref(), Some("https://a.example/Path"));
    }

    #[test]
    fn non_web_links_are_dropped() {
        assert_eq!(canon("mailto:a@b.c"), None);
        assert_eq!(canon("javascript:alert(1)"), None);
        assert_eq!(canon("   "), None);
    }

    #[test]
    fn site_host_drops_www() {
        assert_eq!(site_host("https://www.BolNews.com/feed/").as_deref(), Some("bolnews.com"));
    }
}
